/**
 * Regular tokens on the token channel (SPEC.md Part IV §9–§10).
 *
 *   token    = token_header rtr*                   rtr_len = total bytes of the records
 *   rtr      = memb_id proc_id:i32 seg_index:i16 num_seq:i16 num_seq × seq:i32     (16 + 4·n)
 *
 * token_header.type carries no packet-type bits, only ARQ (bits 16..19: the leader's round
 * counter mod 16) and RETRANS (bits 20..23). proc_id −1 / seg_index −1 in a record mean
 * "several daemons / segments miss these: answer by broadcast".
 * The first regular token of a new ring: type 0, seq 0, aru 0x7fffffff, aru_last_id −1,
 * flow_control 0, no records.
 */
import { ProtocolError } from '../errors.js';
import { Size } from './constants.js';
import { putMembId, type RingId, type TokenHeader } from './header.js';
import { put16, put32, type Reader } from '../bytes.js';

export interface RtrRecord {
  /** Ring whose packets are requested. */
  membId: RingId;
  /** Requester, or −1 (several). */
  procId: number;
  /** Requester's segment, or −1 (several). */
  segIndex: number;
  seqs: number[];
}

export interface RegularToken {
  kind: 'token';
  littleEndian: boolean;
  /** header.rtrLen is derived from `rtr` on encode. */
  header: TokenHeader;
  rtr: RtrRecord[];
}

export function decodeRtrList(r: Reader, start: number, end: number): RtrRecord[] {
  const out: RtrRecord[] = [];
  let o = start;
  while (o < end) {
    if (o + Size.RING_RTR > end) {
      throw new ProtocolError('TRUNCATED', 'ring_rtr', 'memb_id', o, Size.RING_RTR, end - o);
    }
    const n = r.i16(o + 14);
    if (n < 0) throw new ProtocolError('BAD_VALUE', 'ring_rtr', 'num_seq', o + 14, '>= 0', n);
    const membId = { procId: r.i32(o), time: r.i32(o + 4) };
    const procId = r.i32(o + 8);
    const segIndex = r.i16(o + 12);
    o += Size.RING_RTR;
    if (o + 4 * n > end) throw new ProtocolError('TRUNCATED', 'ring_rtr', 'seqs', o, 4 * n, end - o);
    const seqs = new Array<number>(n);
    for (let i = 0; i < n; i++, o += 4) seqs[i] = r.i32(o);
    out.push({ membId, procId, segIndex, seqs });
  }
  return out;
}

export function rtrListLength(rtr: readonly RtrRecord[]): number {
  let n = 0;
  for (const rec of rtr) n += Size.RING_RTR + 4 * rec.seqs.length;
  return n;
}

export function encodeRtrListInto(rtr: readonly RtrRecord[], buf: Uint8Array, o: number): number {
  for (const rec of rtr) {
    o = putMembId(buf, o, rec.membId);
    o = put32(buf, o, rec.procId);
    o = put16(buf, o, rec.segIndex);
    o = put16(buf, o, rec.seqs.length);
    for (const s of rec.seqs) o = put32(buf, o, s);
  }
  return o;
}

/** The token the last member of a new ring sends (twice) to the new leader. */
export function firstRegularToken(ringId: RingId, procId: number, confHash: number): RegularToken {
  return {
    kind: 'token',
    littleEndian: true,
    header: {
      type: 0, transmitterId: procId, procId, membId: { procId: ringId.procId, time: ringId.time },
      seq: 0, aru: 0x7fffffff, aruLastId: -1, flowControl: 0, rtrLen: 0, confHash,
    },
    rtr: [],
  };
}
