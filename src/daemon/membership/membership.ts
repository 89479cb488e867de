/**
 * The daemon membership protocol of Spread 4.4 (Totem/Spread style) as a sans-I/O state machine
 * (SPEC.md Part VI).
 *
 *   inputs   start(now)                           Memb_init: an immediate token loss
 *            handleDatagram(channel, bytes, now)  ALIVE / JOIN / REFER / foreign data packets /
 *                                                 monitor PARTITION (data channel), FORM1 / FORM2
 *                                                 (token channel)
 *            handleTimer(timer, now)              an armed membership timer fired
 *            tokenLost(now)                       the ring engine reported token loss
 *            ringProgress(now)                    the ring engine processed a token (EVS end,
 *                                                 MAX_EVS_ROUNDS)
 *   outputs  takeActions(): send / timer / deliver / transitional / regular / exit / log
 *   ring     RingPort (ring-port.ts): read the ring's counters, stop it, install the new ring,
 *            complete EVS
 *
 * Nothing here reads a clock or a socket: `now` is milliseconds on the edge's monotonic clock;
 * wall-clock seconds (ring ids) come from settings.wallClock(now).
 *
 * Timers the reference queues with a zero timeout (E_queue(…, Zero_timeout): the first ALIVE,
 * the first JOIN) run at the end of the input that queued them, before the next input, which
 * is when the reference's event loop runs them.
 */
import { ENDIAN_MARKER } from '../../wire/bytes.js';
import { Limits, MONITOR_MAGIC, PacketType, RepType, Size } from '../../wire/daemon/constants.js';
import { safeDecode, encodeDatagram, type Channel } from '../../wire/daemon/datagram.js';
import type { Form1Token, Form2Token, FormMembers, RingRecord } from '../../wire/daemon/form.js';
import { decodePacketHeader, encodePacketHeaderInto, type MembershipId, type PacketHeader, type TokenHeader } from '../../wire/daemon/header.js';
import type { AlivePacket, JoinPacket, ReferPacket } from '../../wire/daemon/membership.js';
import type { PartitionPacket } from '../../wire/daemon/monitor.js';
import { readerFor } from '../../wire/bytes.js';
import { firstRegularToken } from '../../wire/daemon/token.js';
import type { MembershipTimeouts } from '../config/constants.js';
import { MembershipTimer, type MembershipAction } from './actions.js';
import { MembershipConf } from './conf.js';
import { insertMember, insertRep, smallestMember, smallestRep, sortMembers, sortReps, type Rep } from './reps.js';
import type { RingPort } from './ring-port.js';
import {
  FORM_SEQ_MARGIN, INITIAL_RING_TIME, MAX_EVS_ROUNDS, PARTITION_TIMEOUT_MS, type MembershipSettings,
} from './settings.js';

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
interface CommitSet {
  members: number[];
  numTrans: number;
}

/** What the membership machine can tell about itself (status reports, tests). */
export interface MembershipStatus {
  readonly state: MembState;
  readonly tokenAlive: boolean;
  /** Current regular membership id and members (ring order); {me} with the old id after a token loss. */
  readonly ringId: MembershipId;
  readonly members: readonly number[];
  /** Members of the last regular configuration delivered (Reg_membership). */
  readonly regularMembers: readonly number[];
  readonly leader: number;
  /** Ring being installed (EVS), or the last one installed. */
  readonly futureRingId: MembershipId;
  readonly futureMembers: readonly number[];
  readonly transId: MembershipId;
  readonly commit: readonly number[];
  readonly membershipChanges: number;
}

const TIMER_NAMES = Object.values(MembershipTimer);

function sameId(a: MembershipId, b: MembershipId): boolean {
  return a.procId === b.procId && a.time === b.time;
}

function copyId(m: MembershipId): MembershipId {
  return { procId: m.procId | 0, time: m.time | 0 };
}

function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  b[0] = v & 0xff;
  b[1] = (v >>> 8) & 0xff;
  b[2] = (v >>> 16) & 0xff;
  b[3] = (v >>> 24) & 0xff;
  return b;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export class Membership {
  readonly conf: MembershipConf;
  private readonly myId: number;
  private readonly confHash: number;
  private readonly timeouts: MembershipTimeouts;
  private readonly dangerousMonitor: boolean;
  private readonly wallClock: (now: number) => number;
  private readonly port: RingPort;

  // The reference's variables (SPEC.md Part VI §2).
  private state: MembState = MembState.OP;
  private tokenAlive = false;
  /** Membership: current ring members in ring order. */
  private membership: number[];
  private membershipId: MembershipId;
  private regMembership: number[];
  private futureMembership: number[] = [];
  private futureMembershipId: MembershipId = { procId: 0, time: 0 };
  private form1MembId: MembershipId | null = null;
  private transMembId: MembershipId = { procId: 0, time: 0 };
  private fTransMembTime = 0;
  private lastTimeUsed = INITIAL_RING_TIME;
  private mySegRep = -1;
  private foreignFound = false;
  /** F_members: members[] and its num_pending field (meaningful in JOIN/ALIVE bodies). */
  private fMembers: number[] = [];
  private fMembersPending = 0;
  /** F_reps and its rep_index field (sent in JOINs; 1 after this daemon created a FORM1). */
  private fReps: Rep[] = [];
  private fRepIndex = 0;
  private potentialReps: Rep[] = [];
  private commitSet: CommitSet;
  private futureCommitSet: CommitSet = { members: [], numTrans: 0 };
  private committed = false;
  private lastSeq = 0;
  private membershipChanges = 0;
  private transMembers: number[] = [];
  private commitMembers: number[] = [];
  /** Monitor partition component of every configured daemon (conf order). */
  private readonly partition: Int16Array;

  private out: MembershipAction[] = [];
  private readonly deadline: Record<MembershipTimer, number | null>;
  private readonly armedAt: Record<MembershipTimer, number>;
  private readonly dirty = new Set<MembershipTimer>();
  private armCounter = 0;
  private started = false;
  private reloadPending = false;

  constructor(settings: MembershipSettings, port: RingPort) {
    this.conf = new MembershipConf(settings.myId, settings.segments);
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
    this.partition = new Int16Array(this.conf.numProcs);
    this.deadline = {} as Record<MembershipTimer, number | null>;
    this.armedAt = {} as Record<MembershipTimer, number>;
    for (const t of TIMER_NAMES) {
      this.deadline[t] = null;
      this.armedAt[t] = 0;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Read-only state.

  get memberState(): MembState {
    return this.state;
  }

  /** Memb_id(): my regular ring id (the old one during EVS). */
  get ringId(): MembershipId {
    return copyId(this.membershipId);
  }

  /** Memb_active_id(): the future ring id during EVS, else Memb_id(). */
  get activeRingId(): MembershipId {
    return copyId(this.state === MembState.EVS ? this.futureMembershipId : this.membershipId);
  }

  get isTokenAlive(): boolean {
    return this.tokenAlive;
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

  /** Deadline of an armed timer, or null. */
  timerDeadline(t: MembershipTimer): number | null {
    return this.deadline[t];
  }

  /** Everything queued since the last call, in order. */
  takeActions(): MembershipAction[] {
    const a = this.out;
    this.out = [];
    return a;
  }

  /**
   * The monitor-partition filter of Net_recv / Net_recv_token: whether a datagram may go on to
   * the ring engine or to membership. Data channel: monitor packets (memb_id.proc_id = the
   * magic) always pass; otherwise the transmitter must be a configured daemon in my component.
   * Tokens: the transmitter must be in my component. Unparseable datagrams pass (the decoders
   * reject them). PARTITION packets themselves are for handleDatagram, before this filter.
   */
  admits(channel: Channel, bytes: Uint8Array): boolean {
    if (bytes.length < Size.PACKET_HEADER) return true;
    const le = (bytes[0]! & 0x80) !== 0;
    const i32 = (o: number): number =>
      le
        ? bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)
        : (bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!;
    if (channel === 'data' && i32(12) === MONITOR_MAGIC) return true;
    return this.inMyComponent(i32(4));
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs.

  /** Memb_init: Membership = {me}, id (me, −1), Commit_set = {me}; then an immediate token loss (⇒ SEG). */
  start(now: number): void {
    if (this.started) return;
    this.started = true;
    this.state = MembState.OP;
    this.membershipChanges = 0;
    this.membership = [this.myId];
    this.membershipId = { procId: this.myId, time: INITIAL_RING_TIME };
    this.lastTimeUsed = INITIAL_RING_TIME;
    this.regMembership = [this.myId];
    this.commitSet = { members: [this.myId], numTrans: 1 };
    this.port.standby(copyId(this.membershipId), [this.myId]);
    this.memberTokenLoss(now);
    this.finish(now);
  }

  handleDatagram(channel: Channel, bytes: Uint8Array, now: number): void {
    if (channel === 'data' && bytes.length >= Size.PACKET_HEADER) {
      const type = this.peekType(bytes);
      // Data packets are dispatched on the header alone (their bodies are the ring's business).
      if (type !== null && (type & (PacketType.CONTROL | PacketType.MEMBERSHIP | PacketType.HURRY)) === 0 && (type & PacketType.REGULAR) !== 0) {
        this.onDataPacket(bytes, now);
        this.finish(now);
        return;
      }
    }
    const r = safeDecode(bytes, channel, { confHash: this.confHash, copy: true });
    if (!r.ok) {
      this.log('warning', `dropping malformed ${channel} datagram: ${r.error.message}`);
      this.finish(now);
      return;
    }
    const d = r.value;
    switch (d.kind) {
      case 'partition':
        this.onPartition(d, now);
        break;
      case 'alive':
        if (d.header.transmitterId !== this.myId) this.onAlive(d, now);
        break;
      case 'join':
        if (d.header.transmitterId !== this.myId) this.onJoin(d, now);
        break;
      case 'refer':
        if (d.header.transmitterId !== this.myId) this.onRefer(d);
        break;
      case 'form1':
        this.onForm1(d, now);
        break;
      case 'form2':
        this.onForm2(d, now);
        break;
      case 'reload':
        // Prot_handle_conf_reload: now if OP, else as soon as OP is reached.
        if (this.state === MembState.OP) this.arm(MembershipTimer.RELOAD, now);
        else this.reloadPending = true;
        break;
      default:
        break; // not membership's
    }
    this.finish(now);
  }

  handleTimer(timer: MembershipTimer, now: number): void {
    const at = this.deadline[timer];
    if (at !== null && now >= at) this.fire(timer, now);
    this.finish(now);
  }

  /** The ring engine's token-loss timer fired (it has done its own part already). */
  tokenLost(now: number): void {
    if (this.state === MembState.SEG || this.state === MembState.REPRESENTED || !this.started) {
      this.log('error', `token loss reported in state ${membStateName(this.state)}: ignored`);
    } else {
      this.memberTokenLoss(now);
    }
    this.finish(now);
  }

  /**
   * Called by the edge after every token the ring engine processed (RingPort rule E7):
   * commit point, EVS completion once Aru reached Last_seq, and the MAX_EVS_ROUNDS escape.
   */
  ringProgress(now: number): void {
    if (this.state === MembState.EVS) {
      this.checkCommit();
      if (this.port.aru === this.lastSeq && this.port.aru > this.port.lastDiscarded) this.completeEvs(now);
      if (this.state === MembState.EVS && this.port.tokenRounds > MAX_EVS_ROUNDS) {
        this.log('error', `too many rounds in EVS (${this.port.tokenRounds}): giving up on the new ring`);
        this.memberTokenLoss(now);
      }
    }
    this.finish(now);
  }

  // ---------------------------------------------------------------------------------------------
  // Token loss and the SEG / REPRESENTED / GATHER states.

  /** Memb_token_loss. */
  private memberTokenLoss(now: number): void {
    switch (this.state) {
      case MembState.OP:
        this.potentialReps = [];
        this.addSegmentPotentials(this.membership);
        break;
      case MembState.SEG:
      case MembState.REPRESENTED:
        this.log('error', `token loss in state ${membStateName(this.state)} (a bug in the reference too)`);
        return;
      case MembState.GATHER:
        if (!this.tokenAlive) this.log('error', 'token loss in GATHER without a live token');
        this.potentialReps = [];
        // The reps I gathered first (they matter more), then my ring's segments.
        for (let i = 1; i < this.fReps.length; i++) insertRep(this.potentialReps, { ...this.fReps[i]! }, this.conf);
        this.addSegmentPotentials(this.membership);
        break;
      case MembState.FORM:
        // Potential_reps already follow the FORM token.
        break;
      case MembState.EVS:
        this.checkCommit();
        this.port.backoff();
        this.potentialReps = [];
        this.addSegmentPotentials(this.futureMembership);
        break;
    }
    this.tokenAlive = false;
    this.port.loseToken();
    this.cancel(MembershipTimer.FORM);
    this.cancel(MembershipTimer.JOIN);
    this.cancel(MembershipTimer.GATHER);
    this.cancel(MembershipTimer.LOOKUP);
    this.membership = [this.myId];
    this.log('warning', `lost my token, state was ${membStateName(this.state)}`);
    this.shiftToSeg(now);
  }

  /** For every other segment: its first member in `members`, else its first configured daemon, as POTENTIAL. */
  private addSegmentPotentials(members: readonly number[]): void {
    for (let seg = 0; seg < this.conf.numSegments; seg++) {
      if (seg === this.conf.me.segIndex) continue;
      const id = this.conf.firstInSegment(members, seg) ?? this.conf.segLeader(seg);
      if (id === undefined) continue;
      insertRep(this.potentialReps, { procId: id, type: RepType.POTENTIAL_REP, segIndex: seg }, this.conf);
    }
  }

  private shiftToOp(now: number): void {
    this.state = MembState.OP;
    if (this.reloadPending) this.arm(MembershipTimer.RELOAD, now);
  }

  /** Prot_initiate_conf_reload: ask the edge to reload the configuration, then lose the token. */
  private initiateReload(now: number): void {
    if (this.state !== MembState.OP) return;
    this.reloadPending = false;
    this.out.push({ kind: 'reload' });
    this.memberTokenLoss(now);
  }

  private shiftToSeg(now: number): void {
    this.state = MembState.SEG;
    this.fMembers = [this.myId];
    this.fMembersPending = 0;
    this.arm(MembershipTimer.ALIVE, now);
    this.arm(MembershipTimer.SEG, now + this.timeouts.seg);
  }

  /** Seg timeout: the smallest daemon heard in my segment gathers, the others are represented. */
  private gatherOrRepresented(now: number): void {
    this.mySegRep = -1;
    if (this.fMembers[smallestMember(this.fMembers, this.conf)] === this.myId) this.shiftToGather(now);
    else this.shiftToRepresented(now);
  }

  private shiftToGather(now: number): void {
    this.state = MembState.GATHER;
    this.fReps = [{ procId: this.myId, type: this.tokenAlive ? RepType.RING_REP : RepType.SEG_REP, segIndex: this.conf.me.segIndex }];
    this.cancel(MembershipTimer.ALIVE);
    this.cancel(MembershipTimer.LOOKUP);
    this.arm(MembershipTimer.JOIN, now);
    this.arm(MembershipTimer.GATHER, now + this.timeouts.gather);
  }

  private shiftToRepresented(now: number): void {
    this.state = MembState.REPRESENTED;
    this.cancel(MembershipTimer.ALIVE);
    this.cancel(MembershipTimer.SEG);
    this.arm(MembershipTimer.REP, now + this.timeouts.rep);
  }

  /** Gather timeout. */
  private formOrFail(now: number): void {
    if (this.fReps[smallestRep(this.fReps, this.conf)]!.procId === this.myId) {
      if (this.tokenAlive && this.fReps.length === 1) {
        // A ring leader that found nobody: back to its ring.
        this.cancel(MembershipTimer.JOIN);
        this.arm(MembershipTimer.LOOKUP, now + this.timeouts.lookup);
        this.shiftToOp(now);
      } else {
        this.createForm1(now);
      }
    } else if (this.tokenAlive) {
      this.log('info', 'form or fail: not the smallest representative, back to OP');
      this.cancel(MembershipTimer.JOIN);
      this.arm(MembershipTimer.LOOKUP, now + this.timeouts.lookup);
      this.shiftToOp(now);
    } else {
      this.log('info', 'form or fail: failed to gather, gathering again');
      this.fMembers = [this.myId];
      this.fMembersPending = 0;
      this.potentialReps = [];
      for (let i = 1; i < this.fReps.length; i++) insertRep(this.potentialReps, { ...this.fReps[i]! }, this.conf);
      this.shiftToGather(now);
    }
  }

  /** Scast_alive: ALIVE to my segment (a real send only if it has other daemons); `again` re-arms. */
  private scastAlive(now: number, again: boolean): void {
    const p: AlivePacket = {
      kind: 'alive', littleEndian: true, header: this.packetHeader(PacketType.ALIVE),
      members: this.fMembers.slice(), numPending: this.fMembersPending,
    };
    this.scast(encodeDatagram(p));
    if (again) this.arm(MembershipTimer.ALIVE, now + this.timeouts.alive);
  }

  private joinPacket(): Uint8Array {
    const p: JoinPacket = {
      kind: 'join', littleEndian: true, header: this.packetHeader(PacketType.JOIN),
      members: this.fMembers.slice(), numPending: this.fMembersPending,
      reps: this.fReps.map((r) => ({ ...r })), repIndex: this.fRepIndex,
    };
    return encodeDatagram(p);
  }

  /** Send_join: to my segment unless I hold a live ring, and to every potential rep; re-armed. */
  private sendJoin(now: number): void {
    const bytes = this.joinPacket();
    if (!this.tokenAlive) this.scast(bytes);
    for (const r of this.potentialReps) this.ucast('data', r.procId, bytes);
    this.arm(MembershipTimer.JOIN, now + this.timeouts.join);
  }

  /** Memb_lookup_new_members: the ring leader probes for configured daemons outside its ring. */
  private lookupNewMembers(now: number): void {
    if (this.state !== MembState.OP) return;
    this.potentialReps = [];
    this.fReps = [{ procId: this.myId, type: RepType.RING_REP, segIndex: this.conf.me.segIndex }];
    this.fMembers = [];
    this.fMembersPending = 0;
    const bytes = this.joinPacket();
    let missing = 0;
    if (this.conf.numSegments === 1) {
      // One segment: a broadcast; current members ignore it.
      this.scast(bytes);
      missing++;
    } else {
      for (const p of this.conf.procs) {
        if (this.regMembership.includes(p.id)) continue;
        this.ucast('data', p.id, bytes);
        missing++;
      }
    }
    if (missing > 0) this.shiftToGather(now);
  }

  // ---------------------------------------------------------------------------------------------
  // ALIVE, JOIN, REFER, foreign packets.

  private onAlive(p: AlivePacket, now: number): void {
    const from = p.header.procId;
    switch (this.state) {
      case MembState.OP:
        if (this.membership.includes(from)) {
          this.memberTokenLoss(now);
          insertMember(this.fMembers, from);
        }
        break;
      case MembState.SEG:
        insertMember(this.fMembers, from);
        break;
      case MembState.REPRESENTED:
        this.arm(MembershipTimer.REP, now + this.timeouts.rep);
        break;
      case MembState.GATHER:
        if (!this.tokenAlive) insertMember(this.fMembers, from);
        else if (this.membership.includes(from)) {
          this.memberTokenLoss(now);
          insertMember(this.fMembers, from);
        }
        break;
      case MembState.FORM:
        break;
      case MembState.EVS:
        if (this.futureMembership.includes(from)) {
          this.memberTokenLoss(now);
          insertMember(this.fMembers, from);
        }
        break;
    }
  }

  private onJoin(p: JoinPacket, now: number): void {
    const from = p.header.procId;
    const rep0 = p.reps[0];
    switch (this.state) {
      case MembState.OP:
        if (!this.membership.includes(from)) {
          if (rep0 === undefined) return;
          if (this.membership[0] === this.myId) {
            // Ring leader: gather with the ring still running.
            this.potentialReps = [{ ...rep0 }];
            this.fMembers = [];
            this.fMembersPending = 0;
            this.shiftToGather(now);
          } else if (rep0.segIndex !== this.conf.me.segIndex || this.conf.firstInSegment(this.membership, this.conf.me.segIndex) === this.myId) {
            this.refer(from, this.membership[0]!, RepType.RING_REP);
          }
        } else if (this.conf.numSegments > 1) {
          // A member gathers: my ring is gone. (One segment: the leader's lookup probe, ignored.)
          this.memberTokenLoss(now);
        }
        break;
      case MembState.SEG: {
        const sp = this.conf.proc(from);
        if (sp !== undefined && rep0 !== undefined && sp.segIndex === this.conf.me.segIndex && rep0.type === RepType.SEG_REP) {
          this.mySegRep = from;
          this.shiftToRepresented(now);
          this.scastAlive(now, false);
        }
        break;
      }
      case MembState.REPRESENTED: {
        const sp = this.conf.proc(from);
        if (sp !== undefined && rep0 !== undefined && sp.segIndex === this.conf.me.segIndex && rep0.type === RepType.SEG_REP) {
          if (from !== this.mySegRep) this.log('info', `representative shifts: old ${this.mySegRep >>> 0}, new ${from >>> 0}`);
          this.mySegRep = from;
          this.arm(MembershipTimer.REP, now + this.timeouts.rep);
          this.scastAlive(now, false);
        } else if (this.mySegRep !== -1) {
          this.refer(from, this.mySegRep, RepType.SEG_REP);
        }
        break;
      }
      case MembState.GATHER:
        if (rep0 === undefined) return;
        insertRep(this.fReps, { ...rep0 }, this.conf);
        for (const r of p.reps) insertRep(this.potentialReps, { ...r }, this.conf);
        if (this.fReps[smallestRep(this.fReps, this.conf)]!.procId === rep0.procId) {
          this.arm(MembershipTimer.GATHER, now + this.timeouts.gather);
        }
        break;
      case MembState.FORM:
        break;
      case MembState.EVS:
        if (this.futureMembership.includes(from)) {
          this.memberTokenLoss(now);
          insertMember(this.fMembers, from);
        }
        break;
    }
  }

  /** REFER(referred, type) unicast to `to`. */
  private refer(to: number, referred: number, type: number): void {
    const p: ReferPacket = {
      kind: 'refer', littleEndian: true, header: this.packetHeader(PacketType.REFER, { procId: referred, time: type }),
    };
    this.ucast('data', to, encodeDatagram(p));
  }

  private onRefer(p: ReferPacket): void {
    if (this.state !== MembState.GATHER) return;
    const referred = this.conf.proc(p.header.membId.procId);
    if (referred === undefined) {
      this.log('warning', `refer to unknown daemon ${p.header.membId.procId >>> 0}`);
      return;
    }
    insertRep(this.potentialReps, { procId: referred.id, type: p.header.membId.time, segIndex: referred.segIndex }, this.conf);
  }

  /** A data packet on the data channel: foreign unless it carries my ring id. */
  private onDataPacket(bytes: Uint8Array, now: number): void {
    let h: PacketHeader;
    let le: boolean;
    try {
      const r = readerFor(bytes, 0, bytes.length, 'packet_header');
      h = decodePacketHeader(r, 0).value;
      le = r.le;
    } catch {
      return;
    }
    if (h.transmitterId === this.myId || sameId(h.membId, this.membershipId)) return;
    if (h.confHash !== this.confHash && h.confHash !== 1100) return;
    if (bytes.length !== Size.PACKET_HEADER + h.dataLen) return;
    if (this.state !== MembState.OP) return;
    if (this.conf.proc(h.procId) === undefined) {
      this.log('warning', `foreign packet from unknown daemon ${h.procId >>> 0}`);
      return;
    }
    const leader = this.membership[0]!;
    if (leader === this.myId) {
      this.lookupNewMembers(now);
    } else if (this.conf.firstInSegment(this.membership, this.conf.me.segIndex) === this.myId && !this.foreignFound) {
      // Segment leader: show the ring leader one foreign packet (twice).
      this.foreignFound = true;
      const fwd = new Uint8Array(bytes.length);
      fwd.set(bytes.subarray(Size.PACKET_HEADER), Size.PACKET_HEADER);
      encodePacketHeaderInto({ ...h, type: h.type & ~PacketType.ROUTED, transmitterId: this.myId, confHash: this.confHash }, h.dataLen, fwd, 0);
      if (!le) fwd.set(bytes.subarray(34, 40), 34); // padding and first fragment header: as received
      this.ucast('data', leader, fwd);
      this.ucast('data', leader, fwd);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // FORM1.

  private onForm1(t: Form1Token, now: number): void {
    switch (this.state) {
      case MembState.OP:
        if (this.membership[0] === this.myId) this.log('info', 'FORM1 in OP: ring leader swallows it');
        else this.fillForm1(t, now);
        break;
      case MembState.REPRESENTED:
      case MembState.GATHER:
        this.fillForm1(t, now);
        break;
      default:
        this.log('info', `FORM1 in ${membStateName(this.state)}: swallowed`);
        break;
    }
  }

  /** My ring's record for a FORM1 I create or join with a ring the token does not list yet. */
  private freshRingRecord(holesFrom: number): RingRecord {
    const commit = [this.myId];
    for (const id of this.commitSet.members) if (id !== this.myId) commit.push(id);
    return {
      membId: copyId(this.membershipId), transTime: 0, aru: this.port.aru, highestSeq: this.port.highestSeq,
      holes: this.missing(holesFrom, this.port.highestSeq), commit, numTrans: 1,
    };
  }

  /** Packets[seq].exist == 0: freed (≤ Last_discarded) or never received. */
  private lacks(seq: number): boolean {
    return seq <= this.port.lastDiscarded || !this.port.hasReceived(seq);
  }

  private missing(from: number, to: number): number[] {
    const out: number[] = [];
    for (let s = from; s <= to; s++) if (this.lacks(s)) out.push(s);
    return out;
  }

  private nextTime(now: number): number {
    let t = Math.floor(this.wallClock(now)) | 0;
    if (t <= this.lastTimeUsed) t = this.lastTimeUsed + 1;
    this.lastTimeUsed = t;
    return t;
  }

  /** Create_form1: the smallest representative starts a FORM1 token. */
  private createForm1(now: number): void {
    const formId = { procId: this.myId, time: this.nextTime(now) };
    this.form1MembId = formId;
    const header: TokenHeader = {
      type: PacketType.FORM1, transmitterId: this.myId, procId: this.myId, membId: formId,
      seq: this.port.highestSeq + FORM_SEQ_MARGIN, aru: 0, aruLastId: 0, flowControl: 0, rtrLen: 0, confHash: this.confHash,
    };
    if (this.fReps[0]!.type === RepType.RING_REP) this.fMembers = this.membership.slice();
    // Daemons that are representatives in their own right are not my members.
    const valid = this.fMembers.filter((id) => id === this.myId || !this.fReps.some((r) => r.procId === id));
    this.fMembers = valid;
    this.fMembersPending = valid.length - 1;
    this.fReps = sortReps(this.fReps, this.conf);
    this.fRepIndex = 1;
    this.potentialReps = [];
    for (const r of this.fReps) {
      if (r.segIndex !== this.conf.me.segIndex) insertRep(this.potentialReps, { ...r, type: RepType.POTENTIAL_REP }, this.conf);
    }
    const rings = [this.freshRingRecord(this.port.myAru + 1)];
    const members: FormMembers = { numMembers: 1, numPending: valid.length - 1, members: valid.slice() };
    if (members.numPending > 0) {
      this.sendForm(members.members[1]!, { kind: 'form1', littleEndian: true, header, members, reps: { repIndex: 1, reps: this.fReps.map((r) => ({ ...r })) }, rings });
    } else if (this.fRepIndex < this.fReps.length) {
      this.sendForm(this.fReps[1]!.procId, { kind: 'form1', littleEndian: true, header, members, reps: { repIndex: 1, reps: this.fReps.map((r) => ({ ...r })) }, rings });
    } else {
      // Alone: the token is already a FORM2, sent to myself.
      this.fMembersPending = 1;
      const f2: Form2Token = {
        kind: 'form2', littleEndian: true, header: { ...header, type: PacketType.FORM2 },
        members: { numMembers: 0, numPending: valid.length, members: valid.slice() },
        newRingId: this.repsPrefixAsId(this.fReps.length, this.fRepIndex, this.fReps[0]!.procId),
        rings,
      };
      this.sendForm(this.myId, f2);
    }
    this.cancel(MembershipTimer.JOIN);
    this.enterForm(now);
  }

  /**
   * The 8 bytes a FORM1 → FORM2 conversion leaves in new_ring_id: the first 8 bytes of the
   * reps_info it replaced (num_reps, rep_index, reps[0].proc_id), read back as a membership_id.
   */
  private repsPrefixAsId(numReps: number, repIndex: number, rep0: number): MembershipId {
    return { procId: (numReps & 0xffff) | (repIndex << 16), time: rep0 };
  }

  private enterForm(now: number): void {
    this.arm(MembershipTimer.FORM, now + this.timeouts.form);
    this.tokenAlive = false;
    this.port.stopToken();
    this.state = MembState.FORM;
  }

  /** Net_ucast_token twice (every FORM hop is sent twice). */
  private sendForm(to: number, t: Form1Token | Form2Token): void {
    t.header.transmitterId = this.myId;
    t.header.confHash = this.confHash;
    const bytes = encodeDatagram(t);
    this.ucast('token', to, bytes);
    this.ucast('token', to, bytes);
  }

  /** Fill_form1: add myself (and my members or my ring) to a FORM1 and pass it on. */
  private fillForm1(t: Form1Token, now: number): void {
    const h = t.header;
    const m = t.members;
    const reps = t.reps;
    h.procId = this.myId;
    if (h.seq < this.port.highestSeq + FORM_SEQ_MARGIN) h.seq = this.port.highestSeq + FORM_SEQ_MARGIN;

    if (this.state === MembState.OP || this.state === MembState.REPRESENTED) {
      if (m.numPending <= 0 || m.members[m.numMembers] !== this.myId) return;
      m.numMembers++;
      m.numPending--;
    } else {
      const rep = reps.reps[reps.repIndex];
      if (
        rep === undefined || rep.procId !== this.myId ||
        (this.tokenAlive && rep.type === RepType.SEG_REP) ||
        (!this.tokenAlive && rep.type === RepType.RING_REP) ||
        m.numPending !== 0
      ) return;
      const listed = m.members.slice(0, m.numMembers);
      const mine = this.fMembers.filter((id) =>
        !listed.includes(id) &&
        !(id !== this.myId && reps.reps.some((r) => r.procId === id)) &&
        !(id !== this.myId && this.fReps.some((r) => r.procId === id)));
      this.fMembers = mine;
      let added: number[];
      if (rep.type === RepType.SEG_REP) added = mine;
      else if (rep.type === RepType.RING_REP) added = this.membership.slice();
      else return;
      if (added.length === 0 || m.members.length + added.length > Limits.MAX_PROCS_RING) return;
      m.members.push(...added);
      if (m.stale !== undefined) m.stale = m.stale.subarray(4 * added.length);
      m.numPending = added.length - 1;
      m.numMembers += 1;
      reps.repIndex++;
    }
    this.form1MembId = copyId(h.membId);

    this.potentialReps = [];
    for (const r of reps.reps) {
      if (r.segIndex !== this.conf.me.segIndex) insertRep(this.potentialReps, { ...r, type: RepType.POTENTIAL_REP }, this.conf);
    }

    // Rings: every other ring as it is, then mine (merged, or fresh) at the end.
    const others: RingRecord[] = [];
    let mineRec: RingRecord | null = null;
    for (const g of t.rings) {
      if (sameId(g.membId, this.membershipId)) mineRec = g;
      else others.push(g);
    }
    let rec: RingRecord | null;
    if (mineRec === null) {
      if (others.length + 1 > Limits.MAX_FORM_REPS) {
        // No room for my ring's record: take myself off the member list instead.
        this.log('warning', 'my ring record does not fit in the FORM token: leaving this attempt');
        const i = m.members.indexOf(this.myId);
        if (i >= 0 && i < m.numMembers) {
          const last = m.members[m.members.length - 1]!;
          m.members.splice(i, 1);
          m.stale = concat(le32(last), m.stale ?? new Uint8Array(4 * (Limits.MAX_PROCS_RING - m.members.length - 1)));
          m.numMembers--;
        }
        rec = null;
      } else {
        rec = this.freshRingRecord(this.port.lastDiscarded + 1);
      }
    } else {
      const holes = mineRec.holes.filter((s) => this.lacks(s));
      if (mineRec.highestSeq < this.port.highestSeq) holes.push(...this.missing(mineRec.highestSeq + 1, this.port.highestSeq));
      const trans: number[] = [];
      for (let i = 0; i < mineRec.numTrans; i++) insertMember(trans, mineRec.commit[i]!);
      insertMember(trans, this.myId);
      if (trans.length !== mineRec.numTrans + 1) {
        this.log('error', 'FORM1 lists me in my ring\'s transitional set already: ignored');
        return;
      }
      const commit = trans.slice();
      for (let i = mineRec.numTrans; i < mineRec.commit.length; i++) insertMember(commit, mineRec.commit[i]!);
      for (const id of this.commitSet.members) insertMember(commit, id);
      rec = {
        membId: copyId(this.membershipId), transTime: 0,
        aru: Math.max(mineRec.aru, this.port.aru), highestSeq: Math.max(mineRec.highestSeq, this.port.highestSeq),
        holes, commit, numTrans: mineRec.numTrans + 1,
      };
    }
    const rings = rec === null ? others : [...others, rec];

    if (m.numPending > 0) {
      this.sendForm(m.members[m.numMembers]!, { ...t, rings });
    } else if (reps.repIndex < reps.reps.length) {
      this.sendForm(reps.reps[reps.repIndex]!.procId, { ...t, rings });
    } else {
      const sorted = sortMembers(m.members.slice(0, m.numMembers), this.conf);
      const f2: Form2Token = {
        kind: 'form2', littleEndian: true, header: { ...h, type: PacketType.FORM2 },
        members: { numMembers: 0, numPending: sorted.length, members: sorted, ...(m.stale !== undefined ? { stale: m.stale } : {}) },
        newRingId: this.repsPrefixAsId(reps.reps.length, reps.repIndex, reps.reps[0]?.procId ?? 0),
        rings,
      };
      this.sendForm(sorted[0]!, f2);
    }
    this.cancel(MembershipTimer.JOIN);
    this.cancel(MembershipTimer.GATHER);
    this.cancel(MembershipTimer.REP);
    this.enterForm(now);
  }

  // ---------------------------------------------------------------------------------------------
  // FORM2, first token, EVS.

  private onForm2(t: Form2Token, now: number): void {
    if (this.state !== MembState.FORM) {
      this.log('info', `FORM2 in ${membStateName(this.state)}: swallowed`);
      return;
    }
    this.readForm2(t, now);
  }

  /** Read_form2: learn the new ring, hand it to the engine, pass the token on (or start the ring). */
  private readForm2(t: Form2Token, now: number): void {
    const h = t.header;
    const m = t.members;
    if (this.form1MembId === null || !sameId(h.membId, this.form1MembId)) {
      this.log('warning', `FORM2 of attempt (${h.membId.procId >>> 0}, ${h.membId.time}) is not mine: dropped`);
      return;
    }
    if (m.numPending <= 0 || m.numMembers + m.numPending >= Limits.MAX_PROCS_RING || m.members[m.numMembers] !== this.myId) {
      this.log('warning', 'malformed FORM2 members: dropped');
      return;
    }
    let mine: RingRecord | null = null;
    for (const g of t.rings) {
      if (g.numTrans < 1 || g.numTrans > g.commit.length) {
        this.log('warning', 'malformed FORM2 ring record: dropped');
        return;
      }
      if (sameId(g.membId, this.membershipId)) mine = g;
    }
    if (mine === null) {
      this.log('warning', 'my ring is not on the FORM2 token: dropped');
      return;
    }
    h.procId = this.myId;
    m.numMembers++;
    m.numPending--;
    this.lastSeq = h.seq;
    let membTime = 0;
    if (m.numMembers === 1) {
      // I am the new leader: my time for the transitional ids, one more for the ring id.
      membTime = this.nextTime(now);
      this.lastTimeUsed++;
      t.newRingId = { procId: this.myId, time: this.lastTimeUsed };
    }
    this.futureMembershipId = copyId(t.newRingId);
    this.futureMembership = this.conf.ringOrder(m.members);
    const last = this.futureMembership[this.futureMembership.length - 1] === this.myId;
    const next = this.successor(this.futureMembership);

    const delivered = this.port.installEvs({
      ringId: copyId(this.futureMembershipId),
      members: this.futureMembership.slice(),
      oldRingId: copyId(this.membershipId),
      highestSeq: mine.highestSeq,
      aru: mine.aru,
      holes: mine.holes.slice(),
      lastSeq: this.lastSeq,
      tokenRounds: last ? 1 : 0,
    }, now);
    this.out.push(...delivered);

    this.futureCommitSet = { members: mine.commit.slice(), numTrans: mine.numTrans };
    this.committed = false;
    if (mine.transTime === 0) {
      if (membTime === 0) membTime = this.nextTime(now);
      mine.transTime = membTime;
    }
    this.fTransMembTime = mine.transTime;

    if (!last) {
      this.sendForm(next, t);
    } else {
      const first = encodeDatagram(firstRegularToken(this.futureMembershipId, this.myId, this.confHash));
      this.ucast('token', next, first);
      this.ucast('token', next, first);
    }
    this.tokenAlive = true;
    this.cancel(MembershipTimer.FORM);
    this.state = MembState.EVS;
    this.log('info', `FORM2 read: ring (${this.futureMembershipId.procId >>> 0}, ${this.futureMembershipId.time}) of ${this.futureMembership.length}`);
  }

  private successor(ring: readonly number[]): number {
    const i = ring.indexOf(this.myId);
    return ring[(i + 1) % ring.length]!;
  }

  /** Memb_commit, noticed: the engine set My_aru to Last_seq (RingPort rule E5). */
  private checkCommit(): void {
    if (!this.committed && this.port.myAru === this.lastSeq) {
      this.committed = true;
      this.commitSet = { members: this.futureCommitSet.members.slice(), numTrans: this.futureCommitSet.numTrans };
    }
  }

  /** Discard_packets in EVS once Aru = Last_seq: transitional configuration, then the regular one. */
  private completeEvs(now: number): void {
    this.checkCommit();
    // Memb_transitional: trans subset and whole commit set, in conf order.
    this.transMembers = this.conf.ringOrder(this.commitSet.members.slice(0, this.commitSet.numTrans));
    this.commitMembers = this.conf.ringOrder(this.commitSet.members);
    this.transMembId = { procId: this.transMembers[0] ?? this.myId, time: this.fTransMembTime };
    const d = this.port.completeEvs(this.commitMembers);
    this.out.push(...d.beforeTransitional);
    this.out.push({ kind: 'transitional', members: this.transMembers.slice(), id: copyId(this.transMembId), commit: this.commitMembers.slice() });
    this.out.push(...d.afterTransitional);
    // Memb_regular.
    this.membershipChanges++;
    this.membership = this.futureMembership.slice();
    this.membershipId = copyId(this.futureMembershipId);
    this.regMembership = this.membership.slice();
    this.commitSet = { members: [this.myId], numTrans: 1 };
    this.foreignFound = false;
    if (this.membership[0] === this.myId) this.arm(MembershipTimer.LOOKUP, now + this.timeouts.lookup);
    this.shiftToOp(now);
    this.out.push({ kind: 'regular', members: this.membership.slice(), ringId: copyId(this.membershipId) });
    this.log('info', `membership id is (${this.membershipId.procId >>> 0}, ${this.membershipId.time}), ${this.membership.length} members`);
  }

  // ---------------------------------------------------------------------------------------------
  // Monitor partition (DangerousMonitor).

  private onPartition(p: PartitionPacket, now: number): void {
    if (!this.dangerousMonitor) {
      this.log('info', `request to set partition or kill daemons from ${p.header.procId >>> 0} denied: monitor in safe mode`);
      return;
    }
    if (p.header.membId.procId !== MONITOR_MAGIC || this.conf.proc(p.header.procId) === undefined) return;
    for (let i = 0; i < this.conf.numProcs; i++) this.partition[i] = p.components[i] ?? 0;
    this.arm(MembershipTimer.PARTITION, now + PARTITION_TIMEOUT_MS);
    const mine = this.partition[this.conf.me.index]!;
    if (mine === -1) {
      this.out.push({ kind: 'exit', reason: 'instructed to exit by monitor' });
      return;
    }
    this.log('info', `got monitor message, component ${mine}`);
  }

  private inMyComponent(id: number): boolean {
    const p = this.conf.proc(id);
    if (p === undefined) return false;
    return this.partition[this.conf.me.index] === this.partition[p.index];
  }

  /** Current monitor component of every configured daemon (conf order); all 0 when none. */
  get partitionComponents(): readonly number[] {
    return Array.from(this.partition);
  }

  // ---------------------------------------------------------------------------------------------
  // Sending.

  private packetHeader(type: number, membId: MembershipId = { procId: 0, time: 0 }): PacketHeader {
    return {
      type, transmitterId: this.myId, procId: this.myId, membId, seq: 0, tokenRound: 0,
      confHash: this.confHash, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0,
    };
  }

  /** Net_scast to my own segment: a broadcast only if my segment has other daemons. */
  private scast(bytes: Uint8Array): void {
    if (this.conf.bcastNeeded) this.out.push({ kind: 'send', channel: 'data', to: 'segment', target: this.conf.me.segIndex, bytes });
  }

  private ucast(channel: Channel, to: number, bytes: Uint8Array): void {
    if (this.conf.proc(to) === undefined) return;
    this.out.push({ kind: 'send', channel, to: 'proc', target: to, bytes });
  }

  private log(level: 'info' | 'warning' | 'error', message: string): void {
    this.out.push({ kind: 'log', level, message });
  }

  private peekType(bytes: Uint8Array): number | null {
    const b0 = bytes[0]!;
    const b3 = bytes[3]!;
    const le = (b0 & 0x80) !== 0 && (b3 & 0x80) !== 0;
    const be = (b0 & 0x80) === 0 && (b3 & 0x80) === 0;
    if (!le && !be) return null;
    const v = le
      ? (b0 | (bytes[1]! << 8) | (bytes[2]! << 16) | (b3 << 24)) >>> 0
      : ((b0 << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | b3) >>> 0;
    return (v & ~ENDIAN_MARKER) >>> 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Timers: deadlines live here; the edge hears about changes once per input.

  private arm(t: MembershipTimer, at: number): void {
    this.deadline[t] = at;
    this.armedAt[t] = ++this.armCounter;
    this.dirty.add(t);
  }

  private cancel(t: MembershipTimer): void {
    if (this.deadline[t] === null) return;
    this.deadline[t] = null;
    this.dirty.add(t);
  }

  private fire(t: MembershipTimer, now: number): void {
    this.deadline[t] = null;
    this.dirty.add(t);
    switch (t) {
      case MembershipTimer.ALIVE:
        this.scastAlive(now, true);
        break;
      case MembershipTimer.SEG:
        this.gatherOrRepresented(now);
        break;
      case MembershipTimer.REP:
        this.shiftToSeg(now);
        break;
      case MembershipTimer.JOIN:
        this.sendJoin(now);
        break;
      case MembershipTimer.GATHER:
        this.formOrFail(now);
        break;
      case MembershipTimer.FORM:
        this.memberTokenLoss(now);
        break;
      case MembershipTimer.LOOKUP:
        this.lookupNewMembers(now);
        break;
      case MembershipTimer.PARTITION:
        this.partition.fill(0);
        break;
      case MembershipTimer.RELOAD:
        this.initiateReload(now);
        break;
    }
  }

  /** End of an input: run what is due now (zero timeouts included), then report timer changes. */
  private finish(now: number): void {
    for (let guard = 0; guard < 64; guard++) {
      let best: MembershipTimer | null = null;
      for (const t of TIMER_NAMES) {
        const at = this.deadline[t];
        if (at === null || at > now) continue;
        if (best === null || at < this.deadline[best]! || (at === this.deadline[best] && this.armedAt[t] < this.armedAt[best])) best = t;
      }
      if (best === null) break;
      this.fire(best, now);
    }
    for (const t of this.dirty) this.out.push({ kind: 'timer', timer: t, at: this.deadline[t] });
    this.dirty.clear();
  }
}
