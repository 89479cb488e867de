/**
 * The membership notices of a changed group (SPEC.md Part VII §6–§7):
 *
 *   heavyweight = header(REG_MEMB_MESS|CAUSED_BY_NETWORK, group, num_groups = all members)
 *                 members body
 *   body        = group_id num_vs_sets:u32 my_vs_set_offset:u32 vs_set{num_vs_sets}
 *   vs_set      = count:u32 name:char[32]{count}
 *   transition  = header(TRANSITION_MESS, group, num_groups = 0) group_id
 *
 * vs_sets: the group's daemon entries sorted by (memb id, configuration order); a new set starts
 * at every change of memb id and after every partitioned (unknown) entry; an optional joiner is
 * taken out of its daemon's set and appended as a singleton last set. my_vs_set_offset is the
 * byte offset, from the first set, of the set holding the receiving daemon (the joiner's own
 * copy points at its singleton set).
 */
import { ENDIAN_MARKER, writeU32LE } from '../../wire/bytes.js';
import { encodeGroupIdInto, HEADER_SIZE, NAME_SIZE, ServiceType } from '../../wire/client/index.js';
import { writeNameField } from './frames.js';
import { compareMembIds, isUnknownMembId, sameRingId, type ConfOrder, type DaemonEntry } from './groups-model.js';
import type { GroupId } from './types.js';

export interface VsSets {
  /** Member names per set, in set order. */
  readonly sets: readonly (readonly string[])[];
  /** Byte offset (from the first set) of the set that holds `myProcId`'s members; 0 if none. */
  readonly myOffset: number;
  /** Byte offset of the joiner's singleton set (the last one), or null without a joiner. */
  readonly joinerOffset: number | null;
}

function setBytes(count: number): number {
  return 4 + NAME_SIZE * count;
}

/** The reference's vs_set construction (G_build_memb_vs_buf). */
export function computeVsSets(
  daemons: readonly DaemonEntry[],
  conf: ConfOrder,
  myProcId: number,
  joiner: string | null = null,
): VsSets {
  const order = [...daemons].sort((a, b) => compareMembIds(a.membId, b.membId) || conf.compare(a.procId, b.procId));
  const sets: string[][] = [];
  let current: string[] | null = null;
  let currentId = null as DaemonEntry['membId'] | null;
  let offset = 0;
  let currentOffset = 0;
  let myOffset = 0;
  let joinerFound = false;
  for (const d of order) {
    if (current === null || currentId === null || isUnknownMembId(currentId) || !sameRingId(currentId, d.membId)) {
      if (current !== null) offset += setBytes(current.length);
      current = [];
      sets.push(current);
      currentId = d.membId;
      currentOffset = offset;
    }
    if (d.procId === myProcId) myOffset = currentOffset;
    for (const m of d.members) {
      if (joiner !== null && !joinerFound && m === joiner) {
        joinerFound = true;
        continue;
      }
      current.push(m);
    }
  }
  let joinerOffset: number | null = null;
  if (joiner !== null) {
    if (current !== null) offset += setBytes(current.length);
    joinerOffset = offset;
    sets.push([joiner]);
  }
  return { sets, myOffset, joinerOffset };
}

function writeHeader(buf: Uint8Array, type: number, name: string, numGroups: number, dataLen: number): number {
  writeU32LE(buf, 0, (type | ENDIAN_MARKER) >>> 0);
  writeNameField(buf, 4, name);
  writeU32LE(buf, 36, numGroups);
  writeU32LE(buf, 40, ENDIAN_MARKER);
  writeU32LE(buf, 44, dataLen);
  return HEADER_SIZE;
}

function writeGroupId(buf: Uint8Array, o: number, id: GroupId): number {
  return encodeGroupIdInto({ procId: id.ringId.procId, time: id.ringId.time, index: id.index }, buf, o);
}

/** Offset of my_vs_set_offset inside a heavyweight frame with `numMembers` listed members. */
function vsOffsetField(numMembers: number): number {
  return HEADER_SIZE + NAME_SIZE * numMembers + 12 + 4;
}

/** A REG_MEMB_MESS | CAUSED_BY_NETWORK notice (all members listed, vs_sets in the body). */
export function buildNetworkMembership(
  group: string,
  members: readonly string[],
  groupId: GroupId,
  sets: readonly (readonly string[])[],
  myOffset: number,
): Uint8Array {
  let bodyLen = 12 + 4 + 4;
  for (const s of sets) bodyLen += setBytes(s.length);
  const frame = new Uint8Array(HEADER_SIZE + NAME_SIZE * members.length + bodyLen);
  let o = writeHeader(frame, ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_NETWORK, group, members.length, bodyLen);
  for (const m of members) o = writeNameField(frame, o, m);
  o = writeGroupId(frame, o, groupId);
  o = writeU32LE(frame, o, sets.length);
  o = writeU32LE(frame, o, myOffset);
  for (const s of sets) {
    o = writeU32LE(frame, o, s.length);
    for (const m of s) o = writeNameField(frame, o, m);
  }
  return frame;
}

/** A copy of a heavyweight notice with another my_vs_set_offset (the local joiner's copy). */
export function withVsSetOffset(frame: Uint8Array, numMembers: number, offset: number): Uint8Array {
  const copy = Uint8Array.from(frame);
  writeU32LE(copy, vsOffsetField(numMembers), offset);
  return copy;
}

/** TRANSITION_MESS: no members, the body is the group id. */
export function buildTransition(group: string, groupId: GroupId): Uint8Array {
  const frame = new Uint8Array(HEADER_SIZE + 12);
  const o = writeHeader(frame, ServiceType.TRANSITION_MESS, group, 0, 12);
  writeGroupId(frame, o, groupId);
  return frame;
}
