/**
 * Data packets: fragments of ring messages, possibly several per packet (SPEC.md Part IV §6).
 *
 *   data_packet = packet_header body                  packet_header.type has a service bit
 *   body        = frag0 ( pad fragment_header frag )*   data_len bytes in all
 *   frag0       = first_frag_header.fragment_len bytes  (its header sits in packet_header)
 *   pad         = 0..3 bytes so that the fragment_header starts at a multiple of 4 counted
 *                 from the body start; the reference never initialises them
 *   fragment_header = fragment_index:i16 fragment_len:i16
 *
 * fragment_index: k+1 for fragment k (0-based) of an n-fragment message if k < n−1, −n for
 * the last one (−1 for a single-fragment message). Fragments after the first are always
 * whole single-fragment messages (index −1), appended only after a message's last fragment.
 * A message starts with the 48-byte client message header (in the originating daemon's order,
 * with its own marker).
 */
import { ProtocolError } from '../errors.js';
import { decodeHeader, type HeaderLimits, type MessageHeader } from '../client/message.js';
import { PacketType, Size } from './constants.js';
import { encodePacketHeaderInto, type PacketHeader } from './header.js';
import { bytesOf, put16, putRaw, type Reader } from '../bytes.js';

export interface Fragment {
  /** fragment_index: k+1 (not last), −n (last of n), −1 (whole message). */
  index: number;
  /** The fragment bytes (a view of the datagram unless decoded with `copy`). */
  data: Uint8Array;
  /**
   * Alignment bytes written before this fragment's header (uninitialised in the reference).
   * Always empty for the first fragment. On encode: absent ⇒ zeros; present ⇒ exact length.
   */
  pad?: Uint8Array;
  /** Set by the decoder when this fragment starts a message (index 1 or −1); ignored on encode. */
  message?: MessageHeader | null;
  /** Writer's order of `message` (its own marker); true when there is no message. */
  messageLittleEndian?: boolean;
}

export interface DataPacket {
  kind: 'data';
  /** Order the datagram was written in (encoders always write little-endian). */
  littleEndian: boolean;
  /** `fragIndex`/`fragLen`/`dataLen` are derived from `fragments` on encode. */
  header: PacketHeader;
  fragments: Fragment[];
}

/**
 * Limits for message headers met inside the ring: the stock build allows 100 fragments, some
 * distributions 10000; both counts are bounded by what fits in that many fragments.
 */
export const RING_MESSAGE_LIMITS: HeaderLimits = {
  maxGroups: (10000 * Size.PACKET_BODY) / Size.GROUP_NAME,
  maxDataLen: 10000 * Size.PACKET_BODY,
};

const EMPTY = new Uint8Array(0);

/** Alignment pad before an in-body fragment header that would start at body offset `p`. */
export function padBefore(p: number): number {
  return (4 - (p & 3)) & 3;
}

export function dataBodyLength(fragments: readonly Fragment[]): number {
  let p = 0;
  for (let i = 0; i < fragments.length; i++) {
    if (i > 0) p += padBefore(p) + Size.FRAGMENT_HEADER;
    p += fragments[i]!.data.length;
  }
  return p;
}

/** Decodes the body of a data packet whose header is already decoded. */
export function decodeDataBody(
  r: Reader,
  header: PacketHeader,
  bodyStart: number,
  copy: boolean,
): Fragment[] {
  const buf = r.buf;
  const dataLen = header.dataLen;
  const end = bodyStart + dataLen;
  const first = header.fragIndex;
  const firstLen = header.fragLen;
  if (first === 0) {
    throw new ProtocolError('BAD_VALUE', 'packet_header', 'first_frag_header.fragment_index', bodyStart - 4, 'non-zero', 0);
  }
  if (firstLen < 0 || firstLen > dataLen) {
    throw new ProtocolError('BAD_VALUE', 'packet_header', 'first_frag_header.fragment_len', bodyStart - 2, `0..${dataLen}`, firstLen);
  }
  const fragments: Fragment[] = [makeFragment(r, first, bodyStart, firstLen, EMPTY, copy)];
  let p = firstLen;
  while (p < dataLen) {
    if (first > 0) {
      throw new ProtocolError('BAD_VALUE', 'data_packet', 'fragments', bodyStart + p,
        'no fragment after a non-last fragment', `${dataLen - p} more bytes`);
    }
    const pad = padBefore(p);
    const h = bodyStart + p + pad;
    if (h + Size.FRAGMENT_HEADER > end) {
      throw new ProtocolError('TRUNCATED', 'fragment_header', 'fragment_index', h, Size.FRAGMENT_HEADER, Math.max(0, end - h));
    }
    const index = r.i16(h);
    const len = r.i16(h + 2);
    if (index !== -1) {
      throw new ProtocolError('BAD_VALUE', 'fragment_header', 'fragment_index', h, -1, index);
    }
    if (len < 0 || h + Size.FRAGMENT_HEADER + len > end) {
      throw new ProtocolError('BAD_VALUE', 'fragment_header', 'fragment_len', h + 2,
        `0..${end - h - Size.FRAGMENT_HEADER}`, len);
    }
    const padBytes = pad === 0 ? EMPTY : bytesOf(buf, bodyStart + p, h, copy);
    fragments.push(makeFragment(r, index, h + Size.FRAGMENT_HEADER, len, padBytes, copy));
    p += pad + Size.FRAGMENT_HEADER + len;
  }
  return fragments;
}

function makeFragment(r: Reader, index: number, start: number, len: number, pad: Uint8Array, copy: boolean): Fragment {
  let message: MessageHeader | null = null;
  let messageLittleEndian = true;
  if (index === 1 || index === -1) {
    const h = decodeHeader(r.buf, start, start + len, RING_MESSAGE_LIMITS);
    message = h.value;
    messageLittleEndian = h.littleEndian;
  }
  return { index, data: bytesOf(r.buf, start, start + len, copy), pad, message, messageLittleEndian };
}

export function encodeDataPacketInto(d: DataPacket, buf: Uint8Array, offset: number): number {
  const frags = d.fragments;
  if (frags.length === 0) throw new ProtocolError('BAD_VALUE', 'data_packet', 'fragments', offset, '>= 1', 0);
  const dataLen = dataBodyLength(frags);
  if (dataLen > Size.PACKET_BODY) {
    throw new ProtocolError('TOO_LARGE', 'data_packet', 'data_len', offset + 32, `<= ${Size.PACKET_BODY}`, dataLen);
  }
  const f0 = frags[0]!;
  const h = d.header;
  const header: PacketHeader = {
    type: h.type, transmitterId: h.transmitterId, procId: h.procId, membId: h.membId, seq: h.seq,
    tokenRound: h.tokenRound, confHash: h.confHash, dataLen, padding: h.padding,
    fragIndex: f0.index, fragLen: f0.data.length,
  };
  let o = encodePacketHeaderInto(header, dataLen, buf, offset);
  const bodyStart = o;
  if (buf.length - o < dataLen) {
    throw new ProtocolError('TRUNCATED', 'data_packet', 'output', o, dataLen, buf.length - o);
  }
  buf.set(f0.data, o);
  o += f0.data.length;
  for (let i = 1; i < frags.length; i++) {
    const f = frags[i]!;
    // An absent or empty pad means zeros; otherwise it must have exactly the alignment length.
    const pad = f.pad !== undefined && f.pad.length > 0 ? f.pad : undefined;
    o = putRaw(buf, o, padBefore(o - bodyStart), pad, 'data_packet', 'pad');
    put16(buf, o, f.index);
    put16(buf, o + 2, f.data.length);
    o += Size.FRAGMENT_HEADER;
    buf.set(f.data, o);
    o += f.data.length;
  }
  return o;
}

/** fragment_index of fragment k (0-based) of an n-fragment message. */
export function fragmentIndex(k: number, n: number): number {
  return k < n - 1 ? k + 1 : -n;
}

/**
 * Cuts a whole ring message (message header, groups, data) into the fragments the reference
 * sends: 1432-byte pieces, the last one the remainder (a full 1432 when the length is an
 * exact multiple). Views of `message`, no copies.
 */
export function fragmentMessage(message: Uint8Array): Fragment[] {
  const n = Math.max(1, Math.ceil(message.length / Size.PACKET_BODY));
  const out: Fragment[] = [];
  for (let k = 0; k < n; k++) {
    out.push({ index: fragmentIndex(k, n), data: message.subarray(k * Size.PACKET_BODY, Math.min(message.length, (k + 1) * Size.PACKET_BODY)) });
  }
  return out;
}

/** Byte ranges (relative to the datagram) of the alignment pads, for masks. */
export function dataPadRanges(fragments: readonly Fragment[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let p = 0;
  for (let i = 0; i < fragments.length; i++) {
    if (i > 0) {
      const pad = padBefore(p);
      if (pad > 0) out.push([Size.PACKET_HEADER + p, Size.PACKET_HEADER + p + pad]);
      p += pad + Size.FRAGMENT_HEADER;
    }
    p += fragments[i]!.data.length;
  }
  return out;
}

/**
 * Whether a whole message of packet type `otherType` may be appended to a packet whose first
 * fragment has packet type `packetType`: same service type, or both FIFO/AGREED.
 */
export function canPackTogether(packetType: number, otherType: number): boolean {
  const svc = packetType & PacketType.REGULAR;
  const osvc = otherType & PacketType.REGULAR;
  if (svc === osvc) return true;
  const fa = PacketType.FIFO | PacketType.AGREED;
  return (svc & fa) !== 0 && (osvc & fa) !== 0;
}

