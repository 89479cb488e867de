/**
 * The 48-byte message header and whole messages, both directions (SPEC.md Part I §3–§6).
 *
 *   message   = header groups data              (REJECT_MESS: header old_type groups data)
 *   header    = type:u32 name:char[32] num_groups:i32 hint:u32 data_len:i32      (48 bytes)
 *   old_type  = u32                                                   (REJECT_MESS only)
 *   groups    = num_groups × char[32]       NUL-padded names
 *   data      = data_len bytes
 *
 * type, num_groups, data_len and old_type are in the writer's order, marked in `type`.
 * hint carries its own marker (the ORIGINAL client's order) and is never rewritten by a
 * daemon: we keep it as its raw little-endian reading.
 */
import { assertBounds, ProtocolError } from '../errors.js';
import { bswap32, ENDIAN_MARKER, isLittleEndianWord, readI32, readName, readU32, put32, writeName } from '../bytes.js';
import { Limits, ServiceType } from './constants.js';

export const HEADER_SIZE = 48;
export const NAME_SIZE = 32;

/** Offsets of the header's fields. */
export const HeaderField = { TYPE: 0, NAME: 4, NUM_GROUPS: 36, HINT: 40, DATA_LEN: 44 } as const;

export interface MessageHeader {
  /** The type word with the endian marker cleared. */
  type: number;
  /** Sender's private group (regular messages) or the group (membership messages). */
  name: string;
  numGroups: number;
  /** The hint word's 4 bytes read little-endian, exactly as on the wire. */
  hint: number;
  dataLen: number;
}

export interface WireMessage {
  header: MessageHeader;
  /** REJECT_MESS only: the rejected message's type (marker cleared); 0 otherwise. */
  oldType: number;
  groups: string[];
  data: Uint8Array;
}

export interface Decoded<T> {
  value: T;
  offset: number;
}

export interface HeaderLimits {
  /** Largest num_groups accepted. */
  maxGroups: number;
  /** Largest data_len accepted. */
  maxDataLen: number;
}

/** Limits for frames a daemon reads from a client. */
export const CLIENT_TO_DAEMON_LIMITS: HeaderLimits = {
  maxGroups: Limits.MAX_GROUPS_PER_MESSAGE,
  maxDataLen: Limits.MAX_MESSAGE_BODY_LEN,
};

/**
 * Limits for frames a client reads from a daemon: membership messages list every member of a
 * group, so num_groups can be far above 100.
 */
export const DAEMON_TO_CLIENT_LIMITS: HeaderLimits = {
  maxGroups: 128 * 997,
  maxDataLen: 8 * 1024 * 1024,
};

/** The hint word for `messType` written by a little-endian client. */
export function makeHint(messType: number): number {
  return (((messType << 8) & 0x00ffff00) | ENDIAN_MARKER) >>> 0;
}

/** True when the hint was written by a client of the other (big-endian) order. */
export function hintEndianMismatch(hint: number): boolean {
  return (hint & ENDIAN_MARKER) >>> 0 !== ENDIAN_MARKER;
}

/** The application's 16-bit message type carried in the hint, as a signed int16. */
export function hintMessType(hint: number): number {
  const h = hintEndianMismatch(hint) ? bswap32(hint) : hint;
  return ((h >>> 8) << 16) >> 16;
}

export function messageLength(m: WireMessage): number {
  return HEADER_SIZE + (m.header.type & ServiceType.REJECT_MESS ? 4 : 0) + NAME_SIZE * m.groups.length + m.data.length;
}

/** Writes header fields little-endian with the marker. `numGroups` and `dataLen` are taken from the header. */
export function encodeHeaderInto(h: MessageHeader, buf: Uint8Array, offset: number): number {
  assertBounds(buf.length, offset, HEADER_SIZE, 'message_header', 'output');
  put32(buf, offset + HeaderField.TYPE, (h.type | ENDIAN_MARKER) >>> 0);
  writeName(buf, offset + HeaderField.NAME, NAME_SIZE, h.name);
  put32(buf, offset + HeaderField.NUM_GROUPS, h.numGroups);
  put32(buf, offset + HeaderField.HINT, h.hint);
  put32(buf, offset + HeaderField.DATA_LEN, h.dataLen);
  return offset + HEADER_SIZE;
}

export function encodeMessageInto(m: WireMessage, buf: Uint8Array, offset: number): number {
  const header = m.header;
  if (header.numGroups !== m.groups.length || header.dataLen !== m.data.length) {
    throw new ProtocolError('BAD_VALUE', 'message', 'num_groups/data_len', offset,
      `${m.groups.length}/${m.data.length}`, `${header.numGroups}/${header.dataLen}`);
  }
  assertBounds(buf.length, offset, messageLength(m), 'message', 'output');
  let o = encodeHeaderInto(header, buf, offset);
  if (header.type & ServiceType.REJECT_MESS) o = put32(buf, o, (m.oldType | ENDIAN_MARKER) >>> 0);
  for (const g of m.groups) o = writeName(buf, o, NAME_SIZE, g);
  buf.set(m.data, o);
  return o + m.data.length;
}

export function encodeMessage(m: WireMessage): Uint8Array {
  const out = new Uint8Array(messageLength(m));
  encodeMessageInto(m, out, 0);
  return out;
}

/**
 * Decodes a 48-byte header. Rejects negative or over-limit num_groups / data_len.
 * `littleEndian` reports the writer's order (from the marker in `type`).
 */
export function decodeHeader(
  buf: Uint8Array,
  offset: number,
  end: number,
  limits: HeaderLimits = DAEMON_TO_CLIENT_LIMITS,
): Decoded<MessageHeader> & { littleEndian: boolean } {
  assertBounds(end, offset, HEADER_SIZE, 'message_header', 'type');
  const le = isLittleEndianWord(buf, offset);
  const type = (readU32(buf, offset, le) & ~ENDIAN_MARKER) >>> 0;
  const name = readName(buf, offset + 4, NAME_SIZE);
  const numGroups = readI32(buf, offset + 36, le);
  const hint = readU32(buf, offset + 40, true);
  const dataLen = readI32(buf, offset + 44, le);
  if (numGroups < 0) throw new ProtocolError('BAD_VALUE', 'message_header', 'num_groups', offset + 36, '>= 0', numGroups);
  if (numGroups > limits.maxGroups) {
    throw new ProtocolError('TOO_LARGE', 'message_header', 'num_groups', offset + 36, `<= ${limits.maxGroups}`, numGroups);
  }
  if (dataLen < 0) throw new ProtocolError('BAD_VALUE', 'message_header', 'data_len', offset + 44, '>= 0', dataLen);
  if (dataLen > limits.maxDataLen) {
    throw new ProtocolError('TOO_LARGE', 'message_header', 'data_len', offset + 44, `<= ${limits.maxDataLen}`, dataLen);
  }
  return { value: { type, name, numGroups, hint, dataLen }, offset: offset + HEADER_SIZE, littleEndian: le };
}

/** Bytes that follow a header: the REJECT old_type word, the group names and the data. */
export function bodyLength(h: MessageHeader): number {
  return (h.type & ServiceType.REJECT_MESS ? 4 : 0) + NAME_SIZE * h.numGroups + h.dataLen;
}

/**
 * Decodes the body that follows an already decoded header. `data` is a subarray of `buf`
 * (no copy): callers must not hand in a buffer they will overwrite.
 */
export function decodeBody(
  h: MessageHeader,
  littleEndian: boolean,
  buf: Uint8Array,
  offset: number,
  end: number,
): Decoded<WireMessage> {
  assertBounds(end, offset, bodyLength(h), 'message', 'body');
  let o = offset;
  let oldType = 0;
  if (h.type & ServiceType.REJECT_MESS) {
    oldType = (readU32(buf, o, littleEndian) & ~ENDIAN_MARKER) >>> 0;
    o += 4;
  }
  const groups = new Array<string>(h.numGroups);
  for (let i = 0; i < h.numGroups; i++, o += NAME_SIZE) groups[i] = readName(buf, o, NAME_SIZE);
  const data = buf.subarray(o, o + h.dataLen);
  return { value: { header: h, oldType, groups, data }, offset: o + h.dataLen };
}

export function decodeMessage(
  buf: Uint8Array,
  offset: number,
  end: number,
  limits: HeaderLimits = DAEMON_TO_CLIENT_LIMITS,
): Decoded<WireMessage> & { littleEndian: boolean } {
  const h = decodeHeader(buf, offset, end, limits);
  const body = decodeBody(h.value, h.littleEndian, buf, h.offset, end);
  return { ...body, littleEndian: h.littleEndian };
}
