/**
 * The configuration as membership sees it (the reference's `Cn` / `Conf_*` helpers): every
 * configured daemon with its segment and its index inside the segment, the conf order
 * (segment, then index in segment) used for every sort and every "smallest" choice, and the
 * ring order of a set of daemons (conf order restricted to the set).
 *
 * Proc ids are int32 (`ip | 0`), the way the wire carries them.
 */
import type { RingSegmentSpec } from '../ring/topology.js';

export interface ProcInfo {
  readonly id: number;
  readonly segIndex: number;
  readonly indexInSeg: number;
  /** Position in conf order (Conf_proc_by_id's return value). */
  readonly index: number;
}

export class MembershipConf {
  readonly myId: number;
  readonly me: ProcInfo;
  /** Daemon ids per segment, conf order. */
  readonly segments: readonly (readonly number[])[];
  /** Every daemon, conf order. */
  readonly procs: readonly ProcInfo[];
  /** My segment has more than one configured daemon: scast to it is a real broadcast (Bcast_needed). */
  readonly bcastNeeded: boolean;
  private readonly byId = new Map<number, ProcInfo>();

  constructor(myId: number, segments: readonly RingSegmentSpec[]) {
    this.myId = myId | 0;
    const segs: number[][] = [];
    const procs: ProcInfo[] = [];
    segments.forEach((s, segIndex) => {
      const ids: number[] = [];
      s.daemons.forEach((raw, indexInSeg) => {
        const id = raw | 0;
        if (this.byId.has(id)) throw new RangeError(`daemon ${id >>> 0} configured twice`);
        const p: ProcInfo = { id, segIndex, indexInSeg, index: procs.length };
        this.byId.set(id, p);
        procs.push(p);
        ids.push(id);
      });
      segs.push(ids);
    });
    this.segments = segs;
    this.procs = procs;
    const me = this.byId.get(this.myId);
    if (me === undefined) throw new RangeError(`my id ${this.myId >>> 0} is not in the configuration`);
    this.me = me;
    this.bcastNeeded = segs[me.segIndex]!.length > 1;
  }

  get numSegments(): number {
    return this.segments.length;
  }

  get numProcs(): number {
    return this.procs.length;
  }

  /** Conf_proc_by_id; undefined for a daemon that is not configured. */
  proc(id: number): ProcInfo | undefined {
    return this.byId.get(id | 0);
  }

  /** First configured daemon of a segment (Conf_seg_leader on the configuration), or undefined when empty. */
  segLeader(segIndex: number): number | undefined {
    return this.segments[segIndex]?.[0];
  }

  /** a before b in conf order (Smallest_member's comparison). */
  before(a: ProcInfo, b: ProcInfo): boolean {
    return a.segIndex < b.segIndex || (a.segIndex === b.segIndex && a.indexInSeg < b.indexInSeg);
  }

  /**
   * The configured daemons of `ids` in conf order (= ring order), duplicates and unknown ids
   * dropped. This is what appending ids to `configuration.segments[]` and reading it back does.
   */
  ringOrder(ids: Iterable<number>): number[] {
    const set = new Set<number>();
    for (const id of ids) if (this.byId.has(id | 0)) set.add(id | 0);
    return this.procs.filter((p) => set.has(p.id)).map((p) => p.id);
  }

  /** First member of `members` that lives in `segIndex` (Conf_seg_leader on a membership). */
  firstInSegment(members: readonly number[], segIndex: number): number | undefined {
    for (const id of members) if (this.byId.get(id)?.segIndex === segIndex) return id;
    return undefined;
  }
}
