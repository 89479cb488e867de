/**
 * Data packets read and written in place, on the ring engine's hot path (SPEC.md Part IV §6;
 * Part V §10–§11): the body check without building fragments, the one rewrite of a big-endian
 * arrival to little-endian, and the fragment headers the engine reads from stored packets and
 * writes into new ones. Stored packets are little-endian, so the readers take little-endian bytes.
 * `decodeDataBody` / `encodeDataPacketInto` (data.ts) are the full codec of the same structure.
 */
import { put16, readI16, type Reader } from '../bytes.js';
import { Size } from './constants.js';
import { padBefore } from './data.js';
import { encodePacketHeaderInto, type PacketHeader } from './header.js';

const HEADER = Size.PACKET_HEADER;

/**
 * The fragment chain of a data body fits data_len exactly: nothing follows a non-last first
 * fragment, and every appended fragment is a whole message (index −1), 4-byte aligned.
 */
export function validDataBody(r: Reader, dataLen: number, firstIndex: number, firstLen: number): boolean {
  if (firstIndex === 0 || firstLen < 0 || firstLen > dataLen) return false;
  if (firstIndex > 0) return firstLen === dataLen;
  let p = firstLen;
  while (p < dataLen) {
    const h = p + padBefore(p);
    if (h + Size.FRAGMENT_HEADER > dataLen) return false;
    const idx = r.i16(HEADER + h);
    const len = r.i16(HEADER + h + 2);
    if (idx !== -1 || len < 0 || h + Size.FRAGMENT_HEADER + len > dataLen) return false;
    p = h + Size.FRAGMENT_HEADER + len;
  }
  return true;
}

/** A valid big-endian data packet rewritten little-endian (header and in-body fragment headers). */
export function toLittleEndianPacket(r: Reader, h: PacketHeader): Uint8Array {
  const out = r.buf.slice(0, HEADER + h.dataLen);
  encodePacketHeaderInto(h, h.dataLen, out, 0);
  let p = h.fragLen;
  while (p < h.dataLen) {
    const hdr = p + padBefore(p);
    const len = r.i16(HEADER + hdr + 2);
    putFragmentHeader(out, HEADER + hdr, r.i16(HEADER + hdr), len);
    p = hdr + Size.FRAGMENT_HEADER + len;
  }
  return out;
}

/** first_frag_header.fragment_len of a little-endian data packet. */
export function firstFragLenLE(bytes: Uint8Array): number {
  return readI16(bytes, 38, true);
}

/** fragment_len of the fragment_header at byte `o` of a little-endian data packet. */
export function fragmentLenLE(bytes: Uint8Array, o: number): number {
  return readI16(bytes, o + 2, true);
}

/** Writes a fragment_header (fragment_index, fragment_len) little-endian at `o`; returns o + 4. */
export function putFragmentHeader(buf: Uint8Array, o: number, index: number, len: number): number {
  put16(buf, o, index);
  return put16(buf, o + 2, len);
}
