/**
 * Whole daemon datagrams: classify, decode, re-encode (SPEC.md Part IV §4–§12).
 *
 *   data channel  (segment port):    packet_header body   length = 40 + data_len, data_len <= 1432
 *   token channel (segment port + 1): token_header body   length = 40 + rtr_len,  rtr_len <= 65467
 *
 * Data-channel dispatch follows the reference's order, first match wins:
 *   PARTITION, STATUS (request if data_len 0, reply if 96), FC, RELOAD, ALIVE, JOIN, REFER,
 *   HURRY, any service bit (data packet); anything else is not a Spread packet.
 * Token-channel dispatch: FORM1 bit, FORM2 bit, else a regular token.
 *
 * With `confHash` given, datagrams of another configuration are rejected the way the
 * reference drops them: data channel accepts the hash or 1100 (monitor), tokens only the hash.
 *
 * Decoded byte fields (fragment data, pads, stale slots) are views of the input buffer unless
 * `copy` is set: valid as long as the caller does not reuse that buffer (Node's dgram hands a
 * fresh Buffer to every 'message' event).
 */
import { ProtocolError } from '../errors.js';
import { MONITOR_HASH, PacketType, Size } from './constants.js';
import { decodeDataBody, dataBodyLength, encodeDataPacketInto, type DataPacket } from './data.js';
import { decodeForm1Body, decodeForm2Body, encodeFormBodyInto, formBodyLength, type Form1Token, type Form2Token } from './form.js';
import { decodePacketHeader, decodeTokenHeader, encodePacketHeaderInto, encodeTokenHeaderInto } from './header.js';
import {
  aliveBodyLength, decodeAliveBody, decodeEmptyBody, decodeJoinBody, encodeAliveBodyInto, encodeJoinBodyInto,
  joinBodyLength, type AlivePacket, type HurryPacket, type JoinPacket, type ReferPacket,
} from './membership.js';
import {
  decodeFc, decodePartition, decodeReload, decodeStatus, encodeFcBodyInto, encodePartitionBodyInto,
  encodeStatusBodyInto, type FcPacket, type PartitionPacket, type ReloadPacket, type StatusReply, type StatusRequest,
} from './monitor.js';
import { readerFor } from '../bytes.js';
import { decodeRtrList, encodeRtrListInto, rtrListLength, type RegularToken } from './token.js';

export type Channel = 'data' | 'token';

export type DataChannelDatagram =
  | DataPacket
  | AlivePacket
  | JoinPacket
  | ReferPacket
  | HurryPacket
  | StatusRequest
  | StatusReply
  | PartitionPacket
  | FcPacket
  | ReloadPacket;

export type TokenChannelDatagram = RegularToken | Form1Token | Form2Token;

export type Datagram = DataChannelDatagram | TokenChannelDatagram;
export type DatagramKind = Datagram['kind'];

export interface DecodeOptions {
  /** This daemon's configuration hash: reject datagrams of other configurations. */
  confHash?: number;
  /** Copy byte fields out of the input instead of returning views. */
  copy?: boolean;
}

export type SafeDecodeResult = { ok: true; value: Datagram } | { ok: false; error: ProtocolError };

const TOKEN_KINDS: ReadonlySet<string> = new Set(['token', 'form1', 'form2']);

export function channelOf(d: Datagram): Channel {
  return TOKEN_KINDS.has(d.kind) ? 'token' : 'data';
}

export function isTokenDatagram(d: Datagram): d is TokenChannelDatagram {
  return TOKEN_KINDS.has(d.kind);
}

/** Decodes one whole datagram received on `channel`. Throws ProtocolError. */
export function decodeDatagram(buf: Uint8Array, channel: Channel, opts: DecodeOptions = {}): Datagram {
  return decodeDatagramAt(buf, 0, buf.length, channel, opts).value;
}

/** As decodeDatagram, never throws: for socket handlers that count malformed datagrams. */
export function safeDecode(buf: Uint8Array, channel: Channel, opts: DecodeOptions = {}): SafeDecodeResult {
  try {
    return { ok: true, value: decodeDatagramAt(buf, 0, buf.length, channel, opts).value };
  } catch (e) {
    if (e instanceof ProtocolError) return { ok: false, error: e };
    // Any other failure is a codec bug; report it as a malformed datagram all the same.
    const err = new ProtocolError('BAD_VALUE', 'datagram', 'decode', 0, 'a decodable datagram', String(e));
    err.cause = e;
    return { ok: false, error: err };
  }
}

/** The datagram occupying buf[offset..end). */
export function decodeDatagramAt(
  buf: Uint8Array,
  offset: number,
  end: number,
  channel: Channel,
  opts: DecodeOptions = {},
): { value: Datagram; offset: number } {
  return { value: channel === 'token' ? decodeToken(buf, offset, end, opts) : decodeData(buf, offset, end, opts), offset: end };
}

function decodeData(buf: Uint8Array, start: number, end: number, opts: DecodeOptions): DataChannelDatagram {
  if (end - start < Size.PACKET_HEADER) {
    throw new ProtocolError('TRUNCATED', 'packet_header', 'type', start, Size.PACKET_HEADER, Math.max(0, end - start));
  }
  const r = readerFor(buf, start, end, 'packet_header');
  const header = decodePacketHeader(r, start).value;
  if (opts.confHash !== undefined && header.confHash !== opts.confHash >>> 0 && header.confHash !== MONITOR_HASH) {
    throw new ProtocolError('BAD_VALUE', 'packet_header', 'conf_hash', start + 28, `${opts.confHash >>> 0} or ${MONITOR_HASH}`, header.confHash);
  }
  const dataLen = header.dataLen;
  if (dataLen < 0) throw new ProtocolError('BAD_VALUE', 'packet_header', 'data_len', start + 32, '>= 0', dataLen);
  if (dataLen > Size.PACKET_BODY) {
    throw new ProtocolError('TOO_LARGE', 'packet_header', 'data_len', start + 32, `<= ${Size.PACKET_BODY}`, dataLen);
  }
  if (end - start !== Size.PACKET_HEADER + dataLen) {
    throw new ProtocolError('BAD_VALUE', 'packet_header', 'data_len', start + 32,
      `${end - start - Size.PACKET_HEADER} (datagram length ${end - start} - 40)`, dataLen);
  }
  const t = header.type;
  const copy = opts.copy === true;
  if (t & PacketType.PARTITION) return decodePartition(r, header, start);
  if (t & PacketType.STATUS) return decodeStatus(r, header, start);
  if (t & PacketType.FC) return decodeFc(r, header, start);
  if (t & PacketType.RELOAD) return decodeReload(r, header, start);
  if (t & PacketType.ALIVE) return decodeAliveBody(r, header, start);
  if (t & PacketType.JOIN) return decodeJoinBody(r, header, start);
  if (t & PacketType.REFER) return decodeEmptyBody(r, header, start, 'refer');
  if (t & PacketType.HURRY) return decodeEmptyBody(r, header, start, 'hurry');
  if (t & PacketType.REGULAR) {
    return { kind: 'data', littleEndian: r.le, header, fragments: decodeDataBody(r, header, start + Size.PACKET_HEADER, copy) };
  }
  throw new ProtocolError('BAD_VALUE', 'packet_header', 'type', start, 'a data-channel packet type', `0x${t.toString(16)}`);
}

function decodeToken(buf: Uint8Array, start: number, end: number, opts: DecodeOptions): TokenChannelDatagram {
  if (end - start < Size.TOKEN_HEADER) {
    throw new ProtocolError('TRUNCATED', 'token_header', 'type', start, Size.TOKEN_HEADER, Math.max(0, end - start));
  }
  const r = readerFor(buf, start, end, 'token_header');
  const header = decodeTokenHeader(r, start).value;
  if (opts.confHash !== undefined && header.confHash !== opts.confHash >>> 0) {
    throw new ProtocolError('BAD_VALUE', 'token_header', 'conf_hash', start + 36, opts.confHash >>> 0, header.confHash);
  }
  const rtrLen = header.rtrLen;
  if (rtrLen < 0) throw new ProtocolError('BAD_VALUE', 'token_header', 'rtr_len', start + 34, '>= 0', rtrLen);
  // rtr_len is an int16, so it can never exceed token_body (65467) on the wire.
  if (end - start !== Size.TOKEN_HEADER + rtrLen) {
    throw new ProtocolError('BAD_VALUE', 'token_header', 'rtr_len', start + 34,
      `${end - start - Size.TOKEN_HEADER} (datagram length ${end - start} - 40)`, rtrLen);
  }
  const bodyStart = start + Size.TOKEN_HEADER;
  const copy = opts.copy === true;
  if (header.type & PacketType.FORM1) return decodeForm1Body(r, header, bodyStart, copy);
  if (header.type & PacketType.FORM2) return decodeForm2Body(r, header, bodyStart, copy);
  return { kind: 'token', littleEndian: r.le, header, rtr: decodeRtrList(r, bodyStart, end) };
}

/** Body length the encoder will write (data_len / rtr_len). */
export function bodyLength(d: Datagram): number {
  switch (d.kind) {
    case 'data':
      return dataBodyLength(d.fragments);
    case 'alive':
      return aliveBodyLength(d);
    case 'join':
      return joinBodyLength(d);
    case 'refer':
    case 'hurry':
    case 'status-request':
    case 'reload':
      return 0;
    case 'status-reply':
      return Size.STATUS;
    case 'partition':
      return Size.PARTITION;
    case 'fc':
      return Size.FC;
    case 'token':
      return rtrListLength(d.rtr);
    case 'form1':
    case 'form2':
      return formBodyLength(d);
  }
}

export function datagramLength(d: Datagram): number {
  return Size.PACKET_HEADER + bodyLength(d); // both headers are 40 bytes
}

/** Writes `d` little-endian (with the marker) at `offset`; returns the offset after it. */
export function encodeDatagramInto(d: Datagram, buf: Uint8Array, offset: number): number {
  const len = datagramLength(d);
  if (buf.length - offset < len) throw new ProtocolError('TRUNCATED', d.kind, 'output', offset, len, buf.length - offset);
  const body = len - Size.PACKET_HEADER;
  switch (d.kind) {
    case 'data':
      return encodeDataPacketInto(d, buf, offset);
    case 'token': {
      if (body > Size.TOKEN_BODY) throw new ProtocolError('TOO_LARGE', 'token', 'rtr_len', offset + 34, `<= ${Size.TOKEN_BODY}`, body);
      const o = encodeTokenHeaderInto(d.header, body, buf, offset);
      return encodeRtrListInto(d.rtr, buf, o);
    }
    case 'form1':
    case 'form2': {
      const o = encodeTokenHeaderInto(d.header, body, buf, offset);
      return encodeFormBodyInto(d, buf, o);
    }
    default:
      break;
  }
  if (body > Size.PACKET_BODY) throw new ProtocolError('TOO_LARGE', d.kind, 'data_len', offset + 32, `<= ${Size.PACKET_BODY}`, body);
  const o = encodePacketHeaderInto(d.header, body, buf, offset);
  switch (d.kind) {
    case 'alive':
      return encodeAliveBodyInto(d, buf, o);
    case 'join':
      return encodeJoinBodyInto(d, buf, o);
    case 'status-reply':
      return encodeStatusBodyInto(d.status, buf, o);
    case 'partition':
      return encodePartitionBodyInto(d, buf, o);
    case 'fc':
      return encodeFcBodyInto(d, buf, o);
    default:
      return o;
  }
}

export function encodeDatagram(d: Datagram): Uint8Array {
  const out = new Uint8Array(datagramLength(d));
  encodeDatagramInto(d, out, 0);
  return out;
}
