/**
 * Resumable stream framer for messages after the handshake (either direction).
 * push(chunk) appends bytes; next() returns one complete message or null when more bytes are
 * needed. A header that breaks the limits throws ProtocolError; the stream is then unusable.
 *
 * Chunks are kept in a list and only joined when a header or a whole frame is available, and
 * then only as many chunks as that needs: each byte is copied at most a couple of times, so a
 * big message arriving in many small segments costs linear, not quadratic, time.
 *
 * Limits: the header limits bound every frame; `maxBuffered` (default: the largest frame the
 * header limits allow) caps the bytes of one incomplete frame. A header announcing a longer
 * frame throws TOO_LARGE from next(), and push() throws TOO_LARGE when more than
 * `maxBuffered` bytes are still unread from earlier pushes (a caller that does not drain).
 * A chunk may itself hold many frames: it is never refused for its size alone.
 *
 * Decoded data never aliases a buffer that is written again: chunks handed in by the socket
 * are fresh, and joined bytes always go into a newly allocated buffer.
 */
import { ProtocolError } from '../errors.js';
import { bodyLength, decodeBody, decodeHeader, HEADER_SIZE } from './message.js';
import type { HeaderLimits, MessageHeader, WireMessage } from './message.js';

export interface FramerOptions extends HeaderLimits {
  /** Hard cap on bytes held while waiting for a frame to complete. */
  maxBuffered?: number;
}

export interface Frame {
  message: WireMessage;
  /** Writer's byte order (from the marker in type). */
  littleEndian: boolean;
  /** Whole frame length in bytes. */
  length: number;
}

const EMPTY = new Uint8Array(0);

export class MessageFramer {
  /** Unread bytes: chunks[0] from `start`, then every later chunk whole. */
  private chunks: Uint8Array[] = [];
  private start = 0;
  private held = 0;
  /** The decoded header of the first unreturned frame, while its body is incomplete. */
  private pending: { header: MessageHeader; littleEndian: boolean; length: number } | null = null;
  private readonly maxBuffered: number;

  constructor(private readonly limits: FramerOptions) {
    this.maxBuffered = limits.maxBuffered ?? HEADER_SIZE + 4 + 32 * limits.maxGroups + limits.maxDataLen;
  }

  /** Bytes received but not yet returned as frames (a pending frame's header included). */
  get buffered(): number {
    return this.held;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.held > this.maxBuffered) {
      throw new ProtocolError('TOO_LARGE', 'stream', 'buffered', 0, `<= ${this.maxBuffered}`, this.held + chunk.length);
    }
    this.chunks.push(chunk);
    this.held += chunk.length;
  }

  /** The next complete frame, or null if more bytes are needed. */
  next(): Frame | null {
    if (this.pending === null) {
      if (this.held < HEADER_SIZE) return null;
      const buf = this.contiguous(HEADER_SIZE);
      const h = decodeHeader(buf, this.start, buf.length, this.limits);
      const length = HEADER_SIZE + bodyLength(h.value);
      if (length > this.maxBuffered) {
        throw new ProtocolError('TOO_LARGE', 'stream', 'frame_length', this.start, `<= ${this.maxBuffered}`, length);
      }
      this.pending = { header: h.value, littleEndian: h.littleEndian, length };
    }
    const { header, littleEndian, length } = this.pending;
    if (this.held < length) return null;
    const buf = this.contiguous(length);
    const body = decodeBody(header, littleEndian, buf, this.start + HEADER_SIZE, buf.length);
    this.pending = null;
    this.held -= length;
    this.start = body.offset;
    if (this.start === buf.length) {
      this.chunks.shift();
      this.start = 0;
    }
    return { message: body.value, littleEndian, length };
  }

  /** Bytes still held (from the start of the first unreturned frame), e.g. to hand over after the framer is abandoned. */
  takeRemaining(): Uint8Array {
    const rest = this.held === 0 ? EMPTY : this.contiguous(this.held).subarray(this.start);
    this.chunks = [];
    this.start = 0;
    this.held = 0;
    this.pending = null;
    return rest;
  }

  /**
   * Makes the first `need` unread bytes (need <= held) contiguous in chunks[0], joining as
   * few chunks as possible into a fresh buffer, and returns chunks[0].
   */
  private contiguous(need: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length - this.start >= need) return first;
    let have = first.length - this.start;
    let n = 1;
    while (have < need) have += this.chunks[n++]!.length;
    const joined = new Uint8Array(have);
    joined.set(first.subarray(this.start), 0);
    let o = first.length - this.start;
    for (let i = 1; i < n; i++) {
      joined.set(this.chunks[i]!, o);
      o += this.chunks[i]!.length;
    }
    this.chunks.splice(0, n, joined);
    this.start = 0;
    return joined;
  }
}
