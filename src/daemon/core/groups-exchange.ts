/**
 * GROUPS messages: the group state a synced set's representative sends after a merge
 * (SPEC.md Part VII §4). The byte layout is the wire codec's (src/wire/daemon/groups.ts);
 * this module decides what goes into which buffer and in which order they are sent.
 *
 * Buffers are built first to last over the group list (name order): the first one carries the
 * synced set; a group's entry (48 bytes) goes into a buffer only if 96 bytes are left, a daemon
 * (14 + 32 per member) only if its whole member list plus 48 bytes fit, so a daemon's members
 * are never split and a group may continue in the next buffer with its further daemons. The
 * buffers are sent in REVERSE build order: every one RELIABLE except the last sent (the first
 * built, with the synced set), which is AGREED. Every daemon record carries the GROUP's memb id.
 */
import { ENDIAN_MARKER } from '../../wire/bytes.js';
import { ServiceType } from '../../wire/client/index.js';
import { decodeGroupsMessage, encodeGroupsMessage, type GroupsEntry, type GroupsMessage } from '../../wire/daemon/index.js';
import { ServiceClass, type RingMessage } from './frames.js';
import type { GroupRecord } from './groups-model.js';
import type { RingId } from '../../wire/daemon/header.js';

/** Largest GROUPS message body (the reference's GROUPS_BUF_SIZE). */
export const GROUPS_BUF_SIZE = 100000;
const MESSAGE_HEADER = 48;
const NAME = 32;
/** name, group id, changed, number of daemons. */
const GROUP_INFO = NAME + 12 + 2 + 2;
/** proc id, memb id, number of members. */
const DAEMON_INFO = 4 + 8 + 2;

/** One built buffer: what follows the memb id (re-stamped at every send). */
export interface GroupsBuffer {
  /** The synced set (first-built buffer only). */
  readonly syncedSet: readonly number[] | null;
  readonly groups: readonly GroupsEntry[];
  /** Body length. */
  readonly bytes: number;
}

/** Snapshots `groups` (name order) into buffers, in build order (G_build_new_groups_bufs). */
export function buildGroupsBuffers(
  groups: readonly GroupRecord[],
  syncedSet: readonly number[],
  limit = GROUPS_BUF_SIZE,
): GroupsBuffer[] {
  const out: GroupsBuffer[] = [];
  let gi = 0;
  let di = 0;
  let first = true;
  do {
    let bytes = 8 + 1;
    const entries: GroupsEntry[] = [];
    if (first) bytes += 4 + 4 * syncedSet.length;
    const startGi = gi;
    const startDi = di;
    while (gi < groups.length) {
      const g = groups[gi]!;
      if (GROUP_INFO + MESSAGE_HEADER > limit - bytes) break;
      bytes += GROUP_INFO;
      const entry: GroupsEntry = {
        name: g.name,
        groupId: { membId: { ...g.id.ringId }, index: g.id.index },
        changed: g.changed ? 1 : 0,
        daemons: [],
      };
      entries.push(entry);
      let full = false;
      for (; di < g.daemons.length; di++) {
        const d = g.daemons[di]!;
        if (DAEMON_INFO + NAME * d.members.length + MESSAGE_HEADER > limit - bytes) {
          full = true;
          break;
        }
        bytes += DAEMON_INFO + NAME * d.members.length;
        entry.daemons.push({ procId: d.procId, membId: { ...g.id.ringId }, members: [...d.members] });
      }
      if (full) break;
      gi++;
      di = 0;
    }
    if (!first && gi === startGi && di === startDi && gi < groups.length) {
      // Nothing fits even in an empty buffer (a daemon with more than ~3100 members): the
      // reference would loop forever. Cannot happen with MAX_SESSIONS = 997 local sessions.
      throw new RangeError(`group ${JSON.stringify(groups[gi]!.name)} does not fit a GROUPS message`);
    }
    out.push({ syncedSet: first ? [...syncedSet] : null, groups: entries, bytes });
    first = false;
  } while (gi < groups.length);
  return out;
}

export interface GroupsSender {
  /** My daemon name (the header's name field). */
  readonly daemonName: string;
  /** Size of my synced set now (header name bytes 28..31). */
  readonly syncedSetSize: number;
  /** The regular ring id the messages are stamped with. */
  readonly membId: RingId;
}

/**
 * The ring messages for `buffers` (build order), in SEND order: reverse build order, all
 * GROUPS_MESS | RELIABLE_MESS except the last, GROUPS_MESS | AGREED_MESS.
 */
export function groupsRingMessages(buffers: readonly GroupsBuffer[], sender: GroupsSender): RingMessage[] {
  const out: RingMessage[] = [];
  for (let i = buffers.length - 1; i >= 0; i--) {
    const b = buffers[i]!;
    const last = i === 0;
    const type = ServiceType.GROUPS_MESS | (last ? ServiceType.AGREED_MESS : ServiceType.RELIABLE_MESS);
    const msg: GroupsMessage = {
      type,
      littleEndian: true,
      daemonName: sender.daemonName,
      syncedSetSize: sender.syncedSetSize,
      hint: ENDIAN_MARKER,
      membId: { ...sender.membId },
      syncedSet: b.syncedSet === null ? null : [...b.syncedSet],
      groups: b.groups as GroupsEntry[],
    };
    const frame = encodeGroupsMessage(msg);
    out.push({
      frame,
      type,
      sender: sender.daemonName,
      groups: [],
      dataLen: frame.length - MESSAGE_HEADER,
      service: last ? ServiceClass.AGREED : ServiceClass.RELIABLE,
    });
  }
  return out;
}

/** A received GROUPS message (header + body, in its sender's byte order), or an error text. */
export function parseGroupsMessage(raw: Uint8Array): GroupsMessage | string {
  try {
    const { value, offset } = decodeGroupsMessage(raw, 0, raw.length);
    if (offset !== raw.length) return `GROUPS message of ${raw.length} bytes has ${raw.length - offset} bytes after its body`;
    return value;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
