/**
 * Token processing (SPEC.md Part V §5) with flow control (§6): a token on the token channel
 * is screened and accepted by its ARQ / RETRANS (Net_recv_token, Prot_handle_token), then
 * processed in the order of §5 — retransmissions, new packets within the flow-control
 * allowance, my request, the token's aru, sending (or holding) it, Aru, delivery.
 */
import { PacketType, Size, getArq, getRetrans, setArq, setRetrans } from '../../wire/daemon/constants.js';
import { decodeTokenHeader, type TokenHeader } from '../../wire/daemon/header.js';
import { decodeRtrList, type RtrRecord } from '../../wire/daemon/token.js';
import { MAX_SEQ_GAP, MAX_WRAP_SEQUENCE_VALUE } from './constants.js';
import { advanceMyAru, deliverAgreed, deliverReliable, discardPackets } from './delivery.js';
import { isTokenHold, tokenHurry } from './hurry.js';
import { flushPostToken, sendNewPackets } from './new-packets.js';
import { arm, encodeToken, sendTo, violation } from './output.js';
import { openDatagram } from './receive.js';
import { answerRetrans, requestRetrans } from './retrans.js';
import { sameRingId } from '../../wire/daemon/header.js';
import { type RingState } from './state.js';

/** One datagram from the token channel. */
export function onToken(st: RingState, bytes: Uint8Array, now: number): void {
  const topo = st.topo;
  if (topo === null) return;
  const r = openDatagram(st, bytes, Size.TOKEN_HEADER, 'token_header');
  if (r === null) return;
  const t = decodeTokenHeader(r, 0).value;
  if (t.confHash !== st.settings.confHash) {
    st.stats.wrongHash++;
    return;
  }
  if (topo.procIndex(t.transmitterId) < 0 && st.reloadedIds?.has(t.transmitterId) !== true) {
    st.stats.unknownSender++;
    return;
  }
  if (t.type & PacketType.FORM) {
    st.out.push({ kind: 'upward', what: 'membership', channel: 'token', bytes });
    return;
  }
  // Veto: no live ring, another ring's token, or not from my predecessor.
  if (!st.tokenAlive || !sameRingId(t.membId, st.ringId) || t.transmitterId !== topo.predecessor) {
    st.stats.tokensSwallowed++;
    return;
  }
  if (bytes.length !== Size.TOKEN_HEADER + t.rtrLen) {
    st.stats.malformed++;
    return;
  }
  let rtr: RtrRecord[];
  try {
    rtr = decodeRtrList(r, Size.TOKEN_HEADER, bytes.length);
  } catch {
    st.stats.malformed++;
    return;
  }
  if (st.mode !== 'evs' && t.seq > MAX_WRAP_SEQUENCE_VALUE) {
    // Sequence wrap guard: swallow; the token-loss timer then starts a new ring.
    st.stats.seqWrapSwallowed++;
    return;
  }
  if (acceptArq(st, t, now)) processToken(st, t, rtr, now);
}

/**
 * The ARQ / RETRANS test: the leader takes the ARQ it sent last, anyone else the next one;
 * a non-leader answers the same ARQ with a higher RETRANS by re-sending its last token.
 */
function acceptArq(st: RingState, t: TokenHeader, now: number): boolean {
  const last = st.lastToken;
  const arq = getArq(t.type);
  const lastArq = getArq(last.type);
  if (st.topo!.isLeader) {
    if (arq !== lastArq) {
      st.stats.tokensSwallowed++;
      return false;
    }
  } else {
    if (arq === lastArq) {
      const rt = getRetrans(t.type);
      if (rt > getRetrans(last.type)) {
        // The leader suspects the token lost: resend my last token with its RETRANS.
        last.type = setRetrans(last.type, rt);
        st.stats.tokenRetransmits++;
        tokenHurry(st, now);
      } else {
        st.stats.tokensSwallowed++;
      }
      return false;
    }
    if (arq !== ((lastArq + 1) & 0xf)) {
      st.stats.tokensSwallowed++;
      return false;
    }
  }
  if (st.justInstalled) {
    st.justInstalled = false;
    last.aru = st.lastDiscarded;
  }
  if (!st.topo!.isLeader && getRetrans(t.type) > 0) st.stats.tokenHurryStatus++;
  return true;
}

/** FC_allowed: how many new packets this visit may send. */
export function allowedNewPackets(st: RingState, flowControl: number): number {
  if (st.mode === 'evs') return 0;
  if (st.highestSeq > st.aru + MAX_SEQ_GAP) return 0;
  let allowed = st.window + st.personalWindow - flowControl;
  if (allowed < 0) allowed = 0;
  if (allowed > st.window) allowed = st.window;
  if (allowed > st.personalWindow) allowed = st.personalWindow;
  return allowed;
}

/** Prot_handle_token once the token is taken (§5 steps 1–12). */
function processToken(st: RingState, t: TokenHeader, rtr: RtrRecord[], now: number): void {
  const evs = st.mode === 'evs';
  st.stats.tokensProcessed++;
  if (st.highestSeq < t.seq) st.highestSeq = t.seq;
  st.receivedTokenRounds++;
  st.tokenPriority = false;

  const numRetrans = answerRetrans(st, rtr);
  const numSent = sendNewPackets(st, allowedNewPackets(st, t.flowControl));
  t.flowControl = ((t.flowControl - st.lastNumRetrans - st.lastNumSent + numRetrans + numSent) << 16) >> 16;
  st.lastNumRetrans = numRetrans;
  st.lastNumSent = numSent;

  advanceMyAru(st);
  // Accelerated ring: packets after the seq of the token I sent last round may still be on
  // their way, so only holes up to that seq are requested.
  requestRetrans(st, st.accelerated && !evs ? st.lastToken.seq : st.highestSeq);
  // EVS commit point (Memb_commit): every packet of my old ring is here, so My_aru jumps to
  // Last_seq, above any seq of any old ring; membership notices it (myAru === lastSeq).
  if (evs && st.myAru === st.highestSeq) st.myAru = st.lastSeq;

  stampToken(st, t, evs);
  forwardToken(st, t, now);
  updateAru(st, t);
  discardPackets(st);
  deliverAgreed(st);
  deliverReliable(st, st.highestSeq - numSent + 1, numSent);
}

/** §5 steps 6–7: the token's aru, proc_id, seq and (leader) ARQ + 1, RETRANS 0. */
function stampToken(st: RingState, t: TokenHeader, evs: boolean): void {
  const topo = st.topo!;
  const me = topo.myId;
  // Token aru: lowered by whoever misses packets, raised by whoever lowered it last, or by
  // anyone while everything announced so far is everywhere.
  if (t.aru > st.myAru || t.aruLastId === me || (t.aru === t.seq && !evs)) {
    t.aru = st.myAru;
    t.aruLastId = me;
  }
  t.procId = me;
  if (!evs) t.seq = st.highestSeq;
  if (topo.isLeader) {
    t.type = setRetrans(setArq(t.type, (getArq(t.type) + 1) & 0xf), 0);
  }
  t.transmitterId = me;
  t.confHash = st.settings.confHash;
}

/** §5 steps 8–10: send (or, leader on an idle ring, hold) the token; re-arm; post-token packets. */
function forwardToken(st: RingState, t: TokenHeader, now: number): void {
  const topo = st.topo!;
  const records = st.carried;
  if (topo.isLeader && isTokenHold(st)) {
    st.stats.tokenHolds++;
  } else {
    const bytes = encodeToken(t, records.length > 0 ? records : null);
    sendTo(st, 'token', topo.successor, bytes);
    if (getRetrans(t.type) > 1) {
      sendTo(st, 'token', topo.successor, bytes);
      sendTo(st, 'token', topo.successor, bytes);
    }
  }
  records.length = 0;
  t.rtrLen = 0;
  st.tokenRounds++;
  if (topo.isLeader) arm(st, 'hurry', now + st.settings.hurryTimeout);
  arm(st, 'tokenLoss', now + st.settings.tokenTimeout);
  flushPostToken(st);
}

/** §5 step 11: Aru from this token and the one before; Token_counter; Last_token := `t`. */
function updateAru(st: RingState, t: TokenHeader): void {
  const last = st.lastToken;
  const newAru = t.aru > last.aru ? last.aru : t.aru;
  if (newAru < st.aru) {
    violation(st, 'ARU_DECREASED', `Aru would go from ${st.aru} down to ${newAru}`);
  } else {
    st.aru = newAru;
  }
  if (st.highestSeq === st.aru) st.tokenCounter++;
  else st.tokenCounter = 0;
  st.lastToken = t;
}
