/**
 * The frames a daemon writes to its clients itself, and the in-daemon form of the client
 * frames it relays (SPEC.md Part I §6.2–§6.3 membership notices, §3.2 byte order).
 *
 *   notice header = type|marker name:char[32](the group) num_groups hint=marker data_len
 *   lightweight   = header(REG_MEMB|cause) members group_id 1 0 vs_set(1 × changed member)
 *   heavyweight   = header(REG_MEMB|CAUSED_BY_NETWORK) members reg_memb body (membership.ts)
 *   transition    = header(TRANSITION_MESS, num_groups 0) group_id
 *   self-leave    = header(CAUSED_BY_LEAVE, num_groups 0, data_len 0)
 *   kill          = header(KILL_MESS|SAFE_MESS, the session's private group, 0, 0)
 *
 * Names are copied whole: a full 32-byte name (one read from a client field without a NUL)
 * is written without a NUL, as the reference copies such a field.
 *
 * A normalised frame is a client frame in our order: type/num_groups/data_len rewritten
 * little-endian (marker set) and byte 31 of the name forced to NUL; the hint, the group
 * fields and the data stay byte for byte as the client sent them.
 */
import { ENDIAN_MARKER, isLittleEndianWord, put32, readName, readU32, writeNameField } from '../bytes.js';
import { ServiceType } from './constants.js';
import { encodeGroupIdInto, encodeVsSetsInto, GROUP_ID_SIZE, vsSetsLength } from './membership.js';
import type { GroupId } from './membership.js';
import { HEADER_SIZE, HeaderField, NAME_SIZE } from './message.js';
import type { MessageHeader } from './message.js';

const { TYPE: TYPE_AT, NAME: NAME_AT, NUM_GROUPS: NUM_GROUPS_AT, HINT: HINT_AT, DATA_LEN: DATA_LEN_AT } = HeaderField;

/** Writes a daemon-made header (marker-only hint) at 0 and the member names after it; returns the body's offset. */
function putNoticeHead(buf: Uint8Array, type: number, name: string, members: readonly string[], dataLen: number): number {
  put32(buf, TYPE_AT, (type | ENDIAN_MARKER) >>> 0);
  writeNameField(buf, NAME_AT, NAME_SIZE, name);
  put32(buf, NUM_GROUPS_AT, members.length);
  put32(buf, HINT_AT, ENDIAN_MARKER);
  put32(buf, DATA_LEN_AT, dataLen);
  let o = HEADER_SIZE;
  for (const m of members) o = writeNameField(buf, o, NAME_SIZE, m);
  return o;
}

function notice(type: number, name: string, members: readonly string[], dataLen: number): { frame: Uint8Array; body: number } {
  const frame = new Uint8Array(HEADER_SIZE + NAME_SIZE * members.length + dataLen);
  return { frame, body: putNoticeHead(frame, type, name, members, dataLen) };
}

/** The KILL a daemon sends round the ring for a session it drops: KILL_MESS | SAFE_MESS, no groups, no data. */
export function encodeKillFrame(privateGroup: string): Uint8Array {
  return notice(ServiceType.KILL_MESS | ServiceType.SAFE_MESS, privateGroup, [], 0).frame;
}

/**
 * A lightweight regular membership (join / leave / disconnect in an unchanged group): the
 * groups array lists every member, the single vs_set names only the member that changed.
 */
export function encodeLightweightMembership(
  group: string,
  members: readonly string[],
  groupId: GroupId,
  cause: number,
  changedMember: string,
): Uint8Array {
  const sets = [[changedMember]];
  const { frame, body } = notice(ServiceType.REG_MEMB_MESS | cause, group, members, GROUP_ID_SIZE + vsSetsLength(sets));
  encodeVsSetsInto(groupId, sets, 0, frame, body);
  return frame;
}

/** A REG_MEMB_MESS | CAUSED_BY_NETWORK notice: all members listed, the vs_sets in the body. */
export function encodeNetworkMembership(
  group: string,
  members: readonly string[],
  groupId: GroupId,
  sets: readonly (readonly string[])[],
  myVsSetOffset: number,
): Uint8Array {
  const type = ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_NETWORK;
  const { frame, body } = notice(type, group, members, GROUP_ID_SIZE + vsSetsLength(sets));
  encodeVsSetsInto(groupId, sets, myVsSetOffset, frame, body);
  return frame;
}

/** A copy of a heavyweight notice with another my_vs_set_offset (a local joiner's copy). */
export function withMyVsSetOffset(frame: Uint8Array, numMembers: number, myVsSetOffset: number): Uint8Array {
  const copy = Uint8Array.from(frame);
  put32(copy, HEADER_SIZE + NAME_SIZE * numMembers + GROUP_ID_SIZE + 4, myVsSetOffset);
  return copy;
}

/** TRANSITION_MESS: no members, the body is the group id. */
export function encodeTransition(group: string, groupId: GroupId): Uint8Array {
  const { frame, body } = notice(ServiceType.TRANSITION_MESS, group, [], GROUP_ID_SIZE);
  encodeGroupIdInto(groupId, frame, body);
  return frame;
}

/** The notice a leaving member gets: CAUSED_BY_LEAVE alone, the group's name, nothing else. */
export function encodeSelfLeave(group: string): Uint8Array {
  return notice(ServiceType.CAUSED_BY_LEAVE, group, [], 0).frame;
}

/**
 * Copies a whole client frame (`src`, its header already decoded as `h`) into `out` (of the
 * same length, or `src` itself) normalised: every byte of `out` is written.
 */
export function normaliseClientFrameInto(src: Uint8Array, h: MessageHeader, out: Uint8Array): Uint8Array {
  if (out !== src) out.set(src, 0);
  put32(out, TYPE_AT, (h.type | ENDIAN_MARKER) >>> 0);
  out[NAME_AT + NAME_SIZE - 1] = 0;
  put32(out, NUM_GROUPS_AT, h.numGroups);
  put32(out, DATA_LEN_AT, h.dataLen);
  return out;
}

/**
 * A frame in our order: frames from a big-endian writer (another daemon, via the ring) get
 * type/num_groups/data_len rewritten little-endian in a copy; the hint is left alone.
 */
export function normaliseFrame(frame: Uint8Array): Uint8Array {
  if (frame.length < HEADER_SIZE) throw new RangeError(`frame of ${frame.length} bytes is shorter than a header`);
  if (isLittleEndianWord(frame, TYPE_AT)) return frame;
  const out = Uint8Array.from(frame);
  put32(out, TYPE_AT, (readU32(frame, TYPE_AT, false) | ENDIAN_MARKER) >>> 0);
  put32(out, NUM_GROUPS_AT, readU32(frame, NUM_GROUPS_AT, false));
  put32(out, DATA_LEN_AT, readU32(frame, DATA_LEN_AT, false));
  return out;
}

/** What a daemon routes a normalised frame by. */
export interface FrameView {
  /** The type word without the endian marker. */
  readonly type: number;
  /** The header's name field up to its first NUL: the sender's private group. */
  readonly sender: string;
  /** The group fields, each up to its first NUL. */
  readonly groups: readonly string[];
  readonly dataLen: number;
}

/** Reads a normalised frame's header and group names; RangeError when its length disagrees with them. */
export function viewFrame(frame: Uint8Array): FrameView {
  const type = (readU32(frame, TYPE_AT, true) & ~ENDIAN_MARKER) >>> 0;
  const numGroups = readU32(frame, NUM_GROUPS_AT, true) | 0;
  const dataLen = readU32(frame, DATA_LEN_AT, true) | 0;
  if (numGroups < 0 || dataLen < 0 || frame.length !== HEADER_SIZE + NAME_SIZE * numGroups + dataLen) {
    throw new RangeError(`frame length ${frame.length} does not match num_groups ${numGroups} / data_len ${dataLen}`);
  }
  const groups = new Array<string>(numGroups);
  for (let i = 0; i < numGroups; i++) groups[i] = readName(frame, HEADER_SIZE + NAME_SIZE * i, NAME_SIZE);
  return { type, sender: readName(frame, NAME_AT, NAME_SIZE), groups, dataLen };
}
