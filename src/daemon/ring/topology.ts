/**
 * Who is where: the configuration (segments and their daemons, in spread.conf order) and the
 * current ring members, reduced to what the ring needs: ring order, leader, predecessor and
 * successor, and how a "broadcast" fans out (SPEC.md Part V §2).
 *
 *   ring order   = segment order, then daemon order inside a segment, current members only
 *   leader       = first member in ring order; the token goes to the next member (wrapping)
 *   bcast        = a ROUTED unicast to the first current member of every other non-empty
 *                  segment, then one send to my segment's broadcast address if my segment has
 *                  more than one configured daemon (current membership does not matter there)
 *   scast(seg)   = my segment: the broadcast (if needed); another: ROUTED unicast to its first
 *                  current member
 */
import type { RingId } from '../../wire/daemon/header.js';
import { RingConfigError } from './errors.js';

export interface RingSegmentSpec {
  /** Proc ids (IPv4 as int32, signed or unsigned) in configuration order. */
  readonly daemons: readonly number[];
}

export class RingTopology {
  readonly myId: number;
  /** Segment of every configured daemon, by proc index. */
  readonly segOfIndex: Int16Array;
  /** Proc ids by proc index (configuration order). */
  readonly idOfIndex: Int32Array;
  readonly mySeg: number;
  readonly myIndex: number;
  /** Whether my segment has more than one configured daemon (Bcast_needed). */
  readonly bcastNeeded: boolean;
  readonly numSegments: number;

  readonly ringId: RingId;
  /** Current members in ring order. */
  readonly members: readonly number[];
  readonly leader: number;
  readonly last: number;
  readonly predecessor: number;
  readonly successor: number;
  /** First current member of every other non-empty segment, in segment order. */
  readonly routedTargets: readonly number[];
  /** First current member by segment index, or 0 when the segment has no member. */
  readonly segmentFirst: Int32Array;
  readonly segmentHasMembers: Uint8Array;
  /** Last current member of my segment (Conf_seg_last). */
  readonly lastOfMySeg: number;

  private readonly indexById: Map<number, number>;
  private readonly memberSet: Set<number>;

  constructor(myId: number, segments: readonly RingSegmentSpec[], ringId: RingId, members: readonly number[]) {
    this.myId = myId | 0;
    this.numSegments = segments.length;
    const ids: number[] = [];
    const segs: number[] = [];
    this.indexById = new Map();
    segments.forEach((s, si) => {
      for (const raw of s.daemons) {
        const id = raw | 0;
        if (this.indexById.has(id)) throw new RingConfigError('DUPLICATE_DAEMON', `daemon ${id >>> 0} listed twice`);
        this.indexById.set(id, ids.length);
        ids.push(id);
        segs.push(si);
      }
    });
    this.idOfIndex = Int32Array.from(ids);
    this.segOfIndex = Int16Array.from(segs);
    const myIndex = this.indexById.get(this.myId);
    if (myIndex === undefined) throw new RingConfigError('NOT_CONFIGURED', `my id ${this.myId >>> 0} is not in the configuration`);
    this.myIndex = myIndex;
    this.mySeg = segs[myIndex]!;
    this.bcastNeeded = segments[this.mySeg]!.daemons.length > 1;

    this.memberSet = new Set();
    for (const raw of members) {
      const id = raw | 0;
      if (!this.indexById.has(id)) throw new RingConfigError('UNKNOWN_MEMBER', `ring member ${id >>> 0} is not in the configuration`);
      this.memberSet.add(id);
    }
    if (!this.memberSet.has(this.myId)) throw new RingConfigError('NOT_A_MEMBER', `my id ${this.myId >>> 0} is not a ring member`);
    // Ring order is configuration order restricted to members.
    const order = ids.filter((id) => this.memberSet.has(id));
    this.members = order;
    this.ringId = { procId: ringId.procId | 0, time: ringId.time | 0 };
    this.leader = order[0]!;
    this.last = order[order.length - 1]!;
    const me = order.indexOf(this.myId);
    this.predecessor = order[(me - 1 + order.length) % order.length]!;
    this.successor = order[(me + 1) % order.length]!;

    this.segmentFirst = new Int32Array(segments.length);
    this.segmentHasMembers = new Uint8Array(segments.length);
    let lastOfMySeg = this.myId;
    for (const id of order) {
      const s = segs[this.indexById.get(id)!]!;
      if (!this.segmentHasMembers[s]) {
        this.segmentHasMembers[s] = 1;
        this.segmentFirst[s] = id;
      }
      if (s === this.mySeg) lastOfMySeg = id;
    }
    this.lastOfMySeg = lastOfMySeg;
    const routed: number[] = [];
    for (let s = 0; s < segments.length; s++) if (s !== this.mySeg && this.segmentHasMembers[s]) routed.push(this.segmentFirst[s]!);
    this.routedTargets = routed;
  }

  /** Index of a configured daemon (Conf_proc_by_id), −1 when unknown. */
  procIndex(id: number): number {
    return this.indexById.get(id) ?? -1;
  }

  isMember(id: number): boolean {
    return this.memberSet.has(id);
  }

  get isLeader(): boolean {
    return this.leader === this.myId;
  }

  get numProcs(): number {
    return this.idOfIndex.length;
  }
}
