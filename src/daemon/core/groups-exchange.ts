/**
 * GROUPS messages: the group state a synced set's representative sends after a merge, and how
 * every daemon gathers and merges them (SPEC.md Part VII §4–§5). The byte layout is the wire
 * codec's (src/wire/daemon/groups.ts); this module decides what goes into which buffer and in
 * which order they are sent, counts what arrives, and merges it into the group table.
 *
 * Buffers are built first to last over the group list (name order): the first one carries the
 * synced set; a group's entry (48 bytes) goes into a buffer only if 96 bytes are left, a daemon
 * (14 + 32 per member) only if its whole member list plus 48 bytes fit, so a daemon's members
 * are never split and a group may continue in the next buffer with its further daemons. The
 * buffers are sent in REVERSE build order: every one RELIABLE except the last sent (the first
 * built, with the synced set), which is AGREED. Every daemon record carries the GROUP's memb id.
 */
import { ENDIAN_MARKER } from '../../wire/bytes.js';
import { HEADER_SIZE, ServiceType } from '../../wire/client/index.js';
import {
  decodeGroupsHead, GROUPS_ENTRY_BYTES, groupsDaemonBytes, Limits, readGroupsEntries, restampGroupsMessage, writeGroupsBodyStart,
  writeGroupsDaemon, writeGroupsEntry, writeGroupsHeader, type GroupsBody, type GroupsDaemon, type GroupsHead,
} from '../../wire/daemon/index.js';
import type { RingId } from '../../wire/daemon/header.js';
import { ServiceClass, type RingMessage } from './frames.js';
import { putDaemon, sameRingId, sortedNames, type GroupRecord } from './groups-model.js';
import type { GroupTable } from './groups-table.js';

interface GroupsSender {
  /** My daemon name (the header's name field). */
  readonly daemonName: string;
  /** Size of my synced set now (header name bytes 28..31). */
  readonly syncedSetSize: number;
  /** The regular ring id the messages are stamped with. */
  readonly membId: RingId;
}

/** The header type of a GROUPS message: the last one sent is AGREED, the others RELIABLE. */
function groupsType(lastSent: boolean): number {
  return ServiceType.GROUPS_MESS | (lastSent ? ServiceType.AGREED_MESS : ServiceType.RELIABLE_MESS);
}

/**
 * Splits `groups` (name order) into buffers first to last (G_build_new_groups_bufs) and encodes
 * each straight from the records as it fills; returns the frames in SEND order (reverse build
 * order). One pass, no objects per group: this runs once per merge, in code the optimiser has
 * not seen yet, over every group.
 */
function encodeGroupsFrames(
  groups: readonly GroupRecord[],
  syncedSet: readonly number[],
  sender: GroupsSender,
): Uint8Array[] {
  const limit = Limits.GROUPS_BUF_SIZE;
  const built: Uint8Array[] = [];
  const scratch = new Uint8Array(HEADER_SIZE + limit);
  let gi = 0;
  let di = 0;
  do {
    const first = built.length === 0;
    const startGi = gi;
    const startDi = di;
    let o = writeGroupsBodyStart(scratch, HEADER_SIZE, sender.membId, first ? syncedSet : null);
    // The reference's room rule: what is added, plus a header, within what is left of the body.
    const fits = (bytes: number): boolean => bytes + HEADER_SIZE <= limit - (o - HEADER_SIZE);
    while (gi < groups.length) {
      const g = groups[gi]!;
      if (!fits(GROUPS_ENTRY_BYTES)) break;
      const entryAt = o;
      o += GROUPS_ENTRY_BYTES; // written once its number of daemons is known
      const fromDi = di;
      let full = false;
      for (; di < g.daemons.length; di++) {
        const d = g.daemons[di]!;
        if (!fits(groupsDaemonBytes(d.members.length))) {
          full = true;
          break;
        }
        o = writeGroupsDaemon(scratch, o, d.procId, g.id.ringId, d.members);
      }
      writeGroupsEntry(scratch, entryAt, g.name, g.id.ringId, g.id.index, g.changed ? 1 : 0, di - fromDi);
      if (full) break;
      gi++;
      di = 0;
    }
    if (!first && gi === startGi && di === startDi && gi < groups.length) {
      // Nothing fits even in an empty buffer (a daemon with more than ~3100 members): the
      // reference would loop forever. Cannot happen with MAX_SESSIONS = 997 local sessions.
      throw new RangeError(`group ${JSON.stringify(groups[gi]!.name)} does not fit a GROUPS message`);
    }
    const frame = scratch.slice(0, o);
    writeGroupsHeader(frame, 0, {
      type: groupsType(first),
      daemonName: sender.daemonName,
      syncedSetSize: sender.syncedSetSize,
      hint: ENDIAN_MARKER,
    }, o - HEADER_SIZE);
    built.push(frame);
  } while (gi < groups.length);
  return built.reverse();
}

/** Ring messages of GROUPS frames in send order. */
function groupsRingMessages(frames: readonly Uint8Array[], daemonName: string): RingMessage[] {
  return frames.map((frame, i) => {
    const last = i === frames.length - 1;
    return {
      frame,
      type: groupsType(last),
      sender: daemonName,
      groups: [],
      dataLen: frame.length - HEADER_SIZE,
      service: last ? ServiceClass.AGREED : ServiceClass.RELIABLE,
      packetRoom: false,
    };
  });
}

/**
 * A received GROUPS message, checked whole; its group entries stay encoded (a fraction of the
 * memory their objects would take) until the merge reads them, and are never read for my own
 * synced set's messages, which are only counted.
 */
export interface ReceivedGroups extends GroupsHead {
  readonly body: GroupsBody;
}

/** A received GROUPS message (header + body, in its sender's byte order), or an error text. */
export function parseGroupsMessage(raw: Uint8Array): ReceivedGroups | string {
  try {
    const { head, body, offset } = decodeGroupsHead(raw, 0, raw.length);
    if (offset !== raw.length) return `GROUPS message of ${raw.length} bytes has ${raw.length - offset} bytes after its body`;
    return { ...head, body };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** GROUPS messages kept for one other synced set, by its representative. */
interface Gathered {
  readonly rep: number;
  complete: boolean;
  /** Arrival order. */
  readonly messages: ReceivedGroups[];
}

/**
 * One daemon's side of the exchange: its synced set (the daemons whose group state is known to
 * equal its own), the buffers it sends when it represents the set, and the other sets' messages
 * gathered until every daemon of the new ring has been heard.
 */
export class GroupsExchange {
  /** Configuration order; [0] is the representative. */
  private syncedSet: number[];
  /** My GROUPS frames (send order) while gathering; null when none are built. */
  private frames: Uint8Array[] | null = null;
  private framesFresh = false;
  /** My own set's messages: only counted. */
  private mineComplete = false;
  /** Other sets' messages, by first arrival of their representative. */
  private gathered: Gathered[] = [];
  private messagesGathered = 0;
  private daemonsGathered = 0;

  constructor(
    private readonly table: GroupTable,
    private readonly myProcId: number,
    private readonly myDaemon: string,
    private readonly warn: (message: string) => void,
  ) {
    this.syncedSet = [myProcId];
  }

  get synced(): readonly number[] {
    return this.syncedSet;
  }

  /** GROUPS messages counted and daemons heard so far. */
  get counted(): { readonly messages: number; readonly daemons: number } {
    return { messages: this.messagesGathered, daemons: this.daemonsGathered };
  }

  isRepresentative(): boolean {
    return this.syncedSet[0] === this.myProcId;
  }

  /** Only the daemons in `members` stay in my synced set. */
  keepSynced(members: ReadonlySet<number>): void {
    const before = this.syncedSet.length;
    this.syncedSet = this.syncedSet.filter((p) => members.has(p));
    if (this.syncedSet.length !== before) this.framesFresh = false;
  }

  /** The group table changed: the buffers must be rebuilt before they are sent again. */
  tableChanged(): void {
    this.framesFresh = false;
  }

  /** My set's GROUPS messages stamped with `ringId`, in send order; unless `rebuild`, an unchanged table's frames are re-stamped on copies. */
  send(ringId: RingId, rebuild: boolean): RingMessage[] {
    if (rebuild || !this.framesFresh || this.frames === null) {
      const sender = { daemonName: this.myDaemon, syncedSetSize: this.syncedSet.length, membId: ringId };
      this.frames = encodeGroupsFrames(this.table.ordered, this.syncedSet, sender);
      this.framesFresh = true;
    } else {
      // Frames already sent may still be in flight: the new stamp goes on copies.
      this.frames = this.frames.map((f) => restampGroupsMessage(f, ringId));
    }
    return groupsRingMessages(this.frames, this.myDaemon);
  }

  /** A GROUPS message of the current ring from daemon `sender`; returns the daemons heard so far. */
  collect(msg: ReceivedGroups, sender: number): number {
    const agreed = (msg.type & ServiceType.AGREED_MESS) !== 0;
    if (sender === this.syncedSet[0]) {
      // My own set's state: I have it already.
      if (agreed) this.mineComplete = true;
    } else {
      let set = this.gathered.find((g) => g.rep === sender);
      if (set === undefined) {
        set = { rep: sender, complete: false, messages: [] };
        this.gathered.push(set);
      }
      set.messages.push(msg);
      if (agreed) set.complete = true;
    }
    this.messagesGathered++;
    // The last message of a set (AGREED) carries the set's size in its header.
    if (agreed) this.daemonsGathered += msg.syncedSetSize;
    return this.daemonsGathered;
  }

  /**
   * A new regular configuration came before the exchange completed: if my set's messages all
   * arrived, the sets whose messages all arrived join my state; the rest is dropped and counting
   * starts again.
   */
  restart(): void {
    if (this.mineComplete) {
      for (const g of [...this.gathered].reverse()) {
        if (!g.complete) continue;
        this.mergeSet(g);
        this.framesFresh = false;
      }
    }
    this.gathered = [];
    this.resetCounts();
  }

  /** Every daemon was heard: every set's state joins mine (latest set first). */
  mergeAll(): void {
    for (const g of [...this.gathered].reverse()) this.mergeSet(g);
    this.gathered = [];
  }

  /** The exchange is over: counts and frames go. */
  finish(): void {
    this.resetCounts();
    this.frames = null;
    this.framesFresh = false;
  }

  private resetCounts(): void {
    this.mineComplete = false;
    this.messagesGathered = 0;
    this.daemonsGathered = 0;
  }

  /** G_mess_to_groups over one set's messages (latest first, as the reference walks them), then its synced set. */
  private mergeSet(set: Gathered): void {
    let synced: readonly number[] | null = null;
    for (let i = set.messages.length - 1; i >= 0; i--) {
      const msg = set.messages[i]!;
      if (msg.syncedSet !== null) synced = msg.syncedSet;
      this.mergeMessage(msg);
    }
    if (synced !== null) this.addToSyncedSet(synced);
  }

  /** The entries are decoded for this merge alone: the records take their objects over. */
  private mergeMessage(msg: ReceivedGroups): void {
    const entries = readGroupsEntries(msg.body);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      let g = this.table.get(e.name);
      if (g === undefined) {
        // Unchanged groups keep the id they had: every daemon must end up with the same one.
        g = { name: e.name, id: { ringId: e.groupId.membId, index: e.groupId.index }, changed: false, daemons: [], local: [] };
        this.table.add(g);
      }
      if (e.changed !== 0) g.changed = true;
      for (let k = 0; k < e.daemons.length; k++) this.mergeDaemon(g, e.daemons[k]!, msg.daemonName);
    }
  }

  /** The decoded record becomes the group's daemon entry, its member list sorted in place. */
  private mergeDaemon(g: GroupRecord, d: GroupsDaemon, from: string): void {
    sortedNames(d.members);
    if (putDaemon(g, d, this.table.conf)) {
      this.warn(`GROUPS message from ${from}: daemon ${d.procId} listed twice for group ${g.name}; the later entry replaces it`);
    }
    if (!g.changed && !sameRingId(d.membId, g.id.ringId)) g.changed = true;
  }

  private addToSyncedSet(other: readonly number[]): void {
    const merged = new Set(this.syncedSet);
    for (const p of other) {
      if (merged.has(p)) this.warn(`synced sets overlap at daemon ${p}`);
      merged.add(p);
    }
    this.syncedSet = this.table.conf.sort([...merged]);
  }
}
