/**
 * The down queue (messages waiting for the token) and how its head is cut into packets
 * (SPEC.md Part V §10).
 *
 *   message   = 48-byte header ‖ groups ‖ data, cut into fragments of 1432 bytes (the last
 *               one holds the remainder; an exact multiple ends with a full fragment)
 *   fragment k of n (k = 0..n−1): fragment_index = k+1 if k < n−1, else −n  (−1: whole message)
 *   packet    = the head's next fragment, then — once a message's LAST fragment is in — as many
 *               following whole messages as fit (4-byte aligned fragment_header before each)
 *               while their packet type equals the packet's or both are FIFO/AGREED
 *
 * Only single-fragment messages can be appended: a later fragment of a multi-fragment message
 * is a full 1432 bytes and never fits behind anything.
 */
import { PacketType, Size } from '../../wire/daemon/constants.js';
import { padBefore } from '../../wire/daemon/data.js';
import { putFragmentHeader } from '../../wire/daemon/data-inplace.js';
import { FRAGMENT_SIZE, WATER_MARK, WATER_MARK_BYTES } from './constants.js';

export class DownMessage {
  /** Fragments sent so far (Down_queue_ptr->cur_element while this is the head). */
  cur = 0;
  readonly numFragments: number;
  /**
   * @param room whether the 40 bytes before `bytes` in its buffer are reserved for a packet
   *   header (the submitter's promise, src/wire/slab.ts allocWithRoom); used at most once
   */
  constructor(
    readonly bytes: Uint8Array,
    readonly packetType: number,
    public room = false,
  ) {
    this.numFragments = Math.max(1, Math.ceil(bytes.length / FRAGMENT_SIZE));
  }

  fragmentLength(k: number): number {
    return k < this.numFragments - 1 ? FRAGMENT_SIZE : this.bytes.length - (this.numFragments - 1) * FRAGMENT_SIZE;
  }
}

function packable(packetType: number, other: number): boolean {
  if (packetType === other) return true;
  const fa = PacketType.FIFO | PacketType.AGREED;
  return (packetType & fa) !== 0 && (other & fa) !== 0;
}

/**
 * One packet's worth of fragments, planned before the bytes are written so that the datagram
 * is allocated once at its exact size. Reused across packets.
 */
export class PacketPlan {
  count = 0;
  /** Body length (packet_header.data_len). */
  dataLen = 0;
  packetType = 0;
  readonly msgs: DownMessage[] = [];
  readonly frag: number[] = [];
  readonly index: number[] = [];
  readonly len: number[] = [];

  reset(): void {
    this.count = 0;
    this.dataLen = 0;
    this.packetType = 0;
  }

  add(m: DownMessage, frag: number, index: number, len: number): void {
    const i = this.count++;
    this.msgs[i] = m;
    this.frag[i] = frag;
    this.index[i] = index;
    this.len[i] = len;
  }

  /** Writes the body at `o` (the byte after the 40-byte header). Pads are written as zeros. */
  writeBody(buf: Uint8Array, o: number): void {
    const start = o;
    for (let i = 0; i < this.count; i++) {
      const m = this.msgs[i]!;
      const f = this.frag[i]!;
      const len = this.len[i]!;
      if (i > 0) {
        const pad = padBefore(o - start);
        for (let p = 0; p < pad; p++) buf[o++] = 0;
        o = putFragmentHeader(buf, o, this.index[i]!, len);
      }
      const from = f * FRAGMENT_SIZE;
      buf.set(from === 0 && len === m.bytes.length ? m.bytes : m.bytes.subarray(from, from + len), o);
      o += len;
    }
  }

  /**
   * The packet around the plan's one message, in place, when the plan is that whole message
   * alone and room for the packet header was reserved before it (DownMessage.room): the header
   * is then written there and the message is not copied. Null otherwise. The room is taken
   * once, so the message is never the body of two packets.
   */
  takeRoom(): Uint8Array | null {
    if (this.count !== 1 || this.index[0] !== -1) return null;
    const m = this.msgs[0]!;
    if (!m.room) return null;
    m.room = false;
    const b = m.bytes;
    return new Uint8Array(b.buffer, b.byteOffset - Size.PACKET_HEADER, Size.PACKET_HEADER + b.length);
  }

  /** Drops references to queued messages so they can be collected. */
  release(): void {
    for (let i = 0; i < this.count; i++) this.msgs[i] = undefined as unknown as DownMessage;
  }
}

/** FIFO of messages with O(1) push / shift. */
export class DownQueue {
  private items: (DownMessage | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** Bytes of the messages queued (a partly sent head counts whole). */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** WATER_MARK messages or WATER_MARK_BYTES bytes are queued: clients are not read. */
  get full(): boolean {
    return this.length >= WATER_MARK || this.queuedBytes >= WATER_MARK_BYTES;
  }

  push(m: DownMessage): void {
    this.items.push(m);
    this.queuedBytes += m.bytes.length;
  }

  peek(): DownMessage | undefined {
    return this.items[this.head];
  }

  shift(): DownMessage | undefined {
    if (this.head >= this.items.length) return undefined;
    const m = this.items[this.head]!;
    this.items[this.head++] = undefined;
    this.queuedBytes -= m.bytes.length;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return m;
  }

  /** A new ring resends a partly sent head message from its first fragment. */
  rewindHead(): void {
    const m = this.peek();
    if (m !== undefined) m.cur = 0;
  }

  /**
   * Plans the next packet from the head of the queue (Send_new_packets' filling loop) and
   * removes the messages it completes. The queue must not be empty. Returns how many messages
   * were completed (popped).
   */
  planPacket(plan: PacketPlan): number {
    plan.reset();
    let m = this.peek()!;
    plan.packetType = m.packetType;
    let k = m.cur;
    let len = m.fragmentLength(k);
    let popped = 0;
    let index: number;
    m.cur = k + 1;
    if (m.cur < m.numFragments) {
      index = m.cur;
    } else {
      index = -m.numFragments;
      this.shift();
      popped++;
    }
    plan.add(m, k, index, len);
    plan.dataLen = len;
    for (;;) {
      const next = this.peek();
      if (next === undefined) break;
      const pad = padBefore(plan.dataLen);
      const available = Size.PACKET_BODY - plan.dataLen - pad - Size.FRAGMENT_HEADER;
      k = next.cur;
      len = next.fragmentLength(k);
      if (len > available) break;
      if (!packable(plan.packetType, next.packetType)) break;
      // Only whole single-fragment messages can get here (see the file comment).
      m = next;
      m.cur = k + 1;
      if (m.cur < m.numFragments) {
        index = m.cur;
      } else {
        index = -m.numFragments;
        this.shift();
        popped++;
      }
      plan.add(m, k, index, len);
      plan.dataLen += pad + Size.FRAGMENT_HEADER + len;
    }
    return popped;
  }
}
