/**
 * The groups layer: which private groups are members of which groups, at every daemon of the
 * ring, and the membership notices local members get (PROTOCOL-NOTES D.1–D.3).
 *
 * Driven by ordered JOIN / LEAVE / KILL messages, so every daemon computes the same views.
 * Members of a group are kept per daemon, daemons in configuration order, names in byte order
 * (strncmp over the 32-byte field): that is the order of the groups array of a membership
 * message. The group id is the ring id current when the group was created plus a counter that
 * every join, leave and kill increments (so a new group's first view has index 1).
 *
 * This issue covers a ring that never changes after it forms (the local ring): every group is
 * "unchanged" and every notice is lightweight. Transitional and network-caused (heavyweight)
 * views belong with the token ring.
 */
import { ServiceType } from '../../wire/client/index.js';
import { buildLightweightMembership, buildSelfLeave } from './frames.js';
import { parsePrivateGroupStrict } from './names.js';
import type { DaemonRef, GroupId, RingId } from './types.js';

/** A notice for local members; each recipient gets it only if its session wants membership messages. */
export interface Notification {
  /** Private group names of local members, in the reference's mailbox order. */
  readonly recipients: readonly string[];
  readonly frame: Uint8Array;
}

export interface GroupsOptions {
  /** This daemon's name. */
  readonly myDaemon: string;
  /** Every daemon of the configuration, in configuration order. */
  readonly daemons: readonly DaemonRef[];
  /** Called for requests the reference logs and ignores (unknown daemon, bad name). */
  readonly warn?: (message: string) => void;
}

interface DaemonMembers {
  readonly procId: number;
  /** Position in the configuration. */
  readonly order: number;
  /** The group's ring id when this daemon's members were last known to be in sync. */
  readonly membId: RingId;
  /** Private group names, byte order. */
  readonly members: string[];
}

interface Group {
  readonly name: string;
  id: GroupId;
  /** Per daemon, configuration order. */
  readonly daemons: DaemonMembers[];
  numMembers: number;
  /** Local members in mailbox order: join order, a removal moves the last one into the hole. */
  readonly local: string[];
}

/** strncmp over NUL-free latin1 names: byte order. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function insertSorted(list: string[], name: string): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNames(list[mid]!, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, name);
}

function removeSwapLast(list: string[], name: string): void {
  const i = list.indexOf(name);
  if (i < 0) return;
  const last = list.pop()!;
  if (i < list.length) list[i] = last;
}

export class GroupsLayer {
  private ring: RingId | null = null;
  private readonly groups = new Map<string, Group>();
  private readonly daemonsByName = new Map<string, { readonly procId: number; readonly order: number }>();

  constructor(private readonly options: GroupsOptions) {
    options.daemons.forEach((d, order) => {
      if (!this.daemonsByName.has(d.name)) this.daemonsByName.set(d.name, { procId: d.procId, order });
    });
  }

  /** The ring id the groups layer works in (null before the first regular configuration). */
  get ringId(): RingId | null {
    return this.ring;
  }

  /** Number of groups with at least one member. */
  get size(): number {
    return this.groups.size;
  }

  /**
   * A regular configuration was installed. With a ring that cannot change membership (the
   * local ring) this only records the id; merges and partitions come with the token ring.
   */
  installRegular(ringId: RingId): Notification[] {
    this.ring = ringId;
    return [];
  }

  /** All members of `group` in notice order (daemon conf order, then name), or [] if none. */
  members(group: string): string[] {
    const g = this.groups.get(group);
    if (g === undefined) return [];
    const out: string[] = [];
    for (const d of g.daemons) out.push(...d.members);
    return out;
  }

  /** The group's current id, or undefined if it has no members. */
  groupId(group: string): GroupId | undefined {
    return this.groups.get(group)?.id;
  }

  /** Local members of `group` (private group names), mailbox order. */
  localMembers(group: string): readonly string[] {
    return this.groups.get(group)?.local ?? [];
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

  private daemonOf(member: string, what: string): { procId: number; order: number; local: boolean } | null {
    const parts = parsePrivateGroupStrict(member);
    const d = parts === null ? undefined : this.daemonsByName.get(parts.daemonName);
    if (parts === null || d === undefined) {
      this.options.warn?.(`${what}: illegal or unknown daemon in private group ${JSON.stringify(member)}`);
      return null;
    }
    return { ...d, local: parts.daemonName === this.options.myDaemon };
  }

  private currentRing(): RingId {
    return this.ring ?? { procId: -1, time: -1 };
  }

  /** JOIN(member, group). Joining a group one is already in is ignored. */
  join(member: string, group: string): Notification[] {
    const d = this.daemonOf(member, 'join');
    if (d === null) return [];
    let g = this.groups.get(group);
    if (g === undefined) {
      g = { name: group, id: { ringId: this.currentRing(), index: 0 }, daemons: [], numMembers: 0, local: [] };
      this.groups.set(group, g);
    }
    let dm = g.daemons.find((x) => x.procId === d.procId);
    if (dm === undefined) {
      dm = { procId: d.procId, order: d.order, membId: g.id.ringId, members: [] };
      let at = 0;
      while (at < g.daemons.length && g.daemons[at]!.order < d.order) at++;
      g.daemons.splice(at, 0, dm);
    }
    if (dm.members.includes(member)) return [];
    insertSorted(dm.members, member);
    g.numMembers++;
    g.id = { ringId: g.id.ringId, index: g.id.index + 1 };
    if (d.local) g.local.push(member);
    if (g.local.length === 0) return [];
    return [this.lightweight(g, ServiceType.CAUSED_BY_JOIN, member)];
  }

  /** LEAVE(member, group). Leaving a group one is not in is ignored. */
  leave(member: string, group: string): Notification[] {
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
    if (g.local.length > 0) out.push(this.lightweight(g, ServiceType.CAUSED_BY_LEAVE, member));
    return out;
  }

  /** KILL(member): leaves every group it is in (group-name order), without a self notice. */
  kill(member: string): Notification[] {
    const d = this.daemonOf(member, 'kill');
    if (d === null) return [];
    const out: Notification[] = [];
    for (const name of this.groupNames()) {
      const g = this.groups.get(name)!;
      const dm = g.daemons.find((x) => x.procId === d.procId);
      if (dm === undefined || !dm.members.includes(member)) continue;
      if (d.local) removeSwapLast(g.local, member);
      if (!this.remove(g, dm, member)) continue;
      if (g.local.length > 0) out.push(this.lightweight(g, ServiceType.CAUSED_BY_DISCONNECT, member));
    }
    return out;
  }

  /** Removes a member; false when that emptied (and deleted) the group, else the id is bumped. */
  private remove(g: Group, dm: DaemonMembers, member: string): boolean {
    dm.members.splice(dm.members.indexOf(member), 1);
    g.numMembers--;
    if (dm.members.length === 0) g.daemons.splice(g.daemons.indexOf(dm), 1);
    if (g.numMembers === 0) {
      this.groups.delete(g.name);
      return false;
    }
    g.id = { ringId: g.id.ringId, index: g.id.index + 1 };
    return true;
  }

  private lightweight(g: Group, cause: number, changed: string): Notification {
    const members: string[] = [];
    for (const dm of g.daemons) members.push(...dm.members);
    return { recipients: [...g.local], frame: buildLightweightMembership(g.name, members, g.id, cause, changed) };
  }
}
