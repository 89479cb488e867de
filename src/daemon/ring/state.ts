/**
 * The state of the operational ring (SPEC.md Part V §4): the counters, Packets[], Last_token,
 * the down queues and the pending outputs, in one plain object that the engine's modules
 * (receive, token, new-packets, retrans, delivery, hurry, install, output) take explicitly.
 * `RingEngine` (engine.ts) owns the one instance; nothing here has behaviour.
 */
import type { RingId, PacketHeader, TokenHeader } from '../../wire/daemon/header.js';
import type { RtrRecord } from '../../wire/daemon/token.js';
import type { RingAction } from './actions.js';
import type { DeliveryThreshold } from './constants.js';
import { DownQueue, PacketPlan } from './down-queue.js';
import type { RingSegmentSpec, RingTopology } from './topology.js';
import { PacketWindow } from './window.js';
import { Slab } from '../../wire/slab.js';

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

/** RingSettings with every default filled in. */
export type ResolvedRingSettings = Readonly<Required<Omit<RingSettings, 'segments'>>> & {
  readonly segments: readonly RingSegmentSpec[];
};

/** Memb_state() as far as the ring cares: 'evs' between installEvs and completeEvs / backoff / loseToken. */
export type RingMode = 'op' | 'gather' | 'evs';

/** The down queues (Prot_set_down_queue): client messages, or the groups layer's GROUPS messages. */
export type DownQueueName = 'normal' | 'groups';

export interface RingStats {
  packetsReceived: number;
  packetsDuplicate: number;
  /** Old-ring packets above the installed Highest_seq received in EVS (a stale member's), dropped. */
  evsStale: number;
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

/** A message being reassembled from its fragments (one per originating daemon, one for RELIABLE). */
export interface UpChain {
  parts: Uint8Array[];
  n: number;
  bytes: number;
}

export class RingState {
  window: number;
  personalWindow: number;
  acceleratedWindow: number;
  accelerated: boolean;

  topo: RingTopology | null = null;
  /** Memb_active_id(): the id regular tokens carry (the future ring's in EVS). */
  ringId: RingId = { procId: 0, time: 0 };
  /** Memb_id(): the id of my data packets and retransmission records (the old ring's in EVS). */
  dataRingId: RingId = { procId: 0, time: 0 };
  /** Last_seq of the ring being installed (EVS). */
  lastSeq = 0;
  /** Start value of the counters of a ring (install's initialSeq). */
  baseSeq = 0;
  mode: RingMode = 'op';
  tokenAlive = false;
  justInstalled = false;
  threshold: number;

  // The counters of SPEC.md Part V §4.
  highestSeq = 0;
  myAru = 0;
  aru = 0;
  lastDiscarded = 0;
  lastDelivered = 0;
  tokenRounds = 0;
  receivedTokenRounds = 0;
  tokenCounter = 0;
  lastNumSent = 0;
  lastNumRetrans = 0;
  tokenPriority = false;
  /** The last token I sent (Last_token), header only. */
  lastToken: TokenHeader;

  readonly packets = new PacketWindow();
  readonly queues: Record<DownQueueName, DownQueue> = { normal: new DownQueue(), groups: new DownQueue() };
  queueName: DownQueueName = 'normal';
  queue: DownQueue = this.queues.normal;
  readonly plan = new PacketPlan();
  blocked = false;
  /** Accelerated ring: packets built at this visit, sent after the token. */
  readonly postToken: Uint8Array[] = [];
  up: UpChain[] = [];

  out: RingAction[] = [];
  /** Datagrams are carved from slabs: one typed-array allocation per ~20 packets, not per packet. */
  readonly slab = new Slab();
  /** Timer deadlines (null: not armed), and whether the edge has yet to hear of a change. */
  tokenLossAt: number | null = null;
  hurryAt: number | null = null;
  tokenLossDirty = false;
  hurryDirty = false;

  // Answer_retrans outputs, and the records the next token carries.
  rtrProcId = 0;
  rtrSegIndex = 0;
  readonly carried: RtrRecord[] = [];
  /** Header of the packet being built (Send_new_packets), reused. */
  readonly scratchHeader: PacketHeader;

  readonly stats: RingStats = {
    packetsReceived: 0, packetsDuplicate: 0, evsStale: 0, packetsSent: 0, retransUnicast: 0, retransSegment: 0,
    retransBroadcast: 0, relayed: 0, malformed: 0, wrongHash: 0, unknownSender: 0, tokensProcessed: 0,
    tokensSwallowed: 0, tokenRetransmits: 0, tokenHurries: 0, tokenHolds: 0, seqWrapSwallowed: 0, hurrySent: 0,
    hurryReceived: 0, messagesDelivered: 0, packetsDelivered: 0, tokenHurryStatus: 0, rtrRequested: 0,
  };

  /** Replaced as a whole by a configuration reload (RingEngine.reconfigure). */
  settings: ResolvedRingSettings;
  /**
   * After a configuration reload: every daemon of the new configuration, which the topology
   * (the old one's, until the next install) does not know yet; they may send to this daemon.
   */
  reloadedIds: ReadonlySet<number> | null = null;

  constructor(settings: ResolvedRingSettings) {
    this.settings = settings;
    this.window = settings.window;
    this.personalWindow = settings.personalWindow;
    this.acceleratedWindow = settings.acceleratedWindow;
    this.accelerated = settings.accelerated;
    this.threshold = settings.deliveryThreshold;
    this.lastToken = blankToken(this);
    this.scratchHeader = {
      type: 0, transmitterId: settings.myId, procId: settings.myId, membId: this.ringId, seq: 0, tokenRound: 0,
      confHash: settings.confHash, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0,
    };
  }
}

/** Last_token of a fresh ring: type, seq and aru 0, from me. */
export function blankToken(st: RingState): TokenHeader {
  const s = st.settings;
  return {
    type: 0, transmitterId: s.myId, procId: s.myId, membId: st.ringId, seq: 0, aru: 0, aruLastId: -1,
    flowControl: 0, rtrLen: 0, confHash: s.confHash,
  };
}

/** Sets both ring ids (Memb_active_id for tokens, Memb_id for data) and the header template's. */
export function setRingIds(st: RingState, ringId: RingId, dataRingId: RingId): void {
  st.ringId = ringId;
  st.dataRingId = dataRingId;
  st.scratchHeader.membId = dataRingId;
}
