/**
 * Resumable stream framer for messages after the handshake (either direction).
 * push(chunk) appends bytes; next() returns one complete message or null when more bytes are
 * needed. A header that breaks the limits throws ProtocolError; the stream is then unusable.
 *
 * Decoded data never aliases a buffer that is written again: chunks handed in by the socket
 * are fresh, and when partial frames are merged a new buffer is allocated.
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
  private buf: Uint8Array = EMPTY;
  private start = 0;
  private pending: { header: MessageHeader; littleEndian: boolean } | null = null;
  private readonly maxBuffered: number;

  constructor(private readonly limits: FramerOptions) {
    this.maxBuffered = limits.maxBuffered ?? HEADER_SIZE + 4 + 32 * limits.maxGroups + limits.maxDataLen;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.buf.length - this.start;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const left = this.buf.length - this.start;
    if (left === 0) {
      this.buf = chunk;
    } else {
      if (left + chunk.length > this.maxBuffered) {
        throw new ProtocolError('TOO_LARGE', 'stream', 'buffered', 0, `<= ${this.maxBuffered}`, left + chunk.length);
      }
      const merged = new Uint8Array(left + chunk.length);
      merged.set(this.buf.subarray(this.start), 0);
      merged.set(chunk, left);
      this.buf = merged;
    }
    this.start = 0;
  }

  /** The next complete frame, or null if more bytes are needed. */
  next(): Frame | null {
    const end = this.buf.length;
    let o = this.start;
    if (this.pending === null) {
      if (end - o < HEADER_SIZE) return null;
      const h = decodeHeader(this.buf, o, end, this.limits);
      this.pending = { header: h.value, littleEndian: h.littleEndian };
      this.start = o = h.offset;
    }
    const { header, littleEndian } = this.pending;
    if (end - o < bodyLength(header)) return null;
    const body = decodeBody(header, littleEndian, this.buf, o, end);
    this.pending = null;
    this.start = body.offset;
    if (this.start === end) {
      this.buf = EMPTY;
      this.start = 0;
    }
    return { message: body.value, littleEndian, length: HEADER_SIZE + bodyLength(header) };
  }

  /** Bytes still held, e.g. to hand over after the framer is abandoned. */
  takeRemaining(): Uint8Array {
    const rest = this.buf.subarray(this.start);
    this.buf = EMPTY;
    this.start = 0;
    return rest;
  }
}
