/**
 * The one place where the daemon codecs deal with byte order.
 *
 * A daemon writes its native order and marks it in the structure's type word (0x80000080 set
 * = little-endian writer, clear = big-endian writer). `Reader` is created once per datagram
 * from that marker and every multi-byte read of the datagram goes through it; writers always
 * write little-endian (`put*`).
 *
 * Readers do not bounds-check individual reads: each decoder checks the extent of a structure
 * with `need()` first, which throws a TRUNCATED ProtocolError naming the structure and field.
 */
import { assertBounds, ProtocolError } from '../errors.js';

export class Reader {
  constructor(
    readonly buf: Uint8Array,
    /** The writer's byte order. */
    readonly le: boolean,
    /** Exclusive end of the readable bytes. */
    readonly end: number,
  ) {}

  /** Throws TRUNCATED unless `n` bytes are available at `offset`. */
  need(offset: number, n: number, structure: string, field: string): void {
    assertBounds(this.end, offset, n, structure, field);
  }

  u32(o: number): number {
    const b = this.buf;
    return this.le
      ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
      : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  i32(o: number): number {
    const b = this.buf;
    return this.le
      ? b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)
      : (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  }

  u16(o: number): number {
    const b = this.buf;
    return this.le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
  }

  i16(o: number): number {
    return (this.u16(o) << 16) >> 16;
  }
}

/**
 * Detects the writer's order from the type word at `offset`: both marker bits set ⇒ LE,
 * both clear ⇒ BE; one without the other is not a Spread type word.
 */
export function readerFor(buf: Uint8Array, offset: number, end: number, structure: string): Reader {
  assertBounds(end, offset, 4, structure, 'type');
  const hi = buf[offset]! & 0x80;
  const lo = buf[offset + 3]! & 0x80;
  if (hi !== lo) {
    throw new ProtocolError('BAD_VALUE', structure, 'type', offset, 'endian marker 0x80000080 set or clear',
      `0x${hex32(buf, offset)}`);
  }
  return new Reader(buf, hi !== 0, end);
}

function hex32(buf: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += buf[o + i]!.toString(16).padStart(2, '0');
  return s;
}

// Little-endian writers. Values may be signed or unsigned; only the low bits are written.

export function put32(buf: Uint8Array, o: number, v: number): number {
  buf[o] = v & 0xff;
  buf[o + 1] = (v >>> 8) & 0xff;
  buf[o + 2] = (v >>> 16) & 0xff;
  buf[o + 3] = (v >>> 24) & 0xff;
  return o + 4;
}

export function put16(buf: Uint8Array, o: number, v: number): number {
  buf[o] = v & 0xff;
  buf[o + 1] = (v >>> 8) & 0xff;
  return o + 2;
}

/** Copies `src` into `buf` at `o` when given, else writes `n` zero bytes. Length must be `n`. */
export function putRaw(
  buf: Uint8Array,
  o: number,
  n: number,
  src: Uint8Array | undefined,
  structure: string,
  field: string,
): number {
  if (src === undefined) {
    buf.fill(0, o, o + n);
  } else {
    if (src.length !== n) throw new ProtocolError('BAD_VALUE', structure, field, o, `${n} bytes`, `${src.length} bytes`);
    buf.set(src, o);
  }
  return o + n;
}

/**
 * `buf[a..b)` as a plain Uint8Array (also when `buf` is a Node Buffer): a view, or a copy when
 * `copy` is set.
 */
export function bytesOf(buf: Uint8Array, a: number, b: number, copy: boolean): Uint8Array {
  const view = new Uint8Array(buf.buffer, buf.byteOffset + a, b - a);
  return copy ? new Uint8Array(view) : view;
}

/** Throws BAD_VALUE unless lo <= v <= hi. */
export function checkRange(v: number, lo: number, hi: number, structure: string, field: string, offset: number): void {
  if (v < lo || v > hi) {
    throw new ProtocolError(v > hi ? 'TOO_LARGE' : 'BAD_VALUE', structure, field, offset, `${lo}..${hi}`, v);
  }
}
