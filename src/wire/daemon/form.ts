/**
 * FORM1 / FORM2 tokens on the token channel (SPEC.md Part IV §12).
 *
 *   form1        = token_header members_info reps_info rings          rtr_len = 720 + rings
 *   form2        = token_header members_info new_ring_id:memb_id rings rtr_len = 524 + rings
 *   members_info = num_members:i16 num_pending:i16 members:i32[128]     (516, always whole)
 *   reps_info    = num_reps:i16 rep_index:i16 rep_info[25]              (204, always whole)
 *   rings        = num_rings:i32 ring*
 *   ring         = memb_id trans_time:i32 aru:i32 highest_seq:i32 num_holes:i32
 *                  num_commit:i16 num_trans:i16 holes:i32[num_holes] commit:i32[num_commit]
 *
 * The fixed arrays are sent whole: slots past num_members + num_pending (members) and past
 * num_reps (reps) hold stale bytes from earlier use of the buffer. The decoder keeps them in
 * `stale` so that encoding is exact; absent `stale` encodes zeros. In a FORM2 whose
 * num_members is 0 (nobody has read it yet), new_ring_id still holds the first 8 bytes of the
 * FORM1's reps_info; the first member fills it in.
 */
import { ProtocolError } from '../errors.js';
import { Limits, PacketType, Size } from './constants.js';
import { putMembId, type RingId, type TokenHeader } from './header.js';
import { putRep, type RepInfo } from './membership.js';
import { bytesOf, checkRange, put16, put32, putRaw, type Reader } from '../bytes.js';

export interface FormMembers {
  numMembers: number;
  numPending: number;
  /** The numMembers + numPending valid slots. */
  members: number[];
  /** Raw bytes of the unused slots (4 × (128 − members.length)); absent ⇒ zeros. */
  stale?: Uint8Array;
}

export interface FormReps {
  repIndex: number;
  /** num_reps = reps.length. */
  reps: RepInfo[];
  /** Raw bytes of the unused slots (8 × (25 − reps.length)); absent ⇒ zeros. */
  stale?: Uint8Array;
}

export interface RingRecord {
  membId: RingId;
  transTime: number;
  aru: number;
  highestSeq: number;
  holes: number[];
  /** Commit set; its first numTrans entries are the transitional set. */
  commit: number[];
  numTrans: number;
}

export interface Form1Token {
  kind: 'form1';
  littleEndian: boolean;
  /** header.rtrLen is derived on encode. */
  header: TokenHeader;
  members: FormMembers;
  reps: FormReps;
  rings: RingRecord[];
}

export interface Form2Token {
  kind: 'form2';
  littleEndian: boolean;
  header: TokenHeader;
  members: FormMembers;
  /** The new ring's id (stale bytes while members.numMembers is 0). */
  newRingId: RingId;
  rings: RingRecord[];
}

function decodeMembers(r: Reader, o: number, copy: boolean): FormMembers {
  r.need(o, Size.MEMBERS_INFO, 'members_info', 'members');
  const numMembers = r.i16(o);
  const numPending = r.i16(o + 2);
  checkRange(numMembers, 0, Limits.MAX_PROCS_RING, 'members_info', 'num_members', o);
  checkRange(numPending, 0, Limits.MAX_PROCS_RING, 'members_info', 'num_pending', o + 2);
  const count = numMembers + numPending;
  checkRange(count, 0, Limits.MAX_PROCS_RING, 'members_info', 'num_members+num_pending', o);
  const members = new Array<number>(count);
  for (let i = 0; i < count; i++) members[i] = r.i32(o + 4 + 4 * i);
  const stale = bytesOf(r.buf, o + 4 + 4 * count, o + Size.MEMBERS_INFO, copy);
  return { numMembers, numPending, members, stale };
}

function decodeReps(r: Reader, o: number, copy: boolean): FormReps {
  r.need(o, Size.REPS_INFO, 'reps_info', 'reps');
  const numReps = r.i16(o);
  const repIndex = r.i16(o + 2);
  checkRange(numReps, 0, Limits.MAX_REPS, 'reps_info', 'num_reps', o);
  const reps = new Array<RepInfo>(numReps);
  for (let i = 0; i < numReps; i++) {
    const p = o + 4 + Size.REP_INFO * i;
    reps[i] = { procId: r.i32(p), type: r.i16(p + 4), segIndex: r.i16(p + 6) };
  }
  const stale = bytesOf(r.buf, o + 4 + Size.REP_INFO * numReps, o + Size.REPS_INFO, copy);
  return { repIndex, reps, stale };
}

function decodeRings(r: Reader, o: number, end: number): RingRecord[] {
  if (o + 4 > end) throw new ProtocolError('TRUNCATED', 'form_token', 'num_rings', o, 4, Math.max(0, end - o));
  const numRings = r.i32(o);
  checkRange(numRings, 0, Limits.MAX_FORM_REPS, 'form_token', 'num_rings', o);
  o += 4;
  const rings = new Array<RingRecord>(numRings);
  for (let i = 0; i < numRings; i++) {
    if (o + Size.RING_INFO > end) throw new ProtocolError('TRUNCATED', 'ring_info', 'memb_id', o, Size.RING_INFO, end - o);
    const numHoles = r.i32(o + 20);
    const numCommit = r.i16(o + 24);
    const numTrans = r.i16(o + 26);
    checkRange(numHoles, 0, Limits.MAX_SEQ_GAP, 'ring_info', 'num_holes', o + 20);
    checkRange(numCommit, 0, Limits.MAX_PROCS_RING, 'ring_info', 'num_commit', o + 24);
    checkRange(numTrans, 0, numCommit, 'ring_info', 'num_trans', o + 26);
    const rec: RingRecord = {
      membId: { procId: r.i32(o), time: r.i32(o + 4) },
      transTime: r.i32(o + 8),
      aru: r.i32(o + 12),
      highestSeq: r.i32(o + 16),
      holes: new Array<number>(numHoles),
      commit: new Array<number>(numCommit),
      numTrans,
    };
    o += Size.RING_INFO;
    const need = 4 * (numHoles + numCommit);
    if (o + need > end) throw new ProtocolError('TRUNCATED', 'ring_info', 'holes/commit', o, need, end - o);
    for (let j = 0; j < numHoles; j++, o += 4) rec.holes[j] = r.i32(o);
    for (let j = 0; j < numCommit; j++, o += 4) rec.commit[j] = r.i32(o);
    rings[i] = rec;
  }
  if (o !== end) throw new ProtocolError('BAD_VALUE', 'form_token', 'rtr_len', o, 'body ends after the last ring', `${end - o} trailing bytes`);
  return rings;
}

export function decodeForm1Body(r: Reader, header: TokenHeader, bodyStart: number, copy: boolean): Form1Token {
  const end = bodyStart + header.rtrLen;
  if (header.rtrLen < Size.MEMBERS_INFO + Size.REPS_INFO + 4) {
    throw new ProtocolError('TRUNCATED', 'form1', 'rtr_len', bodyStart - 6, Size.MEMBERS_INFO + Size.REPS_INFO + 4, header.rtrLen);
  }
  const members = decodeMembers(r, bodyStart, copy);
  const reps = decodeReps(r, bodyStart + Size.MEMBERS_INFO, copy);
  const rings = decodeRings(r, bodyStart + Size.MEMBERS_INFO + Size.REPS_INFO, end);
  return { kind: 'form1', littleEndian: r.le, header, members, reps, rings };
}

export function decodeForm2Body(r: Reader, header: TokenHeader, bodyStart: number, copy: boolean): Form2Token {
  const end = bodyStart + header.rtrLen;
  if (header.rtrLen < Size.MEMBERS_INFO + Size.MEMBERSHIP_ID + 4) {
    throw new ProtocolError('TRUNCATED', 'form2', 'rtr_len', bodyStart - 6, Size.MEMBERS_INFO + Size.MEMBERSHIP_ID + 4, header.rtrLen);
  }
  const members = decodeMembers(r, bodyStart, copy);
  const o = bodyStart + Size.MEMBERS_INFO;
  const newRingId = { procId: r.i32(o), time: r.i32(o + 4) };
  const rings = decodeRings(r, o + Size.MEMBERSHIP_ID, end);
  return { kind: 'form2', littleEndian: r.le, header, members, newRingId, rings };
}

export function ringsLength(rings: readonly RingRecord[]): number {
  let n = 4;
  for (const g of rings) n += Size.RING_INFO + 4 * (g.holes.length + g.commit.length);
  return n;
}

export function formBodyLength(t: Form1Token | Form2Token): number {
  return Size.MEMBERS_INFO + (t.kind === 'form1' ? Size.REPS_INFO : Size.MEMBERSHIP_ID) + ringsLength(t.rings);
}

function encodeMembersInto(m: FormMembers, buf: Uint8Array, o: number): number {
  const count = m.members.length;
  if (count !== m.numMembers + m.numPending || count > Limits.MAX_PROCS_RING) {
    throw new ProtocolError('BAD_VALUE', 'members_info', 'members', o, `num_members + num_pending = ${m.numMembers + m.numPending} <= 128`, count);
  }
  put16(buf, o, m.numMembers);
  put16(buf, o + 2, m.numPending);
  let p = o + 4;
  for (const id of m.members) p = put32(buf, p, id);
  return putRaw(buf, p, o + Size.MEMBERS_INFO - p, m.stale, 'members_info', 'stale');
}

function encodeRepsInto(reps: FormReps, buf: Uint8Array, o: number): number {
  if (reps.reps.length > Limits.MAX_REPS) {
    throw new ProtocolError('TOO_LARGE', 'reps_info', 'num_reps', o, `<= ${Limits.MAX_REPS}`, reps.reps.length);
  }
  put16(buf, o, reps.reps.length);
  put16(buf, o + 2, reps.repIndex);
  let p = o + 4;
  for (const rep of reps.reps) p = putRep(buf, p, rep);
  return putRaw(buf, p, o + Size.REPS_INFO - p, reps.stale, 'reps_info', 'stale');
}

function encodeRingsInto(rings: readonly RingRecord[], buf: Uint8Array, o: number): number {
  o = put32(buf, o, rings.length);
  for (const g of rings) {
    o = putMembId(buf, o, g.membId);
    o = put32(buf, o, g.transTime);
    o = put32(buf, o, g.aru);
    o = put32(buf, o, g.highestSeq);
    o = put32(buf, o, g.holes.length);
    o = put16(buf, o, g.commit.length);
    o = put16(buf, o, g.numTrans);
    for (const s of g.holes) o = put32(buf, o, s);
    for (const p of g.commit) o = put32(buf, o, p);
  }
  return o;
}

export function encodeFormBodyInto(t: Form1Token | Form2Token, buf: Uint8Array, o: number): number {
  o = encodeMembersInto(t.members, buf, o);
  o = t.kind === 'form1' ? encodeRepsInto(t.reps, buf, o) : putMembId(buf, o, t.newRingId);
  return encodeRingsInto(t.rings, buf, o);
}

/** Absolute ranges (relative to the datagram) of the stale slots and junk ring id. */
export function formStaleRanges(t: Form1Token | Form2Token): Array<[number, number, string]> {
  const base = Size.TOKEN_HEADER;
  const out: Array<[number, number, string]> = [];
  const m = base + 4 + 4 * t.members.members.length;
  if (m < base + Size.MEMBERS_INFO) out.push([m, base + Size.MEMBERS_INFO, 'members_info unused slots']);
  if (t.kind === 'form1') {
    const r = base + Size.MEMBERS_INFO + 4 + Size.REP_INFO * t.reps.reps.length;
    if (r < base + Size.MEMBERS_INFO + Size.REPS_INFO) out.push([r, base + Size.MEMBERS_INFO + Size.REPS_INFO, 'reps_info unused slots']);
  } else if (t.members.numMembers === 0) {
    out.push([base + Size.MEMBERS_INFO, base + Size.MEMBERS_INFO + Size.MEMBERSHIP_ID, 'form2 new ring id not yet set']);
  }
  return out;
}

/**
 * Takes the member in slot `i` off members_info as the reference does: the later ones move down
 * one slot and the slot freed at the end keeps the last member's id (a stale slot now).
 */
export function removeFormMember(m: FormMembers, i: number): void {
  const last = m.members[m.members.length - 1]!;
  m.members.splice(i, 1);
  const stale = new Uint8Array(4 * (Limits.MAX_PROCS_RING - m.members.length));
  put32(stale, 0, last);
  if (m.stale !== undefined) stale.set(m.stale, 4);
  m.stale = stale;
  if (i < m.numMembers) m.numMembers--;
  else m.numPending--;
}

/** Writes `ids` into the next members_info slots (which stop being stale). Counts are the caller's. */
export function appendFormMembers(m: FormMembers, ids: readonly number[]): void {
  m.members.push(...ids);
  if (m.stale !== undefined) m.stale = m.stale.subarray(4 * ids.length);
}

/**
 * The FORM2 a FORM1 becomes at its last hop: `members` (ring order) all pending, unused slots
 * as they were, and reps_info replaced by its first 8 bytes (num_reps, rep_index,
 * reps[0].proc_id) read as new_ring_id, which the new ring's first member overwrites.
 */
export function form2FromForm1(t: Form1Token, members: number[]): Form2Token {
  const reps = t.reps;
  const newRingId = { procId: (reps.reps.length & 0xffff) | (reps.repIndex << 16), time: reps.reps[0]?.procId ?? 0 };
  return {
    kind: 'form2', littleEndian: true, header: { ...t.header, type: PacketType.FORM2 },
    members: { numMembers: 0, numPending: members.length, members, ...(t.members.stale !== undefined ? { stale: t.members.stale } : {}) },
    newRingId,
    rings: t.rings,
  };
}
