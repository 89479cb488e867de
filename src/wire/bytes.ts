/**
 * Byte order and fixed-width fields, in one place for every codec of src/wire (SPEC.md Part I
 * §3.2 for the client protocol, Part IV §2 for the daemon protocol).
 *
 * Spread never uses network order: each writer puts its native order on the wire and marks it
 * in the structure's first (type) word with ENDIAN_MARKER (0x80000080, a byte palindrome, so
 * it can be tested before the order is known: marker set = little-endian writer, clear =
 * big-endian writer). We always write little-endian with the marker, and read either order.
 *
 * Reads: the free functions take the order per call (`readU32(buf, o, le)`); a daemon datagram
 * makes one `Reader` from its marker (`readerFor`) and every multi-byte read goes through it.
 * Readers do not bounds-check individual reads: each decoder checks the extent of a structure
 * first (`assertBounds`, `Reader.need`), which throws a TRUNCATED ProtocolError naming the
 * structure and field. Writes (`put32`, `put16`) are little-endian; values may be signed or
 * unsigned, only the low bits are written.
 */
import { assertBounds, ProtocolError } from './errors.js';

export const ENDIAN_MARKER = 0x80000080;

/** True when the 4 bytes at `offset`, read as a type word, carry the little-endian marker. */
export function isLittleEndianWord(buf: Uint8Array, offset: number): boolean {
  // The marker bits are byte 0 bit 7 and byte 3 bit 7 whichever the order.
  return (buf[offset]! & 0x80) !== 0 && (buf[offset + 3]! & 0x80) !== 0;
}

/** The number of bits set in a 32-bit word. */
export function bitCount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x !== 0; x &= x - 1) n++;
  return n;
}

export function readU32(buf: Uint8Array, offset: number, le: boolean): number {
  const b0 = buf[offset]!, b1 = buf[offset + 1]!, b2 = buf[offset + 2]!, b3 = buf[offset + 3]!;
  return le ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0 : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

export function readI32(buf: Uint8Array, offset: number, le: boolean): number {
  return readU32(buf, offset, le) | 0;
}

export function readU16(buf: Uint8Array, offset: number, le: boolean): number {
  const b0 = buf[offset]!, b1 = buf[offset + 1]!;
  return le ? b0 | (b1 << 8) : (b0 << 8) | b1;
}

export function readI16(buf: Uint8Array, offset: number, le: boolean): number {
  return (readU16(buf, offset, le) << 16) >> 16;
}

/** The low byte of `v` as C's (signed) char. */
export function int8(v: number): number {
  return ((v & 0xff) ^ 0x80) - 0x80;
}

/** Writes the low 32 bits of `v` little-endian at `o`; returns the offset after it. */
export function put32(buf: Uint8Array, o: number, v: number): number {
  buf[o] = v & 0xff;
  buf[o + 1] = (v >>> 8) & 0xff;
  buf[o + 2] = (v >>> 16) & 0xff;
  buf[o + 3] = (v >>> 24) & 0xff;
  return o + 4;
}

/** Writes the low 16 bits of `v` little-endian at `o`; returns the offset after it. */
export function put16(buf: Uint8Array, o: number, v: number): number {
  buf[o] = v & 0xff;
  buf[o + 1] = (v >>> 8) & 0xff;
  return o + 2;
}

/** Reverses the bytes of a 32-bit word. */
export function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** The 32-bit word of the dotted quad a.b.c.d (an IPv4 address as Spread carries it). */
export function ipv4Word(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** One datagram's reads, in the order its writer marked in its type word. */
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
    return readU32(this.buf, o, this.le);
  }

  i32(o: number): number {
    return readU32(this.buf, o, this.le) | 0;
  }

  u16(o: number): number {
    return readU16(this.buf, o, this.le);
  }

  i16(o: number): number {
    return (readU16(this.buf, o, this.le) << 16) >> 16;
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

/** The type word at `offset` without its marker, or null when the marker bits disagree or it is cut short. */
export function peekTypeWord(buf: Uint8Array, offset: number, end: number = buf.length): number | null {
  if (end - offset < 4) return null;
  const hi = buf[offset]! & 0x80;
  if (hi !== (buf[offset + 3]! & 0x80)) return null;
  return (readU32(buf, offset, hi !== 0) & ~ENDIAN_MARKER) >>> 0;
}

function hex32(buf: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += buf[o + i]!.toString(16).padStart(2, '0');
  return s;
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

/**
 * A fixed-width, NUL-padded name field (group and private-group names, 32 bytes).
 * Bytes map 1:1 to latin1 code points so any byte sequence survives a round trip.
 */
export function readName(buf: Uint8Array, offset: number, width: number): string {
  let end = offset;
  const limit = offset + width;
  let hash = 0x811c9dc5;
  while (end < limit && buf[end] !== 0) hash = Math.imul(hash ^ buf[end++]!, 0x01000193);
  const len = end - offset;
  if (len > NAME_CACHE_WIDTH) return latin1Range(buf, offset, end);
  // The same few names (senders, groups) arrive over and over: hand back the string decoded
  // last time for the same bytes instead of building a new one (a direct-mapped cache).
  const slot = (hash >>> 0) & (NAME_CACHE_SLOTS - 1);
  const at = slot * NAME_CACHE_WIDTH;
  if (nameLengths[slot] === len) {
    let i = 0;
    while (i < len && nameBytes[at + i] === buf[offset + i]) i++;
    if (i === len) return nameStrings[slot]!;
  }
  const s = latin1Range(buf, offset, end);
  for (let i = 0; i < len; i++) nameBytes[at + i] = buf[offset + i]!;
  nameLengths[slot] = len;
  nameStrings[slot] = s;
  return s;
}

const NAME_CACHE_SLOTS = 1024;
const NAME_CACHE_WIDTH = 32;
const nameBytes = new Uint8Array(NAME_CACHE_SLOTS * NAME_CACHE_WIDTH);
const nameLengths = new Int16Array(NAME_CACHE_SLOTS).fill(-1);
const nameStrings: string[] = new Array<string>(NAME_CACHE_SLOTS).fill('');

/** Writes `name` NUL-padded into `width` bytes (truncating at width - 1 like strncpy + NUL). */
export function writeName(buf: Uint8Array, offset: number, width: number, name: string): number {
  return writeNameField(buf, offset, width, name, width - 1);
}

/**
 * Writes `name` NUL-padded into `width` bytes, keeping up to `max` (default: all `width`)
 * bytes of it: a daemon copies a 32-byte name field whole, without a NUL when it is full.
 */
export function writeNameField(buf: Uint8Array, offset: number, width: number, name: string, max: number = width): number {
  const n = Math.min(name.length, max);
  for (let i = 0; i < n; i++) buf[offset + i] = name.charCodeAt(i) & 0xff;
  buf.fill(0, offset + n, offset + width);
  return offset + width;
}

export function latin1(bytes: Uint8Array): string {
  return latin1Range(bytes, 0, bytes.length);
}

/**
 * Node's own latin1 decoder (a C++ call taking the range: no view, no JavaScript loop for
 * the optimiser to compile into every caller); where a runtime lacks it, char codes in chunks.
 */
const nativeLatin1 = (globalThis as { Buffer?: { prototype?: { latin1Slice?: unknown } } }).Buffer?.prototype?.latin1Slice as
  | ((this: Uint8Array, start: number, end: number) => string)
  | undefined;
const codes: number[] = [];
const LATIN1_CHUNK = 1024;

/** buf[start, end) as a string, one char per byte. */
export function latin1Range(buf: Uint8Array, start: number, end: number): string {
  if (nativeLatin1 !== undefined && start >= 0 && end <= buf.length) return nativeLatin1.call(buf, start, end);
  return latin1Chunks(buf, start, end);
}

/** latin1Range without Node's decoder (exported for its tests). */
export function latin1Chunks(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let from = start; from < end; from += LATIN1_CHUNK) {
    const n = Math.min(LATIN1_CHUNK, end - from);
    codes.length = n;
    for (let i = 0; i < n; i++) codes[i] = buf[from + i]!;
    s += String.fromCharCode.apply(null, codes);
  }
  return s;
}

export function fromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
