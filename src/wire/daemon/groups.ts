/**
 * The GROUPS message: a daemon-generated ring message carrying group state after a
 * membership change (SPEC.md Part IV §14). It travels as an ordinary message (48-byte
 * message header + body) inside data packets, fragmented like any other.
 *
 *   groups_message = header body
 *   header   = type:u32 name:char[28] synced_set_size:u32 num_groups:i32(=0) hint:u32 data_len:i32
 *              type = GROUPS_MESS | RELIABLE_MESS (all but the last sent) or AGREED_MESS (last)
 *              name = sending daemon's name, NUL-padded (bytes 28..31 of the 32-byte name field
 *              are the synced-set size)
 *   body     = memb_id first:u8 [size:u32 proc_id:i32{size}] group*      packed, unaligned
 *   group    = name:char[32] group_id changed:u16 num_daemons:u16 daemon{num_daemons}
 *   group_id = memb_id index:i32
 *   daemon   = proc_id:i32 memb_id num_members:u16 member_name:char[32]{num_members}
 *
 * Everything is in the sending daemon's order (marker in `type`); `changed` is written as
 * 0/1 and receivers only test it for non-zero. `hint` is the marker only.
 */
import { ProtocolError } from '../errors.js';
import { ServiceType } from '../client/constants.js';
import { Size } from './constants.js';
import { putMembId, type RingId } from './header.js';
import { bytesOf, ENDIAN_MARKER, put16, put32, readerFor, readName, writeName, type Reader } from '../bytes.js';

export interface GroupsDaemon {
  procId: number;
  /** The group's memb_id at the sending representative. */
  membId: RingId;
  members: string[];
}

export interface GroupsEntry {
  name: string;
  groupId: { membId: RingId; index: number };
  /** 0 or 1 as written (u16). */
  changed: number;
  daemons: GroupsDaemon[];
}

/** A GROUPS message's header fields, memb id and synced set: everything but its groups. */
export interface GroupsHead {
  /** Message header type with the marker cleared (GROUPS_MESS | RELIABLE_MESS or AGREED_MESS). */
  type: number;
  littleEndian: boolean;
  daemonName: string;
  /** Raw bytes 0..27 of the name field (the decoder sets it; absent ⇒ NUL-padded name). */
  nameField?: Uint8Array;
  /** Bytes 28..31 of the name field. */
  syncedSetSize: number;
  /** The hint word's raw bytes read little-endian. */
  hint: number;
  /** The regular ring id this message was (re)stamped with. */
  membId: RingId;
  /** Present only in the first-built buffer (first flag 1). */
  syncedSet: number[] | null;
}

export interface GroupsMessage extends GroupsHead {
  groups: GroupsEntry[];
}

/** Where a checked message's group entries lie: read them with `readGroupsEntries`. */
export interface GroupsBody {
  readonly reader: Reader;
  readonly start: number;
  readonly end: number;
}

const NAME = Size.GROUP_NAME;
const NAME_FIELD = 28;

function need(r: Reader, o: number, n: number, structure: string, field: string): void {
  if (o + n > r.end) throw new ProtocolError('TRUNCATED', structure, field, o, n, Math.max(0, r.end - o));
}

function name32(r: Reader, o: number): string {
  return readName(r.buf, o, NAME);
}

/**
 * Decodes a GROUPS message's head at buf[offset..end) and checks that its group entries fill the
 * body exactly as their counts say, without decoding them (`readGroupsEntries` does, later).
 */
export function decodeGroupsHead(
  buf: Uint8Array,
  offset: number,
  end: number,
  copy = false,
): { head: GroupsHead; body: GroupsBody; offset: number } {
  if (end - offset < Size.MESSAGE_HEADER) {
    throw new ProtocolError('TRUNCATED', 'groups_message', 'header', offset, Size.MESSAGE_HEADER, Math.max(0, end - offset));
  }
  const r = readerFor(buf, offset, end, 'groups_message');
  const type = (r.u32(offset) & ~ENDIAN_MARKER) >>> 0;
  if ((type & ServiceType.GROUPS_MESS) === 0) {
    throw new ProtocolError('BAD_VALUE', 'groups_message', 'type', offset, 'GROUPS_MESS bit', `0x${type.toString(16)}`);
  }
  const daemonName = readName(buf, offset + 4, NAME_FIELD);
  const nameField = bytesOf(buf, offset + 4, offset + 4 + NAME_FIELD, copy);
  const syncedSetSize = r.u32(offset + 32);
  const numGroups = r.i32(offset + 36);
  const hint = (buf[offset + 40]! | (buf[offset + 41]! << 8) | (buf[offset + 42]! << 16) | (buf[offset + 43]! << 24)) >>> 0;
  const dataLen = r.i32(offset + 44);
  if (numGroups !== 0) throw new ProtocolError('BAD_VALUE', 'groups_message', 'num_groups', offset + 36, 0, numGroups);
  const bodyStart = offset + Size.MESSAGE_HEADER;
  if (dataLen < 0 || bodyStart + dataLen > end) {
    throw new ProtocolError('TRUNCATED', 'groups_message', 'body', bodyStart, dataLen, end - bodyStart);
  }
  const bodyEnd = bodyStart + dataLen;
  const br = r.end === bodyEnd ? r : readerFor(buf, offset, bodyEnd, 'groups_message');
  let o = bodyStart;
  need(br, o, 9, 'groups_message', 'memb_id');
  const membId = { procId: br.i32(o), time: br.i32(o + 4) };
  const flag = buf[o + 8]!;
  o += 9;
  if (flag > 1) throw new ProtocolError('BAD_VALUE', 'groups_message', 'first', o - 1, '0 or 1', flag);
  let syncedSet: number[] | null = null;
  if (flag === 1) {
    need(br, o, 4, 'groups_message', 'synced_set_size');
    const size = br.u32(o);
    o += 4;
    if (size > (bodyEnd - o) / 4) throw new ProtocolError('TRUNCATED', 'groups_message', 'synced_set', o, size * 4, bodyEnd - o);
    syncedSet = new Array<number>(size);
    for (let i = 0; i < size; i++, o += 4) syncedSet[i] = br.i32(o);
  }
  const body: GroupsBody = { reader: br, start: o, end: bodyEnd };
  walkGroups(body, null);
  return {
    head: { type, littleEndian: r.le, daemonName, nameField, syncedSetSize, hint, membId, syncedSet },
    body,
    offset: bodyEnd,
  };
}

/** The group entries of a body `decodeGroupsHead` checked. */
export function readGroupsEntries(body: GroupsBody): GroupsEntry[] {
  const groups: GroupsEntry[] = [];
  walkGroups(body, groups);
  return groups;
}

/**
 * Walks the group entries with their bounds checks; decodes them into `out` unless it is null.
 * Equal memb ids come out as one (immutable) object: a representative writes its groups' ring
 * id into every entry and daemon record, so a 10,000-group state holds a handful of distinct ids.
 */
function walkGroups(body: GroupsBody, out: GroupsEntry[] | null): void {
  const br = body.reader;
  let o = body.start;
  let lastId: RingId | null = null;
  const ringIdAt = (at: number): RingId => {
    const procId = br.i32(at);
    const time = br.i32(at + 4);
    if (lastId === null || lastId.procId !== procId || lastId.time !== time) lastId = { procId, time };
    return lastId;
  };
  while (o < body.end) {
    need(br, o, NAME + 16, 'groups_entry', 'name');
    const entry: GroupsEntry | null = out === null ? null : {
      name: name32(br, o),
      groupId: { membId: ringIdAt(o + NAME), index: br.i32(o + NAME + 8) },
      changed: br.u16(o + NAME + 12),
      daemons: [],
    };
    const numDaemons = br.u16(o + NAME + 14);
    o += NAME + 16;
    for (let d = 0; d < numDaemons; d++) {
      need(br, o, 14, 'groups_daemon', 'proc_id');
      const n = br.u16(o + 12);
      need(br, o + 14, n * NAME, 'groups_daemon', 'members');
      if (entry !== null) {
        const members = new Array<string>(n);
        for (let i = 0; i < n; i++) members[i] = name32(br, o + 14 + i * NAME);
        entry.daemons.push({ procId: br.i32(o), membId: ringIdAt(o + 4), members });
      }
      o += 14 + n * NAME;
    }
    if (entry !== null) out!.push(entry);
  }
}

/** Decodes a whole GROUPS message (header + body) at buf[offset..end). */
export function decodeGroupsMessage(
  buf: Uint8Array,
  offset: number,
  end: number,
  copy = false,
): { value: GroupsMessage; offset: number } {
  const { head, body, offset: next } = decodeGroupsHead(buf, offset, end, copy);
  return { value: { ...head, groups: readGroupsEntries(body) }, offset: next };
}

/** Bytes of a group entry before its daemon records: name, group id, changed, number of daemons. */
export const GROUPS_ENTRY_BYTES = NAME + 16;
/** Bytes of a daemon record before its member names: proc id, memb id, number of members. */
const GROUPS_DAEMON_BYTES = 14;

/** Bytes of a daemon record with `members` member names. */
export function groupsDaemonBytes(members: number): number {
  return GROUPS_DAEMON_BYTES + NAME * members;
}

/** Bytes of a body before its group entries: memb id, first flag, the synced set if present. */
function groupsBodyStartBytes(syncedSet: readonly number[] | null): number {
  return 9 + (syncedSet === null ? 0 : 4 + 4 * syncedSet.length);
}

export function groupsBodyLength(g: GroupsMessage): number {
  let n = groupsBodyStartBytes(g.syncedSet);
  for (let i = 0; i < g.groups.length; i++) {
    const daemons = g.groups[i]!.daemons;
    n += GROUPS_ENTRY_BYTES;
    for (let k = 0; k < daemons.length; k++) n += groupsDaemonBytes(daemons[k]!.members.length);
  }
  return n;
}

export function groupsMessageLength(g: GroupsMessage): number {
  return Size.MESSAGE_HEADER + groupsBodyLength(g);
}

/** The header fields a sender chooses (the rest are fixed or derived). */
export type GroupsHeaderFields = Pick<GroupsHead, 'type' | 'daemonName' | 'nameField' | 'syncedSetSize' | 'hint'>;

/** Writes the 48-byte message header at buf[offset..] for a body of `bodyLength` bytes (little-endian). */
export function writeGroupsHeader(buf: Uint8Array, offset: number, h: GroupsHeaderFields, bodyLength: number): number {
  put32(buf, offset, (h.type | ENDIAN_MARKER) >>> 0);
  if (h.nameField !== undefined) {
    if (h.nameField.length !== NAME_FIELD) {
      throw new ProtocolError('BAD_VALUE', 'groups_message', 'nameField', offset + 4, `${NAME_FIELD} bytes`, h.nameField.length);
    }
    buf.set(h.nameField, offset + 4);
  } else {
    writeName(buf, offset + 4, NAME_FIELD, h.daemonName);
  }
  put32(buf, offset + 32, h.syncedSetSize);
  put32(buf, offset + 36, 0);
  put32(buf, offset + 40, h.hint);
  return put32(buf, offset + 44, bodyLength);
}

/** Writes the body's memb id, first flag and synced set at buf[o..]; returns where the groups start. */
export function writeGroupsBodyStart(buf: Uint8Array, o: number, membId: RingId, syncedSet: readonly number[] | null): number {
  o = putMembId(buf, o, membId);
  buf[o++] = syncedSet === null ? 0 : 1;
  if (syncedSet !== null) {
    o = put32(buf, o, syncedSet.length);
    for (let i = 0; i < syncedSet.length; i++) o = put32(buf, o, syncedSet[i]!);
  }
  return o;
}

/** Writes a group entry's 48 bytes at buf[o..] (its daemon records follow). */
export function writeGroupsEntry(
  buf: Uint8Array,
  o: number,
  name: string,
  groupMembId: RingId,
  groupIndex: number,
  changed: number,
  numDaemons: number,
): number {
  o = writeName(buf, o, NAME, name);
  o = putMembId(buf, o, groupMembId);
  o = put32(buf, o, groupIndex);
  o = put16(buf, o, changed);
  return put16(buf, o, numDaemons);
}

/** Writes a daemon record and its member names at buf[o..]. */
export function writeGroupsDaemon(buf: Uint8Array, o: number, procId: number, membId: RingId, members: readonly string[]): number {
  o = put32(buf, o, procId);
  o = putMembId(buf, o, membId);
  o = put16(buf, o, members.length);
  for (let i = 0; i < members.length; i++) o = writeName(buf, o, NAME, members[i]!);
  return o;
}

export function encodeGroupsMessageInto(g: GroupsMessage, buf: Uint8Array, offset: number): number {
  const body = groupsBodyLength(g);
  if (buf.length - offset < Size.MESSAGE_HEADER + body) {
    throw new ProtocolError('TRUNCATED', 'groups_message', 'output', offset, Size.MESSAGE_HEADER + body, buf.length - offset);
  }
  writeGroupsHeader(buf, offset, g, body);
  let o = writeGroupsBodyStart(buf, offset + Size.MESSAGE_HEADER, g.membId, g.syncedSet);
  for (let i = 0; i < g.groups.length; i++) {
    const e = g.groups[i]!;
    o = writeGroupsEntry(buf, o, e.name, e.groupId.membId, e.groupId.index, e.changed, e.daemons.length);
    for (let k = 0; k < e.daemons.length; k++) {
      const d = e.daemons[k]!;
      o = writeGroupsDaemon(buf, o, d.procId, d.membId, d.members);
    }
  }
  return o;
}

/** A copy of an encoded GROUPS message (little-endian, as ours are) stamped with another ring id. */
export function restampGroupsMessage(frame: Uint8Array, membId: RingId): Uint8Array {
  const out = frame.slice();
  putMembId(out, Size.MESSAGE_HEADER, membId);
  return out;
}

export function encodeGroupsMessage(g: GroupsMessage): Uint8Array {
  const out = new Uint8Array(groupsMessageLength(g));
  encodeGroupsMessageInto(g, out, 0);
  return out;
}
