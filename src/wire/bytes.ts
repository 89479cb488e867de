/**
 * Byte-order handling in one place.
 *
 * Spread never uses network order: each writer puts its native order on the wire and marks it
 * in the structure's first (type) word with ENDIAN_MARKER (0x80000080, a byte palindrome, so
 * it can be tested before the order is known). We always write little-endian with the marker,
 * and read either order.
 */
export const ENDIAN_MARKER = 0x80000080;

/** True when the 4 bytes at `offset`, read as a type word, carry the little-endian marker. */
export function isLittleEndianWord(buf: Uint8Array, offset: number): boolean {
  // The marker bits are byte 0 bit 7 and byte 3 bit 7 whichever the order.
  return (buf[offset]! & 0x80) !== 0 && (buf[offset + 3]! & 0x80) !== 0;
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

export function writeU32LE(buf: Uint8Array, offset: number, value: number): number {
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = (value >>> 16) & 0xff;
  buf[offset + 3] = (value >>> 24) & 0xff;
  return offset + 4;
}

export function writeU16LE(buf: Uint8Array, offset: number, value: number): number {
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  return offset + 2;
}

/** Reverses the bytes of a 32-bit word. */
export function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/**
 * A fixed-width, NUL-padded name field (group and private-group names, 32 bytes).
 * Bytes map 1:1 to latin1 code points so any byte sequence survives a round trip.
 */
export function readName(buf: Uint8Array, offset: number, width: number): string {
  let end = offset;
  const limit = offset + width;
  while (end < limit && buf[end] !== 0) end++;
  let s = '';
  for (let i = offset; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/** Writes `name` NUL-padded into `width` bytes (truncating at width - 1 like strncpy + NUL). */
export function writeName(buf: Uint8Array, offset: number, width: number, name: string): number {
  const n = Math.min(name.length, width - 1);
  for (let i = 0; i < n; i++) buf[offset + i] = name.charCodeAt(i) & 0xff;
  buf.fill(0, offset + n, offset + width);
  return offset + width;
}

export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

export function fromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
