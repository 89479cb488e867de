/**
 * Delivery (SPEC.md Part V §11): My_aru, reliable delivery out of order, agreed delivery in
 * seq order up to My_aru, safe delivery and freeing up to Aru (Discard_packets outside EVS),
 * reassembly of fragments per originating daemon, and the delivery threshold.
 */
import { PacketType, Size } from '../../wire/daemon/constants.js';
import { padBefore } from '../../wire/daemon/data.js';
import { firstFragLenLE, fragmentLenLE } from '../../wire/daemon/data-inplace.js';
import { DeliveryThreshold, PACKET_MASK } from './constants.js';
import { alloc, violation } from './output.js';
import type { RingState, UpChain } from './state.js';
import { Exist } from './window.js';

const RELIABLE = PacketType.RELIABLE;
const HEADER = Size.PACKET_HEADER;

/** My_aru: the highest seq up to which every packet is here (held, delivered or an EVS dummy). */
export function advanceMyAru(st: RingState): void {
  const p = st.packets;
  let a = st.myAru;
  const hi = st.highestSeq;
  while (a < hi && p.exist[(a + 1) & PACKET_MASK] !== Exist.ABSENT) a++;
  st.myAru = a;
}

/** Deliver_reliable_packets: single-packet RELIABLE messages may overtake. */
export function deliverReliable(st: RingState, start: number, num: number): void {
  if (st.mode === 'evs' || st.threshold > PacketType.RELIABLE) return;
  const end = start + num - 1;
  if (start <= st.lastDelivered) start = st.lastDelivered + 1;
  const p = st.packets;
  for (let i = start; i <= end; i++) {
    const s = i & PACKET_MASK;
    if (p.exist[s] === Exist.HELD && p.type[s]! & RELIABLE && p.firstIndex[s] === -1) deliverPacket(st, s);
  }
}

/** Deliver_agreed_packets: everything up to My_aru in seq order, stopping at the first SAFE. */
export function deliverAgreed(st: RingState): void {
  if (st.myAru <= st.lastDelivered || st.mode === 'evs' || st.threshold > PacketType.AGREED) return;
  const p = st.packets;
  for (let i = st.lastDelivered + 1; i <= st.myAru; i++) {
    const s = i & PACKET_MASK;
    const e = p.exist[s];
    if (e === Exist.HELD) {
      if (p.type[s]! & PacketType.SAFE) return;
      deliverPacket(st, s);
      st.lastDelivered++;
    } else if (e === Exist.DELIVERED) {
      st.lastDelivered++;
    } else {
      violation(st, 'AGREED_MISSING', `packet ${i} <= My_aru ${st.myAru} is missing`);
      return;
    }
  }
}

/** Discard_packets (outside EVS): deliver everything up to Aru, SAFE included, and free it. */
export function discardPackets(st: RingState): void {
  if (st.aru <= st.lastDiscarded || st.mode === 'evs') return;
  const p = st.packets;
  for (let i = st.lastDiscarded + 1; i <= st.aru; i++) {
    const s = i & PACKET_MASK;
    const e = p.exist[s];
    if (e === Exist.ABSENT) {
      violation(st, 'DISCARD_MISSING', `packet ${i} <= Aru ${st.aru} is missing`);
      continue;
    }
    if (e === Exist.HELD) deliverPacket(st, s);
    p.free(s);
  }
  st.lastDiscarded = st.aru;
  if (st.lastDelivered < st.lastDiscarded) st.lastDelivered = st.lastDiscarded;
}

/** Prot_set_delivery_threshold: lowering it delivers what was held back. */
export function setDeliveryThreshold(st: RingState, t: DeliveryThreshold): void {
  const old = st.threshold;
  st.threshold = t;
  if (t < old && st.topo !== null) {
    if (t <= PacketType.RELIABLE) deliverReliable(st, st.lastDelivered + 1, st.highestSeq - st.lastDelivered);
    if (t <= PacketType.AGREED) deliverAgreed(st);
  }
}

/** Deliver_packet: chain the first fragment into its sender's message, then the packed ones. */
export function deliverPacket(st: RingState, slot: number): void {
  const p = st.packets;
  const topo = st.topo!;
  const b = p.bytes[slot]!;
  const type = p.type[slot]!;
  const seq = p.seq[slot]!;
  const procIndex = p.procIndex[slot]!;
  const sender = topo.idOfIndex[procIndex]!;
  const firstIndex = p.firstIndex[slot]!;
  const firstLen = firstFragLenLE(b);
  const dataLen = b.length - HEADER;
  p.exist[slot] = Exist.DELIVERED;
  st.stats.packetsDelivered++;

  const chain = st.up[type & RELIABLE && firstIndex === -1 ? topo.numProcs : procIndex]!;
  const index = firstIndex < 0 ? -firstIndex : firstIndex;
  if (chain.n + 1 !== index) {
    violation(st, 'FRAGMENT_SEQUENCE', `packet ${seq}: fragment ${firstIndex} after ${chain.n} fragments`);
    chain.n = 0;
    chain.bytes = 0;
    if (index !== 1) return;
  }
  const first = b.subarray(HEADER, HEADER + firstLen);
  chain.parts[chain.n++] = first;
  chain.bytes += firstLen;
  if (firstIndex < 0) emitDeliver(st, takeMessage(st, chain), type, sender, seq);
  let q = firstLen;
  while (q < dataLen) {
    const hdr = q + padBefore(q);
    const len = fragmentLenLE(b, HEADER + hdr);
    const start = HEADER + hdr + Size.FRAGMENT_HEADER;
    emitDeliver(st, b.subarray(start, start + len), type, sender, seq);
    q = hdr + Size.FRAGMENT_HEADER + len;
  }
}

/** The whole message of a completed chain (its one fragment, or the parts copied together); empties the chain. */
function takeMessage(st: RingState, chain: UpChain): Uint8Array {
  const parts = chain.parts;
  const n = chain.n;
  let message: Uint8Array;
  if (n === 1) {
    message = parts[0]!;
  } else {
    message = alloc(st, chain.bytes);
    let o = 0;
    for (let i = 0; i < n; i++) {
      message.set(parts[i]!, o);
      o += parts[i]!.length;
    }
  }
  for (let i = 0; i < n; i++) parts[i] = undefined as unknown as Uint8Array;
  chain.n = 0;
  chain.bytes = 0;
  return message;
}

function emitDeliver(st: RingState, message: Uint8Array, packetType: number, sender: number, seq: number): void {
  st.stats.messagesDelivered++;
  st.out.push({ kind: 'deliver', message, packetType, sender, seq });
}

/** One reassembly chain per member (by configuration index) plus one for single-packet RELIABLE. */
export function ensureUpChains(st: RingState): void {
  const n = st.topo!.numProcs + 1;
  while (st.up.length < n) st.up.push({ parts: [], n: 0, bytes: 0 });
}

export function resetUpChains(st: RingState): void {
  st.up = [];
  ensureUpChains(st);
}
