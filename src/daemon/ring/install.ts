/**
 * Rings coming and going (SPEC.md Part V §12, membership hooks; the ring side of Part VI §10):
 * install (a fresh ring per §4, or a resumed one), standby before the first ring, and the
 * ring part of EVS — installEvs (Read_form2), completeEvs (Discard_packets in EVS, with the
 * transitional split of §11's delivery) and backoff (Backoff_membership).
 */
import { PacketType } from '../../wire/daemon/constants.js';
import type { RingId } from '../../wire/daemon/header.js';
import type { DeliverAction } from './actions.js';
import { FIRST_TOKEN_ARU, PACKET_MASK } from './constants.js';
import { advanceMyAru, deliverPacket, discardPackets, ensureUpChains, resetUpChains } from './delivery.js';
import { flushPostToken } from './new-packets.js';
import { arm, cancel, captureDeliveries, encodeToken, sendTo, violation } from './output.js';
import { blankToken, setRingIds, type RingState } from './state.js';
import { RingTopology } from './topology.js';
import { Exist } from './window.js';

/** A ring to operate: what membership hands over once a ring is installed. */
export interface RingInstall {
  readonly ringId: RingId;
  /** Current members (any order: ring order is derived from the configuration). */
  readonly members: readonly number[];
  /** Start value of all counters (0; INITIAL_SEQUENCE_NEAR_WRAP with DebugInitialSequence). */
  readonly initialSeq?: number;
  /** Whether I send the first token (twice, to the leader). Default: I am last in ring order. */
  readonly sendFirstToken?: boolean;
  /** Resume an idle ring mid-flight instead of starting fresh (replay tests, hand-over). */
  readonly resume?: RingResume;
}

/** State of an idle ring (every packet up to `seq` stable and discarded). */
export interface RingResume {
  readonly seq: number;
  readonly tokenRounds: number;
  readonly receivedTokenRounds?: number;
  readonly tokenCounter: number;
  /** The last token this daemon sent. */
  readonly lastToken: {
    readonly type: number;
    readonly seq: number;
    readonly aru: number;
    readonly aruLastId: number;
    readonly flowControl: number;
  };
  readonly lastNumSent?: number;
  readonly lastNumRetrans?: number;
}

/** The new ring as membership's Read_form2 hands it over (EvsRing of membership/ring-port.ts). */
export interface EvsInstall {
  /** Future_membership_id: the token's ring id from now on; the data ring id after EVS. */
  readonly ringId: RingId;
  /** The new ring's members (ring order is derived from the configuration). */
  readonly members: readonly number[];
  /** Membership_id of my old ring: data packets and retransmission records keep using it in EVS. */
  readonly oldRingId: RingId;
  /** Highest seq of my old ring among the new ring's members (≥ my Highest_seq). */
  readonly highestSeq: number;
  /** Aru of my old ring's record: everything up to it is delivered (and freed) now. */
  readonly aru: number;
  /** Seqs of my old ring that nobody in the new ring has: they become EVS dummies. */
  readonly holes: readonly number[];
  /** Last_seq: above every seq of every old ring; My_aru jumps to it once complete (commit). */
  readonly lastSeq: number;
  /** Token_rounds to start with (1 at the member that sent the first token). */
  readonly tokenRounds: number;
}

/** What completeEvs delivered, split where the transitional configuration goes. */
export interface EvsDelivered {
  readonly beforeTransitional: DeliverAction[];
  readonly afterTransitional: DeliverAction[];
}

/** Every counter of §4 at `base`. */
function resetCounters(st: RingState, base: number): void {
  st.highestSeq = base;
  st.myAru = base;
  st.aru = base;
  st.lastDiscarded = base;
  st.lastDelivered = base;
}

/** Starts operating `ring`. Packets of a previous ring are dropped; queued messages stay. */
export function install(st: RingState, ring: RingInstall, now: number): void {
  const s = st.settings;
  const topo = new RingTopology(s.myId, s.segments, ring.ringId, ring.members);
  st.topo = topo;
  setRingIds(st, topo.ringId, topo.ringId);
  st.mode = 'op';
  st.packets.clear();
  resetUpChains(st);
  st.postToken.length = 0;
  st.queue.rewindHead();
  const r = ring.resume;
  st.baseSeq = ring.initialSeq ?? 0;
  resetCounters(st, r !== undefined ? r.seq : st.baseSeq);
  st.lastNumSent = r?.lastNumSent ?? 0;
  st.lastNumRetrans = r?.lastNumRetrans ?? 0;
  st.tokenPriority = false;
  st.lastToken = blankToken(st);
  st.tokenAlive = true;
  if (r !== undefined) resume(st, r);
  else startFresh(st, ring.sendFirstToken ?? topo.last === s.myId);
  arm(st, 'tokenLoss', now + s.tokenTimeout);
  // Resuming is "as if I had just processed a token at `now`": the leader's hurry timer runs.
  if (r !== undefined && topo.isLeader) arm(st, 'hurry', now + s.hurryTimeout);
  else cancel(st, 'hurry');
}

function resume(st: RingState, r: RingResume): void {
  const t = r.lastToken;
  st.lastToken.type = t.type;
  st.lastToken.seq = t.seq;
  st.lastToken.aru = t.aru;
  st.lastToken.aruLastId = t.aruLastId;
  st.lastToken.flowControl = t.flowControl;
  st.tokenRounds = r.tokenRounds;
  // Received_token_rounds trails Token_rounds by the one round the last member starts with.
  st.receivedTokenRounds = r.receivedTokenRounds ?? r.tokenRounds - (st.topo!.last === st.settings.myId ? 1 : 0);
  st.tokenCounter = r.tokenCounter;
  st.justInstalled = false;
}

function startFresh(st: RingState, sendFirst: boolean): void {
  st.lastToken.seq = 0;
  st.lastToken.aru = st.highestSeq;
  st.tokenRounds = sendFirst ? 1 : 0;
  st.receivedTokenRounds = 0;
  st.tokenCounter = 0;
  st.justInstalled = true;
  if (!sendFirst) return;
  // Read_form2 at the last member: header-only, seq 0, aru "infinite", sent twice.
  const first = blankToken(st);
  first.aru = FIRST_TOKEN_ARU;
  const bytes = encodeToken(first, null);
  sendTo(st, 'token', st.topo!.leader, bytes);
  sendTo(st, 'token', st.topo!.leader, bytes);
}

/** Before the first ring: me alone with ring id `ringId`, no live token; datagrams are screened and handed up. */
export function standby(st: RingState, ringId: RingId, members: readonly number[]): void {
  const s = st.settings;
  const topo = new RingTopology(s.myId, s.segments, ringId, members);
  st.topo = topo;
  setRingIds(st, topo.ringId, topo.ringId);
  ensureUpChains(st);
  st.tokenAlive = false;
  st.mode = 'op';
}

/** Read_form2, ring part (see RingEngine.installEvs). Returns the deliveries up to `ring.aru`. */
export function installEvs(st: RingState, ring: EvsInstall, now: number): DeliverAction[] {
  const s = st.settings;
  const topo = new RingTopology(s.myId, s.segments, ring.ringId, ring.members);
  st.topo = topo;
  setRingIds(st, topo.ringId, { procId: ring.oldRingId.procId | 0, time: ring.oldRingId.time | 0 });
  ensureUpChains(st);
  st.mode = 'op';
  st.lastNumSent = 0;
  st.lastNumRetrans = 0;
  st.highestSeq = ring.highestSeq;
  st.aru = ring.aru;
  const delivered = captureDeliveries(st, discardPackets, undefined);
  for (const h of ring.holes) {
    if (h > st.lastDiscarded) st.packets.putDummy(h);
  }
  st.tokenRounds = ring.tokenRounds;
  st.tokenAlive = true;
  st.justInstalled = false;
  st.tokenPriority = false;
  flushPostToken(st);
  arm(st, 'tokenLoss', now + s.tokenTimeout);
  cancel(st, 'hurry');
  st.receivedTokenRounds = 0;
  st.lastToken.type = 0;
  st.lastToken.seq = 0;
  st.lastToken.aru = 0;
  st.aru = 0;
  st.mode = 'evs';
  st.lastSeq = ring.lastSeq;
  return delivered;
}

/** Discard_packets in EVS once Aru = Last_seq (see RingEngine.completeEvs); then a fresh start on the new ring. */
export function completeEvs(st: RingState, commit: readonly number[]): EvsDelivered {
  const beforeTransitional = captureDeliveries(st, deliverBeforeTransitional, undefined);
  const inCommit = new Set(commit.map((id) => id | 0));
  const afterTransitional = captureDeliveries(st, deliverAfterTransitional, inCommit);
  st.packets.clear();
  resetUpChains(st);
  st.queue.rewindHead();
  setRingIds(st, st.ringId, st.ringId);
  resetCounters(st, st.baseSeq);
  st.tokenCounter = 0;
  st.justInstalled = true;
  st.mode = 'op';
  return { beforeTransitional, afterTransitional };
}

/** The old ring's messages in the regular configuration: up to the first dummy or SAFE packet. */
function deliverBeforeTransitional(st: RingState): void {
  const p = st.packets;
  for (let i = st.lastDiscarded + 1; i <= st.highestSeq; i++) {
    const slot = i & PACKET_MASK;
    const e = p.exist[slot];
    if (e === Exist.DUMMY) break;
    if (e === Exist.ABSENT || p.seq[slot] !== i) {
      violation(st, 'DISCARD_MISSING', `EVS: packet ${i} missing before the transitional configuration`);
      break;
    }
    if (p.type[slot]! & PacketType.SAFE) break;
    if (e === Exist.HELD) deliverPacket(st, slot);
    p.free(slot);
    st.lastDiscarded = i;
  }
}

/** The rest, after the transitional configuration: after the first dummy only from daemons in `commit`. */
function deliverAfterTransitional(st: RingState, inCommit: ReadonlySet<number>): void {
  const p = st.packets;
  const topo = st.topo!;
  let hole = false;
  for (let i = st.lastDiscarded + 1; i <= st.highestSeq; i++) {
    const slot = i & PACKET_MASK;
    const e = p.exist[slot];
    if (e === Exist.DUMMY) {
      hole = true;
    } else if (e === Exist.ABSENT || p.seq[slot] !== i) {
      violation(st, 'DISCARD_MISSING', `EVS: packet ${i} missing after the transitional configuration`);
    } else if (!hole || inCommit.has(topo.idOfIndex[p.procIndex[slot]!]!)) {
      if (e === Exist.HELD) deliverPacket(st, slot);
    }
    p.free(slot);
  }
}

/** Backoff_membership: dummies become holes again, Aru falls back to Last_discarded, My_aru is recomputed. */
export function backoff(st: RingState): void {
  const p = st.packets;
  for (let i = st.lastDiscarded + 1; i <= st.highestSeq; i++) {
    const slot = i & PACKET_MASK;
    if (p.exist[slot] === Exist.DUMMY) p.free(slot);
  }
  st.aru = st.lastDiscarded;
  st.myAru = st.lastDiscarded;
  advanceMyAru(st);
  st.mode = 'op';
}
