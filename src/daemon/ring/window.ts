/**
 * Packets[]: the receive window, one slot per `seq & PACKET_MASK` (SPEC.md Part V §4).
 * Parallel typed arrays instead of an array of objects: the hot path touches a few fields of
 * many slots.
 *
 * A stored datagram is little-endian (big-endian arrivals are rewritten once), with ROUTED
 * clear, except my own packets when no other daemon is configured in my segment: they leave only
 * as ROUTED unicasts and are stored as sent. Once sent, the engine never modifies it
 * (retransmissions copy it and clear ROUTED on the copy).
 */
import { PACKET_MASK, PACKETS_IN_STRUCT } from './constants.js';

/** Slot states (Packets[].exist). */
export const Exist = {
  ABSENT: 0,
  HELD: 1,
  DELIVERED: 2,
  /** EVS hole filler (exist = 3): a seq nobody in the new ring has; counts as present for My_aru. */
  DUMMY: 3,
} as const;

export class PacketWindow {
  readonly exist = new Uint8Array(PACKETS_IN_STRUCT);
  readonly seq = new Int32Array(PACKETS_IN_STRUCT);
  /** Service bits of packet_header.type (RELIABLE/FIFO/AGREED/SAFE). */
  readonly type = new Int32Array(PACKETS_IN_STRUCT);
  /** Configuration index of the originating daemon. */
  readonly procIndex = new Int16Array(PACKETS_IN_STRUCT);
  /** first_frag_header.fragment_index. */
  readonly firstIndex = new Int16Array(PACKETS_IN_STRUCT);
  readonly bytes: (Uint8Array | null)[] = new Array<Uint8Array | null>(PACKETS_IN_STRUCT).fill(null);

  put(seq: number, type: number, procIndex: number, firstIndex: number, bytes: Uint8Array): void {
    const s = seq & PACKET_MASK;
    this.exist[s] = Exist.HELD;
    this.seq[s] = seq;
    this.type[s] = type;
    this.procIndex[s] = procIndex;
    this.firstIndex[s] = firstIndex;
    this.bytes[s] = bytes;
  }

  /** Marks `seq` as an EVS dummy, dropping whatever its slot held. */
  putDummy(seq: number): void {
    const s = seq & PACKET_MASK;
    this.exist[s] = Exist.DUMMY;
    this.seq[s] = seq;
    this.type[s] = 0;
    this.bytes[s] = null;
  }

  /** Whether `seq` itself is held with its bytes (received, delivered or not; not a dummy). */
  hasBytes(seq: number): boolean {
    const s = seq & PACKET_MASK;
    return (this.exist[s] === Exist.HELD || this.exist[s] === Exist.DELIVERED) && this.seq[s] === seq;
  }

  free(slot: number): void {
    this.exist[slot] = Exist.ABSENT;
    this.bytes[slot] = null;
  }

  /** Whether `seq` itself (not another seq sharing its slot) is held. */
  holds(seq: number): boolean {
    const s = seq & PACKET_MASK;
    return this.exist[s] !== Exist.ABSENT && this.seq[s] === seq;
  }

  clear(): void {
    this.exist.fill(0);
    this.bytes.fill(null);
  }
}
