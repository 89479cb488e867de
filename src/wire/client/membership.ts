/**
 * Bodies of membership notifications (SPEC.md Part I §6.3), in the daemon's order.
 *
 *   reg_memb   = group_id num_vs_sets:u32 my_vs_set_offset:u32 vs_set*
 *   group_id   = proc_id:i32 time:i32 index:i32            (12 bytes)
 *   vs_set     = count:u32 count × char[32]
 *   transition = group_id
 *
 * my_vs_set_offset is the byte offset, counted from the first vs_set, of the set that holds
 * the receiving session's daemon.
 */
import { assertBounds, ProtocolError } from '../errors.js';
import { put32, readI32, readName, readU32, writeNameField } from '../bytes.js';
import type { Decoded } from './message.js';
import { NAME_SIZE } from './message.js';

export interface GroupId {
  procId: number;
  time: number;
  index: number;
}

export interface MembershipBody {
  groupId: GroupId;
  vsSets: string[][];
  /** Index into vsSets of the receiver's set; -1 when the offset names no set boundary. */
  myVsSet: number;
}

export const GROUP_ID_SIZE = 12;

/** Bytes of one vs_set of `count` names. */
export function vsSetSize(count: number): number {
  return 4 + NAME_SIZE * count;
}

/** Byte offset of set `index` from the first set. */
export function vsSetOffset(sets: readonly (readonly string[])[], index: number): number {
  let off = 0;
  for (let i = 0; i < index; i++) off += vsSetSize(sets[i]!.length);
  return off;
}

/** Bytes of num_vs_sets, my_vs_set_offset and the sets themselves. */
export function vsSetsLength(sets: readonly (readonly string[])[]): number {
  return 8 + vsSetOffset(sets, sets.length);
}

export function membershipBodyLength(b: MembershipBody): number {
  return GROUP_ID_SIZE + vsSetsLength(b.vsSets);
}

export function encodeGroupIdInto(g: GroupId, buf: Uint8Array, offset: number): number {
  put32(buf, offset, g.procId);
  put32(buf, offset + 4, g.time);
  put32(buf, offset + 8, g.index);
  return offset + GROUP_ID_SIZE;
}

/**
 * A reg_memb body with my_vs_set_offset given in bytes (a daemon computes it while it builds
 * the sets). Names are copied whole: a full 32-byte name gets no NUL.
 */
export function encodeVsSetsInto(
  groupId: GroupId,
  sets: readonly (readonly string[])[],
  myVsSetOffset: number,
  buf: Uint8Array,
  offset: number,
): number {
  let o = encodeGroupIdInto(groupId, buf, offset);
  o = put32(buf, o, sets.length);
  o = put32(buf, o, myVsSetOffset);
  for (const set of sets) {
    o = put32(buf, o, set.length);
    for (const name of set) o = writeNameField(buf, o, NAME_SIZE, name);
  }
  return o;
}

export function encodeMembershipBodyInto(b: MembershipBody, buf: Uint8Array, offset: number): number {
  assertBounds(buf.length, offset, membershipBodyLength(b), 'membership_body', 'output');
  return encodeVsSetsInto(b.groupId, b.vsSets, vsSetOffset(b.vsSets, b.myVsSet), buf, offset);
}

export function encodeMembershipBody(b: MembershipBody): Uint8Array {
  const out = new Uint8Array(membershipBodyLength(b));
  encodeMembershipBodyInto(b, out, 0);
  return out;
}

export function decodeGroupId(buf: Uint8Array, offset: number, end: number, le: boolean): Decoded<GroupId> {
  assertBounds(end, offset, GROUP_ID_SIZE, 'group_id', 'fields');
  return {
    value: { procId: readI32(buf, offset, le), time: readI32(buf, offset + 4, le), index: readI32(buf, offset + 8, le) },
    offset: offset + GROUP_ID_SIZE,
  };
}

export function decodeMembershipBody(buf: Uint8Array, offset: number, end: number, le: boolean): Decoded<MembershipBody> {
  const gid = decodeGroupId(buf, offset, end, le);
  let o = gid.offset;
  assertBounds(end, o, 8, 'membership_body', 'num_vs_sets');
  const numSets = readU32(buf, o, le);
  const myOffset = readU32(buf, o + 4, le);
  o += 8;
  const setsStart = o;
  // Each set needs at least its 4-byte count.
  if (numSets > (end - o) / 4) {
    throw new ProtocolError('BAD_VALUE', 'membership_body', 'num_vs_sets', offset + 12, `<= ${Math.floor((end - o) / 4)}`, numSets);
  }
  const vsSets: string[][] = [];
  let myVsSet = -1;
  for (let i = 0; i < numSets; i++) {
    if (o - setsStart === myOffset) myVsSet = i;
    assertBounds(end, o, 4, 'vs_set', 'count');
    const count = readU32(buf, o, le);
    o += 4;
    if (count > (end - o) / NAME_SIZE) {
      throw new ProtocolError('TRUNCATED', 'vs_set', 'members', o, count * NAME_SIZE, end - o);
    }
    const set = new Array<string>(count);
    for (let j = 0; j < count; j++, o += NAME_SIZE) set[j] = readName(buf, o, NAME_SIZE);
    vsSets.push(set);
  }
  return { value: { groupId: gid.value, vsSets, myVsSet }, offset: o };
}
