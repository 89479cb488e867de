/**
 * Token hold and hurry (SPEC.md Part V §9), and token loss (§12): the leader holds the token on
 * an idle ring; its hurry timer, a first queued message or a member's HURRY packet sends it on
 * again; the token-loss timer (or membership) ends the ring.
 */
import { PacketType, Size, getRetrans, setRetrans } from '../../wire/daemon/constants.js';
import { encodePacketHeaderInto, type PacketHeader } from '../../wire/daemon/header.js';
import { DeliveryThreshold } from './constants.js';
import { arm, cancel, encodeToken, sendTo } from './output.js';
import type { RingState } from './state.js';

/** Is_token_hold / To_hold_token: idle ring, nothing to stabilise, nobody asked for the token. */
export function isTokenHold(st: RingState): boolean {
  return (
    st.tokenAlive &&
    (st.mode === 'op' || st.mode === 'gather') &&
    getRetrans(st.lastToken.type) <= 1 &&
    st.aru === st.highestSeq &&
    st.tokenCounter > 1
  );
}

/** Something to send while the token is held: the leader sends it on, anyone else asks the leader. */
export function wakeRing(st: RingState, now: number): void {
  const topo = st.topo!;
  if (topo.isLeader) handleHurry(st, topo.myId, now);
  else sendHurryPacket(st, topo.leader);
}

/** Handle_hurry: a member wants to send while I (the leader) hold the token. */
export function handleHurry(st: RingState, procId: number, now: number): void {
  const topo = st.topo;
  if (topo === null || !topo.isLeader || !isTokenHold(st)) return;
  if (!topo.isMember(procId)) return;
  st.tokenCounter = 0;
  tokenHurry(st, now);
}

/** Prot_token_hurry: resend the last token, header only; the leader counts RETRANS up. */
export function tokenHurry(st: RingState, now: number): void {
  const topo = st.topo!;
  const s = st.settings;
  const t = st.lastToken;
  t.rtrLen = 0;
  if (topo.isLeader) {
    t.type = setRetrans(t.type, getRetrans(t.type) + 1);
    arm(st, 'hurry', now + s.hurryTimeout);
    st.stats.tokenHurries++;
    st.stats.tokenHurryStatus++;
  }
  t.transmitterId = topo.myId;
  t.confHash = s.confHash;
  const bytes = encodeToken(t, null);
  sendTo(st, 'token', topo.successor, bytes);
  if (s.wideNetwork && topo.lastOfMySeg === topo.myId) sendTo(st, 'token', topo.successor, bytes);
  if (getRetrans(t.type) > 1) {
    sendTo(st, 'token', topo.successor, bytes);
    sendTo(st, 'token', topo.successor, bytes);
  }
}

/** A HURRY packet to the leader: header only, transmitter = proc_id = me, the hash, zeros. */
function sendHurryPacket(st: RingState, leader: number): void {
  const me = st.settings.myId;
  const h: PacketHeader = {
    type: PacketType.HURRY, transmitterId: me, procId: me, membId: { procId: 0, time: 0 }, seq: 0, tokenRound: 0,
    confHash: st.settings.confHash, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0,
  };
  const bytes = new Uint8Array(Size.PACKET_HEADER);
  encodePacketHeaderInto(h, 0, bytes, 0);
  st.stats.hurrySent++;
  sendTo(st, 'data', leader, bytes);
}

/** Memb_token_loss, ring part: veto tokens, BLOCK delivery, cancel the timers, zero Last_token's type/seq/aru. */
export function dropToken(st: RingState): void {
  st.tokenAlive = false;
  st.justInstalled = false;
  st.threshold = DeliveryThreshold.BLOCK;
  st.lastToken.type = 0;
  st.lastToken.seq = 0;
  st.lastToken.aru = 0;
  cancel(st, 'tokenLoss');
  cancel(st, 'hurry');
}

/** Create_form1 / Fill_form1, ring part: veto tokens, BLOCK delivery, cancel the ring's timers. */
export function stopToken(st: RingState): void {
  st.tokenAlive = false;
  st.threshold = DeliveryThreshold.BLOCK;
  cancel(st, 'tokenLoss');
  cancel(st, 'hurry');
}

/** A timer fired at `now` (stale firings were filtered by the caller): token loss or the leader's hurry. */
export function timerFired(st: RingState, timer: 'tokenLoss' | 'hurry', now: number): void {
  if (timer === 'tokenLoss') {
    if (st.tokenAlive) {
      dropToken(st);
      st.out.push({ kind: 'tokenLost' });
    }
  } else if (st.tokenAlive && st.topo?.isLeader === true) {
    tokenHurry(st, now);
  }
}
