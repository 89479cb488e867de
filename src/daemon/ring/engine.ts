/**
 * The operational token ring of a Spread 4.4 daemon, as a sans-I/O state machine
 * (SPEC.md Part V).
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
 */
import { MONITOR_MAGIC, PacketType, Size, getArq, getRetrans, setArq, setRetrans } from '../../wire/daemon/constants.js';
import { padBefore } from '../../wire/daemon/data.js';
import {
  decodePacketHeader, decodeTokenHeader, encodePacketHeaderInto, encodeTokenHeaderInto,
  type MembershipId, type PacketHeader, type TokenHeader,
} from '../../wire/daemon/header.js';
import { put16, put32, readerFor, type Reader } from '../../wire/bytes.js';
import { decodeRtrList, encodeRtrListInto, rtrListLength, type RtrRecord } from '../../wire/daemon/token.js';
import { ENDIAN_MARKER } from '../../wire/bytes.js';
import type { Channel, DeliverAction, RingAction, RingTimer, ViolationCode } from './actions.js';
import {
  DeliveryThreshold, FIRST_TOKEN_ARU, MAX_MESSAGE_BYTES, MAX_SEQ_GAP, MAX_WRAP_SEQUENCE_VALUE, PACKET_MASK,
  RING_DEFAULTS, TOKEN_BODY, WATER_MARK, isDataPacketType, type DataPacketType,
} from './constants.js';
import { DownMessage, DownQueue, PacketPlan } from './down-queue.js';
import { RingConfigError, RingSubmitError } from './errors.js';
import { RingTopology, type RingSegmentSpec } from './topology.js';
import { Exist, PacketWindow } from './window.js';

/** Static settings: the configuration and this daemon's place in it. */
export interface RingSettings {
  /** My proc id (IPv4 as int32). */
  readonly myId: number;
  /** Every segment of the configuration with its daemons, in spread.conf order. */
  readonly segments: readonly RingSegmentSpec[];
  /** Configuration hash carried by every datagram. */
  readonly confHash: number;
  readonly window?: number;
  readonly personalWindow?: number;
  readonly acceleratedWindow?: number;
  /** AcceleratedRing (default false: the original ring protocol). */
  readonly accelerated?: boolean;
  /** TokenTimeout in ms (default 1250). */
  readonly tokenTimeout?: number;
  /** HurryTimeout in ms (default 500). */
  readonly hurryTimeout?: number;
  /** Wide-area heuristic: the last daemon of a segment sends a hurried token twice. */
  readonly wideNetwork?: boolean;
  /** Initial delivery threshold (default ALL; the reference starts BLOCKed until groups are up). */
  readonly deliveryThreshold?: DeliveryThreshold;
}

/** A ring to operate: what membership hands over once a ring is installed. */
export interface RingInstall {
  readonly ringId: MembershipId;
  /** Current members (any order: ring order is derived from the configuration). */
  readonly members: readonly number[];
  /** Start value of all counters (0; INITIAL_SEQUENCE_NEAR_WRAP with DebugInitialSequence). */
  readonly initialSeq?: number;
  /** Whether I send the first token (twice, to the leader). Default: I am last in ring order. */
  readonly sendFirstToken?: boolean;
  /** Resume an idle ring mid-flight instead of starting fresh (replay tests, hand-over). */
  readonly resume?: RingResume;
}

/** State of an idle ring (every packet up to `seq` stable and discarded). */
export interface RingResume {
  readonly seq: number;
  readonly tokenRounds: number;
  readonly receivedTokenRounds?: number;
  readonly tokenCounter: number;
  /** The last token this daemon sent. */
  readonly lastToken: {
    readonly type: number;
    readonly seq: number;
    readonly aru: number;
    readonly aruLastId: number;
    readonly flowControl: number;
  };
  readonly lastNumSent?: number;
  readonly lastNumRetrans?: number;
}

/** Memb_state() as far as the ring cares: 'evs' between installEvs and completeEvs / backoff / loseToken. */
export type RingMode = 'op' | 'gather' | 'evs';

/** The down queues (Prot_set_down_queue): client messages, or the groups layer's GROUPS messages. */
export type DownQueueName = 'normal' | 'groups';

/** The new ring as membership's Read_form2 hands it over (EvsRing of membership/ring-port.ts). */
export interface EvsInstall {
  /** Future_membership_id: the token's ring id from now on; the data ring id after EVS. */
  readonly ringId: MembershipId;
  /** The new ring's members (ring order is derived from the configuration). */
  readonly members: readonly number[];
  /** Membership_id of my old ring: data packets and retransmission records keep using it in EVS. */
  readonly oldRingId: MembershipId;
  /** Highest seq of my old ring among the new ring's members (≥ my Highest_seq). */
  readonly highestSeq: number;
  /** Aru of my old ring's record: everything up to it is delivered (and freed) now. */
  readonly aru: number;
  /** Seqs of my old ring that nobody in the new ring has: they become EVS dummies. */
  readonly holes: readonly number[];
  /** Last_seq: above every seq of every old ring; My_aru jumps to it once complete (commit). */
  readonly lastSeq: number;
  /** Token_rounds to start with (1 at the member that sent the first token). */
  readonly tokenRounds: number;
}

/** What completeEvs delivered, split where the transitional configuration goes. */
export interface EvsDelivered {
  readonly beforeTransitional: DeliverAction[];
  readonly afterTransitional: DeliverAction[];
}

export interface RingStats {
  packetsReceived: number;
  packetsDuplicate: number;
  packetsSent: number;
  retransUnicast: number;
  retransSegment: number;
  retransBroadcast: number;
  relayed: number;
  malformed: number;
  wrongHash: number;
  unknownSender: number;
  tokensProcessed: number;
  tokensSwallowed: number;
  tokenRetransmits: number;
  tokenHurries: number;
  tokenHolds: number;
  seqWrapSwallowed: number;
  hurrySent: number;
  hurryReceived: number;
  messagesDelivered: number;
  /** Deliver_packet calls (GlobalStatus.packet_delivered). */
  packetsDelivered: number;
  /** Hurried tokens: sent by the leader's hurry timer, or processed with RETRANS > 0 by a member (GlobalStatus.token_hurry). */
  tokenHurryStatus: number;
  rtrRequested: number;
}

const RELIABLE = PacketType.RELIABLE;
const SLAB_BYTES = 32 * 1024;
const ROUTED = PacketType.ROUTED;
const HEADER = Size.PACKET_HEADER;

interface UpChain {
  parts: Uint8Array[];
  n: number;
  bytes: number;
}

function sameId(a: MembershipId, b: MembershipId): boolean {
  return a.procId === b.procId && a.time === b.time;
}

function i16le(b: Uint8Array, o: number): number {
  return ((b[o]! | (b[o + 1]! << 8)) << 16) >> 16;
}

export class RingEngine {
  readonly settings: Readonly<Required<Omit<RingSettings, 'segments'>>> & { readonly segments: readonly RingSegmentSpec[] };
  private window: number;
  private personalWindow: number;
  private acceleratedWindow: number;
  readonly accelerated: boolean;

  private topo: RingTopology | null = null;
  /** Memb_active_id(): the id regular tokens carry (the future ring's in EVS). */
  private ringId: MembershipId = { procId: 0, time: 0 };
  /** Memb_id(): the id of my data packets and retransmission records (the old ring's in EVS). */
  private dataRingId: MembershipId = { procId: 0, time: 0 };
  /** Last_seq of the ring being installed (EVS). */
  private lastSeq = 0;
  /** Start value of the counters of a ring (install's initialSeq). */
  private baseSeq = 0;
  /** Memb_state(); see RingMode. */
  mode: RingMode = 'op';
  private tokenAliveFlag = false;
  private justInstalled = false;
  private threshold: number;

  // The counters of SPEC.md Part V §4.
  private highestSeqV = 0;
  private myAruV = 0;
  private aruV = 0;
  private lastDiscardedV = 0;
  private lastDeliveredV = 0;
  private tokenRoundsV = 0;
  private receivedTokenRounds = 0;
  private tokenCounter = 0;
  private lastNumSent = 0;
  private lastNumRetrans = 0;
  private tokenPriority = false;
  /** The last token I sent (Last_token), header only. */
  private lastToken: TokenHeader;

  private readonly packets = new PacketWindow();
  private readonly queues: Record<DownQueueName, DownQueue> = { normal: new DownQueue(), groups: new DownQueue() };
  private queueName: DownQueueName = 'normal';
  private queue: DownQueue = this.queues.normal;
  private readonly plan = new PacketPlan();
  private blocked = false;
  /** Accelerated ring: packets built at this visit, sent after the token. */
  private readonly postToken: Uint8Array[] = [];
  private up: UpChain[] = [];

  private out: RingAction[] = [];
  /** Datagrams are carved from slabs: one typed-array allocation per ~20 packets, not per packet. */
  private slab = new Uint8Array(0);
  private slabOff = 0;
  private readonly deadline: Record<RingTimer, number | null> = { tokenLoss: null, hurry: null };
  private readonly timerDirty: Record<RingTimer, boolean> = { tokenLoss: false, hurry: false };

  // Answer_retrans outputs.
  private rtrProcId = 0;
  private rtrSegIndex = 0;
  private readonly carried: RtrRecord[] = [];
  private readonly scratchHeader: PacketHeader;

  readonly stats: RingStats = {
    packetsReceived: 0, packetsDuplicate: 0, packetsSent: 0, retransUnicast: 0, retransSegment: 0,
    retransBroadcast: 0, relayed: 0, malformed: 0, wrongHash: 0, unknownSender: 0, tokensProcessed: 0,
    tokensSwallowed: 0, tokenRetransmits: 0, tokenHurries: 0, tokenHolds: 0, seqWrapSwallowed: 0, hurrySent: 0,
    hurryReceived: 0, messagesDelivered: 0, packetsDelivered: 0, tokenHurryStatus: 0, rtrRequested: 0,
  };

  constructor(settings: RingSettings) {
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
    this.settings = s;
    this.window = s.window;
    this.personalWindow = s.personalWindow;
    this.acceleratedWindow = s.acceleratedWindow;
    this.accelerated = s.accelerated;
    this.threshold = s.deliveryThreshold;
    this.lastToken = this.blankToken();
    this.scratchHeader = {
      type: 0, transmitterId: s.myId, procId: s.myId, membId: this.ringId, seq: 0, tokenRound: 0,
      confHash: s.confHash, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Read-only state (status reports, tests, the simulator's checks).

  get highestSeq(): number { return this.highestSeqV; }
  get myAru(): number { return this.myAruV; }
  get aru(): number { return this.aruV; }
  get lastDiscarded(): number { return this.lastDiscardedV; }
  get lastDelivered(): number { return this.lastDeliveredV; }
  get tokenRounds(): number { return this.tokenRoundsV; }
  get tokenAlive(): boolean { return this.tokenAliveFlag; }
  /** Messages in the current down queue. */
  get queueLength(): number { return this.queue.length; }
  /** Messages in both down queues. */
  get queuedMessages(): number { return this.queues.normal.length + this.queues.groups.length; }
  get downQueue(): DownQueueName { return this.queueName; }
  /** Memb_active_id() as the engine uses it (the token's ring id). */
  get activeRingId(): MembershipId { return { ...this.ringId }; }
  /** Memb_id() as the engine uses it (data packets' ring id). */
  get packetRingId(): MembershipId { return { ...this.dataRingId }; }
  get lastSeqValue(): number { return this.lastSeq; }
  /** Accelerated ring: the edge should read the token channel before the data channel. */
  get tokenHasPriority(): boolean { return this.tokenPriority; }
  get topology(): RingTopology | null { return this.topo; }
  get deliveryThreshold(): number { return this.threshold; }
  get windows(): { window: number; personalWindow: number; acceleratedWindow: number } {
    return { window: this.window, personalWindow: this.personalWindow, acceleratedWindow: this.acceleratedWindow };
  }
  /** A copy of the last token this daemon sent. */
  get lastSentToken(): TokenHeader { return { ...this.lastToken, membId: { ...this.lastToken.membId } }; }
  /** Deadline of an armed timer, or null. */
  timerDeadline(t: RingTimer): number | null { return this.deadline[t]; }

  /** Whether packet `seq` of the current ring was received here (held now, or discarded after). */
  hasReceived(seq: number): boolean {
    return seq <= this.lastDiscardedV || this.packets.holds(seq);
  }

  /** Everything queued since the last call, in order. The array is the caller's. */
  takeActions(): RingAction[] {
    const a = this.out;
    this.out = [];
    return a;
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs.

  /** Starts operating `ring`. Packets of a previous ring are dropped; queued messages stay. */
  install(ring: RingInstall, now: number): void {
    const s = this.settings;
    const topo = new RingTopology(s.myId, s.segments, ring.ringId, ring.members);
    this.topo = topo;
    this.ringId = topo.ringId;
    this.dataRingId = topo.ringId;
    this.scratchHeader.membId = this.dataRingId;
    this.mode = 'op';
    this.packets.clear();
    this.up = [];
    for (let i = 0; i <= topo.numProcs; i++) this.up.push({ parts: [], n: 0, bytes: 0 });
    this.postToken.length = 0;
    this.queue.rewindHead();
    const r = ring.resume;
    const base = r !== undefined ? r.seq : (ring.initialSeq ?? 0);
    this.baseSeq = ring.initialSeq ?? 0;
    this.highestSeqV = base;
    this.myAruV = base;
    this.aruV = base;
    this.lastDiscardedV = base;
    this.lastDeliveredV = base;
    this.lastNumSent = r?.lastNumSent ?? 0;
    this.lastNumRetrans = r?.lastNumRetrans ?? 0;
    this.tokenPriority = false;
    this.lastToken = this.blankToken();
    this.tokenAliveFlag = true;
    const sendFirst = ring.sendFirstToken ?? topo.last === s.myId;
    if (r !== undefined) {
      const t = r.lastToken;
      this.lastToken.type = t.type;
      this.lastToken.seq = t.seq;
      this.lastToken.aru = t.aru;
      this.lastToken.aruLastId = t.aruLastId;
      this.lastToken.flowControl = t.flowControl;
      this.tokenRoundsV = r.tokenRounds;
      // Received_token_rounds trails Token_rounds by the one round the last member starts with.
      this.receivedTokenRounds = r.receivedTokenRounds ?? r.tokenRounds - (topo.last === s.myId ? 1 : 0);
      this.tokenCounter = r.tokenCounter;
      this.justInstalled = false;
    } else {
      this.lastToken.seq = 0;
      this.lastToken.aru = base;
      this.tokenRoundsV = sendFirst ? 1 : 0;
      this.receivedTokenRounds = 0;
      this.tokenCounter = 0;
      this.justInstalled = true;
      if (sendFirst) {
        // Read_form2 at the last member: header-only, seq 0, aru "infinite", sent twice.
        const first: TokenHeader = {
          type: 0, transmitterId: s.myId, procId: s.myId, membId: this.ringId, seq: 0, aru: FIRST_TOKEN_ARU,
          aruLastId: -1, flowControl: 0, rtrLen: 0, confHash: s.confHash,
        };
        const bytes = this.encodeToken(first, null);
        this.sendTo('token', topo.leader, bytes);
        this.sendTo('token', topo.leader, bytes);
      }
    }
    this.arm('tokenLoss', now + s.tokenTimeout);
    // Resuming is "as if I had just processed a token at `now`": the leader's hurry timer runs.
    if (r !== undefined && topo.isLeader) this.arm('hurry', now + s.hurryTimeout);
    else this.cancel('hurry');
    this.flushTimers();
  }

  /** One datagram from the data channel (segment port) or the token channel (port + 1). */
  handleDatagram(channel: Channel, bytes: Uint8Array, now: number): void {
    if (channel === 'token') this.onToken(bytes, now);
    else this.onData(bytes, now);
    this.flushTimers();
  }

  handleTimer(timer: RingTimer, now: number): void {
    const at = this.deadline[timer];
    if (at === null || now < at) return; // cancelled or re-armed later: a stale firing
    this.deadline[timer] = null;
    if (timer === 'tokenLoss') {
      if (this.tokenAliveFlag) this.tokenLoss();
    } else if (this.tokenAliveFlag && this.topo?.isLeader === true) {
      this.tokenHurry(now);
    }
    this.flushTimers();
  }

  /**
   * Queues a whole ring message (48-byte header, groups, data) with its packet type
   * (see packetTypeOf). Throws RingSubmitError for what the ring cannot carry.
   */
  submit(message: Uint8Array, packetType: DataPacketType, now: number, into: DownQueueName = this.queueName): void {
    if (!isDataPacketType(packetType)) throw new RingSubmitError('BAD_PACKET_TYPE', `packet type ${packetType} is not RELIABLE/FIFO/AGREED/SAFE`);
    if (message.length < Size.MESSAGE_HEADER) throw new RingSubmitError('MESSAGE_TOO_SHORT', `a message has at least ${Size.MESSAGE_HEADER} bytes, got ${message.length}`);
    if (message.length > MAX_MESSAGE_BYTES) throw new RingSubmitError('MESSAGE_TOO_LONG', `${message.length} bytes do not fit in 100 fragments (${MAX_MESSAGE_BYTES})`);
    const q = this.queues[into];
    q.push(new DownMessage(message, packetType));
    // A message for the queue the ring does not take from now waits there (Prot_set_down_queue).
    if (q !== this.queue) return;
    const n = this.queue.length;
    if (n >= WATER_MARK && !this.blocked) {
      this.blocked = true;
      this.out.push({ kind: 'backpressure', blocked: true });
    }
    // Prot_new_message: the first queued message while the token is held wakes the ring up.
    if (n === 1 && this.isTokenHold()) {
      const topo = this.topo!;
      if (topo.isLeader) this.handleHurry(topo.myId, now);
      else this.sendHurryPacket(topo.leader);
    }
    this.flushTimers();
  }

  /**
   * Prot_set_down_queue: new packets are taken from `which` from now on. The reference switches
   * to GROUPS while the groups layer exchanges its state after a merge, and back after. Unlike
   * the reference, switching to a queue that holds messages while the token is held wakes the
   * ring up as a first message would (the reference waits for the next hurry).
   */
  setDownQueue(which: DownQueueName, now: number): void {
    if (which === this.queueName) return;
    this.queueName = which;
    this.queue = this.queues[which];
    const n = this.queue.length;
    if (n >= WATER_MARK && !this.blocked) {
      this.blocked = true;
      this.out.push({ kind: 'backpressure', blocked: true });
    } else if (n < WATER_MARK && this.blocked) {
      this.blocked = false;
      this.out.push({ kind: 'backpressure', blocked: false });
    }
    if (n > 0 && this.isTokenHold()) {
      const topo = this.topo!;
      if (topo.isLeader) this.handleHurry(topo.myId, now);
      else this.sendHurryPacket(topo.leader);
    }
    this.flushTimers();
  }

  // ---------------------------------------------------------------------------------------------
  // Membership's side of the ring (RingPort, SPEC.md Part VI §11): Read_form2, EVS, backoff.

  /**
   * Before the first ring: the network membership is `members` (me alone) with ring id `ringId`
   * (me, −1), no live token (Prot_init + Memb_init's Net_set_membership). Datagrams are then
   * screened and handed up as on any ring; nothing is sent.
   */
  standby(ringId: MembershipId, members: readonly number[]): void {
    const s = this.settings;
    const topo = new RingTopology(s.myId, s.segments, ringId, members);
    this.topo = topo;
    this.ringId = topo.ringId;
    this.dataRingId = topo.ringId;
    this.scratchHeader.membId = this.dataRingId;
    this.ensureUpChains();
    this.tokenAliveFlag = false;
    this.mode = 'op';
  }

  /**
   * Read_form2, ring part: the token now circulates `ring.members` with `ring.ringId`, data
   * keeps `ring.oldRingId`; everything up to `ring.aru` is delivered (returned, in order, not
   * queued as actions); `ring.holes` become dummies; EVS until completeEvs / backoff / loseToken.
   * The first regular token is membership's to send.
   */
  installEvs(ring: EvsInstall, now: number): DeliverAction[] {
    const s = this.settings;
    const topo = new RingTopology(s.myId, s.segments, ring.ringId, ring.members);
    this.topo = topo;
    this.ringId = topo.ringId;
    this.dataRingId = { procId: ring.oldRingId.procId | 0, time: ring.oldRingId.time | 0 };
    this.scratchHeader.membId = this.dataRingId;
    this.ensureUpChains();
    this.mode = 'op';
    this.lastNumSent = 0;
    this.lastNumRetrans = 0;
    this.highestSeqV = ring.highestSeq;
    this.aruV = ring.aru;
    const delivered = this.capture(() => this.discardPackets());
    for (const h of ring.holes) {
      if (h <= this.lastDiscardedV) continue;
      this.packets.putDummy(h);
    }
    this.tokenRoundsV = ring.tokenRounds;
    this.tokenAliveFlag = true;
    this.justInstalled = false;
    this.tokenPriority = false;
    this.flushPostToken();
    this.arm('tokenLoss', now + s.tokenTimeout);
    this.cancel('hurry');
    this.receivedTokenRounds = 0;
    this.lastToken.type = 0;
    this.lastToken.seq = 0;
    this.lastToken.aru = 0;
    this.aruV = 0;
    this.mode = 'evs';
    this.lastSeq = ring.lastSeq;
    this.flushTimers();
    return delivered;
  }

  /**
   * Discard_packets in EVS once Aru = Last_seq (membership decides when): the old ring's
   * messages up to the first dummy or SAFE packet, then (after the transitional configuration)
   * the rest — after the first dummy only from daemons in `commit` —; then the engine leaves
   * EVS on the new ring with fresh counters. My partly sent message restarts at its first fragment.
   */
  completeEvs(commit: readonly number[]): EvsDelivered {
    const p = this.packets;
    const topo = this.topo!;
    const beforeTransitional = this.capture(() => {
      for (let i = this.lastDiscardedV + 1; i <= this.highestSeqV; i++) {
        const slot = i & PACKET_MASK;
        const e = p.exist[slot];
        if (e === Exist.DUMMY) break;
        if (e === Exist.ABSENT || p.seq[slot] !== i) {
          this.violation('DISCARD_MISSING', `EVS: packet ${i} missing before the transitional configuration`);
          break;
        }
        if (p.type[slot]! & PacketType.SAFE) break;
        if (e === Exist.HELD) this.deliverPacket(slot);
        p.free(slot);
        this.lastDiscardedV = i;
      }
    });
    const inCommit = new Set(commit.map((id) => id | 0));
    const afterTransitional = this.capture(() => {
      let hole = false;
      for (let i = this.lastDiscardedV + 1; i <= this.highestSeqV; i++) {
        const slot = i & PACKET_MASK;
        const e = p.exist[slot];
        if (e === Exist.DUMMY) {
          hole = true;
        } else if (e === Exist.ABSENT || p.seq[slot] !== i) {
          this.violation('DISCARD_MISSING', `EVS: packet ${i} missing after the transitional configuration`);
        } else if (!hole || inCommit.has(topo.idOfIndex[p.procIndex[slot]!]!)) {
          if (e === Exist.HELD) this.deliverPacket(slot);
        }
        p.free(slot);
      }
    });
    p.clear();
    this.resetUpChains();
    this.queue.rewindHead();
    this.dataRingId = this.ringId;
    this.scratchHeader.membId = this.dataRingId;
    const base = this.baseSeq;
    this.highestSeqV = base;
    this.myAruV = base;
    this.aruV = base;
    this.lastDiscardedV = base;
    this.lastDeliveredV = base;
    this.tokenCounter = 0;
    this.justInstalled = true;
    this.mode = 'op';
    return { beforeTransitional, afterTransitional };
  }

  /**
   * Backoff_membership: an EVS attempt failed. Dummies become real holes again, Aru falls back
   * to Last_discarded, My_aru is recomputed; the engine leaves EVS.
   */
  backoff(): void {
    const p = this.packets;
    for (let i = this.lastDiscardedV + 1; i <= this.highestSeqV; i++) {
      const slot = i & PACKET_MASK;
      if (p.exist[slot] === Exist.DUMMY) p.free(slot);
    }
    this.aruV = this.lastDiscardedV;
    this.myAruV = this.lastDiscardedV;
    this.advanceMyAru();
    this.mode = 'op';
  }

  /**
   * Memb_token_loss, ring part, as membership calls it: tokens are vetoed, delivery BLOCKed,
   * timers cancelled, Last_token's type/seq/aru zeroed. Idempotent; emits no `tokenLost`.
   */
  loseToken(): void {
    this.tokenAliveFlag = false;
    this.justInstalled = false;
    this.threshold = DeliveryThreshold.BLOCK;
    this.lastToken.type = 0;
    this.lastToken.seq = 0;
    this.lastToken.aru = 0;
    this.cancel('tokenLoss');
    this.cancel('hurry');
    if (this.mode === 'evs') this.mode = 'op';
    this.flushTimers();
  }

  /** Create_form1 / Fill_form1, ring part: veto tokens, BLOCK delivery, cancel the ring's timers. */
  stopToken(): void {
    this.tokenAliveFlag = false;
    this.threshold = DeliveryThreshold.BLOCK;
    this.cancel('tokenLoss');
    this.cancel('hurry');
    this.flushTimers();
  }

  /** Runs `fn` with the action queue swapped out; returns the deliveries it produced (others are kept). */
  private capture(fn: () => void): DeliverAction[] {
    const saved = this.out;
    this.out = [];
    let got: RingAction[];
    try {
      fn();
    } finally {
      got = this.out;
      this.out = saved;
    }
    const delivered: DeliverAction[] = [];
    for (const a of got) {
      if (a.kind === 'deliver') delivered.push(a);
      else saved.push(a);
    }
    return delivered;
  }

  private ensureUpChains(): void {
    const n = this.topo!.numProcs + 1;
    while (this.up.length < n) this.up.push({ parts: [], n: 0, bytes: 0 });
  }

  private resetUpChains(): void {
    this.up = [];
    this.ensureUpChains();
  }

  /** Prot_set_delivery_threshold: lowering it delivers what was held back. */
  setDeliveryThreshold(t: DeliveryThreshold): void {
    const old = this.threshold;
    this.threshold = t;
    if (t < old && this.topo !== null) {
      if (t <= PacketType.RELIABLE) this.deliverReliable(this.lastDeliveredV + 1, this.highestSeqV - this.lastDeliveredV);
      if (t <= PacketType.AGREED) this.deliverAgreed();
    }
  }

  /** FC_handle_message: a monitor changed the windows (−1 keeps a value). */
  setFlowControl(w: { window?: number; personalWindow?: number; acceleratedWindow?: number }): void {
    if (w.window !== undefined && w.window !== -1) this.window = w.window;
    if (w.personalWindow !== undefined && w.personalWindow !== -1) this.personalWindow = w.personalWindow;
    if (w.acceleratedWindow !== undefined && w.acceleratedWindow !== -1) this.acceleratedWindow = w.acceleratedWindow;
  }

  /** FC_allowed: how many new packets this visit may send. */
  allowedNewPackets(flowControl: number): number {
    if (this.mode === 'evs') return 0;
    if (this.highestSeqV > this.aruV + MAX_SEQ_GAP) return 0;
    let allowed = this.window + this.personalWindow - flowControl;
    if (allowed < 0) allowed = 0;
    if (allowed > this.window) allowed = this.window;
    if (allowed > this.personalWindow) allowed = this.personalWindow;
    return allowed;
  }

  // ---------------------------------------------------------------------------------------------
  // Data channel (Net_recv + Prot_handle_bcast).

  private onData(bytes: Uint8Array, now: number): void {
    const topo = this.topo;
    if (topo === null) return;
    if (bytes.length < HEADER) {
      this.stats.malformed++;
      return;
    }
    let r: Reader;
    let h: PacketHeader;
    try {
      r = readerFor(bytes, 0, bytes.length, 'packet_header');
      h = decodePacketHeader(r, 0).value;
    } catch {
      this.stats.malformed++;
      return;
    }
    const type = h.type;
    if (h.confHash !== this.settings.confHash && h.confHash !== 1100) {
      this.stats.wrongHash++;
      return;
    }
    if (type & PacketType.PARTITION) {
      this.out.push({ kind: 'upward', what: 'control', channel: 'data', bytes });
      return;
    }
    if (h.membId.procId !== MONITOR_MAGIC && topo.procIndex(h.transmitterId) < 0) {
      this.stats.unknownSender++;
      return;
    }
    if (h.transmitterId === topo.myId) return; // my own broadcast, looped back
    if (bytes.length !== HEADER + h.dataLen) {
      this.stats.malformed++;
      return;
    }
    if (type & ROUTED && topo.bcastNeeded) this.relay(bytes, r.le);

    if (type & PacketType.CONTROL) {
      this.out.push({ kind: 'upward', what: 'control', channel: 'data', bytes });
      return;
    }
    if (type & PacketType.MEMBERSHIP) {
      this.out.push({ kind: 'upward', what: 'membership', channel: 'data', bytes });
      return;
    }
    if (type & PacketType.HURRY) {
      this.stats.hurryReceived++;
      this.handleHurry(h.procId, now);
      return;
    }
    if ((type & PacketType.REGULAR) === 0) {
      this.stats.malformed++;
      return;
    }
    if (!sameId(h.membId, this.dataRingId)) {
      this.out.push({ kind: 'upward', what: 'foreign', channel: 'data', bytes });
      return;
    }

    if (this.tokenAliveFlag) {
      this.arm('tokenLoss', now + this.settings.tokenTimeout);
      if (topo.isLeader) this.arm('hurry', now + this.settings.hurryTimeout);
    }

    const seq = h.seq;
    if (seq <= this.lastDiscardedV) {
      this.stats.packetsDuplicate++;
      return;
    }
    const slot = seq & PACKET_MASK;
    if (this.packets.exist[slot] !== Exist.ABSENT) {
      this.stats.packetsDuplicate++;
      return;
    }
    const procIndex = topo.procIndex(h.procId);
    if (procIndex < 0) {
      this.stats.unknownSender++;
      return;
    }
    if (!validBody(r, h.dataLen, h.fragIndex, h.fragLen)) {
      this.stats.malformed++;
      return;
    }
    const stored = r.le ? bytes : toLittleEndian(r, h);
    this.packets.put(seq, type & PacketType.REGULAR, procIndex, h.fragIndex, stored);
    this.stats.packetsReceived++;

    // Accelerated ring: a packet my predecessor sent after forwarding a token I have not seen
    // yet means every packet of the previous round is in: take the token first.
    if (this.accelerated && !this.tokenPriority && h.tokenRound > this.receivedTokenRounds && h.transmitterId === topo.predecessor) {
      this.tokenPriority = true;
    }

    if (this.highestSeqV < seq) this.highestSeqV = seq;
    if (seq === this.myAruV + 1) {
      this.advanceMyAru();
      this.deliverAgreed();
    } else {
      this.deliverReliable(seq, 1);
    }
  }

  /** Net_recv: the first member of a segment re-broadcasts ROUTED packets to its segment. */
  private relay(bytes: Uint8Array, le: boolean): void {
    const copy = this.copyOf(bytes);
    const me = this.settings.myId;
    if (le) {
      copy[0] = copy[0]! & ~ROUTED;
      put32(copy, 4, me);
    } else {
      copy[3] = copy[3]! & ~ROUTED;
      copy[4] = (me >>> 24) & 0xff;
      copy[5] = (me >>> 16) & 0xff;
      copy[6] = (me >>> 8) & 0xff;
      copy[7] = me & 0xff;
    }
    this.stats.relayed++;
    this.out.push({ kind: 'send', channel: 'data', to: 'segment', target: this.topo!.mySeg, bytes: copy });
  }

  private advanceMyAru(): void {
    const p = this.packets;
    let a = this.myAruV;
    const hi = this.highestSeqV;
    while (a < hi && p.exist[(a + 1) & PACKET_MASK] !== Exist.ABSENT) a++;
    this.myAruV = a;
  }

  // ---------------------------------------------------------------------------------------------
  // Token channel (Net_recv_token + Prot_handle_token).

  private onToken(bytes: Uint8Array, now: number): void {
    const topo = this.topo;
    if (topo === null) return;
    if (bytes.length < Size.TOKEN_HEADER) {
      this.stats.malformed++;
      return;
    }
    let r: Reader;
    let t: TokenHeader;
    try {
      r = readerFor(bytes, 0, bytes.length, 'token_header');
      t = decodeTokenHeader(r, 0).value;
    } catch {
      this.stats.malformed++;
      return;
    }
    if (t.confHash !== this.settings.confHash) {
      this.stats.wrongHash++;
      return;
    }
    if (topo.procIndex(t.transmitterId) < 0) {
      this.stats.unknownSender++;
      return;
    }
    if (t.type & PacketType.FORM) {
      this.out.push({ kind: 'upward', what: 'membership', channel: 'token', bytes });
      return;
    }
    // Veto: no live ring, another ring's token, or not from my predecessor.
    if (!this.tokenAliveFlag || !sameId(t.membId, this.ringId) || t.transmitterId !== topo.predecessor) {
      this.stats.tokensSwallowed++;
      return;
    }
    if (bytes.length !== Size.TOKEN_HEADER + t.rtrLen) {
      this.stats.malformed++;
      return;
    }
    let rtr: RtrRecord[];
    try {
      rtr = decodeRtrList(r, Size.TOKEN_HEADER, bytes.length);
    } catch {
      this.stats.malformed++;
      return;
    }
    if (this.mode !== 'evs' && t.seq > MAX_WRAP_SEQUENCE_VALUE) {
      // Sequence wrap guard: swallow; the token-loss timer then starts a new ring.
      this.stats.seqWrapSwallowed++;
      return;
    }

    const last = this.lastToken;
    const arq = getArq(t.type);
    const lastArq = getArq(last.type);
    if (topo.isLeader) {
      if (arq !== lastArq) {
        this.stats.tokensSwallowed++;
        return;
      }
      if (this.justInstalled) {
        this.justInstalled = false;
        last.aru = this.lastDiscardedV;
      }
    } else {
      if (arq === lastArq) {
        const rt = getRetrans(t.type);
        if (rt > getRetrans(last.type)) {
          // The leader suspects the token lost: resend my last token with its RETRANS.
          last.type = setRetrans(last.type, rt);
          this.stats.tokenRetransmits++;
          this.tokenHurry(now);
        } else {
          this.stats.tokensSwallowed++;
        }
        return;
      }
      if (arq !== ((lastArq + 1) & 0xf)) {
        this.stats.tokensSwallowed++;
        return;
      }
      if (this.justInstalled) {
        this.justInstalled = false;
        last.aru = this.lastDiscardedV;
      }
      if (getRetrans(t.type) > 0) this.stats.tokenHurryStatus++;
    }
    this.processToken(t, rtr, now);
  }

  private processToken(t: TokenHeader, rtr: RtrRecord[], now: number): void {
    const topo = this.topo!;
    const me = topo.myId;
    const evs = this.mode === 'evs';
    this.stats.tokensProcessed++;
    if (this.highestSeqV < t.seq) this.highestSeqV = t.seq;
    this.receivedTokenRounds++;
    this.tokenPriority = false;

    const numRetrans = this.answerRetrans(rtr);
    const allowed = this.allowedNewPackets(t.flowControl);
    const numSent = this.sendNewPackets(allowed);
    t.flowControl = ((t.flowControl - this.lastNumRetrans - this.lastNumSent + numRetrans + numSent) << 16) >> 16;
    this.lastNumRetrans = numRetrans;
    this.lastNumSent = numSent;

    this.advanceMyAru();
    // Accelerated ring: packets after the seq of the token I sent last round may still be on
    // their way, so only holes up to that seq are requested.
    const maxRtrSeq = this.accelerated && !evs ? this.lastToken.seq : this.highestSeqV;
    const records = this.carried;
    if (this.myAruV < maxRtrSeq) {
      let allowedSeqs = Math.trunc((TOKEN_BODY - rtrListLength(records) - Size.RING_RTR) / 4);
      if (allowedSeqs > 1) {
        const seqs: number[] = [];
        for (let i = this.myAruV + 1; i <= maxRtrSeq && allowedSeqs > 0; i++) {
          if (!this.packets.holds(i)) {
            seqs.push(i);
            allowedSeqs--;
          }
        }
        this.stats.rtrRequested += seqs.length;
        records.push({ membId: this.dataRingId, procId: this.rtrProcId, segIndex: this.rtrSegIndex, seqs });
      }
    }

    // EVS commit point (Memb_commit): every packet of my old ring is here, so My_aru jumps to
    // Last_seq, above any seq of any old ring; membership notices it (myAru === lastSeq).
    if (evs && this.myAruV === this.highestSeqV) this.myAruV = this.lastSeq;

    // Token aru: lowered by whoever misses packets, raised by whoever lowered it last, or by
    // anyone while everything announced so far is everywhere.
    if (t.aru > this.myAruV || t.aruLastId === me || (t.aru === t.seq && !evs)) {
      t.aru = this.myAruV;
      t.aruLastId = me;
    }
    t.procId = me;
    if (!evs) t.seq = this.highestSeqV;
    if (topo.isLeader) {
      t.type = setRetrans(setArq(t.type, (getArq(t.type) + 1) & 0xf), 0);
    }
    t.transmitterId = me;
    t.confHash = this.settings.confHash;

    if (topo.isLeader && this.isTokenHold()) {
      this.stats.tokenHolds++;
    } else {
      const bytes = this.encodeToken(t, records.length > 0 ? records : null);
      this.sendTo('token', topo.successor, bytes);
      if (getRetrans(t.type) > 1) {
        this.sendTo('token', topo.successor, bytes);
        this.sendTo('token', topo.successor, bytes);
      }
    }
    records.length = 0;
    t.rtrLen = 0;
    this.tokenRoundsV++;
    if (topo.isLeader) this.arm('hurry', now + this.settings.hurryTimeout);
    this.arm('tokenLoss', now + this.settings.tokenTimeout);
    this.flushPostToken();

    // Aru: the smaller aru of the tokens I sent this round and the round before.
    const last = this.lastToken;
    const newAru = t.aru > last.aru ? last.aru : t.aru;
    if (newAru < this.aruV) {
      this.violation('ARU_DECREASED', `Aru would go from ${this.aruV} down to ${newAru}`);
    } else {
      this.aruV = newAru;
    }
    if (this.highestSeqV === this.aruV) this.tokenCounter++;
    else this.tokenCounter = 0;
    this.lastToken = t;

    this.discardPackets();
    this.deliverAgreed();
    this.deliverReliable(this.highestSeqV - numSent + 1, numSent);
  }

  /** Answer_retrans: resend what my ring's records ask for; keep other rings' records. */
  private answerRetrans(rtr: RtrRecord[]): number {
    const topo = this.topo!;
    let num = 0;
    this.rtrProcId = topo.myId;
    this.rtrSegIndex = topo.mySeg;
    const carried = this.carried;
    carried.length = 0;
    for (let k = 0; k < rtr.length; k++) {
      const rec = rtr[k]!;
      if (!sameId(rec.membId, this.dataRingId)) {
        carried.push(rec);
        continue;
      }
      const seqs = rec.seqs;
      for (let i = 0; i < seqs.length; i++) {
        const s = seqs[i]!;
        if (s < this.aruV) {
          this.violation('RTR_BELOW_ARU', `retransmission of ${s} requested while Aru is ${this.aruV}`);
          continue;
        }
        if (this.packets.hasBytes(s)) {
          this.retransmit(s & PACKET_MASK, rec.procId, rec.segIndex);
          num++;
        } else if (!this.packets.holds(s)) {
          this.rtrProcId = -1;
          if (rec.segIndex !== topo.mySeg) this.rtrSegIndex = -1;
        }
      }
    }
    return num;
  }

  private retransmit(slot: number, procId: number, segIndex: number): void {
    const topo = this.topo!;
    const b = this.copyOf(this.packets.bytes[slot]!);
    b[0] = b[0]! & ~ROUTED;
    put32(b, 4, topo.myId);
    if (procId !== -1) {
      if (topo.procIndex(procId) < 0) return;
      this.stats.retransUnicast++;
      this.sendTo('data', procId, b);
    } else if (segIndex !== -1) {
      this.stats.retransSegment++;
      this.scast(segIndex, b);
    } else {
      this.stats.retransBroadcast++;
      this.bcast(b);
    }
  }

  /** Send_new_packets. */
  private sendNewPackets(allowed: number): number {
    const topo = this.topo!;
    const plan = this.plan;
    const h = this.scratchHeader;
    let sent = 0;
    while (sent < allowed && this.queue.length > 0) {
      this.queue.planPacket(plan);
      const seq = ++this.highestSeqV;
      const bytes = this.alloc(HEADER + plan.dataLen);
      h.type = plan.packetType;
      h.transmitterId = topo.myId;
      h.procId = topo.myId;
      h.seq = seq;
      h.tokenRound = 0; // stamped when actually sent
      h.confHash = this.settings.confHash;
      h.fragIndex = plan.index[0]!;
      h.fragLen = plan.len[0]!;
      encodePacketHeaderInto(h, plan.dataLen, bytes, 0);
      plan.writeBody(bytes, HEADER);
      plan.release();
      const slot = seq & PACKET_MASK;
      if (this.packets.exist[slot] !== Exist.ABSENT) {
        this.violation('SEQ_COLLISION', `created packet ${seq} but slot holds ${this.packets.seq[slot]}`);
      }
      this.packets.put(seq, plan.packetType, topo.myIndex, h.fragIndex, bytes);
      this.queueBcast(bytes);
      sent++;
      this.stats.packetsSent++;
    }
    if (this.blocked && this.queue.length < WATER_MARK) {
      this.blocked = false;
      this.out.push({ kind: 'backpressure', blocked: false });
    }
    return sent;
  }

  /** Prot_queue_bcast: original ring sends now; accelerated keeps the last AcceleratedWindow for after the token. */
  private queueBcast(bytes: Uint8Array): void {
    const q = this.postToken;
    const aw = this.acceleratedWindow;
    if (!this.accelerated || this.mode === 'evs') {
      this.flushPostToken();
      this.stampAndSend(bytes);
      return;
    }
    let n = q.length - aw + 1;
    if (n < 0) n = 0;
    if (n > q.length) n = q.length;
    if (n > 0) {
      for (let i = 0; i < n; i++) this.stampAndSend(q[i]!);
      q.splice(0, n);
    }
    if (aw === 0) this.stampAndSend(bytes);
    else q.push(bytes);
  }

  private flushPostToken(): void {
    const q = this.postToken;
    for (let i = 0; i < q.length; i++) this.stampAndSend(q[i]!);
    q.length = 0;
  }

  private stampAndSend(bytes: Uint8Array): void {
    put32(bytes, 24, this.tokenRoundsV);
    this.bcast(bytes);
  }

  // ---------------------------------------------------------------------------------------------
  // Delivery (SPEC.md Part V §10).

  /** Deliver_reliable_packets: single-packet RELIABLE messages may overtake. */
  private deliverReliable(start: number, num: number): void {
    if (this.mode === 'evs' || this.threshold > PacketType.RELIABLE) return;
    const end = start + num - 1;
    if (start <= this.lastDeliveredV) start = this.lastDeliveredV + 1;
    const p = this.packets;
    for (let i = start; i <= end; i++) {
      const s = i & PACKET_MASK;
      if (p.exist[s] === Exist.HELD && p.type[s]! & RELIABLE && p.firstIndex[s] === -1) this.deliverPacket(s);
    }
  }

  /** Deliver_agreed_packets: everything up to My_aru in seq order, stopping at the first SAFE. */
  private deliverAgreed(): void {
    if (this.myAruV <= this.lastDeliveredV || this.mode === 'evs' || this.threshold > PacketType.AGREED) return;
    const p = this.packets;
    for (let i = this.lastDeliveredV + 1; i <= this.myAruV; i++) {
      const s = i & PACKET_MASK;
      const e = p.exist[s];
      if (e === Exist.HELD) {
        if (p.type[s]! & PacketType.SAFE) return;
        this.deliverPacket(s);
        this.lastDeliveredV++;
      } else if (e === Exist.DELIVERED) {
        this.lastDeliveredV++;
      } else {
        this.violation('AGREED_MISSING', `packet ${i} <= My_aru ${this.myAruV} is missing`);
        return;
      }
    }
  }

  /** Discard_packets (outside EVS): deliver everything up to Aru, SAFE included, and free it. */
  private discardPackets(): void {
    if (this.aruV <= this.lastDiscardedV || this.mode === 'evs') return;
    const p = this.packets;
    for (let i = this.lastDiscardedV + 1; i <= this.aruV; i++) {
      const s = i & PACKET_MASK;
      const e = p.exist[s];
      if (e === Exist.ABSENT) {
        this.violation('DISCARD_MISSING', `packet ${i} <= Aru ${this.aruV} is missing`);
        continue;
      }
      if (e === Exist.HELD) this.deliverPacket(s);
      p.free(s);
    }
    this.lastDiscardedV = this.aruV;
    if (this.lastDeliveredV < this.lastDiscardedV) this.lastDeliveredV = this.lastDiscardedV;
  }

  /** Deliver_packet: chain the first fragment into its sender's message, then the packed ones. */
  private deliverPacket(slot: number): void {
    const p = this.packets;
    const topo = this.topo!;
    const b = p.bytes[slot]!;
    const type = p.type[slot]!;
    const seq = p.seq[slot]!;
    const procIndex = p.procIndex[slot]!;
    const sender = topo.idOfIndex[procIndex]!;
    const firstIndex = p.firstIndex[slot]!;
    const firstLen = i16le(b, 36 + 2);
    const dataLen = b.length - HEADER;
    p.exist[slot] = Exist.DELIVERED;
    this.stats.packetsDelivered++;

    const chain = this.up[type & RELIABLE && firstIndex === -1 ? topo.numProcs : procIndex]!;
    const index = firstIndex < 0 ? -firstIndex : firstIndex;
    if (chain.n + 1 !== index) {
      this.violation('FRAGMENT_SEQUENCE', `packet ${seq}: fragment ${firstIndex} after ${chain.n} fragments`);
      chain.n = 0;
      chain.bytes = 0;
      if (index !== 1) return;
    }
    const first = b.subarray(HEADER, HEADER + firstLen);
    chain.parts[chain.n++] = first;
    chain.bytes += firstLen;
    if (firstIndex < 0) {
      let message: Uint8Array;
      if (chain.n === 1) {
        message = first;
      } else {
        message = this.alloc(chain.bytes);
        let o = 0;
        for (let i = 0; i < chain.n; i++) {
          message.set(chain.parts[i]!, o);
          o += chain.parts[i]!.length;
        }
      }
      for (let i = 0; i < chain.n; i++) chain.parts[i] = undefined as unknown as Uint8Array;
      chain.n = 0;
      chain.bytes = 0;
      this.emitDeliver(message, type, sender, seq);
    }
    let q = firstLen;
    while (q < dataLen) {
      const hdr = q + padBefore(q);
      const len = i16le(b, HEADER + hdr + 2);
      const start = HEADER + hdr + Size.FRAGMENT_HEADER;
      this.emitDeliver(b.subarray(start, start + len), type, sender, seq);
      q = hdr + Size.FRAGMENT_HEADER + len;
    }
  }

  private emitDeliver(message: Uint8Array, packetType: number, sender: number, seq: number): void {
    this.stats.messagesDelivered++;
    this.out.push({ kind: 'deliver', message, packetType, sender, seq });
  }

  // ---------------------------------------------------------------------------------------------
  // Hold, hurry, loss (SPEC.md Part V §6–§7).

  /** Is_token_hold / To_hold_token: idle ring, nothing to stabilise, nobody asked for the token. */
  private isTokenHold(): boolean {
    return (
      this.tokenAliveFlag &&
      (this.mode === 'op' || this.mode === 'gather') &&
      getRetrans(this.lastToken.type) <= 1 &&
      this.aruV === this.highestSeqV &&
      this.tokenCounter > 1
    );
  }

  /** Handle_hurry: a member wants to send while I (the leader) hold the token. */
  private handleHurry(procId: number, now: number): void {
    const topo = this.topo;
    if (topo === null || !topo.isLeader || !this.isTokenHold()) return;
    if (!topo.isMember(procId)) return;
    this.tokenCounter = 0;
    this.tokenHurry(now);
  }

  /** Prot_token_hurry: resend the last token, header only; the leader counts RETRANS up. */
  private tokenHurry(now: number): void {
    const topo = this.topo!;
    const t = this.lastToken;
    t.rtrLen = 0;
    if (topo.isLeader) {
      t.type = setRetrans(t.type, getRetrans(t.type) + 1);
      this.arm('hurry', now + this.settings.hurryTimeout);
      this.stats.tokenHurries++;
      this.stats.tokenHurryStatus++;
    }
    t.transmitterId = topo.myId;
    t.confHash = this.settings.confHash;
    const bytes = this.encodeToken(t, null);
    this.sendTo('token', topo.successor, bytes);
    if (this.settings.wideNetwork && topo.lastOfMySeg === topo.myId) this.sendTo('token', topo.successor, bytes);
    if (getRetrans(t.type) > 1) {
      this.sendTo('token', topo.successor, bytes);
      this.sendTo('token', topo.successor, bytes);
    }
  }

  private sendHurryPacket(leader: number): void {
    const bytes = new Uint8Array(HEADER);
    put32(bytes, 0, (PacketType.HURRY | ENDIAN_MARKER) >>> 0);
    put32(bytes, 4, this.settings.myId);
    put32(bytes, 8, this.settings.myId);
    put32(bytes, 28, this.settings.confHash);
    this.stats.hurrySent++;
    this.sendTo('data', leader, bytes);
  }

  /** The token-loss timer fired (Memb_token_loss, ring part). */
  private tokenLoss(): void {
    this.tokenAliveFlag = false;
    this.justInstalled = false;
    this.threshold = DeliveryThreshold.BLOCK;
    this.lastToken.type = 0;
    this.lastToken.seq = 0;
    this.lastToken.aru = 0;
    this.cancel('tokenLoss');
    this.cancel('hurry');
    this.out.push({ kind: 'tokenLost' });
  }

  // ---------------------------------------------------------------------------------------------
  // Sending.

  /** Net_bcast: ROUTED unicasts to other segments' first members, then my segment's broadcast. */
  private bcast(bytes: Uint8Array): void {
    const topo = this.topo!;
    const targets = topo.routedTargets;
    if (targets.length > 0) {
      const routed = this.copyOf(bytes);
      routed[0] = routed[0]! | ROUTED;
      for (let i = 0; i < targets.length; i++) this.sendTo('data', targets[i]!, routed);
    }
    if (topo.bcastNeeded) this.out.push({ kind: 'send', channel: 'data', to: 'segment', target: topo.mySeg, bytes });
  }

  /** Net_scast. */
  private scast(seg: number, bytes: Uint8Array): void {
    const topo = this.topo!;
    if (seg === topo.mySeg) {
      if (topo.bcastNeeded) this.out.push({ kind: 'send', channel: 'data', to: 'segment', target: seg, bytes });
    } else if (seg >= 0 && seg < topo.numSegments && topo.segmentHasMembers[seg]) {
      const routed = this.copyOf(bytes);
      routed[0] = routed[0]! | ROUTED;
      this.sendTo('data', topo.segmentFirst[seg]!, routed);
    }
  }

  /**
   * `n` fresh zeroed bytes. Slab regions are never reused, so nothing aliases; the price is
   * that a delivered message (a view of its packet) keeps its 32 KiB slab alive.
   */
  private alloc(n: number): Uint8Array {
    if (n > SLAB_BYTES / 4) return new Uint8Array(n);
    if (this.slabOff + n > this.slab.length) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.slabOff = 0;
    }
    const b = this.slab.subarray(this.slabOff, this.slabOff + n);
    this.slabOff = (this.slabOff + n + 7) & ~7;
    return b;
  }

  private copyOf(src: Uint8Array): Uint8Array {
    const b = this.alloc(src.length);
    b.set(src);
    return b;
  }

  private sendTo(channel: Channel, proc: number, bytes: Uint8Array): void {
    this.out.push({ kind: 'send', channel, to: 'proc', target: proc, bytes });
  }

  private encodeToken(t: TokenHeader, records: readonly RtrRecord[] | null): Uint8Array {
    const rtrLen = records === null ? 0 : rtrListLength(records);
    const bytes = new Uint8Array(Size.TOKEN_HEADER + rtrLen);
    encodeTokenHeaderInto(t, rtrLen, bytes, 0);
    if (records !== null) encodeRtrListInto(records, bytes, Size.TOKEN_HEADER);
    return bytes;
  }

  private blankToken(): TokenHeader {
    const s = this.settings;
    return {
      type: 0, transmitterId: s.myId, procId: s.myId, membId: this.ringId, seq: 0, aru: 0, aruLastId: -1,
      flowControl: 0, rtrLen: 0, confHash: s.confHash,
    };
  }

  private violation(code: ViolationCode, message: string): void {
    this.out.push({ kind: 'violation', code, message });
  }

  // ---------------------------------------------------------------------------------------------
  // Timers: deadlines live here; the edge hears only about changes, once per input.

  private arm(t: RingTimer, at: number): void {
    this.deadline[t] = at;
    this.timerDirty[t] = true;
  }

  private cancel(t: RingTimer): void {
    if (this.deadline[t] === null && !this.timerDirty[t]) return;
    this.deadline[t] = null;
    this.timerDirty[t] = true;
  }

  private flushTimers(): void {
    if (this.timerDirty.tokenLoss) {
      this.timerDirty.tokenLoss = false;
      this.out.push({ kind: 'timer', timer: 'tokenLoss', at: this.deadline.tokenLoss });
    }
    if (this.timerDirty.hurry) {
      this.timerDirty.hurry = false;
      this.out.push({ kind: 'timer', timer: 'hurry', at: this.deadline.hurry });
    }
  }
}

/**
 * The fragment chain of a data body fits data_len exactly: nothing follows a non-last first
 * fragment, and every appended fragment is a whole message (index −1), 4-byte aligned.
 */
function validBody(r: Reader, dataLen: number, firstIndex: number, firstLen: number): boolean {
  if (firstIndex === 0 || firstLen < 0 || firstLen > dataLen) return false;
  let p = firstLen;
  while (p < dataLen) {
    if (firstIndex > 0) return false;
    const h = p + padBefore(p);
    if (h + Size.FRAGMENT_HEADER > dataLen) return false;
    const idx = r.i16(HEADER + h);
    const len = r.i16(HEADER + h + 2);
    if (idx !== -1 || len < 0 || h + Size.FRAGMENT_HEADER + len > dataLen) return false;
    p = h + Size.FRAGMENT_HEADER + len;
  }
  return true;
}

/** A big-endian data packet rewritten little-endian (header and in-body fragment headers). */
function toLittleEndian(r: Reader, h: PacketHeader): Uint8Array {
  const out = r.buf.slice(0, HEADER + h.dataLen);
  encodePacketHeaderInto(h, h.dataLen, out, 0);
  let p = h.fragLen;
  while (p < h.dataLen) {
    const hdr = p + padBefore(p);
    const idx = r.i16(HEADER + hdr);
    const len = r.i16(HEADER + hdr + 2);
    put16(out, HEADER + hdr, idx);
    put16(out, HEADER + hdr + 2, len);
    p = hdr + Size.FRAGMENT_HEADER + len;
  }
  return out;
}
