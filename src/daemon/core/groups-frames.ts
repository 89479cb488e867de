/**
 * The membership notices of a changed group (SPEC.md Part VII §6–§7; the bytes are Part I §6.3,
 * encoded by wire/client/notices.ts): which vs_sets a heavyweight notice carries, and where.
 *
 *   heavyweight = header(REG_MEMB_MESS|CAUSED_BY_NETWORK, group, num_groups = all members)
 *                 members body
 *   body        = group_id num_vs_sets:u32 my_vs_set_offset:u32 vs_set{num_vs_sets}
 *   vs_set      = count:u32 name:char[32]{count}
 *   transition  = header(TRANSITION_MESS, group, num_groups = 0) group_id
 *
 * vs_sets: the group's daemon entries sorted by (memb id, configuration order); a new set starts
 * at every change of memb id and after every partitioned (unknown) entry; an optional joiner is
 * taken out of its daemon's set and appended as a singleton last set. my_vs_set_offset is the
 * byte offset, from the first set, of the set holding the receiving daemon (the joiner's own
 * copy points at its singleton set).
 */
import { vsSetSize } from '../../wire/client/index.js';
import { compareMembIds, isUnknownMembId, sameRingId, type ConfOrder, type DaemonEntry } from './groups-model.js';

export interface VsSets {
  /** Member names per set, in set order. */
  readonly sets: readonly (readonly string[])[];
  /** Byte offset (from the first set) of the set that holds `myProcId`'s members; 0 if none. */
  readonly myOffset: number;
  /** Byte offset of the joiner's singleton set (the last one), or null without a joiner. */
  readonly joinerOffset: number | null;
}

/** The reference's vs_set construction (G_build_memb_vs_buf). */
export function computeVsSets(
  daemons: readonly DaemonEntry[],
  conf: ConfOrder,
  myProcId: number,
  joiner: string | null = null,
): VsSets {
  const order = [...daemons].sort((a, b) => compareMembIds(a.membId, b.membId) || conf.compare(a.procId, b.procId));
  const sets: string[][] = [];
  let current: string[] | null = null;
  let currentId = null as DaemonEntry['membId'] | null;
  let offset = 0;
  let currentOffset = 0;
  let myOffset = 0;
  let joinerFound = false;
  for (let i = 0; i < order.length; i++) {
    const d = order[i]!;
    if (current === null || currentId === null || isUnknownMembId(currentId) || !sameRingId(currentId, d.membId)) {
      if (current !== null) offset += vsSetSize(current.length);
      current = [];
      sets.push(current);
      currentId = d.membId;
      currentOffset = offset;
    }
    if (d.procId === myProcId) myOffset = currentOffset;
    for (let k = 0; k < d.members.length; k++) {
      const m = d.members[k]!;
      if (joiner !== null && !joinerFound && m === joiner) {
        joinerFound = true;
        continue;
      }
      current.push(m);
    }
  }
  let joinerOffset: number | null = null;
  if (joiner !== null) {
    if (current !== null) offset += vsSetSize(current.length);
    joinerOffset = offset;
    sets.push([joiner]);
  }
  return { sets, myOffset, joinerOffset };
}

