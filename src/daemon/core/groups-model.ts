/**
 * The groups layer's data model and the orders it is kept in (SPEC.md Part VII §1).
 *
 *   group         = name, group id, changed flag, daemon entries (configuration order),
 *                   local members (mailbox order)
 *   daemon entry  = proc id, memb id (the group's ring id when this daemon's members were last
 *                   known to be in sync; (-1, -1) = partitioned), member names (byte order)
 *
 * Pure data and comparisons; the table is groups-table.ts, the state machine groups.ts.
 */
import type { RingId } from '../../wire/daemon/header.js';
import type { DaemonRef, GroupId } from './types.js';

/** The memb id of a partitioned daemon entry. Only the proc id is tested (-1 is never a real IP). */
export const UNKNOWN_MEMB_ID: RingId = Object.freeze({ procId: -1, time: -1 });

export function isUnknownMembId(id: RingId): boolean {
  return id.procId === -1;
}

export { sameRingId } from '../../wire/daemon/header.js';

/**
 * The reference's memb id order: an unknown id sorts after every other; otherwise by the sign
 * of the 32-bit wrapping difference of the proc ids, then of the times (so 10.0.0.1 sorts
 * after 192.168.0.1, and a time just past 2^31 before one just below it).
 */
export function compareMembIds(a: RingId, b: RingId): number {
  const ua = isUnknownMembId(a);
  const ub = isUnknownMembId(b);
  if (ua || ub) return ua === ub ? 0 : ua ? 1 : -1;
  if (a.procId !== b.procId) return Math.sign((a.procId - b.procId) | 0);
  if (a.time !== b.time) return Math.sign((a.time - b.time) | 0);
  return 0;
}

/** strncmp over NUL-free latin1 names: byte order. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `list` in name order, sorted in place unless it is already (as senders write member lists). */
export function sortedNames(list: string[]): string[] {
  for (let i = 1; i < list.length; i++) {
    if (compareNames(list[i - 1]!, list[i]!) > 0) return list.sort(compareNames);
  }
  return list;
}

/** Where `name` is (or would go) in `list`, kept in name order by `nameOf` (binary search). */
export function namePosition<T>(list: readonly T[], name: string, nameOf: (x: T) => string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNames(nameOf(list[mid]!), name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const itself = (s: string): string => s;

/** Inserts `item` at `at`; at the end by push (splice would also allocate its empty result). */
export function insertAt<T>(list: T[], at: number, item: T): void {
  if (at === list.length) list.push(item);
  else list.splice(at, 0, item);
}

export function insertSorted(list: string[], name: string): void {
  insertAt(list, namePosition(list, name, itself), name);
}

/** Removes `name`; the last entry moves into its place (the reference's mailbox removal). */
export function removeSwapLast(list: string[], name: string): void {
  const i = list.indexOf(name);
  if (i < 0) return;
  const last = list.pop()!;
  if (i < list.length) list[i] = last;
}

/**
 * Daemons of the configuration: lookup by name and proc id, and the configuration order the
 * groups layer sorts daemons by. A proc id that is not configured sorts after every configured
 * one, by unsigned IP (the reference keeps such entries after a configuration reload).
 */
export class ConfOrder {
  private readonly byName = new Map<string, DaemonRef>();
  private readonly index = new Map<number, number>();

  constructor(daemons: readonly DaemonRef[]) {
    this.replace(daemons);
  }

  /** A reloaded configuration's daemons (G_signal_conf_reload); re-sort what was sorted by the old order. */
  replace(daemons: readonly DaemonRef[]): void {
    this.byName.clear();
    this.index.clear();
    daemons.forEach((d, i) => {
      if (!this.byName.has(d.name)) this.byName.set(d.name, d);
      if (!this.index.has(d.procId)) this.index.set(d.procId, i);
    });
  }

  daemon(name: string): DaemonRef | undefined {
    return this.byName.get(name);
  }

  /** Position in the configuration, or -1. */
  indexOf(procId: number): number {
    return this.index.get(procId) ?? -1;
  }

  compare(a: number, b: number): number {
    const ia = this.indexOf(a);
    const ib = this.indexOf(b);
    if (ia >= 0 && ib >= 0) return ia - ib;
    if (ia < 0 && ib < 0) return Math.sign((a >>> 0) - (b >>> 0));
    return ia < 0 ? 1 : -1;
  }

  /** Sorts proc ids in place by configuration order. */
  sort(procIds: number[]): number[] {
    return procIds.sort((a, b) => this.compare(a, b));
  }
}

export interface DaemonEntry {
  readonly procId: number;
  membId: RingId;
  /** Private group names, byte order. */
  readonly members: string[];
}

export interface GroupRecord {
  readonly name: string;
  id: GroupId;
  changed: boolean;
  /** Configuration order (ConfOrder.compare); at most one entry per proc id. */
  readonly daemons: DaemonEntry[];
  /** Local members in mailbox order: join order, a removal moves the last one into the hole. */
  readonly local: string[];
}

export function memberCount(g: GroupRecord): number {
  let n = 0;
  for (let i = 0; i < g.daemons.length; i++) n += g.daemons[i]!.members.length;
  return n;
}

/** Every member in notice order: daemons in configuration order, names in byte order. */
export function allMembers(g: GroupRecord): string[] {
  const out: string[] = [];
  for (let i = 0; i < g.daemons.length; i++) {
    const members = g.daemons[i]!.members;
    for (let k = 0; k < members.length; k++) out.push(members[k]!);
  }
  return out;
}

/** Puts a daemon entry in its configuration-order place; an entry with the same proc id is replaced (true). */
export function putDaemon(g: GroupRecord, entry: DaemonEntry, conf: ConfOrder): boolean {
  let at = 0;
  while (at < g.daemons.length && conf.compare(g.daemons[at]!.procId, entry.procId) < 0) at++;
  const replaces = at < g.daemons.length && g.daemons[at]!.procId === entry.procId;
  if (replaces) g.daemons[at] = entry;
  else insertAt(g.daemons, at, entry);
  return replaces;
}

/** Removes the daemon entries `which` selects; true if there were any. */
export function dropDaemons(g: GroupRecord, which: (d: DaemonEntry) => boolean): boolean {
  const before = g.daemons.length;
  for (let i = g.daemons.length - 1; i >= 0; i--) if (which(g.daemons[i]!)) g.daemons.splice(i, 1);
  return g.daemons.length !== before;
}

/** Every established (not partitioned) daemon entry takes the group's current memb id. */
export function updateDaemonMembIds(g: GroupRecord): void {
  for (let i = 0; i < g.daemons.length; i++) {
    const d = g.daemons[i]!;
    if (!isUnknownMembId(d.membId)) d.membId = g.id.ringId;
  }
}
