/**
 * packet_header and token_header (SPEC.md Part IV §4, §9).
 *
 *   membership_id = proc_id:i32 time:i32                                            (8)
 *   packet_header = type:u32 transmiter_id:i32 proc_id:i32 memb_id seq:i32
 *                   token_round:i32 conf_hash:u32 data_len:i16 padding:2
 *                   first_frag_index:i16 first_frag_len:i16                         (40)
 *   token_header  = type:u32 transmiter_id:i32 proc_id:i32 memb_id seq:i32 aru:i32
 *                   aru_last_id:i32 flow_control:i16 rtr_len:i16 conf_hash:u32      (40)
 *
 * All fields in the writer's order (marked in type) except `padding`, which no daemon
 * interprets or flips: it is kept as its two raw bytes read little-endian. The reference
 * flips the first fragment header separately from the rest of the header (with the in-body
 * fragment headers); we read it in the writer's order like every other field.
 */
import { ProtocolError } from '../errors.js';
import { PacketType, Size } from './constants.js';
import { bswap32, ENDIAN_MARKER, peekTypeWord, put16, put32, readI32, readerFor, type Reader } from '../bytes.js';

/**
 * A ring (membership) id, the wire's membership_id: the proc id of the daemon that formed the
 * ring or FORM token (its IP as the int32 `a<<24 | b<<16 | c<<8 | d`) and the wall-clock second
 * at which it was formed (for REFER: the referred rep's type). The one ring-id type of the
 * daemon: the groups layer, the ordering and the machines all use it.
 */
export interface RingId {
  readonly procId: number;
  readonly time: number;
}

/** Two ring ids name the same ring. */
export function sameRingId(a: RingId, b: RingId): boolean {
  return a.procId === b.procId && a.time === b.time;
}


export interface PacketHeader {
  /** The full type word with the endian marker cleared. */
  type: number;
  transmitterId: number;
  procId: number;
  membId: RingId;
  seq: number;
  tokenRound: number;
  /** Unsigned 32-bit configuration hash (1100 for monitor requests). */
  confHash: number;
  /** Bytes after the header as carried on the wire (encoders write the body's real length). */
  dataLen: number;
  /** Raw bytes 34..35 (never initialised by the reference), read little-endian. */
  padding: number;
  /** First fragment header (data packets; meaningless, but kept, elsewhere). */
  fragIndex: number;
  fragLen: number;
}

export interface TokenHeader {
  type: number;
  transmitterId: number;
  procId: number;
  membId: RingId;
  seq: number;
  aru: number;
  aruLastId: number;
  flowControl: number;
  /** Body bytes as carried on the wire (encoders write the body's real length). */
  rtrLen: number;
  confHash: number;
}

export function readMembId(r: Reader, o: number): RingId {
  return { procId: r.i32(o), time: r.i32(o + 4) };
}

export function putMembId(buf: Uint8Array, o: number, m: RingId): number {
  put32(buf, o, m.procId);
  return put32(buf, o + 4, m.time);
}

/** Decodes the 40-byte packet header at `offset` (extent already checked by the caller or here). */
export function decodePacketHeader(r: Reader, offset: number): { value: PacketHeader; offset: number } {
  r.need(offset, Size.PACKET_HEADER, 'packet_header', 'type');
  const b = r.buf;
  const value: PacketHeader = {
    type: (r.u32(offset) & ~ENDIAN_MARKER) >>> 0,
    transmitterId: r.i32(offset + 4),
    procId: r.i32(offset + 8),
    membId: { procId: r.i32(offset + 12), time: r.i32(offset + 16) },
    seq: r.i32(offset + 20),
    tokenRound: r.i32(offset + 24),
    confHash: r.u32(offset + 28),
    dataLen: r.i16(offset + 32),
    padding: b[offset + 34]! | (b[offset + 35]! << 8),
    fragIndex: r.i16(offset + 36),
    fragLen: r.i16(offset + 38),
  };
  return { value, offset: offset + Size.PACKET_HEADER };
}

/** Writes the header little-endian with the marker; `dataLen` is the body length to record. */
export function encodePacketHeaderInto(h: PacketHeader, dataLen: number, buf: Uint8Array, offset: number): number {
  if (buf.length - offset < Size.PACKET_HEADER) {
    throw new ProtocolError('TRUNCATED', 'packet_header', 'output', offset, Size.PACKET_HEADER, buf.length - offset);
  }
  put32(buf, offset, (h.type | ENDIAN_MARKER) >>> 0);
  put32(buf, offset + 4, h.transmitterId);
  put32(buf, offset + 8, h.procId);
  putMembId(buf, offset + 12, h.membId);
  put32(buf, offset + 20, h.seq);
  put32(buf, offset + 24, h.tokenRound);
  put32(buf, offset + 28, h.confHash);
  put16(buf, offset + 32, dataLen);
  put16(buf, offset + 34, h.padding);
  put16(buf, offset + 36, h.fragIndex);
  put16(buf, offset + 38, h.fragLen);
  return offset + Size.PACKET_HEADER;
}

export function decodeTokenHeader(r: Reader, offset: number): { value: TokenHeader; offset: number } {
  r.need(offset, Size.TOKEN_HEADER, 'token_header', 'type');
  const value: TokenHeader = {
    type: (r.u32(offset) & ~ENDIAN_MARKER) >>> 0,
    transmitterId: r.i32(offset + 4),
    procId: r.i32(offset + 8),
    membId: { procId: r.i32(offset + 12), time: r.i32(offset + 16) },
    seq: r.i32(offset + 20),
    aru: r.i32(offset + 24),
    aruLastId: r.i32(offset + 28),
    flowControl: r.i16(offset + 32),
    rtrLen: r.i16(offset + 34),
    confHash: r.u32(offset + 36),
  };
  return { value, offset: offset + Size.TOKEN_HEADER };
}

export function encodeTokenHeaderInto(h: TokenHeader, rtrLen: number, buf: Uint8Array, offset: number): number {
  if (buf.length - offset < Size.TOKEN_HEADER) {
    throw new ProtocolError('TRUNCATED', 'token_header', 'output', offset, Size.TOKEN_HEADER, buf.length - offset);
  }
  put32(buf, offset, (h.type | ENDIAN_MARKER) >>> 0);
  put32(buf, offset + 4, h.transmitterId);
  put32(buf, offset + 8, h.procId);
  putMembId(buf, offset + 12, h.membId);
  put32(buf, offset + 20, h.seq);
  put32(buf, offset + 24, h.aru);
  put32(buf, offset + 28, h.aruLastId);
  put16(buf, offset + 32, h.flowControl);
  put16(buf, offset + 34, rtrLen);
  put32(buf, offset + 36, h.confHash);
  return offset + Size.TOKEN_HEADER;
}

/**
 * The type word of a packet or token header without its marker, or null when the two marker
 * bits disagree (not a Spread type word) or fewer than 4 bytes are there. For dispatching a
 * datagram before it is decoded.
 */
export function peekType(bytes: Uint8Array): number | null {
  return peekTypeWord(bytes, 0);
}

/**
 * transmiter_id and memb_id.proc_id (offsets 4 and 12 in packet and token headers alike), in
 * the byte order the first byte's marker bit gives: what the monitor-partition screen reads
 * before anything is decoded. The caller has checked that a whole header is there.
 */
export function peekSenderIds(bytes: Uint8Array): { transmitterId: number; membProcId: number } {
  return { transmitterId: peekTransmitterId(bytes), membProcId: peekMembProcId(bytes) };
}

/** transmiter_id alone (see peekSenderIds), without an object: the screen runs per datagram. */
export function peekTransmitterId(bytes: Uint8Array): number {
  return readI32(bytes, 4, (bytes[0]! & 0x80) !== 0);
}

/** memb_id.proc_id alone (see peekSenderIds). */
export function peekMembProcId(bytes: Uint8Array): number {
  return readI32(bytes, 12, (bytes[0]! & 0x80) !== 0);
}

/** The packet header of a data-channel datagram and its writer's byte order; null when unreadable. */
export function peekPacketHeader(bytes: Uint8Array): { header: PacketHeader; le: boolean } | null {
  try {
    const r = readerFor(bytes, 0, bytes.length, 'packet_header');
    return { header: decodePacketHeader(r, 0).value, le: r.le };
  } catch {
    return null;
  }
}

/**
 * A data packet as another daemon passes it on: a copy of `bytes` whose header is re-written
 * little-endian from `header` (data_len as decoded), the body as received. From a big-endian
 * writer bytes 34..39 (padding and the first fragment header, which the reference flips with
 * the body, not with the header) also stay as received.
 */
export function repackedPacket(bytes: Uint8Array, header: PacketHeader, le: boolean): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes.subarray(Size.PACKET_HEADER), Size.PACKET_HEADER);
  encodePacketHeaderInto(header, header.dataLen, out, 0);
  if (!le) out.set(bytes.subarray(34, Size.PACKET_HEADER), 34);
  return out;
}

// In-place patches of a whole datagram's header (the ring engine re-sends and stamps packets
// without re-encoding them). `le` is the writer's order of `bytes` (Reader.le; the engine's own
// and stored packets are little-endian). The ROUTED bit sits in the type word's low byte.

/** Sets packet_header.transmiter_id (also token_header's) to `id`. */
export function patchTransmitter(bytes: Uint8Array, le: boolean, id: number): void {
  put32(bytes, 4, le ? id : bswap32(id));
}

/** Sets packet_header.token_round to `round`. */
export function patchTokenRound(bytes: Uint8Array, le: boolean, round: number): void {
  put32(bytes, 24, le ? round : bswap32(round));
}

/** Sets the ROUTED bit of packet_header.type. */
export function setRoutedFlag(bytes: Uint8Array, le: boolean): void {
  const o = le ? 0 : 3;
  bytes[o] = bytes[o]! | PacketType.ROUTED;
}

/** Clears the ROUTED bit of packet_header.type. */
export function clearRoutedFlag(bytes: Uint8Array, le: boolean): void {
  const o = le ? 0 : 3;
  bytes[o] = bytes[o]! & ~PacketType.ROUTED;
}
