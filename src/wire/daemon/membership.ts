/**
 * Membership packets on the data channel (SPEC.md Part IV §7).
 *
 *   alive = packet_header members                    data_len = 4 + 4·num_members
 *   join  = packet_header members reps               data_len = 4 + 4·m + 4 + 8·r
 *   refer = packet_header                            data_len = 0
 *   hurry = packet_header                            data_len = 0
 *   members  = num_members:i16 num_pending:i16 num_members × proc_id:i32   (truncated members_info)
 *   reps     = num_reps:i16 rep_index:i16 num_reps × rep_info              (truncated reps_info)
 *   rep_info = proc_id:i32 type:i16 seg_index:i16
 *
 * REFER names the referred daemon in memb_id (proc_id = its IP, time = its RepType).
 * The reference leaves memb_id/seq/token_round/padding/first_frag_header of ALIVE, JOIN and
 * HURRY (and seq/token_round/padding/first_frag_header of REFER) uninitialised: the decoder
 * keeps them in `header`, masks list them.
 */
import { ProtocolError } from '../errors.js';
import { Limits, Size } from './constants.js';
import type { PacketHeader } from './header.js';
import { checkRange, put16, put32, type Reader } from '../bytes.js';

export interface RepInfo {
  procId: number;
  /** RepType: 0 potential, 1 segment rep, 2 ring rep. */
  type: number;
  segIndex: number;
}

export interface AlivePacket {
  kind: 'alive';
  littleEndian: boolean;
  header: PacketHeader;
  /** num_members = members.length. */
  members: number[];
  numPending: number;
}

export interface JoinPacket {
  kind: 'join';
  littleEndian: boolean;
  header: PacketHeader;
  members: number[];
  numPending: number;
  /** reps[0] is the sender. */
  reps: RepInfo[];
  repIndex: number;
}

export interface ReferPacket {
  kind: 'refer';
  littleEndian: boolean;
  /** header.membId = (referred daemon's IP, its RepType). */
  header: PacketHeader;
}

export interface HurryPacket {
  kind: 'hurry';
  littleEndian: boolean;
  header: PacketHeader;
}

function expectLen(header: PacketHeader, want: number, structure: string, offset: number): void {
  if (header.dataLen !== want) {
    throw new ProtocolError('BAD_VALUE', structure, 'data_len', offset + 32, want, header.dataLen);
  }
}

function readMembers(r: Reader, o: number, end: number, structure: string): { members: number[]; numPending: number; offset: number } {
  if (o + 4 > end) throw new ProtocolError('TRUNCATED', structure, 'num_members', o, 4, Math.max(0, end - o));
  const n = r.i16(o);
  const numPending = r.i16(o + 2);
  checkRange(n, 0, Limits.MAX_PROCS_RING, structure, 'num_members', o);
  o += 4;
  if (o + 4 * n > end) throw new ProtocolError('TRUNCATED', structure, 'members', o, 4 * n, Math.max(0, end - o));
  const members = new Array<number>(n);
  for (let i = 0; i < n; i++, o += 4) members[i] = r.i32(o);
  return { members, numPending, offset: o };
}

export function decodeAliveBody(r: Reader, header: PacketHeader, start: number): AlivePacket {
  const bodyStart = start + Size.PACKET_HEADER;
  const end = bodyStart + header.dataLen;
  const m = readMembers(r, bodyStart, end, 'alive');
  expectLen(header, 4 + 4 * m.members.length, 'alive', start);
  return { kind: 'alive', littleEndian: r.le, header, members: m.members, numPending: m.numPending };
}

export function decodeJoinBody(r: Reader, header: PacketHeader, start: number): JoinPacket {
  const bodyStart = start + Size.PACKET_HEADER;
  const end = bodyStart + header.dataLen;
  const m = readMembers(r, bodyStart, end, 'join');
  let o = m.offset;
  if (o + 4 > end) throw new ProtocolError('TRUNCATED', 'join', 'num_reps', o, 4, Math.max(0, end - o));
  const numReps = r.i16(o);
  const repIndex = r.i16(o + 2);
  checkRange(numReps, 0, Limits.MAX_REPS, 'join', 'num_reps', o);
  o += 4;
  if (o + Size.REP_INFO * numReps > end) {
    throw new ProtocolError('TRUNCATED', 'join', 'reps', o, Size.REP_INFO * numReps, Math.max(0, end - o));
  }
  const reps = new Array<RepInfo>(numReps);
  for (let i = 0; i < numReps; i++, o += Size.REP_INFO) reps[i] = { procId: r.i32(o), type: r.i16(o + 4), segIndex: r.i16(o + 6) };
  expectLen(header, 8 + 4 * m.members.length + Size.REP_INFO * numReps, 'join', start);
  return { kind: 'join', littleEndian: r.le, header, members: m.members, numPending: m.numPending, reps, repIndex };
}

export function decodeEmptyBody(r: Reader, header: PacketHeader, start: number, kind: 'refer' | 'hurry'): ReferPacket | HurryPacket {
  expectLen(header, 0, kind, start);
  return { kind, littleEndian: r.le, header };
}

export function aliveBodyLength(p: AlivePacket): number {
  return 4 + 4 * p.members.length;
}

export function joinBodyLength(p: JoinPacket): number {
  return 8 + 4 * p.members.length + Size.REP_INFO * p.reps.length;
}

function putMembers(buf: Uint8Array, o: number, members: readonly number[], numPending: number): number {
  o = put16(buf, o, members.length);
  o = put16(buf, o, numPending);
  for (const id of members) o = put32(buf, o, id);
  return o;
}

export function putRep(buf: Uint8Array, o: number, rep: RepInfo): number {
  o = put32(buf, o, rep.procId);
  o = put16(buf, o, rep.type);
  return put16(buf, o, rep.segIndex);
}

export function encodeAliveBodyInto(p: AlivePacket, buf: Uint8Array, o: number): number {
  return putMembers(buf, o, p.members, p.numPending);
}

export function encodeJoinBodyInto(p: JoinPacket, buf: Uint8Array, o: number): number {
  o = putMembers(buf, o, p.members, p.numPending);
  o = put16(buf, o, p.reps.length);
  o = put16(buf, o, p.repIndex);
  for (const rep of p.reps) o = putRep(buf, o, rep);
  return o;
}
