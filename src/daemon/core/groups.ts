/**
 * The groups layer's state machine (SPEC.md Part VII §2–§3, §5, §7, §11): which private groups
 * are members of which groups, at every daemon of the ring, the membership notices local members
 * get, and the state exchange after ring changes. Its parts:
 *
 *   groups-model.ts     the records and their orders        groups-table.ts   the group table,
 *   groups-notices.ts   which notice a change gives                           JOIN/LEAVE/KILL,
 *   groups-exchange.ts  GROUPS messages: send, gather, merge                  delivery targets
 *
 * Here: the states, the configuration events, when requests are accepted, and the actions for
 * the ordering layer and the client edge.
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
import type { RingId } from '../../wire/daemon/header.js';
import { ServiceClass, type RingMessage } from './frames.js';
import { GroupsExchange, parseGroupsMessage } from './groups-exchange.js';
import {
  ConfOrder, dropDaemons, isUnknownMembId, memberCount, sameRingId, UNKNOWN_MEMB_ID, updateDaemonMembIds, type GroupRecord,
} from './groups-model.js';
import { lightweightNotice, networkNotices, selfLeaveNotice, transitionNotice, type Notification } from './groups-notices.js';
import { GroupTable, type GroupView, type MemberDaemon } from './groups-table.js';
import { parsePrivateGroupStrict } from './names.js';
import type { DeliveryLevel, DownQueueName } from './ordering.js';
import type { DaemonRef, GroupId } from './types.js';

export { compareNames } from './groups-model.js';
export type { Notification } from './groups-notices.js';
export type { GroupView } from './groups-table.js';

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

export type GroupsAction =
  /** Order this GROUPS message (after any earlier one), on the GROUPS queue, with `message.service`. */
  | { readonly kind: 'submit'; readonly message: RingMessage }
  /** Take new messages from this queue: 'groups' while gathering, 'normal' otherwise (Prot_set_down_queue). */
  | { readonly kind: 'down-queue'; readonly queue: DownQueueName }
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

function output(): GroupsOutput {
  return { notifications: [], actions: [] };
}

export class GroupsLayer {
  private readonly table: GroupTable;
  private readonly conf: ConfOrder;
  private readonly myProcId: number;
  private readonly sync: GroupsExchange;
  private readonly warn: (message: string) => void;
  private gstate: GroupsState = GroupsState.GOP;
  private level: DeliveryLevel = 'all';
  private readingPaused = false;

  private regId: RingId | null = null;
  private regMembers: readonly number[] = [];
  private transId: RingId | null = null;
  private transMembers: ReadonlySet<number> = new Set();

  constructor(private readonly options: GroupsOptions) {
    this.conf = new ConfOrder(options.daemons);
    const me = this.conf.daemon(options.myDaemon);
    if (me === undefined) throw new RangeError(`daemon ${JSON.stringify(options.myDaemon)} is not in the configuration`);
    this.myProcId = me.procId;
    this.warn = options.warn ?? ((): void => {});
    this.table = new GroupTable(this.conf, options.myDaemon);
    this.sync = new GroupsExchange(this.table, me.procId, options.myDaemon, this.warn);
  }

  /**
   * G_signal_conf_reload (SPEC.md Part IX §6): the daemons of a reloaded configuration; every
   * group's daemon list is re-sorted in the new configuration order (daemons no longer
   * configured sort last, until the ring change drops them).
   */
  reconfigure(daemons: readonly DaemonRef[]): void {
    this.conf.replace(daemons);
    for (const g of this.table.ordered) g.daemons.sort((a, b) => this.conf.compare(a.procId, b.procId));
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
    return this.sync.synced;
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
    return { ...this.sync.counted, expected: this.regMembers.length };
  }

  /** Number of groups with at least one member. */
  get size(): number {
    return this.table.size;
  }

  /** All members of `group` in notice order (daemon conf order, then name), or [] if none. */
  members(group: string): string[] {
    return this.table.members(group);
  }

  /** The group's current id, or undefined if it has no members. */
  groupId(group: string): GroupId | undefined {
    return this.table.get(group)?.id;
  }

  /** Local members of `group` (private group names), mailbox order. */
  localMembers(group: string): readonly string[] {
    return this.table.get(group)?.local ?? [];
  }

  /** A copy of one group's state, or undefined. */
  group(name: string): GroupView | undefined {
    return this.table.view(name);
  }

  /** Names of all groups, byte order. */
  groupNames(): string[] {
    return this.table.names();
  }

  /** Local destinations of a regular message (GroupTable.targets). */
  targets(groups: readonly string[], hasSession: (privateGroup: string) => boolean): string[] {
    return this.table.targets(groups, hasSession);
  }

  // ------------------------------------------------------------------------------------------
  // Configuration events

  /**
   * A regular configuration of this daemon alone that no transitional preceded (the local ring
   * forming): only records the ring id. With membership, use transitional() + regular().
   */
  installRegular(ringId: RingId): Notification[] {
    if (this.gstate !== GroupsState.GOP) {
      this.warn(`installRegular in ${this.stateName} ignored`);
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
        this.transitionalInGgather(conf);
        break;
      default:
        this.warn(`transitional configuration in ${this.stateName} ignored`);
    }
    return out;
  }

  /**
   * A cascade: remember it; groups with a daemon outside it are changed. Nothing is thrown away
   * yet: the exchange for the current regular configuration may still complete.
   */
  private transitionalInGgather(conf: TransitionalConfiguration): void {
    this.transId = conf.id;
    this.transMembers = new Set(conf.members);
    const groups = this.table.ordered;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (g.daemons.some((d) => !this.transMembers.has(d.procId))) g.changed = true;
    }
    this.gstate = GroupsState.GGT;
  }

  private transitionalInGop(conf: TransitionalConfiguration, out: GroupsOutput): void {
    this.transId = conf.id;
    this.transMembers = new Set(conf.members);
    const groups = this.table.ordered;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      let partitioned = false;
      for (let k = 0; k < g.daemons.length; k++) {
        const d = g.daemons[k]!;
        if (!this.transMembers.has(d.procId)) {
          d.membId = UNKNOWN_MEMB_ID;
          partitioned = true;
        }
      }
      if (!partitioned) continue;
      if (g.local.length > 0) out.notifications.push(transitionNotice(g));
      g.id = { ringId: conf.id, index: 1 };
      g.changed = true;
      updateDaemonMembIds(g);
    }
    this.gstate = GroupsState.GTRANS;
    this.sync.keepSynced(this.transMembers);
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
        this.warn(`regular configuration in ${this.stateName} ignored`);
    }
    return out;
  }

  private regularInGtrans(conf: RegularConfiguration, out: GroupsOutput): void {
    this.regId = conf.ringId;
    this.regMembers = [...conf.members];
    const merge = this.transMembers.size !== conf.members.length;
    // Partitioned daemons leave the changed groups.
    const groups = this.table.inOrder();
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (!g.changed) continue;
      dropDaemons(g, (d) => isUnknownMembId(d.membId));
      if (memberCount(g) === 0) {
        this.table.delete(g.name);
      } else if (!merge) {
        // Nothing merged: the changed groups are rebased here.
        g.id = { ringId: conf.ringId, index: 1 };
        g.changed = false;
        updateDaemonMembIds(g);
        if (g.local.length > 0) out.notifications.push(...this.networkNotices(g));
      }
    }
    if (!merge) {
      this.shiftToGop(out);
      return;
    }
    // A merge: exchange group state.
    this.setReading(true, out);
    out.actions.push({ kind: 'down-queue', queue: 'groups' });
    this.setLevel('agreed', out);
    if (this.sync.isRepresentative()) this.submitAll(this.sync.send(conf.ringId, true), out);
    this.gstate = GroupsState.GGATHER;
  }

  private regularInGgt(conf: RegularConfiguration, out: GroupsOutput): void {
    this.regId = conf.ringId;
    this.regMembers = [...conf.members];
    this.sync.restart();
    // Now apply the saved transitional configuration.
    const groups = this.table.inOrder();
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (!dropDaemons(g, (d) => !this.transMembers.has(d.procId))) continue;
      this.sync.tableChanged();
      if (memberCount(g) === 0) this.table.delete(g.name);
      else g.changed = true;
    }
    this.sync.keepSynced(this.transMembers);
    if (this.sync.isRepresentative()) this.submitAll(this.sync.send(conf.ringId, false), out);
    this.gstate = GroupsState.GGATHER;
  }

  /** A GROUPS message delivered by the ring: the whole message (header + body) in its sender's byte order. */
  groupsMessage(raw: Uint8Array): GroupsOutput {
    const out = output();
    if (this.gstate !== GroupsState.GGATHER && this.gstate !== GroupsState.GGT) {
      this.warn(`GROUPS message in ${this.stateName} ignored`);
      return out;
    }
    const msg = parseGroupsMessage(raw);
    if (typeof msg === 'string') {
      this.warn(`malformed GROUPS message ignored: ${msg}`);
      return out;
    }
    if (this.regId === null || !sameRingId(msg.membId, this.regId)) {
      this.warn(`GROUPS message from ${msg.daemonName} of ring (${msg.membId.procId}, ${msg.membId.time}) ignored`);
      return out;
    }
    const sender = this.conf.daemon(msg.daemonName);
    if (sender === undefined) {
      this.warn(`GROUPS message from ${JSON.stringify(msg.daemonName)}, not in the configuration, ignored`);
      return out;
    }
    if (this.sync.collect(msg, sender.procId) === this.regMembers.length) this.completeExchange(out);
    return out;
  }

  /** Every daemon was heard: merge, rebase the changed groups, notify, back to GOP. */
  private completeExchange(out: GroupsOutput): void {
    out.actions.push({ kind: 'down-queue', queue: 'normal' });
    this.setReading(false, out);
    this.sync.mergeAll();
    const reg = this.regId!;
    const groups = this.table.ordered;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (!g.changed) continue;
      g.id = { ringId: reg, index: 1 };
      g.changed = false;
      // The notice shows the daemons' memb ids from before the exchange: who came with whom.
      if (g.local.length > 0) out.notifications.push(...this.networkNotices(g));
      updateDaemonMembIds(g);
    }
    this.sync.finish();
    const cascade = this.gstate === GroupsState.GGT;
    this.shiftToGop(out);
    // A transitional configuration came during the exchange: deliver it now.
    if (cascade) this.transitionalInGop({ members: [...this.transMembers], id: this.transId! }, out);
  }

  // ------------------------------------------------------------------------------------------
  // Client group requests (ordered JOIN / LEAVE / KILL)

  private daemonOf(member: string, what: string): MemberDaemon | null {
    const parts = parsePrivateGroupStrict(member);
    const d = parts === null ? undefined : this.conf.daemon(parts.daemonName);
    if (parts === null || d === undefined) {
      this.warn(`${what}: illegal or unknown daemon in private group ${JSON.stringify(member)}`);
      return null;
    }
    return { procId: d.procId, local: parts.daemonName === this.options.myDaemon };
  }

  /** The member's daemon if a join, leave or kill is accepted now: not in GGATHER/GGT (they come after every GROUPS message). */
  private requester(member: string, what: string): MemberDaemon | null {
    if (this.gstate !== GroupsState.GOP && this.gstate !== GroupsState.GTRANS) {
      this.warn(`${what} in ${this.stateName} ignored`);
      return null;
    }
    return this.daemonOf(member, what);
  }

  /** JOIN(member, group). Joining a group one is already in is ignored. */
  join(member: string, group: string): Notification[] {
    const d = this.requester(member, 'join');
    if (d === null) return [];
    const gop = this.gstate === GroupsState.GOP;
    const ringId = gop ? (this.regId ?? { procId: -1, time: -1 }) : this.transId!;
    const g = this.table.join(member, group, d, ringId, gop || this.transMembers.has(d.procId));
    if (g === null || g.local.length === 0) return [];
    if (!g.changed) return [lightweightNotice(g, ServiceType.CAUSED_BY_JOIN, member)];
    return [...this.networkNotices(g, member, d.local), transitionNotice(g)];
  }

  /** LEAVE(member, group). Leaving a group one is not in is ignored. */
  leave(member: string, group: string): Notification[] {
    const d = this.requester(member, 'leave');
    if (d === null) return [];
    const left = this.table.leave(member, group, d);
    if (left === null) return [];
    const out = d.local ? [selfLeaveNotice(member, left.group.name)] : [];
    if (left.remains) out.push(...this.afterRemoval(left.group, ServiceType.CAUSED_BY_LEAVE, member));
    return out;
  }

  /** KILL(member): leaves every group it is in (group-name order), without a self notice. */
  kill(member: string): Notification[] {
    const d = this.requester(member, 'kill');
    if (d === null) return [];
    return this.table.kill(member, d).flatMap((g) => this.afterRemoval(g, ServiceType.CAUSED_BY_DISCONNECT, member));
  }

  private afterRemoval(g: GroupRecord, cause: number, member: string): Notification[] {
    if (g.local.length === 0) return [];
    if (!g.changed) return [lightweightNotice(g, cause, member)];
    return [...this.networkNotices(g), transitionNotice(g)];
  }

  // ------------------------------------------------------------------------------------------
  // Helpers

  private networkNotices(g: GroupRecord, joiner: string | null = null, joinerIsLocal = false): Notification[] {
    return networkNotices(g, this.conf, this.myProcId, joiner, joinerIsLocal);
  }

  private submitAll(messages: readonly RingMessage[], out: GroupsOutput): void {
    for (const message of messages) out.actions.push({ kind: 'submit', message });
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
}
