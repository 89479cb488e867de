/**
 * New packets at a token visit (SPEC.md Part V §8, original vs accelerated ring): Send_new_packets
 * builds each packet from the head of the down queue (cut and packed as §10 says), stores it and
 * broadcasts it — at once in the original ring, or, in the accelerated ring, the last
 * AcceleratedWindow of them after the token, stamped with the token round they were sent in.
 */
import { encodePacketHeaderInto, patchTokenRound } from '../../wire/daemon/header.js';
import { Size } from '../../wire/daemon/constants.js';
import { PACKET_MASK } from './constants.js';
import { alloc, backpressure, bcast, violation } from './output.js';
import type { RingState } from './state.js';
import { Exist } from './window.js';

const HEADER = Size.PACKET_HEADER;

/** Send_new_packets: up to `allowed` packets from the current down queue; returns how many. */
export function sendNewPackets(st: RingState, allowed: number): number {
  const topo = st.topo!;
  const plan = st.plan;
  const h = st.scratchHeader;
  let sent = 0;
  while (sent < allowed && st.queue.length > 0) {
    st.queue.planPacket(plan);
    const seq = ++st.highestSeq;
    const inPlace = plan.takeRoom();
    const bytes = inPlace ?? alloc(st, HEADER + plan.dataLen);
    // transmitterId, procId, tokenRound (stamped when sent) and confHash are set once (RingState).
    h.type = plan.packetType;
    h.seq = seq;
    h.fragIndex = plan.index[0]!;
    h.fragLen = plan.len[0]!;
    encodePacketHeaderInto(h, plan.dataLen, bytes, 0);
    if (inPlace === null) plan.writeBody(bytes, HEADER);
    plan.release();
    const slot = seq & PACKET_MASK;
    if (st.packets.exist[slot] !== Exist.ABSENT) {
      violation(st, 'SEQ_COLLISION', `created packet ${seq} but slot holds ${st.packets.seq[slot]}`);
    }
    st.packets.put(seq, plan.packetType, topo.myIndex, h.fragIndex, bytes);
    queueBcast(st, bytes);
    sent++;
    st.stats.packetsSent++;
  }
  if (st.blocked && !st.queue.full) backpressure(st, false);
  return sent;
}

/** Prot_queue_bcast: original ring sends now; accelerated keeps the last AcceleratedWindow for after the token. */
function queueBcast(st: RingState, bytes: Uint8Array): void {
  const q = st.postToken;
  const aw = st.acceleratedWindow;
  if (!st.accelerated || st.mode === 'evs') {
    flushPostToken(st);
    stampAndSend(st, bytes);
    return;
  }
  let n = q.length - aw + 1;
  if (n < 0) n = 0;
  if (n > q.length) n = q.length;
  if (n > 0) {
    for (let i = 0; i < n; i++) stampAndSend(st, q[i]!);
    q.splice(0, n);
  }
  if (aw === 0) stampAndSend(st, bytes);
  else q.push(bytes);
}

/** Sends the packets held back for after the token (accelerated ring). */
export function flushPostToken(st: RingState): void {
  const q = st.postToken;
  for (let i = 0; i < q.length; i++) stampAndSend(st, q[i]!);
  q.length = 0;
}

function stampAndSend(st: RingState, bytes: Uint8Array): void {
  patchTokenRound(bytes, true, st.tokenRounds);
  bcast(st, bytes);
}
