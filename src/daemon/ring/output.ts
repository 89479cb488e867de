/**
 * The engine's outputs (SPEC.md Part V §2–§3): sends along the topology (Net_bcast, Net_scast,
 * unicast, the relay of ROUTED datagrams), tokens, timers kept as deadlines, violations, and
 * the slabs datagrams are carved from. Everything is queued on `st.out` in the order the edge
 * must carry it out.
 */
import { encodeTokenHeaderInto, clearRoutedFlag, patchTransmitter, setRoutedFlag, type TokenHeader } from '../../wire/daemon/header.js';
import { Size } from '../../wire/daemon/constants.js';
import { encodeRtrListInto, rtrListLength, type RtrRecord } from '../../wire/daemon/token.js';
import type { Channel, DeliverAction, RingAction, RingTimer, ViolationCode } from './actions.js';
import type { RingState } from './state.js';

/** `n` fresh zeroed bytes from the ring's slabs (src/wire/slab.ts). */
export function alloc(st: RingState, n: number): Uint8Array {
  return st.slab.alloc(n);
}

export function copyOf(st: RingState, src: Uint8Array): Uint8Array {
  return st.slab.copy(src, 0, src.length);
}

export function sendTo(st: RingState, channel: Channel, proc: number, bytes: Uint8Array): void {
  st.out.push({ kind: 'send', channel, to: 'proc', target: proc, bytes });
}

/**
 * Net_bcast: ROUTED unicasts to other segments' first members, then my segment's broadcast. With
 * no other daemon configured in my segment every copy that leaves is ROUTED, so the packet takes
 * the flag itself instead of a copy (the reference sets it in place for each ROUTED send too; a
 * retransmission clears it on its own copy).
 */
export function bcast(st: RingState, bytes: Uint8Array): void {
  const topo = st.topo!;
  const targets = topo.routedTargets;
  if (targets.length > 0) {
    const routed = topo.bcastNeeded ? copyOf(st, bytes) : bytes;
    setRoutedFlag(routed, true);
    for (let i = 0; i < targets.length; i++) sendTo(st, 'data', targets[i]!, routed);
  }
  if (topo.bcastNeeded) st.out.push({ kind: 'send', channel: 'data', to: 'segment', target: topo.mySeg, bytes });
}

/** Net_scast. */
export function scast(st: RingState, seg: number, bytes: Uint8Array): void {
  const topo = st.topo!;
  if (seg === topo.mySeg) {
    if (topo.bcastNeeded) st.out.push({ kind: 'send', channel: 'data', to: 'segment', target: seg, bytes });
  } else if (seg >= 0 && seg < topo.numSegments && topo.segmentHasMembers[seg]) {
    const routed = copyOf(st, bytes);
    setRoutedFlag(routed, true);
    sendTo(st, 'data', topo.segmentFirst[seg]!, routed);
  }
}

/** Net_recv: the first member of a segment re-broadcasts ROUTED packets to its segment, in the sender's order. */
export function relay(st: RingState, bytes: Uint8Array, le: boolean): void {
  const copy = copyOf(st, bytes);
  clearRoutedFlag(copy, le);
  patchTransmitter(copy, le, st.settings.myId);
  st.stats.relayed++;
  st.out.push({ kind: 'send', channel: 'data', to: 'segment', target: st.topo!.mySeg, bytes: copy });
}

/** A token datagram: `t`'s header with the records (if any) as its body. */
export function encodeToken(t: TokenHeader, records: readonly RtrRecord[] | null): Uint8Array {
  const rtrLen = records === null ? 0 : rtrListLength(records);
  const bytes = new Uint8Array(Size.TOKEN_HEADER + rtrLen);
  encodeTokenHeaderInto(t, rtrLen, bytes, 0);
  if (records !== null) encodeRtrListInto(records, bytes, Size.TOKEN_HEADER);
  return bytes;
}

export function violation(st: RingState, code: ViolationCode, message: string): void {
  st.out.push({ kind: 'violation', code, message });
}

/** The down queue crossed its water mark (messages or bytes) one way or the other. */
export function backpressure(st: RingState, blocked: boolean): void {
  st.blocked = blocked;
  st.out.push({ kind: 'backpressure', blocked });
}

// Timers: deadlines live in the state; the edge hears only about changes, once per input.

export function arm(st: RingState, t: RingTimer, at: number): void {
  if (t === 'tokenLoss') {
    st.tokenLossAt = at;
    st.tokenLossDirty = true;
  } else {
    st.hurryAt = at;
    st.hurryDirty = true;
  }
}

export function cancel(st: RingState, t: RingTimer): void {
  if (t === 'tokenLoss') {
    if (st.tokenLossAt === null && !st.tokenLossDirty) return;
    st.tokenLossAt = null;
    st.tokenLossDirty = true;
  } else {
    if (st.hurryAt === null && !st.hurryDirty) return;
    st.hurryAt = null;
    st.hurryDirty = true;
  }
}

/** The deadline of timer `t`, or null. */
export function deadlineOf(st: RingState, t: RingTimer): number | null {
  return t === 'tokenLoss' ? st.tokenLossAt : st.hurryAt;
}

export function flushTimers(st: RingState): void {
  if (st.tokenLossDirty) {
    st.tokenLossDirty = false;
    st.out.push({ kind: 'timer', timer: 'tokenLoss', at: st.tokenLossAt });
  }
  if (st.hurryDirty) {
    st.hurryDirty = false;
    st.out.push({ kind: 'timer', timer: 'hurry', at: st.hurryAt });
  }
}

// Deliveries that membership takes as a return value (EVS) instead of as actions.

/** Runs `fn(st, arg)` with the action queue swapped out; returns its deliveries (its other actions stay queued). */
export function captureDeliveries<A>(st: RingState, fn: (st: RingState, arg: A) => void, arg: A): DeliverAction[] {
  const saved = st.out;
  st.out = [];
  let got: RingAction[];
  try {
    fn(st, arg);
  } finally {
    got = st.out;
    st.out = saved;
  }
  const delivered: DeliverAction[] = [];
  for (const a of got) {
    if (a.kind === 'deliver') delivered.push(a);
    else saved.push(a);
  }
  return delivered;
}
