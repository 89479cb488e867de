/**
 * The member and representative lists of the gather phase (F_members, F_reps,
 * Potential_reps) and the reference's rules for them: insertion with one representative per
 * segment where possible, "smallest" choices and sorting (SPEC.md Part VI §5).
 *
 * The sorts are the reference's selection sort with swap-with-last removal, so that ties (two
 * SEG_REPs of one segment) come out in exactly the reference's order.
 */
import { Limits, RepType } from '../../wire/daemon/constants.js';
import type { RepInfo } from '../../wire/daemon/membership.js';
import type { MembershipConf } from './conf.js';

export type Rep = RepInfo;

/** Insert_member: appends `id` unless present or the list is full (128). */
export function insertMember(list: number[], id: number): boolean {
  if (list.includes(id)) return false;
  if (list.length >= Limits.MAX_PROCS_RING) return false;
  list.push(id);
  return true;
}

/**
 * Insert_rep.
 * - POTENTIAL: not added when any rep of its segment is already there.
 * - SEG_REP: replaces a POTENTIAL of its segment; turns a RING_REP with the same id into a
 *   SEG_REP; is ignored when the same SEG_REP is there; otherwise appended (several SEG/RING
 *   reps of one segment may coexist).
 * - RING_REP: replaces a POTENTIAL of its segment; upgrades a SEG_REP with the same id; ignored
 *   when the same RING_REP is there; otherwise appended.
 * The segment compared is the configured one of `rep.procId`; the stored entry keeps the
 * rep's own seg_index. Unknown daemons and unknown types are refused (the reference exits).
 * At most 25 entries.
 */
export function insertRep(list: Rep[], rep: Rep, conf: MembershipConf): boolean {
  const p = conf.proc(rep.procId);
  if (p === undefined) return false;
  if (rep.type === RepType.POTENTIAL_REP) {
    for (const r of list) if (r.segIndex === p.segIndex) return false;
  } else if (rep.type === RepType.SEG_REP || rep.type === RepType.RING_REP) {
    for (const r of list) {
      if (r.segIndex !== p.segIndex) continue;
      if (r.type === RepType.POTENTIAL_REP) {
        r.type = rep.type;
        r.procId = p.id;
        return true;
      }
      if (r.procId !== p.id || (r.type !== RepType.SEG_REP && r.type !== RepType.RING_REP)) continue;
      if (r.type === rep.type) return false;
      // A ring representative that lost its ring, or a segment representative that has one now.
      r.type = rep.type;
      return true;
    }
  } else {
    return false;
  }
  if (list.length >= Limits.MAX_REPS) return false;
  list.push({ procId: rep.procId, type: rep.type, segIndex: rep.segIndex });
  return true;
}

/** Smallest_member: index of the first daemon in conf order (unknown ids never win). */
export function smallestMember(list: readonly number[], conf: MembershipConf): number {
  let current = 0;
  let cur = conf.proc(list[0]!);
  for (let i = 1; i < list.length; i++) {
    const p = conf.proc(list[i]!);
    if (p === undefined) continue;
    if (cur === undefined || conf.before(p, cur)) {
      cur = p;
      current = i;
    }
  }
  return current;
}

/**
 * Smallest_rep: index of the smallest representative. Every SEG_REP is smaller than every
 * RING_REP; SEG_REPs compare by seg_index; RING_REPs by seg_index, then index in segment.
 * POTENTIAL entries are never chosen over a SEG/RING one (the reference never compares them).
 */
export function smallestRep(list: readonly Rep[], conf: MembershipConf): number {
  let current = 0;
  for (let i = 1; i < list.length; i++) {
    const c = list[current]!;
    const r = list[i]!;
    if (c.type === RepType.SEG_REP) {
      if (r.type === RepType.SEG_REP && r.segIndex < c.segIndex) current = i;
    } else if (c.type === RepType.RING_REP) {
      if (r.type === RepType.RING_REP) {
        if (r.segIndex < c.segIndex) current = i;
        else if (r.segIndex === c.segIndex) {
          const cp = conf.proc(c.procId);
          const rp = conf.proc(r.procId);
          if (cp !== undefined && rp !== undefined && rp.indexInSeg < cp.indexInSeg) current = i;
        }
      } else if (r.type === RepType.SEG_REP) {
        current = i;
      }
    } else if (r.type === RepType.SEG_REP || r.type === RepType.RING_REP) {
      current = i; // a POTENTIAL at the front (never happens in the reference, which exits)
    }
  }
  return current;
}

/** The reference's sort: repeated `smallest` choice with swap-with-last removal (ties keep its order). */
function selectionSort<T>(temp: T[], smallest: (list: readonly T[]) => number): T[] {
  const out: T[] = [];
  while (temp.length > 0) {
    const i = smallest(temp);
    out.push(temp[i]!);
    temp[i] = temp[temp.length - 1]!;
    temp.pop();
  }
  return out;
}

/** Sort_members: conf order, by repeated Smallest_member with swap-with-last removal. */
export function sortMembers(list: readonly number[], conf: MembershipConf): number[] {
  return selectionSort(list.slice(), (l) => smallestMember(l, conf));
}

/** Sort_reps: smallest first, by repeated Smallest_rep with swap-with-last removal. */
export function sortReps(list: readonly Rep[], conf: MembershipConf): Rep[] {
  return selectionSort(list.map((r) => ({ ...r })), (l) => smallestRep(l, conf));
}
