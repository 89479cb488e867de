/**
 * The one resumable stream framer for messages after the handshake (SPEC.md Part I §3), used by
 * the client library (daemon → client) and by the daemon (client → daemon).
 * push(chunk) appends bytes; next() returns one complete decoded message, nextRaw() one
 * complete frame's bytes, or null when more bytes are needed. Each header is checked as soon as
 * its 48 bytes are in, before any of its body is accepted: against the limits (ProtocolError),
 * then by the `validate` hook (a daemon's checks of what a client may send, Part I §5.2). The
 * framer never moves past a refused header: every later next()/nextRaw() throws again.
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
 * Decoded data never aliases a buffer that is written again: joined bytes always go into a
 * newly allocated buffer, and a caller that reuses its chunks (a socket's read buffer) calls
 * detach() after draining, which copies the unread tail.
 */
import { ProtocolError } from '../errors.js';
import { bodyLength, decodeBody, decodeHeader, HEADER_SIZE } from './message.js';
import type { HeaderLimits, MessageHeader, WireMessage } from './message.js';

export interface FramerOptions extends HeaderLimits {
  /** Hard cap on bytes held while waiting for a frame to complete. */
  maxBuffered?: number;
  /** Checks each decoded header before its body is accepted; throwing refuses it. */
  validate?: (header: MessageHeader) => void;
  /** Allocates the buffer nextRaw() gathers a frame split across chunks into (default: a zeroed Uint8Array). */
  allocate?: (length: number) => Uint8Array;
}

export interface Frame {
  message: WireMessage;
  /** Writer's byte order (from the marker in type). */
  littleEndian: boolean;
  /** Whole frame length in bytes. */
  length: number;
}

/** A complete frame as received: its decoded header and its bytes. */
export interface RawFrame {
  header: MessageHeader;
  /** Writer's byte order (from the marker in type). */
  littleEndian: boolean;
  /** The whole frame, header included. */
  bytes: Uint8Array;
  /**
   * True when `bytes` is a buffer of its own, gathered from several chunks (the caller may
   * write it); false when it is a view of a pushed chunk.
   */
  owned: boolean;
}

interface Pending {
  header: MessageHeader;
  littleEndian: boolean;
  length: number;
}

const EMPTY = new Uint8Array(0);

export class MessageFramer {
  /** Unread bytes: chunks[0] from `start`, then every later chunk whole. */
  private chunks: Uint8Array[] = [];
  private start = 0;
  private held = 0;
  /** The decoded header of the first unreturned frame, while its body is incomplete. */
  private pending: Pending | null = null;
  private readonly maxBuffered: number;
  private readonly validate: ((header: MessageHeader) => void) | undefined;

  constructor(private readonly limits: FramerOptions) {
    this.maxBuffered = limits.maxBuffered ?? HEADER_SIZE + 4 + 32 * limits.maxGroups + limits.maxDataLen;
    this.validate = limits.validate;
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

  /** The next complete frame, decoded, or null if more bytes are needed. */
  next(): Frame | null {
    const p = this.pending ?? this.startFrame();
    if (p === null || this.held < p.length) return null;
    const buf = this.contiguous(p.length);
    const body = decodeBody(p.header, p.littleEndian, buf, this.start + HEADER_SIZE, buf.length);
    this.consume(p.length, buf);
    return { message: body.value, littleEndian: p.littleEndian, length: p.length };
  }

  /**
   * The next complete frame's bytes, or null if more bytes are needed: a view when the frame
   * lies in one chunk, else its bytes gathered (each copied once) into a buffer of its own.
   */
  nextRaw(): RawFrame | null {
    const p = this.pending ?? this.startFrame();
    if (p === null || this.held < p.length) return null;
    const first = this.chunks[0]!;
    if (first.length - this.start < p.length) {
      return { header: p.header, littleEndian: p.littleEndian, bytes: this.gather(p.length), owned: true };
    }
    const bytes = first.subarray(this.start, this.start + p.length);
    this.consume(p.length, first);
    return { header: p.header, littleEndian: p.littleEndian, bytes, owned: false };
  }

  /**
   * Decodes and checks the header of the first unreturned frame once its 48 bytes are held
   * (null before). A refused header throws, and throws again on every later call: the framer
   * never moves past it.
   */
  private startFrame(): Pending | null {
    if (this.held < HEADER_SIZE) return null;
    const buf = this.contiguous(HEADER_SIZE);
    const h = decodeHeader(buf, this.start, buf.length, this.limits);
    if (this.validate !== undefined) this.validate(h.value);
    const length = HEADER_SIZE + bodyLength(h.value);
    if (length > this.maxBuffered) {
      throw new ProtocolError('TOO_LARGE', 'stream', 'frame_length', this.start, `<= ${this.maxBuffered}`, length);
    }
    return (this.pending = { header: h.value, littleEndian: h.littleEndian, length });
  }

  /** Moves the first `n` unread bytes, spread over several chunks, into a new buffer. */
  private gather(n: number): Uint8Array {
    const out = this.limits.allocate?.(n) ?? new Uint8Array(n);
    this.pending = null;
    this.held -= n;
    for (let o = 0; o < n;) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.start, n - o);
      out.set(c.subarray(this.start, this.start + k), o);
      o += k;
      this.start += k;
      if (this.start === c.length) {
        this.chunks.shift();
        this.start = 0;
      }
    }
    return out;
  }

  /** Drops the returned frame of `length` bytes from the front of `buf` (= chunks[0]). */
  private consume(length: number, buf: Uint8Array): void {
    this.pending = null;
    this.held -= length;
    this.start += length;
    if (this.start === buf.length) {
      this.chunks.shift();
      this.start = 0;
    }
  }

  /**
   * Copies the unread part of the last pushed chunk into a buffer of the framer's own, so the
   * caller may reuse that chunk (a socket's read buffer). Earlier chunks were detached before.
   */
  detach(): void {
    const last = this.chunks.length - 1;
    if (last < 0) return;
    const from = last === 0 ? this.start : 0;
    const c = this.chunks[last]!;
    const own = this.limits.allocate?.(c.length - from) ?? new Uint8Array(c.length - from);
    own.set(c.subarray(from));
    this.chunks[last] = own;
    if (last === 0) this.start = 0;
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
