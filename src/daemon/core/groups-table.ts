/**
 * The group table (SPEC.md Part VII §1, §8, §9): every group with members at every daemon of the
 * ring, what an ordered JOIN, LEAVE or KILL changes in it (members, daemon entries, group ids),
 * and the local destinations of a regular message. When requests are accepted and which notices
 * a change gives is the groups layer's (groups.ts); the records are groups-model.ts'.
 */
import type { RingId } from '../../wire/daemon/header.js';
import {
  allMembers, compareNames, insertAt, insertSorted, isUnknownMembId, memberCount, namePosition, putDaemon, removeSwapLast, UNKNOWN_MEMB_ID,
  type ConfOrder, type DaemonEntry, type GroupRecord,
} from './groups-model.js';
import { parsePrivateGroupStrict } from './names.js';
import type { GroupId } from './types.js';

/** A read-only view of one group (tests, status). */
export interface GroupView {
  readonly name: string;
  readonly id: GroupId;
  readonly changed: boolean;
  readonly daemons: readonly { readonly procId: number; readonly membId: RingId; readonly members: readonly string[] }[];
  readonly local: readonly string[];
}

/** The daemon of a requesting member. */
export interface MemberDaemon {
  readonly procId: number;
  /** The member is a session of this daemon. */
  readonly local: boolean;
}

const nameOfRecord = (g: GroupRecord): string => g.name;

export class GroupTable {
  /** By name. */
  private readonly groups = new Map<string, GroupRecord>();
  /**
   * The same records in name order, kept sorted as groups come and go: every KILL and every
   * GROUPS exchange walks the groups in name order, and sorting 10,000 names each time cost
   * about 1.8 ms per KILL.
   */
  private readonly order: GroupRecord[] = [];

  constructor(
    readonly conf: ConfOrder,
    private readonly myDaemon: string,
  ) {}

  // ------------------------------------------------------------------------------------------
  // Records

  /** Number of groups with at least one member. */
  get size(): number {
    return this.groups.size;
  }

  get(name: string): GroupRecord | undefined {
    return this.groups.get(name);
  }

  /** Adds or replaces a record, in both the map and the name order. */
  add(g: GroupRecord): void {
    const i = this.position(g.name);
    if (this.groups.has(g.name)) this.order[i] = g;
    else insertAt(this.order, i, g);
    this.groups.set(g.name, g);
  }

  delete(name: string): void {
    if (!this.groups.delete(name)) return;
    const i = this.position(name);
    this.order.splice(i, 1);
  }

  /** Names of all groups, byte order. */
  names(): string[] {
    return this.order.map((g) => g.name);
  }

  /** Every group, name order (a copy: the caller may change the table while it walks it). */
  inOrder(): GroupRecord[] {
    return this.order.slice();
  }

  /** Every group, name order: the table's own list, for a walk that adds and deletes no group. */
  get ordered(): readonly GroupRecord[] {
    return this.order;
  }

  /** Where `name` is (or would go) in the name order; after the last without a search (an exchange adds names in order). */
  private position(name: string): number {
    const last = this.order[this.order.length - 1];
    if (last === undefined || compareNames(last.name, name) < 0) return this.order.length;
    return namePosition(this.order, name, nameOfRecord);
  }

  /** All members of `group` in notice order (daemon conf order, then name), or [] if none. */
  members(group: string): string[] {
    const g = this.groups.get(group);
    return g === undefined ? [] : allMembers(g);
  }

  /** A copy of one group's state, or undefined. */
  view(name: string): GroupView | undefined {
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

  // ------------------------------------------------------------------------------------------
  // Delivery targets

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
    if (parts === null || parts.daemonName !== this.myDaemon) return [];
    const full = `#${parts.privateName}#${parts.daemonName}`;
    return hasSession(full) ? [full] : [];
  }

  // ------------------------------------------------------------------------------------------
  // JOIN, LEAVE, KILL

  /**
   * JOIN: adds `member` and bumps the group id. A new group takes `ringId`; a new daemon entry
   * takes the group's ring id if `known` (its daemon is in the transitional configuration), else
   * it is partitioned and the group changed. Null when it was a member already (nothing changed).
   */
  join(member: string, group: string, d: MemberDaemon, ringId: RingId, known: boolean): GroupRecord | null {
    let g = this.groups.get(group);
    if (g === undefined) {
      g = { name: group, id: { ringId, index: 0 }, changed: false, daemons: [], local: [] };
      this.add(g);
    }
    let dm = g.daemons.find((x) => x.procId === d.procId);
    if (dm === undefined) {
      dm = { procId: d.procId, membId: known ? g.id.ringId : UNKNOWN_MEMB_ID, members: [] };
      putDaemon(g, dm, this.conf);
    }
    if (dm.members.includes(member)) return null;
    insertSorted(dm.members, member);
    g.id = { ringId: g.id.ringId, index: g.id.index + 1 };
    if (d.local) g.local.push(member);
    if (isUnknownMembId(dm.membId)) g.changed = true;
    return g;
  }

  /**
   * LEAVE: removes `member`. Null when it was not a member; else the group and whether it still
   * exists (an emptied group is deleted).
   */
  leave(member: string, group: string, d: MemberDaemon): { readonly group: GroupRecord; readonly remains: boolean } | null {
    const g = this.groups.get(group);
    const dm = g?.daemons.find((x) => x.procId === d.procId);
    if (g === undefined || dm === undefined || !dm.members.includes(member)) return null;
    if (d.local) removeSwapLast(g.local, member);
    return { group: g, remains: this.remove(g, dm, member) };
  }

  /** KILL: removes `member` from every group it is in; the groups that still exist, name order. */
  kill(member: string, d: MemberDaemon): GroupRecord[] {
    const remaining: GroupRecord[] = [];
    const groups = this.inOrder();
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      const dm = g.daemons.find((x) => x.procId === d.procId);
      if (dm === undefined || !dm.members.includes(member)) continue;
      if (d.local) removeSwapLast(g.local, member);
      if (this.remove(g, dm, member)) remaining.push(g);
    }
    return remaining;
  }

  /** Removes a member; false when that emptied (and deleted) the group, else the id is bumped. */
  private remove(g: GroupRecord, dm: DaemonEntry, member: string): boolean {
    dm.members.splice(dm.members.indexOf(member), 1);
    if (dm.members.length === 0) g.daemons.splice(g.daemons.indexOf(dm), 1);
    if (memberCount(g) === 0) {
      this.delete(g.name);
      return false;
    }
    g.id = { ringId: g.id.ringId, index: g.id.index + 1 };
    return true;
  }
}
