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

/** Walks the group entries with their bounds checks; decodes them into `out` unless it is null. */
function walkGroups(body: GroupsBody, out: GroupsEntry[] | null): void {
  const br = body.reader;
  let o = body.start;
  while (o < body.end) {
    need(br, o, NAME + 16, 'groups_entry', 'name');
    const entry: GroupsEntry | null = out === null ? null : {
      name: name32(br, o),
      groupId: { membId: { procId: br.i32(o + NAME), time: br.i32(o + NAME + 4) }, index: br.i32(o + NAME + 8) },
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
        entry.daemons.push({ procId: br.i32(o), membId: { procId: br.i32(o + 4), time: br.i32(o + 8) }, members });
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

export function groupsBodyLength(g: GroupsMessage): number {
  let n = 9 + (g.syncedSet === null ? 0 : 4 + 4 * g.syncedSet.length);
  for (const e of g.groups) {
    n += NAME + 16;
    for (const d of e.daemons) n += 14 + NAME * d.members.length;
  }
  return n;
}

export function groupsMessageLength(g: GroupsMessage): number {
  return Size.MESSAGE_HEADER + groupsBodyLength(g);
}

export function encodeGroupsMessageInto(g: GroupsMessage, buf: Uint8Array, offset: number): number {
  const body = groupsBodyLength(g);
  if (buf.length - offset < Size.MESSAGE_HEADER + body) {
    throw new ProtocolError('TRUNCATED', 'groups_message', 'output', offset, Size.MESSAGE_HEADER + body, buf.length - offset);
  }
  put32(buf, offset, (g.type | ENDIAN_MARKER) >>> 0);
  if (g.nameField !== undefined) {
    if (g.nameField.length !== NAME_FIELD) {
      throw new ProtocolError('BAD_VALUE', 'groups_message', 'nameField', offset + 4, `${NAME_FIELD} bytes`, g.nameField.length);
    }
    buf.set(g.nameField, offset + 4);
  } else {
    writeName(buf, offset + 4, NAME_FIELD, g.daemonName);
  }
  put32(buf, offset + 32, g.syncedSetSize);
  put32(buf, offset + 36, 0);
  put32(buf, offset + 40, g.hint);
  put32(buf, offset + 44, body);
  let o = putMembId(buf, offset + Size.MESSAGE_HEADER, g.membId);
  buf[o++] = g.syncedSet === null ? 0 : 1;
  if (g.syncedSet !== null) {
    o = put32(buf, o, g.syncedSet.length);
    for (const id of g.syncedSet) o = put32(buf, o, id);
  }
  for (const e of g.groups) {
    o = writeName(buf, o, NAME, e.name);
    o = putMembId(buf, o, e.groupId.membId);
    o = put32(buf, o, e.groupId.index);
    o = put16(buf, o, e.changed);
    o = put16(buf, o, e.daemons.length);
    for (const d of e.daemons) {
      o = put32(buf, o, d.procId);
      o = putMembId(buf, o, d.membId);
      o = put16(buf, o, d.members.length);
      for (const m of d.members) o = writeName(buf, o, NAME, m);
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
