/**
 * The operational token ring of a Spread 4.4 daemon, as a sans-I/O state machine: the facade
 * of SPEC.md Part V §3 (the engine's interface) over the modules that implement the protocol.
 *
 *   inputs   install(ring, now)                     a ring is given (membership's output)
 *            handleDatagram(channel, bytes, now)    one UDP datagram, data or token channel
 *            handleTimer(timer, now)                an armed timer fired
 *            submit(message, packetType, now)       a message for the ring (down queue)
 *   outputs  takeActions(): send / timer / deliver / tokenLost / upward / backpressure /
 *            violation, in the order the edge must carry them out
 *
 * Nothing here reads a clock or a socket; `now` is milliseconds on any monotonic clock.
 * Datagrams handed in are never modified and may be kept (stored packets are views of them).
 *
 * Membership hooks: `mode` ('op' | 'gather' | 'evs') gates what the reference gates on
 * Memb_state(); token loss is reported with a `tokenLost` action; datagrams of other rings,
 * ALIVE/JOIN/REFER and FORM tokens go up unchanged as `upward` actions. The ring side of EVS
 * (membership's RingPort, src/daemon/membership/ring-port.ts) is `installEvs` (Read_form2),
 * `completeEvs` (Discard_packets in EVS), `backoff`, `loseToken` and `stopToken`; the
 * decisions stay with membership.
 *
 * Where the protocol lives (all functions over the one RingState of state.ts, §4):
 *   receive.ts      data channel: screening, relay, storing (§11)
 *   token.ts        token channel: acceptance and processing (§5), flow control (§6)
 *   new-packets.ts  Send_new_packets, original vs accelerated sends (§8)
 *   retrans.ts      retransmission requests and answers (§7)
 *   delivery.ts     reliable / agreed / safe delivery, reassembly (§11)
 *   hurry.ts        token hold, hurry, token loss (§9, §12)
 *   install.ts      install, standby, the ring side of EVS (§12)
 *   output.ts       sends along the topology, timers, slabs (§2–§3)
 */
import { Size } from '../../wire/daemon/constants.js';
import type { RingId, TokenHeader } from '../../wire/daemon/header.js';
import type { Channel, DeliverAction, RingAction, RingTimer } from './actions.js';
import { DeliveryThreshold, MAX_MESSAGE_BYTES, RING_DEFAULTS, isDataPacketType, type DataPacketType } from './constants.js';
import { setDeliveryThreshold } from './delivery.js';
import { DownMessage } from './down-queue.js';
import { RingConfigError, RingSubmitError } from './errors.js';
import { dropToken, isTokenHold, stopToken, timerFired, wakeRing } from './hurry.js';
import * as lifecycle from './install.js';
import type { EvsDelivered, EvsInstall, RingInstall } from './install.js';
import { backpressure, deadlineOf, flushTimers } from './output.js';
import { onData } from './receive.js';
import { RingState, type DownQueueName, type ResolvedRingSettings, type RingMode, type RingSettings, type RingStats } from './state.js';
import { allowedNewPackets, onToken } from './token.js';
import type { RingTopology } from './topology.js';

import { NO_ACTIONS } from '../no-actions.js';

export type { DownQueueName, RingMode, RingSettings, RingStats } from './state.js';
export type { EvsDelivered, EvsInstall, RingInstall, RingResume } from './install.js';

function resolveSettings(settings: RingSettings): ResolvedRingSettings {
  const s = {
    myId: settings.myId | 0,
    segments: settings.segments,
    confHash: settings.confHash >>> 0,
    window: settings.window ?? RING_DEFAULTS.window,
    personalWindow: settings.personalWindow ?? RING_DEFAULTS.personalWindow,
    acceleratedWindow: settings.acceleratedWindow ?? RING_DEFAULTS.acceleratedWindow,
    accelerated: settings.accelerated ?? RING_DEFAULTS.accelerated,
    tokenTimeout: settings.tokenTimeout ?? RING_DEFAULTS.tokenTimeout,
    hurryTimeout: settings.hurryTimeout ?? RING_DEFAULTS.hurryTimeout,
    wideNetwork: settings.wideNetwork ?? false,
    deliveryThreshold: settings.deliveryThreshold ?? DeliveryThreshold.ALL,
  };
  if (s.personalWindow > s.window) {
    throw new RingConfigError('BAD_WINDOW', `PersonalWindow ${s.personalWindow} exceeds Window ${s.window}`);
  }
  if (s.acceleratedWindow > s.personalWindow || s.acceleratedWindow < 0 || s.window < 0 || s.personalWindow < 0) {
    throw new RingConfigError('BAD_WINDOW', `AcceleratedWindow ${s.acceleratedWindow} must be 0..PersonalWindow`);
  }
  if (!(s.tokenTimeout > 0) || !(s.hurryTimeout > 0)) {
    throw new RingConfigError('BAD_TIMEOUT', 'timeouts must be positive');
  }
  return s;
}

export class RingEngine {
  readonly stats: RingStats;
  private readonly st: RingState;

  constructor(settings: RingSettings) {
    this.st = new RingState(resolveSettings(settings));
    this.stats = this.st.stats;
  }

  // ---------------------------------------------------------------------------------------------
  // Read-only state (status reports, tests, the simulator's checks).

  get settings(): ResolvedRingSettings { return this.st.settings; }
  get accelerated(): boolean { return this.st.accelerated; }
  /** Memb_state(); see RingMode. */
  get mode(): RingMode { return this.st.mode; }
  set mode(m: RingMode) { this.st.mode = m; }
  get highestSeq(): number { return this.st.highestSeq; }
  get myAru(): number { return this.st.myAru; }
  get aru(): number { return this.st.aru; }
  get lastDiscarded(): number { return this.st.lastDiscarded; }
  get lastDelivered(): number { return this.st.lastDelivered; }
  get tokenRounds(): number { return this.st.tokenRounds; }
  get tokenAlive(): boolean { return this.st.tokenAlive; }
  /** Messages in the current down queue. */
  get queueLength(): number { return this.st.queue.length; }
  /** Messages in both down queues. */
  get queuedMessages(): number { return this.st.queues.normal.length + this.st.queues.groups.length; }
  get queuedBytes(): number { return this.st.queues.normal.bytes + this.st.queues.groups.bytes; }
  get downQueue(): DownQueueName { return this.st.queueName; }
  /** Memb_active_id() as the engine uses it (the token's ring id). */
  get activeRingId(): RingId { return { ...this.st.ringId }; }
  /** Memb_id() as the engine uses it (data packets' ring id). */
  get packetRingId(): RingId { return { ...this.st.dataRingId }; }
  get lastSeqValue(): number { return this.st.lastSeq; }
  /** Accelerated ring: the edge should read the token channel before the data channel. */
  get tokenHasPriority(): boolean { return this.st.tokenPriority; }
  get topology(): RingTopology | null { return this.st.topo; }
  get deliveryThreshold(): number { return this.st.threshold; }
  get windows(): { window: number; personalWindow: number; acceleratedWindow: number } {
    const st = this.st;
    return { window: st.window, personalWindow: st.personalWindow, acceleratedWindow: st.acceleratedWindow };
  }
  /** A copy of the last token this daemon sent. */
  get lastSentToken(): TokenHeader { return { ...this.st.lastToken, membId: { ...this.st.lastToken.membId } }; }
  /** Deadline of an armed timer, or null. */
  timerDeadline(t: RingTimer): number | null { return deadlineOf(this.st, t); }

  /** Whether packet `seq` of the current ring was received here (held now, or discarded after). */
  hasReceived(seq: number): boolean {
    return seq <= this.st.lastDiscarded || this.st.packets.holds(seq);
  }

  /** Everything queued since the last call, in order. The array is the caller's. */
  takeActions(): readonly RingAction[] {
    const a = this.st.out;
    if (a.length === 0) return NO_ACTIONS;
    this.st.out = [];
    return a;
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs.

  /** Starts operating `ring`. Packets of a previous ring are dropped; queued messages stay. */
  install(ring: RingInstall, now: number): void {
    lifecycle.install(this.st, ring, now);
    flushTimers(this.st);
  }

  /** One datagram from the data channel (segment port) or the token channel (port + 1). */
  handleDatagram(channel: Channel, bytes: Uint8Array, now: number): void {
    if (channel === 'token') onToken(this.st, bytes, now);
    else onData(this.st, bytes, now);
    flushTimers(this.st);
  }

  handleTimer(timer: RingTimer, now: number): void {
    const st = this.st;
    const at = deadlineOf(st, timer);
    if (at === null || now < at) return; // cancelled or re-armed later: a stale firing
    if (timer === 'tokenLoss') st.tokenLossAt = null;
    else st.hurryAt = null;
    timerFired(st, timer, now);
    flushTimers(st);
  }

  /**
   * Queues a whole ring message (48-byte header, groups, data) with its packet type
   * (see packetTypeOf). Throws RingSubmitError for what the ring cannot carry. `packetRoom`:
   * the caller has reserved the 40 bytes before `message` in its buffer for the ring, which
   * then sends a message that fills a packet alone without copying it (DownMessage.room).
   */
  submit(message: Uint8Array, packetType: DataPacketType, now: number, into: DownQueueName = this.st.queueName, packetRoom = false): void {
    if (!isDataPacketType(packetType)) throw new RingSubmitError('BAD_PACKET_TYPE', `packet type ${packetType} is not RELIABLE/FIFO/AGREED/SAFE`);
    if (message.length < Size.MESSAGE_HEADER) throw new RingSubmitError('MESSAGE_TOO_SHORT', `a message has at least ${Size.MESSAGE_HEADER} bytes, got ${message.length}`);
    if (message.length > MAX_MESSAGE_BYTES) throw new RingSubmitError('MESSAGE_TOO_LONG', `${message.length} bytes do not fit in 100 fragments (${MAX_MESSAGE_BYTES})`);
    const st = this.st;
    const q = st.queues[into];
    q.push(new DownMessage(message, packetType, packetRoom && message.byteOffset >= Size.PACKET_HEADER));
    // A message for the queue the ring does not take from now waits there (Prot_set_down_queue).
    if (q !== st.queue) return;
    const n = q.length;
    if (q.full && !st.blocked) backpressure(st, true);
    // Prot_new_message: the first queued message while the token is held wakes the ring up.
    if (n === 1 && isTokenHold(st)) wakeRing(st, now);
    flushTimers(st);
  }

  /**
   * Prot_set_down_queue: new packets are taken from `which` from now on. The reference switches
   * to GROUPS while the groups layer exchanges its state after a merge, and back after. Unlike
   * the reference, switching to a queue that holds messages while the token is held wakes the
   * ring up as a first message would (the reference waits for the next hurry).
   */
  setDownQueue(which: DownQueueName, now: number): void {
    const st = this.st;
    if (which === st.queueName) return;
    st.queueName = which;
    st.queue = st.queues[which];
    const n = st.queue.length;
    if (st.queue.full !== st.blocked) backpressure(st, !st.blocked);
    if (n > 0 && isTokenHold(st)) wakeRing(st, now);
    flushTimers(st);
  }

  // ---------------------------------------------------------------------------------------------
  // Membership's side of the ring (RingPort, SPEC.md Part VI §11): Read_form2, EVS, backoff.

  /**
   * Before the first ring: the network membership is `members` (me alone) with ring id `ringId`
   * (me, −1), no live token (Prot_init + Memb_init's Net_set_membership). Datagrams are then
   * screened and handed up as on any ring; nothing is sent.
   */
  standby(ringId: RingId, members: readonly number[]): void {
    lifecycle.standby(this.st, ringId, members);
  }

  /**
   * Read_form2, ring part: the token now circulates `ring.members` with `ring.ringId`, data
   * keeps `ring.oldRingId`; everything up to `ring.aru` is delivered (returned, in order, not
   * queued as actions); `ring.holes` become dummies; EVS until completeEvs / backoff / loseToken.
   * The first regular token is membership's to send.
   */
  installEvs(ring: EvsInstall, now: number): DeliverAction[] {
    const delivered = lifecycle.installEvs(this.st, ring, now);
    flushTimers(this.st);
    return delivered;
  }

  /**
   * Discard_packets in EVS once Aru = Last_seq (membership decides when): the old ring's
   * messages up to the first dummy or SAFE packet, then (after the transitional configuration)
   * the rest — after the first dummy only from daemons in `commit` —; then the engine leaves
   * EVS on the new ring with fresh counters. My partly sent message restarts at its first fragment.
   */
  completeEvs(commit: readonly number[]): EvsDelivered {
    return lifecycle.completeEvs(this.st, commit);
  }

  /**
   * Backoff_membership: an EVS attempt failed. Dummies become real holes again, Aru falls back
   * to Last_discarded, My_aru is recomputed; the engine leaves EVS.
   */
  backoff(): void {
    lifecycle.backoff(this.st);
  }

  /**
   * Memb_token_loss, ring part, as membership calls it: tokens are vetoed, delivery BLOCKed,
   * timers cancelled, Last_token's type/seq/aru zeroed. Idempotent; emits no `tokenLost`.
   */
  loseToken(): void {
    const st = this.st;
    dropToken(st);
    if (st.mode === 'evs') st.mode = 'op';
    flushTimers(st);
  }

  /** Create_form1 / Fill_form1, ring part: veto tokens, BLOCK delivery, cancel the ring's timers. */
  stopToken(): void {
    stopToken(this.st);
    flushTimers(this.st);
  }

  /** Prot_set_delivery_threshold: lowering it delivers what was held back. */
  setDeliveryThreshold(t: DeliveryThreshold): void {
    setDeliveryThreshold(this.st, t);
  }

  /** FC_handle_message: a monitor changed the windows (−1 keeps a value). */
  setFlowControl(w: { window?: number; personalWindow?: number; acceleratedWindow?: number }): void {
    const st = this.st;
    if (w.window !== undefined && w.window !== -1) st.window = w.window;
    if (w.personalWindow !== undefined && w.personalWindow !== -1) st.personalWindow = w.personalWindow;
    if (w.acceleratedWindow !== undefined && w.acceleratedWindow !== -1) st.acceleratedWindow = w.acceleratedWindow;
  }

  /**
   * Prot_initiate_conf_reload, ring part (SPEC.md Part IX §6): a reloaded configuration's
   * segments, hash, ring variant and windows (FC_init) take effect at once; the topology
   * follows at the next install (until then the new daemons pass its configured-sender
   * checks). Timeouts stay.
   */
  reconfigure(c: Pick<RingSettings, 'segments' | 'confHash' | 'window' | 'personalWindow' | 'acceleratedWindow' | 'accelerated'>): void {
    const st = this.st;
    const s = resolveSettings({ ...st.settings, ...c });
    st.settings = s;
    st.reloadedIds = new Set(s.segments.flatMap((g) => g.daemons.map((id) => id | 0)));
    st.window = s.window;
    st.personalWindow = s.personalWindow;
    st.acceleratedWindow = s.acceleratedWindow;
    st.accelerated = s.accelerated;
    st.scratchHeader.confHash = s.confHash;
    st.lastToken.confHash = s.confHash;
  }

  /** FC_allowed: how many new packets this visit may send. */
  allowedNewPackets(flowControl: number): number {
    return allowedNewPackets(this.st, flowControl);
  }
}
