/**
 * Messages as they travel inside the daemon, and the frames the daemon itself writes.
 *
 *   frame  = header groups data                    (exactly what a client receives)
 *   header = type:u32 name:char[32] num_groups:i32 hint:u32 data_len:i32        (48 bytes)
 *
 * Every frame held here is in our (little-endian) order with the endian marker set in `type`.
 * A client message is normalised once when it is read: type/num_groups/data_len are rewritten
 * in our order, byte 31 of the name is forced to NUL (as the reference does); the hint, the
 * group fields and the data stay byte for byte as the client sent them. Every delivery of the
 * message shares that one buffer.
 *
 *   reg_memb body (lightweight) = group_id num_vs_sets=1 my_vs_set_offset=0 count=1 member
 *   group_id                    = proc_id:i32 time:i32 index:i32
 */
import { ENDIAN_MARKER, isLittleEndianWord, readName, readU32, writeU32LE } from '../../wire/bytes.js';
import { encodeGroupIdInto, HEADER_SIZE, NAME_SIZE, ServiceType } from '../../wire/client/index.js';
import type { GroupId } from './types.js';

/** How the ring orders a message (the reference's packet types, PROTOCOL-NOTES E.1). */
export const ServiceClass = {
  RELIABLE: 'reliable',
  FIFO: 'fifo',
  AGREED: 'agreed',
  SAFE: 'safe',
} as const;
export type ServiceClass = (typeof ServiceClass)[keyof typeof ServiceClass];

/** A message handed to the ordering layer and, once ordered, to the groups/session layers. */
export interface RingMessage {
  /** The normalised frame. Never written after creation; shared by every delivery. */
  readonly frame: Uint8Array;
  /** The type word without the endian marker. */
  readonly type: number;
  /** The header's name field up to its first NUL: the sender's private group. */
  readonly sender: string;
  /** The group fields, each up to its first NUL. */
  readonly groups: readonly string[];
  readonly dataLen: number;
  readonly service: ServiceClass;
}

/** Service → ring ordering class. JOIN/LEAVE/KILL are AGREED unless SAFE is also set. */
export function serviceClassOf(type: number): ServiceClass {
  if (type & (ServiceType.UNRELIABLE_MESS | ServiceType.RELIABLE_MESS)) return ServiceClass.RELIABLE;
  if (type & ServiceType.FIFO_MESS) return ServiceClass.FIFO;
  if (type & (ServiceType.CAUSAL_MESS | ServiceType.AGREED_MESS)) return ServiceClass.AGREED;
  if (type & ServiceType.SAFE_MESS) return ServiceClass.SAFE;
  return ServiceClass.AGREED;
}

/**
 * Writes `name` into a 32-byte field, NUL-padded. Unlike a C string it may fill all 32 bytes
 * (a group name read from a client field without a NUL is 32 bytes long, and the reference
 * copies such a field whole).
 */
export function writeNameField(buf: Uint8Array, offset: number, name: string): number {
  const n = Math.min(name.length, NAME_SIZE);
  for (let i = 0; i < n; i++) buf[offset + i] = name.charCodeAt(i) & 0xff;
  buf.fill(0, offset + n, offset + NAME_SIZE);
  return offset + NAME_SIZE;
}

function writeHeader(buf: Uint8Array, type: number, name: string, numGroups: number, dataLen: number): number {
  writeU32LE(buf, 0, (type | ENDIAN_MARKER) >>> 0);
  writeNameField(buf, 4, name);
  writeU32LE(buf, 36, numGroups);
  writeU32LE(buf, 40, ENDIAN_MARKER);
  writeU32LE(buf, 44, dataLen);
  return HEADER_SIZE;
}

/**
 * A frame in our order: frames from a big-endian writer (another daemon, via the ring) get
 * type/num_groups/data_len rewritten little-endian in a copy; the hint is left alone.
 */
export function normaliseFrame(frame: Uint8Array): Uint8Array {
  if (frame.length < HEADER_SIZE) throw new RangeError(`frame of ${frame.length} bytes is shorter than a header`);
  if (isLittleEndianWord(frame, 0)) return frame;
  const out = Uint8Array.from(frame);
  writeU32LE(out, 0, (readU32(frame, 0, false) | ENDIAN_MARKER) >>> 0);
  writeU32LE(out, 36, readU32(frame, 36, false));
  writeU32LE(out, 44, readU32(frame, 44, false));
  return out;
}

/** Builds the in-daemon view of a frame (one read back from the ring, say), normalising it first. */
export function ringMessageFromFrame(raw: Uint8Array): RingMessage {
  const frame = normaliseFrame(raw);
  const type = (readU32(frame, 0, true) & ~ENDIAN_MARKER) >>> 0;
  const numGroups = readU32(frame, 36, true) | 0;
  const dataLen = readU32(frame, 44, true) | 0;
  if (numGroups < 0 || dataLen < 0 || frame.length !== HEADER_SIZE + NAME_SIZE * numGroups + dataLen) {
    throw new RangeError(`frame length ${frame.length} does not match num_groups ${numGroups} / data_len ${dataLen}`);
  }
  const groups = new Array<string>(numGroups);
  for (let i = 0; i < numGroups; i++) groups[i] = readName(frame, HEADER_SIZE + NAME_SIZE * i, NAME_SIZE);
  return { frame, type, sender: readName(frame, 4, NAME_SIZE), groups, dataLen, service: serviceClassOf(type) };
}

/**
 * The KILL the daemon sends round the ring when it drops a session itself (EOF, read error,
 * bad header, slow reader): KILL_MESS | SAFE_MESS, no groups, no data, ordered as SAFE.
 */
export function buildKill(privateGroup: string): RingMessage {
  const frame = new Uint8Array(HEADER_SIZE);
  const type = ServiceType.KILL_MESS | ServiceType.SAFE_MESS;
  writeHeader(frame, type, privateGroup, 0, 0);
  return { frame, type, sender: privateGroup, groups: [], dataLen: 0, service: ServiceClass.SAFE };
}

/**
 * A lightweight regular membership (join / leave / disconnect in an unchanged group): the
 * groups array lists every member, the body names only the member that changed.
 */
export function buildLightweightMembership(
  group: string,
  members: readonly string[],
  groupId: GroupId,
  cause: number,
  changedMember: string,
): Uint8Array {
  const bodyLen = 12 + 4 + 4 + 4 + NAME_SIZE;
  const frame = new Uint8Array(HEADER_SIZE + NAME_SIZE * members.length + bodyLen);
  let o = writeHeader(frame, ServiceType.REG_MEMB_MESS | cause, group, members.length, bodyLen);
  for (const m of members) o = writeNameField(frame, o, m);
  o = encodeGroupIdInto({ procId: groupId.ringId.procId, time: groupId.ringId.time, index: groupId.index }, frame, o);
  o = writeU32LE(frame, o, 1);
  o = writeU32LE(frame, o, 0);
  o = writeU32LE(frame, o, 1);
  writeNameField(frame, o, changedMember);
  return frame;
}

/** The notice a leaving member gets: CAUSED_BY_LEAVE alone, the group's name, nothing else. */
export function buildSelfLeave(group: string): Uint8Array {
  const frame = new Uint8Array(HEADER_SIZE);
  writeHeader(frame, ServiceType.CAUSED_BY_LEAVE, group, 0, 0);
  return frame;
}
