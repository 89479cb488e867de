/**
 * The membership machine's states and variables (SPEC.md Part VI §2), with what every phase
 * uses on them: the action queue (sends, logs), the timers, ids and times (§8).
 *
 * One MembershipState is shared by the phase modules (operational.ts, gather.ts, form1.ts,
 * evs.ts, token-loss.ts, monitor.ts); the Membership facade (membership.ts) owns it and is the
 * only way in from outside the folder.
 */
import type { Channel } from '../../wire/daemon/datagram.js';
import type { RingId, PacketHeader } from '../../wire/daemon/header.js';
import type { MembershipTimeouts } from '../config/constants.js';
import { MembershipTimer, type MembershipAction } from './actions.js';
import type { MembershipConf } from './conf.js';
import type { MonitorPartition } from './monitor.js';
import type { Rep } from './reps.js';
import type { RingPort } from './ring-port.js';
import { INITIAL_RING_TIME, type MembershipSettings } from './settings.js';
import { MembershipTimers } from './timers.js';

import { NO_ACTIONS } from '../no-actions.js';

/** Memb_state() values (also the `state` of a STATUS reply). */
export const MembState = {
  OP: 1,
  SEG: 2,
  REPRESENTED: 3,
  GATHER: 4,
  FORM: 5,
  EVS: 6,
} as const;
export type MembState = (typeof MembState)[keyof typeof MembState];

const STATE_NAMES: Record<MembState, string> = { 1: 'OP', 2: 'SEG', 3: 'REPRESENTED', 4: 'GATHER', 5: 'FORM', 6: 'EVS' };

export function membStateName(s: MembState): string {
  return STATE_NAMES[s];
}

/** Commit_set / Future_commit_set: the first numTrans members are the transitional subset. */
export interface CommitSet {
  members: number[];
  numTrans: number;
}

/** What the membership machine can tell about itself (status reports, tests). */
export interface MembershipStatus {
  readonly state: MembState;
  readonly tokenAlive: boolean;
  /** Current regular membership id and members (ring order); {me} with the old id after a token loss. */
  readonly ringId: RingId;
  readonly members: readonly number[];
  /** Members of the last regular configuration delivered (Reg_membership). */
  readonly regularMembers: readonly number[];
  readonly leader: number;
  /** Ring being installed (EVS), or the last one installed. */
  readonly futureRingId: RingId;
  readonly futureMembers: readonly number[];
  readonly transId: RingId;
  readonly commit: readonly number[];
  readonly membershipChanges: number;
}

export { sameRingId as sameId } from '../../wire/daemon/header.js';

export function copyId(m: RingId): RingId {
  return { procId: m.procId | 0, time: m.time | 0 };
}

export class MembershipState {
  readonly myId: number;
  /** These three change with a configuration reload (monitor.ts: applyReload). */
  confHash: number;
  conf: MembershipConf;
  partition: MonitorPartition;
  dangerousMonitor: boolean;
  readonly timeouts: MembershipTimeouts;
  /** The edge answers `reload` actions (settings.reloadByEdge). */
  readonly reloadByEdge: boolean;
  readonly wallClock: (now: number) => number;
  readonly port: RingPort;
  readonly timers = new MembershipTimers();

  // The reference's variables (SPEC.md Part VI §2).
  state: MembState = MembState.OP;
  tokenAlive = false;
  /** Membership: current ring members in ring order. */
  membership: number[];
  membershipId: RingId;
  regMembership: number[];
  futureMembership: number[] = [];
  futureMembershipId: RingId = { procId: 0, time: 0 };
  form1MembId: RingId | null = null;
  transMembId: RingId = { procId: 0, time: 0 };
  fTransMembTime = 0;
  lastTimeUsed = INITIAL_RING_TIME;
  mySegRep = -1;
  foreignFound = false;
  /** F_members: members[] and its num_pending field (meaningful in JOIN/ALIVE bodies). */
  fMembers: number[] = [];
  fMembersPending = 0;
  /** F_reps and its rep_index field (sent in JOINs; 1 after this daemon created a FORM1). */
  fReps: Rep[] = [];
  fRepIndex = 0;
  potentialReps: Rep[] = [];
  commitSet: CommitSet;
  futureCommitSet: CommitSet = { members: [], numTrans: 0 };
  committed = false;
  lastSeq = 0;
  membershipChanges = 0;
  started = false;
  reloadPending = false;
  /** A RELOAD ran and the edge is reading spread.conf (settings.reloadByEdge). */
  reloadLoading = false;
  /** Conf_in_reload_singleton_state: every daemon is its own partition component until my next regular ring. */
  reloadSingleton = false;

  private out: MembershipAction[] = [];

  constructor(
    settings: MembershipSettings,
    conf: MembershipConf,
    port: RingPort,
    /** The monitor partition (§12), on conf. */
    partition: MonitorPartition,
  ) {
    this.conf = conf;
    this.partition = partition;
    this.reloadByEdge = settings.reloadByEdge ?? false;
    this.myId = this.conf.myId;
    this.confHash = settings.confHash >>> 0;
    this.timeouts = settings.timeouts;
    this.dangerousMonitor = settings.dangerousMonitor ?? false;
    this.wallClock = settings.wallClock ?? ((): number => Date.now() / 1000);
    this.port = port;
    this.membership = [this.myId];
    this.membershipId = { procId: this.myId, time: INITIAL_RING_TIME };
    this.regMembership = [this.myId];
    this.commitSet = { members: [this.myId], numTrans: 1 };
  }

  status(): MembershipStatus {
    return {
      state: this.state,
      tokenAlive: this.tokenAlive,
      ringId: copyId(this.membershipId),
      members: this.membership.slice(),
      regularMembers: this.regMembership.slice(),
      leader: this.membership[0]!,
      futureRingId: copyId(this.futureMembershipId),
      futureMembers: this.futureMembership.slice(),
      transId: copyId(this.transMembId),
      commit: this.commitSet.members.slice(),
      membershipChanges: this.membershipChanges,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Actions.

  push(...a: MembershipAction[]): void {
    this.out.push(...a);
  }

  /** Everything queued since the last call, in order. */
  take(): readonly MembershipAction[] {
    const a = this.out;
    if (a.length === 0) return NO_ACTIONS;
    this.out = [];
    return a;
  }

  log(level: 'info' | 'warning' | 'error', message: string): void {
    this.out.push({ kind: 'log', level, message });
  }

  /** Net_scast to my own segment: a broadcast only if my segment has other daemons. */
  scast(bytes: Uint8Array): void {
    if (this.conf.bcastNeeded) this.out.push({ kind: 'send', channel: 'data', to: 'segment', target: this.conf.me.segIndex, bytes });
  }

  ucast(channel: Channel, to: number, bytes: Uint8Array): void {
    if (this.conf.proc(to) === undefined) return;
    this.out.push({ kind: 'send', channel, to: 'proc', target: to, bytes });
  }

  /** The header of a membership packet (ALIVE, JOIN, REFER) I send. */
  packetHeader(type: number, membId: RingId = { procId: 0, time: 0 }): PacketHeader {
    return {
      type, transmitterId: this.myId, procId: this.myId, membId, seq: 0, tokenRound: 0,
      confHash: this.confHash, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Shared steps.

  /** §8: the next wall-clock second for an id, never one used before. */
  nextTime(now: number): number {
    let t = Math.floor(this.wallClock(now)) | 0;
    if (t <= this.lastTimeUsed) t = this.lastTimeUsed + 1;
    this.lastTimeUsed = t;
    return t;
  }

  /** ⇒ OP, and a RELOAD that waited for OP now runs. */
  shiftToOp(now: number): void {
    this.state = MembState.OP;
    if (this.reloadPending) this.timers.arm(MembershipTimer.RELOAD, now);
  }

  /** I am the first member of my segment in `members`. */
  leadsSegmentIn(members: readonly number[]): boolean {
    return this.conf.firstInSegment(members, this.conf.me.segIndex) === this.myId;
  }
}
