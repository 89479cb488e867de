/**
 * The daemon membership protocol of Spread 4.4 (Totem/Spread style) as a sans-I/O state machine
 * (SPEC.md Part VI; this facade is §1 and §15, the API the edge uses).
 *
 *   inputs   start(now)                           Memb_init: an immediate token loss
 *            handleDatagram(channel, bytes, now)  ALIVE / JOIN / REFER / foreign data packets /
 *                                                 monitor PARTITION (data channel), FORM1 / FORM2
 *                                                 (token channel)
 *            handleTimer(timer, now)              an armed membership timer fired
 *            tokenLost(now)                       the ring engine reported token loss
 *            ringProgress(now)                    the ring engine processed a token (EVS end,
 *                                                 MAX_EVS_ROUNDS)
 *            requestReload(now), reloadLoaded(…)  a RELOAD of this daemon alone; the edge's
 *                                                 answer to a `reload` action (monitor.ts)
 *   outputs  takeActions(): send / timer / deliver / transitional / regular / exit / log
 *   ring     RingPort (ring-port.ts): read the ring's counters, stop it, install the new ring,
 *            complete EVS
 *
 * The protocol itself lives in one module per SPEC section, all working on one MembershipState
 * (state.ts, §2): token-loss.ts (§6), gather.ts and operational.ts (§7), form1.ts (§9), evs.ts
 * (§10), monitor.ts (§12), timers.ts (§3), reps.ts (§5).
 *
 * Nothing here reads a clock or a socket: `now` is milliseconds on the edge's monotonic clock;
 * wall-clock seconds (ring ids) come from settings.wallClock(now).
 *
 * Timers the reference queues with a zero timeout (E_queue(…, Zero_timeout): the first ALIVE,
 * the first JOIN) run at the end of the input that queued them, before the next input, which
 * is when the reference's event loop runs them.
 */
import { PacketType, Size } from '../../wire/daemon/constants.js';
import { safeDecode, type Channel, type Datagram } from '../../wire/daemon/datagram.js';
import { peekType, type RingId } from '../../wire/daemon/header.js';
import { MembershipTimer, type MembershipAction } from './actions.js';
import { MembershipConf } from './conf.js';
import { checkCommit, completeEvs, evsComplete, onForm2 } from './evs.js';
import { onForm1 } from './form1.js';
import { formOrFail, gatherOrRepresented, scastAlive, sendJoin, shiftToSeg } from './gather.js';
import { MonitorPartition, initiateReload, onPartition, onReload, reloadLoaded } from './monitor.js';
import { lookupNewMembers, onAlive, onDataPacket, onJoin, onRefer } from './operational.js';
import type { RingPort } from './ring-port.js';
import { INITIAL_RING_TIME, MAX_EVS_ROUNDS, type MembershipReload, type MembershipSettings } from './settings.js';
import { MembState, MembershipState, copyId, membStateName, type MembershipStatus } from './state.js';
import { memberTokenLoss } from './token-loss.js';

export { MembState, membStateName, type MembershipStatus } from './state.js';

/** What each timer runs when it fires (the reference's event callbacks). */
const ON_TIMER: Record<MembershipTimer, (s: MembershipState, now: number) => void> = {
  [MembershipTimer.ALIVE]: (s, now) => scastAlive(s, now, true),
  [MembershipTimer.SEG]: gatherOrRepresented,
  [MembershipTimer.REP]: shiftToSeg,
  [MembershipTimer.JOIN]: sendJoin,
  [MembershipTimer.GATHER]: formOrFail,
  [MembershipTimer.FORM]: memberTokenLoss,
  [MembershipTimer.LOOKUP]: lookupNewMembers,
  [MembershipTimer.PARTITION]: (s) => s.partition.clear(),
  [MembershipTimer.RELOAD]: initiateReload,
};

/** Data packets are dispatched on the header alone (their bodies are the ring's business). */
function isDataPacket(bytes: Uint8Array): boolean {
  if (bytes.length < Size.PACKET_HEADER) return false;
  const type = peekType(bytes);
  return type !== null && (type & (PacketType.CONTROL | PacketType.MEMBERSHIP | PacketType.HURRY)) === 0 && (type & PacketType.REGULAR) !== 0;
}

export class Membership {
  private readonly s: MembershipState;

  constructor(settings: MembershipSettings, port: RingPort) {
    const conf = new MembershipConf(settings.myId, settings.segments);
    this.s = new MembershipState(settings, conf, port, new MonitorPartition(conf));
  }

  /** The configuration as membership sees it (a reload replaces it). */
  get conf(): MembershipConf {
    return this.s.conf;
  }

  // ---------------------------------------------------------------------------------------------
  // Read-only state.

  get memberState(): MembState {
    return this.s.state;
  }

  /** Memb_id(): my regular ring id (the old one during EVS). */
  get ringId(): RingId {
    return copyId(this.s.membershipId);
  }

  /** Memb_active_id(): the future ring id during EVS, else Memb_id(). */
  get activeRingId(): RingId {
    return copyId(this.s.state === MembState.EVS ? this.s.futureMembershipId : this.s.membershipId);
  }

  get isTokenAlive(): boolean {
    return this.s.tokenAlive;
  }

  status(): MembershipStatus {
    return this.s.status();
  }

  /** Deadline of an armed timer, or null. */
  timerDeadline(t: MembershipTimer): number | null {
    return this.s.timers.deadlineOf(t);
  }

  /** Current monitor component of every configured daemon (conf order); all 0 when none. */
  get partitionComponents(): readonly number[] {
    return this.s.partition.all;
  }

  /** Everything queued since the last call, in order. */
  takeActions(): readonly MembershipAction[] {
    return this.s.take();
  }

  /**
   * The monitor-partition filter of Net_recv / Net_recv_token (§12): whether a datagram may go
   * on to the ring engine or to membership. PARTITION packets themselves are for
   * handleDatagram, before this filter.
   */
  admits(channel: Channel, bytes: Uint8Array): boolean {
    return this.s.partition.admits(channel, bytes);
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs.

  /**
   * Memb_init: Membership = {me}, id (me, −1), Commit_set = {me}; then an immediate token loss
   * (⇒ SEG). `since` is when the daemon's process began (default `now`): the first Seg period
   * runs from it, as the reference's runs from its start a few milliseconds after exec, but
   * never shorter than one Alive period from now (SPEC.md Part VI §7, Part VIII §3).
   */
  start(now: number, since = now): void {
    const s = this.s;
    if (s.started) return;
    s.started = true;
    s.state = MembState.OP;
    s.membershipChanges = 0;
    s.membership = [s.myId];
    s.membershipId = { procId: s.myId, time: INITIAL_RING_TIME };
    s.lastTimeUsed = INITIAL_RING_TIME;
    s.regMembership = [s.myId];
    s.commitSet = { members: [s.myId], numTrans: 1 };
    s.port.standby(copyId(s.membershipId), [s.myId]);
    memberTokenLoss(s, now, 'info'); // the start's token loss is routine, not a warning
    if (since < now) s.timers.arm(MembershipTimer.SEG, Math.max(since + s.timeouts.seg, now + s.timeouts.alive));
    this.finish(now);
  }

  handleDatagram(channel: Channel, bytes: Uint8Array, now: number): void {
    if (channel === 'data' && isDataPacket(bytes)) {
      onDataPacket(this.s, bytes, now);
    } else {
      const r = safeDecode(bytes, channel, { confHash: this.s.confHash, copy: true });
      if (r.ok) this.dispatch(r.value, now);
      else this.s.log('warning', `dropping malformed ${channel} datagram: ${r.error.message}`);
    }
    this.finish(now);
  }

  handleTimer(timer: MembershipTimer, now: number): void {
    const at = this.s.timers.deadlineOf(timer);
    if (at !== null && now >= at) this.fire(timer, now);
    this.finish(now);
  }

  /** A RELOAD for this daemon alone (ours: SIGHUP), as if a monitor's had arrived. */
  requestReload(now: number): void {
    onReload(this.s, now);
    this.finish(now);
  }

  /** The edge's answer to a `reload` action (SPEC.md Part IX §6): the new configuration, null (unchanged) or 'refused'. */
  reloadLoaded(r: MembershipReload | null | 'refused', now: number): void {
    reloadLoaded(this.s, r, now);
    this.finish(now);
  }

  /** The ring engine's token-loss timer fired (it has done its own part already). */
  tokenLost(now: number): void {
    const s = this.s;
    if (s.state === MembState.SEG || s.state === MembState.REPRESENTED || !s.started) {
      s.log('error', `token loss reported in state ${membStateName(s.state)}: ignored`);
    } else {
      memberTokenLoss(s, now);
    }
    this.finish(now);
  }

  /**
   * Called by the edge after every token the ring engine processed (RingPort rule E7):
   * commit point, EVS completion once Aru reached Last_seq, and the MAX_EVS_ROUNDS escape.
   */
  ringProgress(now: number): void {
    const s = this.s;
    if (s.state === MembState.EVS) {
      checkCommit(s);
      if (evsComplete(s)) completeEvs(s, now);
      if (s.state === MembState.EVS && s.port.tokenRounds > MAX_EVS_ROUNDS) {
        s.log('error', `too many rounds in EVS (${s.port.tokenRounds}): giving up on the new ring`);
        memberTokenLoss(s, now);
      }
    }
    this.finish(now);
  }

  // ---------------------------------------------------------------------------------------------
  // Dispatch.

  private dispatch(d: Datagram, now: number): void {
    const s = this.s;
    const fromOther = d.header.transmitterId !== s.myId;
    switch (d.kind) {
      case 'partition':
        onPartition(s, d, now);
        break;
      case 'alive':
        if (fromOther) onAlive(s, d, now);
        break;
      case 'join':
        if (fromOther) onJoin(s, d, now);
        break;
      case 'refer':
        if (fromOther) onRefer(s, d);
        break;
      case 'form1':
        onForm1(s, d, now);
        break;
      case 'form2':
        onForm2(s, d, now);
        break;
      case 'reload':
        onReload(s, now);
        break;
      default:
        break; // not membership's
    }
  }

  private fire(t: MembershipTimer, now: number): void {
    this.s.timers.disarm(t);
    ON_TIMER[t](this.s, now);
  }

  /** End of an input: run what is due now (zero timeouts included), then report timer changes. */
  private finish(now: number): void {
    for (let guard = 0; guard < 64; guard++) {
      const t = this.s.timers.nextDue(now);
      if (t === null) break;
      this.fire(t, now);
    }
    this.s.push(...this.s.timers.changes());
  }
}
