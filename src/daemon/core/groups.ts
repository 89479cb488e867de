/**
 * The groups layer: which private groups are members of which groups, at every daemon of the
 * ring, the membership notices local members get, and the state exchange after ring changes
 * (PROTOCOL-NOTES D.1–D.5, SPEC.md Part VII).
 *
 * Pure: events in (ordered JOIN / LEAVE / KILL / GROUPS messages, transitional and regular
 * configurations), outputs back (notices for local members, GROUPS messages to order, and
 * actions for the ordering layer and the client edge). Every daemon of a ring sees the same
 * ordered stream, so every daemon computes the same group ids and member lists.
 *
 * States (the reference's Gstate):
 *   GOP      normal operation
 *   GTRANS   a transitional configuration was delivered; joins/leaves/kills still processed
 *   GGATHER  exchanging GROUPS messages after a merge; clients not read, the ring takes the
 *            GROUPS queue, only in-order (AGREED-or-better) delivery
 *   GGT      a new transitional arrived while gathering (cascade)
 *
 * Members of a group are kept per daemon, daemons in configuration order, names in byte order
 * (strncmp over the 32-byte field): that is the order of the groups array of a membership
 * message. The group id is the ring id current when the group was created (or last rebased on a
 * configuration change) plus a counter that every join, leave and kill increments.
 */
import { ServiceType } from '../../wire/client/index.js';
import type { GroupsMessage } from '../../wire/daemon/index.js';
import { buildLightweightMembership, buildSelfLeave, ServiceClass, type RingMessage } from './frames.js';
import { buildGroupsBuffers, groupsRingMessages, parseGroupsMessage, type GroupsBuffer } from './groups-exchange.js';
import { buildNetworkMembership, buildTransition, computeVsSets, withVsSetOffset } from './groups-frames.js';
import {
  allMembers, compareNames, ConfOrder, insertSorted, isUnknownMembId, memberCount, putDaemon, removeSwapLast,
  sameRingId, UNKNOWN_MEMB_ID, type DaemonEntry, type GroupRecord,
} from './groups-model.js';
import { parsePrivateGroupStrict } from './names.js';
import type { DaemonRef, GroupId, RingId } from './types.js';

export { compareNames } from './groups-model.js';

/** A notice for local members; each recipient gets it only if its session wants membership messages. */
export interface Notification {
  /** Private group names of local members, in the reference's mailbox order. */
  readonly recipients: readonly string[];
  readonly frame: Uint8Array;
}

export interface GroupsOptions {
  /** This daemon's name (must be one of `daemons`). */
  readonly myDaemon: string;
  /** Every daemon of the configuration, in configuration order. */
  readonly daemons: readonly DaemonRef[];
  /**
   * Called for requests the reference logs and ignores (unknown daemon, bad name, a GROUPS
   * message of another ring) and for events the reference treats as fatal (a configuration or
   * a join in a state where it cannot happen): those are ignored here.
   */
  readonly warn?: (message: string) => void;
}

/** The reference's Gstate (the numbers are what the monitor's status reports). */
export const GroupsState = { GOP: 1, GTRANS: 2, GGATHER: 3, GGT: 4 } as const;
export type GroupsState = (typeof GroupsState)[keyof typeof GroupsState];

const STATE_NAME: Record<GroupsState, string> = { 1: 'GOP', 2: 'GTRANS', 3: 'GGATHER', 4: 'GGT' };

/**
 * The transitional configuration as membership delivers it (its TransitionalAction fits): the
 * daemons of my old ring that move together into the new ring, and the transitional id.
 */
export interface TransitionalConfiguration {
  readonly members: readonly number[];
  readonly id: RingId;
}

/**
 * The regular configuration (membership's RegularAction and the ordering layer's 'regular'
 * event fit): the new ring's daemons and its ring id.
 */
export interface RegularConfiguration {
  readonly members: readonly number[];
  readonly ringId: RingId;
}

/**
 * What the groups layer lets the ordering layer deliver (the reference's delivery threshold as
 * far as the groups layer sets it): 'all' in GOP/GTRANS, 'agreed' while gathering (no RELIABLE
 * fast path: every message in ring order). Membership blocks delivery on its own during ring
 * changes; the groups layer never sets 'block'.
 */
export type DeliveryLevel = 'all' | 'agreed';

export type GroupsAction =
  /** Order this GROUPS message (after any earlier one), on the GROUPS queue, with `message.service`. */
  | { readonly kind: 'submit'; readonly message: RingMessage }
  /** Take new messages from this queue: 'groups' while gathering, 'normal' otherwise (Prot_set_down_queue). */
  | { readonly kind: 'down-queue'; readonly queue: 'groups' | 'normal' }
  /** Stop (true) or resume (false) reading client connections. */
  | { readonly kind: 'client-reading'; readonly paused: boolean }
  /** The delivery threshold changed (Prot_set_delivery_threshold): 'all' ⇒ UNRELIABLE, 'agreed' ⇒ AGREED. */
  | { readonly kind: 'delivery'; readonly level: DeliveryLevel };

export interface GroupsOutput {
  /** Notices for local members, in order. */
  readonly notifications: Notification[];
  /** Actions for the ordering layer and the client edge, in order. */
  readonly actions: GroupsAction[];
}

/** A read-only view of one group (tests, status). */
export interface GroupView {
  readonly name: string;
  readonly id: GroupId;
  readonly changed: boolean;
  readonly daemons: readonly { readonly procId: number; readonly membId: RingId; readonly members: readonly string[] }[];
  readonly local: readonly string[];
}

/** GROUPS messages kept for one other synced set, by its representative. */
interface Gathered {
  readonly rep: number;
  complete: boolean;
  /** Arrival order. */
  readonly messages: GroupsMessage[];
}

function output(): GroupsOutput {
  return { notifications: [], actions: [] };
}

export class GroupsLayer {
  private readonly conf: ConfOrder;
  private readonly myProcId: number;
  private gstate: GroupsState = GroupsState.GOP;
  private level: DeliveryLevel = 'all';
  private readingPaused = false;
  /** By name; groupNames() gives them in name order. */
  private readonly groups = new Map<string, GroupRecord>();

  private regId: RingId | null = null;
  private regMembers: readonly number[] = [];
  private transId: RingId | null = null;
  private transMembers: ReadonlySet<number> = new Set();

  /** Daemons whose group state is known to equal mine, configuration order; [0] is the representative. */
  private syncedSet: number[];
  /** My GROUPS buffers (build order) while gathering; null when none are built. */
  private buffers: GroupsBuffer[] | null = null;
  private buffersFresh = false;
  /** My own set's messages: only counted. */
  private mineComplete = false;
  /** Other sets' messages, by first arrival of their representative. */
  private gathered: Gathered[] = [];
  private messagesGathered = 0;
  private daemonsGathered = 0;

  constructor(private readonly options: GroupsOptions) {
    this.conf = new ConfOrder(options.daemons);
    const me = this.conf.daemon(options.myDaemon);
    if (me === undefined) throw new RangeError(`daemon ${JSON.stringify(options.myDaemon)} is not in the configuration`);
    this.myProcId = me.procId;
    this.syncedSet = [me.procId];
  }

  // ------------------------------------------------------------------------------------------
  // Queries

  /** The regular ring id the groups layer works in (null before the first regular configuration). */
  get ringId(): RingId | null {
    return this.regId;
  }

  /** The current state (1 GOP, 2 GTRANS, 3 GGATHER, 4 GGT: the monitor's gstate). */
  get state(): GroupsState {
    return this.gstate;
  }

  get stateName(): string {
    return STATE_NAME[this.gstate];
  }

  /** The last transitional membership id delivered (null before the first). */
  get transitionalId(): RingId | null {
    return this.transId;
  }

  /** My synced set (proc ids, configuration order); its first daemon sends the set's GROUPS messages. */
  get synced(): readonly number[] {
    return this.syncedSet;
  }

  /** Whether client reading is paused by the groups layer (while gathering). */
  get clientReadingPaused(): boolean {
    return this.readingPaused;
  }

  /** The delivery threshold the groups layer last set. */
  get deliveryLevel(): DeliveryLevel {
    return this.level;
  }

  /**
   * The delivery threshold as a predicate, with the reference's semantics (delivery is allowed
   * when the threshold is at or below the class): the ordering layer asks
   * `mayDeliver('reliable')` before its RELIABLE fast path (a single-packet RELIABLE message
   * delivered ahead of ring order) and `mayDeliver('agreed')` before in-order delivery of the
   * non-SAFE messages (RELIABLE, FIFO and AGREED alike). Stable (SAFE / discard) delivery is
   * never held back by it. While gathering only AGREED-or-better passes: everything is then
   * delivered in ring order, so no message of the new ring overtakes a GROUPS message.
   */
  mayDeliver(service: ServiceClass): boolean {
    if (this.level === 'all') return true;
    return service === ServiceClass.AGREED || service === ServiceClass.SAFE;
  }

  /** GROUPS messages counted and daemons heard in the current exchange. */
  get exchange(): { readonly messages: number; readonly daemons: number; readonly expected: number } {
    return { messages: this.messagesGathered, daemons: this.daemonsGathered, expected: this.regMembers.length };
  }

  /** Number of groups with at least one member. */
  get size(): number {
    return this.groups.size;
  }

  /** All members of `group` in notice order (daemon conf order, then name), or [] if none. */
  members(group: string): string[] {
    const g = this.groups.get(group);
    return g === undefined ? [] : allMembers(g);
  }

  /** The group's current id, or undefined if it has no members. */
  groupId(group: string): GroupId | undefined {
    return this.groups.get(group)?.id;
  }

  /** Local members of `group` (private group names), mailbox order. */
  localMembers(group: string): readonly string[] {
    return this.groups.get(group)?.local ?? [];
  }

  /** A copy of one group's state, or undefined. */
  group(name: string): GroupView | undefined {
    const g = this.groups.get(name);
    if (g === undefined) return undefined;
    return {
      name: g.name,
      id: { ringId: { ...g.id.ringId }, index: g.id.index },
      changed: g.changed,
      daemons: g.daemons.map((d) => ({ procId: d.procId, membId: { ...d.membId }, members: [...d.members] })),
      local: [...g.local],
    };
  }

  /** Names of all groups, byte order. */
  groupNames(): string[] {
    return [...this.groups.keys()].sort(compareNames);
  }

  /**
   * Local destinations of a regular message: local members of each named group plus local
   * sessions addressed by private group (`#name#thisdaemon` for which `hasSession` is true).
   * Duplicates are removed when there is more than one group.
   */
  targets(groups: readonly string[], hasSession: (privateGroup: string) => boolean): string[] {
    if (groups.length === 1) return [...this.targetsOf(groups[0]!, hasSession)];
    const seen = new Set<string>();
    const out: string[] = [];
    for (const name of groups) {
      for (const m of this.targetsOf(name, hasSession)) {
        if (!seen.has(m)) {
          seen.add(m);
          out.push(m);
        }
      }
    }
    return out;
  }

  private targetsOf(name: string, hasSession: (privateGroup: string) => boolean): readonly string[] {
    if (name.charCodeAt(0) !== 0x23) return this.groups.get(name)?.local ?? [];
    const parts = parsePrivateGroupStrict(name.slice(0, 31));
    if (parts === null || parts.daemonName !== this.options.myDaemon) return [];
    const full = `#${parts.privateName}#${parts.daemonName}`;
    return hasSession(full) ? [full] : [];
  }

  // ------------------------------------------------------------------------------------------
  // Configuration events

  /**
   * A regular configuration of this daemon alone that no transitional preceded (the local ring
   * forming): only records the ring id. With membership, use transitional() + regular().
   */
  installRegular(ringId: RingId): Notification[] {
    if (this.gstate !== GroupsState.GOP) {
      this.options.warn?.(`installRegular in ${this.stateName} ignored`);
      return [];
    }
    this.regId = ringId;
    this.regMembers = [this.myProcId];
    return [];
  }

  /** The transitional configuration (G_handle_trans_memb). */
  transitional(conf: TransitionalConfiguration): GroupsOutput {
    const out = output();
    switch (this.gstate) {
      case GroupsState.GOP:
        this.transitionalInGop(conf, out);
        break;
      case GroupsState.GGATHER:
        // Cascade: remember it; groups with a daemon outside it are changed. Nothing is thrown
        // away yet: the exchange for the current regular configuration may still complete.
        this.transId = conf.id;
        this.transMembers = new Set(conf.members);
        for (const g of this.groups.values()) {
          if (g.daemons.some((d) => !this.transMembers.has(d.procId))) g.changed = true;
        }
        this.gstate = GroupsState.GGT;
        break;
      default:
        this.options.warn?.(`transitional configuration in ${this.stateName} ignored`);
    }
    return out;
  }

  private transitionalInGop(conf: TransitionalConfiguration, out: GroupsOutput): void {
    this.transId = conf.id;
    this.transMembers = new Set(conf.members);
    for (const name of this.groupNames()) {
      const g = this.groups.get(name)!;
      let partitioned = false;
      for (const d of g.daemons) {
        if (!this.transMembers.has(d.procId)) {
          d.membId = UNKNOWN_MEMB_ID;
          partitioned = true;
        }
      }
      if (!partitioned) continue;
      if (g.local.length > 0) out.notifications.push(this.transition(g));
      g.id = { ringId: conf.id, index: 1 };
      g.changed = true;
      this.updateDaemonMembIds(g);
    }
    this.gstate = GroupsState.GTRANS;
    this.syncedSet = this.syncedSet.filter((p) => this.transMembers.has(p));
  }

  /** The regular configuration (G_handle_reg_memb). `members`: the new ring's daemons. */
  regular(conf: RegularConfiguration): GroupsOutput {
    const out = output();
    switch (this.gstate) {
      case GroupsState.GTRANS:
        this.regularInGtrans(conf, out);
        break;
      case GroupsState.GGT:
        this.regularInGgt(conf, out);
        break;
      default:
        this.options.warn?.(`regular configuration in ${this.stateName} ignored`);
    }
    return out;
  }

  private regularInGtrans(conf: RegularConfiguration, out: GroupsOutput): void {
    this.regId = conf.ringId;
    this.regMembers = [...conf.members];
    if (this.transMembers.size === conf.members.length) {
      // Nothing merged: drop the partitioned daemons and rebase the changed groups here.
      for (const name of this.groupNames()) {
        const g = this.groups.get(name)!;
        if (!g.changed) continue;
        this.dropDaemons(g, (d) => isUnknownMembId(d.membId));
        if (memberCount(g) === 0) {
          this.groups.delete(name);
          continue;
        }
        g.id = { ringId: conf.ringId, index: 1 };
        g.changed = false;
        this.updateDaemonMembIds(g);
        if (g.local.length > 0) out.notifications.push(...this.heavyweight(g, null, false));
      }
      this.shiftToGop(out);
      return;
    }
    // A merge: exchange group state.
    for (const name of this.groupNames()) {
      const g = this.groups.get(name)!;
      if (!g.changed) continue;
      this.dropDaemons(g, (d) => isUnknownMembId(d.membId));
      if (memberCount(g) === 0) this.groups.delete(name);
    }
    this.setReading(true, out);
    out.actions.push({ kind: 'down-queue', queue: 'groups' });
    this.setLevel('agreed', out);
    if (this.isRepresentative()) {
      this.buffers = this.buildBuffers();
      this.buffersFresh = true;
      this.sendBuffers(out);
    }
    this.gstate = GroupsState.GGATHER;
  }

  private regularInGgt(conf: RegularConfiguration, out: GroupsOutput): void {
    this.regId = conf.ringId;
    this.regMembers = [...conf.members];
    // If my set's messages all arrived, sets whose messages all arrived join my state.
    if (this.mineComplete) {
      for (const g of [...this.gathered].reverse()) {
        if (!g.complete) continue;
        this.mergeSet(g);
        this.buffersFresh = false;
      }
    }
    this.gathered = [];
    // Now apply the saved transitional configuration.
    for (const name of this.groupNames()) {
      const g = this.groups.get(name)!;
      if (!this.dropDaemons(g, (d) => !this.transMembers.has(d.procId))) continue;
      this.buffersFresh = false;
      if (memberCount(g) === 0) this.groups.delete(name);
      else g.changed = true;
    }
    const before = this.syncedSet.length;
    this.syncedSet = this.syncedSet.filter((p) => this.transMembers.has(p));
    if (this.syncedSet.length !== before) this.buffersFresh = false;
    this.mineComplete = false;
    this.messagesGathered = 0;
    this.daemonsGathered = 0;
    if (this.isRepresentative()) {
      // Unchanged buffers are only re-stamped with the new ring id (at send); else rebuilt.
      if (!this.buffersFresh || this.buffers === null) {
        this.buffers = this.buildBuffers();
        this.buffersFresh = true;
      }
      this.sendBuffers(out);
    }
    this.gstate = GroupsState.GGATHER;
  }

  /** A GROUPS message delivered by the ring: the whole message (header + body) in its sender's byte order. */
  groupsMessage(raw: Uint8Array): GroupsOutput {
    const out = output();
    if (this.gstate !== GroupsState.GGATHER && this.gstate !== GroupsState.GGT) {
      this.options.warn?.(`GROUPS message in ${this.stateName} ignored`);
      return out;
    }
    const msg = parseGroupsMessage(raw);
    if (typeof msg === 'string') {
      this.options.warn?.(`malformed GROUPS message ignored: ${msg}`);
      return out;
    }
    if (this.regId === null || !sameRingId(msg.membId, this.regId)) {
      this.options.warn?.(`GROUPS message from ${msg.daemonName} of ring (${msg.membId.procId}, ${msg.membId.time}) ignored`);
      return out;
    }
    const sender = this.conf.daemon(msg.daemonName);
    if (sender === undefined) {
      this.options.warn?.(`GROUPS message from ${JSON.stringify(msg.daemonName)}, not in the configuration, ignored`);
      return out;
    }
    const agreed = (msg.type & ServiceType.AGREED_MESS) !== 0;
    if (sender.procId === this.syncedSet[0]) {
      // My own set's state: I have it already.
      if (agreed) this.mineComplete = true;
    } else {
      let set = this.gathered.find((g) => g.rep === sender.procId);
      if (set === undefined) {
        set = { rep: sender.procId, complete: false, messages: [] };
        this.gathered.push(set);
      }
      set.messages.push(msg);
      if (agreed) set.complete = true;
    }
    this.messagesGathered++;
    // The last message of a set (AGREED) carries the set's size in its header.
    if (agreed) this.daemonsGathered += msg.syncedSetSize;
    if (this.daemonsGathered !== this.regMembers.length) return out;

    out.actions.push({ kind: 'down-queue', queue: 'normal' });
    this.setReading(false, out);
    this.computeAndNotify(out);
    const cascade = this.gstate === GroupsState.GGT;
    this.shiftToGop(out);
    // A transitional configuration came during the exchange: deliver it now.
    if (cascade) this.transitionalInGop({ members: [...this.transMembers], id: this.transId! }, out);
    return out;
  }

  private computeAndNotify(out: GroupsOutput): void {
    for (const g of [...this.gathered].reverse()) this.mergeSet(g);
    this.gathered = [];
    const reg = this.regId!;
    for (const name of this.groupNames()) {
      const g = this.groups.get(name)!;
      if (!g.changed) continue;
      g.id = { ringId: reg, index: 1 };
      g.changed = false;
      // The notice shows the daemons' memb ids from before the exchange: who came with whom.
      if (g.local.length > 0) out.notifications.push(...this.heavyweight(g, null, false));
      this.updateDaemonMembIds(g);
    }
    this.mineComplete = false;
    this.messagesGathered = 0;
    this.daemonsGathered = 0;
    this.buffers = null;
    this.buffersFresh = false;
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

  private mergeMessage(msg: GroupsMessage): void {
    for (const e of msg.groups) {
      let g = this.groups.get(e.name);
      if (g === undefined) {
        // Unchanged groups keep the id they had: every daemon must end up with the same one.
        g = { name: e.name, id: { ringId: { ...e.groupId.membId }, index: e.groupId.index }, changed: false, daemons: [], local: [] };
        this.groups.set(e.name, g);
      }
      if (e.changed !== 0) g.changed = true;
      for (const d of e.daemons) {
        const entry: DaemonEntry = { procId: d.procId, membId: { ...d.membId }, members: [] };
        for (const m of d.members) insertSorted(entry.members, m);
        if (g.daemons.some((x) => x.procId === d.procId)) {
          this.options.warn?.(`GROUPS message from ${msg.daemonName}: daemon ${d.procId} listed twice for group ${e.name}; the later entry replaces it`);
        }
        putDaemon(g, entry, this.conf);
        if (!g.changed && !sameRingId(entry.membId, g.id.ringId)) g.changed = true;
      }
    }
  }

  private addToSyncedSet(other: readonly number[]): void {
    const merged = new Set(this.syncedSet);
    for (const p of other) {
      if (merged.has(p)) this.options.warn?.(`synced sets overlap at daemon ${p}`);
      merged.add(p);
    }
    this.syncedSet = this.conf.sort([...merged]);
  }

  // ------------------------------------------------------------------------------------------
  // Client group requests (ordered JOIN / LEAVE / KILL)

  private daemonOf(member: string, what: string): { procId: number; local: boolean } | null {
    const parts = parsePrivateGroupStrict(member);
    const d = parts === null ? undefined : this.conf.daemon(parts.daemonName);
    if (parts === null || d === undefined) {
      this.options.warn?.(`${what}: illegal or unknown daemon in private group ${JSON.stringify(member)}`);
      return null;
    }
    return { procId: d.procId, local: parts.daemonName === this.options.myDaemon };
  }

  /** Joins, leaves and kills are ordered after every GROUPS message: not in GGATHER/GGT. */
  private acceptsRequests(what: string): boolean {
    if (this.gstate === GroupsState.GOP || this.gstate === GroupsState.GTRANS) return true;
    this.options.warn?.(`${what} in ${this.stateName} ignored`);
    return false;
  }

  private currentRing(): RingId {
    return this.regId ?? { procId: -1, time: -1 };
  }

  /** JOIN(member, group). Joining a group one is already in is ignored. */
  join(member: string, group: string): Notification[] {
    if (!this.acceptsRequests('join')) return [];
    const d = this.daemonOf(member, 'join');
    if (d === null) return [];
    let g = this.groups.get(group);
    if (g === undefined) {
      const ringId = this.gstate === GroupsState.GOP ? this.currentRing() : this.transId!;
      g = { name: group, id: { ringId, index: 0 }, changed: false, daemons: [], local: [] };
      this.groups.set(group, g);
    }
    let dm = g.daemons.find((x) => x.procId === d.procId);
    if (dm === undefined) {
      const inTrans = this.gstate === GroupsState.GOP || this.transMembers.has(d.procId);
      dm = { procId: d.procId, membId: inTrans ? g.id.ringId : UNKNOWN_MEMB_ID, members: [] };
      putDaemon(g, dm, this.conf);
    }
    if (dm.members.includes(member)) return [];
    insertSorted(dm.members, member);
    g.id = { ringId: g.id.ringId, index: g.id.index + 1 };
    if (d.local) g.local.push(member);
    if (isUnknownMembId(dm.membId)) g.changed = true;
    if (g.local.length === 0) return [];
    if (!g.changed) return [this.lightweight(g, ServiceType.CAUSED_BY_JOIN, member)];
    return [...this.heavyweight(g, member, d.local), this.transition(g)];
  }

  /** LEAVE(member, group). Leaving a group one is not in is ignored. */
  leave(member: string, group: string): Notification[] {
    if (!this.acceptsRequests('leave')) return [];
    const d = this.daemonOf(member, 'leave');
    if (d === null) return [];
    const g = this.groups.get(group);
    const dm = g?.daemons.find((x) => x.procId === d.procId);
    if (g === undefined || dm === undefined || !dm.members.includes(member)) return [];
    const out: Notification[] = [];
    if (d.local) {
      out.push({ recipients: [member], frame: buildSelfLeave(g.name) });
      removeSwapLast(g.local, member);
    }
    if (!this.remove(g, dm, member)) return out;
    out.push(...this.afterRemoval(g, ServiceType.CAUSED_BY_LEAVE, member));
    return out;
  }

  /** KILL(member): leaves every group it is in (group-name order), without a self notice. */
  kill(member: string): Notification[] {
    if (!this.acceptsRequests('kill')) return [];
    const d = this.daemonOf(member, 'kill');
    if (d === null) return [];
    const out: Notification[] = [];
    for (const name of this.groupNames()) {
      const g = this.groups.get(name)!;
      const dm = g.daemons.find((x) => x.procId === d.procId);
      if (dm === undefined || !dm.members.includes(member)) continue;
      if (d.local) removeSwapLast(g.local, member);
      if (!this.remove(g, dm, member)) continue;
      out.push(...this.afterRemoval(g, ServiceType.CAUSED_BY_DISCONNECT, member));
    }
    return out;
  }

  private afterRemoval(g: GroupRecord, cause: number, member: string): Notification[] {
    if (g.local.length === 0) return [];
    if (!g.changed) return [this.lightweight(g, cause, member)];
    return [...this.heavyweight(g, null, false), this.transition(g)];
  }

  /** Removes a member; false when that emptied (and deleted) the group, else the id is bumped. */
  private remove(g: GroupRecord, dm: DaemonEntry, member: string): boolean {
    dm.members.splice(dm.members.indexOf(member), 1);
    if (dm.members.length === 0) g.daemons.splice(g.daemons.indexOf(dm), 1);
    if (memberCount(g) === 0) {
      this.groups.delete(g.name);
      return false;
    }
    g.id = { ringId: g.id.ringId, index: g.id.index + 1 };
    return true;
  }

  // ------------------------------------------------------------------------------------------
  // Helpers

  private isRepresentative(): boolean {
    return this.syncedSet[0] === this.myProcId;
  }

  private shiftToGop(out: GroupsOutput): void {
    this.gstate = GroupsState.GOP;
    this.setLevel('all', out);
  }

  private setLevel(level: DeliveryLevel, out: GroupsOutput): void {
    this.level = level;
    out.actions.push({ kind: 'delivery', level });
  }

  private setReading(paused: boolean, out: GroupsOutput): void {
    this.readingPaused = paused;
    out.actions.push({ kind: 'client-reading', paused });
  }

  /** Removes the daemons `which` selects; true if there were any. */
  private dropDaemons(g: GroupRecord, which: (d: DaemonEntry) => boolean): boolean {
    const before = g.daemons.length;
    for (let i = g.daemons.length - 1; i >= 0; i--) if (which(g.daemons[i]!)) g.daemons.splice(i, 1);
    return g.daemons.length !== before;
  }

  /** Every established (not partitioned) daemon entry takes the group's current memb id. */
  private updateDaemonMembIds(g: GroupRecord): void {
    for (const d of g.daemons) if (!isUnknownMembId(d.membId)) d.membId = g.id.ringId;
  }

  private buildBuffers(): GroupsBuffer[] {
    return buildGroupsBuffers(this.groupNames().map((n) => this.groups.get(n)!), this.syncedSet);
  }

  private sendBuffers(out: GroupsOutput): void {
    const messages = groupsRingMessages(this.buffers!, {
      daemonName: this.options.myDaemon,
      syncedSetSize: this.syncedSet.length,
      membId: this.regId!,
    });
    for (const message of messages) out.actions.push({ kind: 'submit', message });
  }

  private lightweight(g: GroupRecord, cause: number, changed: string): Notification {
    return { recipients: [...g.local], frame: buildLightweightMembership(g.name, allMembers(g), g.id, cause, changed) };
  }

  /** CAUSED_BY_NETWORK notices: to the local members, and (a local joiner) its own copy. */
  private heavyweight(g: GroupRecord, joiner: string | null, joinerIsLocal: boolean): Notification[] {
    const members = allMembers(g);
    const vs = computeVsSets(g.daemons, this.conf, this.myProcId, joiner);
    const frame = buildNetworkMembership(g.name, members, g.id, vs.sets, vs.myOffset);
    if (joiner === null || !joinerIsLocal) return [{ recipients: [...g.local], frame }];
    return [
      { recipients: g.local.filter((m) => m !== joiner), frame },
      { recipients: [joiner], frame: withVsSetOffset(frame, members.length, vs.joinerOffset!) },
    ];
  }

  private transition(g: GroupRecord): Notification {
    return { recipients: [...g.local], frame: buildTransition(g.name, g.id) };
  }
}
