/**
 * One daemon's ring side, sans I/O: the operational ring engine, the membership machine (which
 * drives the engine through its RingPort) and the core's Ordering over both (ring-ordering.ts),
 * plus the monitor's status replies. The client side (sessions, groups) is DaemonCore; the
 * sockets and timers are daemon.ts (and, on a virtual clock and network, src/sim/daemons.ts).
 *
 *   inputs   start(now)                            Memb_init: the first ring follows Seg + Gather
 *            requestReload(now)                    a RELOAD for this daemon alone (SIGHUP)
 *            reloadLoaded(reload, now)             the edge read spread.conf for a RELOAD
 *            datagram(channel, bytes, now)         a UDP datagram that passed the edge's screen
 *            timer(timer, now)                     a timer armed by a `timer` action fired
 *                                                  ({owner: 'ring' | 'memb', timer}: whose timer)
 *            drain(now)                            after the core called into the ordering
 *   outputs  takeActions(): send / send-raw / timer / configuration / ordering / reload /
 *            reconfigure / exit
 *
 * Configuration reload (SPEC.md Part IX §6): when membership runs a RELOAD the node asks the
 * edge with a `reload` action (with `reloadByEdge`); the edge reads spread.conf and answers
 * reloadLoaded; a changed configuration goes to the engine (hash, segments, windows) and to
 * membership here, and to the edge's UDP plan and groups layer through a `reconfigure` action
 * queued before anything the token loss then sends.
 *
 * Routing, as the reference's Net_recv / Prot_handle_bcast / Prot_handle_token:
 *   PARTITION (data)                  → membership (before any other filter)
 *   membership.admits() false         → dropped (another monitor-partition component)
 *   everything else                   → engine; its `upward` actions go on to membership
 *                                       (ALIVE/JOIN/REFER, FORM1/FORM2, foreign data packets)
 *                                       or to the monitor handling here (STATUS, FC, RELOAD)
 *   engine `tokenLost`                → membership.tokenLost; after every token the engine
 *                                       processed → membership.ringProgress (RingPort E7)
 *   engine / membership `deliver`, membership `transitional` / `regular` → the ordering, in
 *                                       the order produced
 */
import { peekTypeWord } from '../../wire/bytes.js';
import { MONITOR_MAGIC, PacketType } from '../../wire/daemon/constants.js';
import type { Channel } from '../../wire/daemon/datagram.js';
import { safeDecode } from '../../wire/daemon/datagram.js';
import type { StatusBody } from '../../wire/daemon/monitor.js';
import { acceleratedRingAtStart, configHash, effectiveTimeouts, isWideNetwork } from '../config/index.js';
import type { SpreadConfig } from '../config/index.js';
import type { CoreLog } from '../core/daemon-core.js';
import { silentLog } from '../core/daemon-core.js';
import type { RingId } from '../../wire/daemon/header.js';
import { Membership, membershipSettingsFromConfig, membStateName } from '../membership/index.js';
import type { MembershipAction, MembershipReload, MembershipTimer } from '../membership/index.js';
import type { RingAction, RingTimer, SendAction } from '../ring/actions.js';
import { DeliveryThreshold, INITIAL_SEQUENCE_NEAR_WRAP } from '../ring/constants.js';
import { RingEngine } from '../ring/engine.js';
import { encodeStatusReply } from '../../wire/daemon/monitor.js';
import { STATUS_VERSION } from './monitor.js';
import { RingOrdering } from './ring-ordering.js';

import { NO_ACTIONS } from '../no-actions.js';

/** A timer of the node: the ring engine's or membership's, as its owner named it. */
export type NodeTimer =
  | { readonly owner: 'ring'; readonly timer: RingTimer }
  | { readonly owner: 'memb'; readonly timer: MembershipTimer };

const TIMER_KEYS: { readonly [O in NodeTimer['owner']]: Record<string, string> } = { ring: {}, memb: {} };

/** A string naming `t` uniquely (a map key for the edge's per-timer state); made once per timer. */
export function nodeTimerKey(t: NodeTimer): string {
  return (TIMER_KEYS[t.owner][t.timer] ??= `${t.owner}:${t.timer}`);
}

/** The ring engine's timers as node timers: one object each (the token-loss timer moves with every packet). */
const RING_TIMERS: { readonly [T in RingTimer]: NodeTimer } = {
  tokenLoss: { owner: 'ring', timer: 'tokenLoss' },
  hurry: { owner: 'ring', timer: 'hurry' },
};

export type NodeAction =
  /** A datagram to a daemon or a segment (the UDP edge's `carry`). */
  | SendAction
  /** A datagram to an explicit address: a status reply to a monitor. */
  | { readonly kind: 'send-raw'; readonly address: number; readonly port: number; readonly bytes: Uint8Array }
  /** Arm `timer` at `at` (ms on the node's clock), replacing an earlier arming; null cancels. */
  | { readonly kind: 'timer'; readonly timer: NodeTimer; readonly at: number | null }
  /** A regular configuration was installed (print the membership report). */
  | { readonly kind: 'configuration'; readonly ringId: RingId; readonly members: readonly number[]; readonly first: boolean }
  /** The ordering layer has events: the core should process them. */
  | { readonly kind: 'ordering' }
  /** A RELOAD runs (`signal`: ours, requestReload): read spread.conf and answer reloadLoaded. */
  | { readonly kind: 'reload'; readonly origin: 'monitor' | 'signal' }
  /** A reloaded configuration: the edge's UDP plan and the groups layer take it now. */
  | { readonly kind: 'reconfigure'; readonly config: SpreadConfig }
  /** A monitor told this daemon to exit (PARTITION component −1); `fatal`: a RELOAD the reference exits on. */
  | { readonly kind: 'exit'; readonly reason: string; readonly fatal?: boolean };

/** The 'ordering' action has no fields: one shared object (it is pushed once per settle). */
const ORDERING_READY: NodeAction = Object.freeze({ kind: 'ordering' });

/** What the edge found in spread.conf for a `reload` action (reloadLoaded's argument). */
export type NodeReload =
  | { readonly kind: 'changed'; readonly config: SpreadConfig; readonly needPartition: boolean }
  | { readonly kind: 'unchanged' }
  /** Not applied; `exit`: the reason to exit with (the reference's message), null: keep running. */
  | { readonly kind: 'refused'; readonly exit: string | null };

/** What the status report needs from the client side. */
export interface NodeStatusSource {
  readonly sessions: () => number;
  readonly groups: () => number;
  /** Groups layer state (1 GOP … 4 GGT). */
  readonly gstate: () => number;
}

export interface DaemonNodeOptions {
  readonly config: SpreadConfig;
  /** This daemon's proc id. */
  readonly myId: number;
  /** Monotonic ms: the clock every `now` argument is on (the ordering reads it for submissions). */
  readonly now: () => number;
  /** Wall-clock seconds at monotonic `now` (ring and FORM ids). Default Date.now() / 1000. */
  readonly wallClock?: (now: number) => number;
  readonly log?: CoreLog;
  readonly status?: NodeStatusSource;
  /**
   * The edge reads spread.conf for every `reload` action and answers reloadLoaded
   * (Conf_reload_initiate). Default false: a RELOAD re-forms the ring with the running
   * configuration.
   */
  readonly reloadByEdge?: boolean;
}

export interface NodeStats {
  /** Datagrams dropped by the monitor-partition filter. */
  partitioned: number;
  /** Monitor requests ignored (not from a monitor, not configured, not allowed). */
  monitorIgnored: number;
  statusReplies: number;
  violations: number;
  configurations: number;
}

export class DaemonNode {
  readonly engine: RingEngine;
  readonly membership: Membership;
  readonly ordering: RingOrdering;
  readonly stats: NodeStats = { partitioned: 0, monitorIgnored: 0, statusReplies: 0, violations: 0, configurations: 0 };
  private readonly myId: number;
  private readonly log: CoreLog;
  private dangerousMonitor: boolean;
  private readonly procIndex = new Map<number, number>();
  private readonly status: NodeStatusSource | undefined;
  private readonly reloadByEdge: boolean;
  /** The RELOAD waiting for OP is ours (SIGHUP), not a monitor's. */
  private reloadBySignal = false;
  private out: NodeAction[] = [];
  private startedAt = 0;
  /** `ordering.pushed` when the core was last told that the ordering has events. */
  private signalledAt = 0;
  private rings = 0;

  constructor(options: DaemonNodeOptions) {
    const config = options.config;
    this.myId = options.myId | 0;
    this.log = options.log ?? silentLog;
    this.status = options.status;
    this.dangerousMonitor = config.settings.dangerousMonitor;
    config.daemons.forEach((d, i) => this.procIndex.set(d.id | 0, i));
    const timeouts = effectiveTimeouts(config);
    const segments = config.segments.map((s) => ({ daemons: s.daemons.map((d) => d.id | 0) }));
    this.engine = new RingEngine({
      myId: this.myId,
      segments,
      confHash: configHash(config),
      window: config.settings.window,
      personalWindow: config.settings.personalWindow,
      acceleratedWindow: config.settings.acceleratedWindow,
      accelerated: acceleratedRingAtStart(config),
      tokenTimeout: timeouts.token,
      hurryTimeout: timeouts.hurry,
      wideNetwork: isWideNetwork(config),
      // The reference starts BLOCKed; the groups layer opens delivery at the first configuration.
      deliveryThreshold: DeliveryThreshold.BLOCK,
    });
    // DebugInitialSequence: every ring's counters start near the wrap (the engine keeps the
    // start value of its last install); the first ring is membership's as always.
    if (config.settings.debugInitialSequence) {
      this.engine.install({ ringId: { procId: this.myId, time: 0 }, members: [this.myId], initialSeq: INITIAL_SEQUENCE_NEAR_WRAP }, 0);
      this.engine.takeActions();
    }
    const wall = options.wallClock ?? ((): number => Date.now() / 1000);
    this.reloadByEdge = options.reloadByEdge ?? false;
    this.membership = new Membership({ ...membershipSettingsFromConfig(config, this.myId), wallClock: wall, reloadByEdge: this.reloadByEdge }, this.engine);
    this.ordering = new RingOrdering({ engine: this.engine, log: this.log });
  }

  // ------------------------------------------------------------------------------------------
  // Inputs

  /**
   * Memb_init: alone, token lost at once; the first ring forms after Seg + Gather timeouts, the
   * first Seg period counted from `since` (the process's start; default now).
   */
  start(now: number, since = now): void {
    this.startedAt = now;
    this.membership.start(now, since);
    this.drain(now);
  }

  /** A RELOAD for this daemon alone (ours: SIGHUP): now in OP, else once OP is reached. */
  requestReload(now: number): void {
    this.reloadBySignal = true;
    this.membership.requestReload(now);
    this.drain(now);
  }

  /**
   * The edge's verdict on spread.conf for the RELOAD that ran (Prot_initiate_conf_reload's
   * signals): a changed configuration reaches the engine (FC_signal_conf_reload included), this
   * node's monitor checks, the edge (a `reconfigure` action) and membership, which then loses
   * the token.
   */
  reloadLoaded(r: NodeReload, now: number): void {
    if (r.kind === 'refused') {
      if (r.exit !== null) this.out.push({ kind: 'exit', reason: r.exit, fatal: true });
      this.membership.reloadLoaded('refused', now);
    } else if (r.kind === 'unchanged') {
      this.membership.reloadLoaded(null, now);
    } else {
      this.membership.reloadLoaded(this.takeConfiguration(r.config, r.needPartition), now);
    }
    this.drain(now);
  }

  datagram(channel: Channel, bytes: Uint8Array, now: number): void {
    const type = peekTypeWord(bytes, 0);
    if (channel === 'data' && type !== null && (type & PacketType.PARTITION) !== 0) {
      this.membership.handleDatagram(channel, bytes, now);
    } else if (!this.membership.admits(channel, bytes)) {
      this.stats.partitioned++;
    } else {
      const before = this.engine.stats.tokensProcessed;
      this.engine.handleDatagram(channel, bytes, now);
      this.drain(now);
      if (this.engine.stats.tokensProcessed !== before) this.membership.ringProgress(now);
    }
    this.drain(now);
  }

  timer(timer: NodeTimer, now: number): void {
    if (timer.owner === 'ring') this.engine.handleTimer(timer.timer, now);
    else this.membership.handleTimer(timer.timer, now);
    this.drain(now);
  }

  /** Carries out what the engine and membership queued (also after the core used the ordering). */
  drain(now: number): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const ring = this.engine.takeActions();
      for (let i = 0; i < ring.length; i++) this.onRing(ring[i]!, now);
      const memb = this.membership.takeActions();
      for (let i = 0; i < memb.length; i++) this.onMembership(memb[i]!, now);
      if (ring.length === 0 && memb.length === 0) break;
    }
    const pushed = this.ordering.pushed;
    if (pushed !== this.signalledAt) {
      this.signalledAt = pushed;
      this.out.push(ORDERING_READY);
    }
  }

  /** Everything to carry out since the last call, in order. */
  takeActions(): readonly NodeAction[] {
    const a = this.out;
    if (a.length === 0) return NO_ACTIONS;
    this.out = [];
    return a;
  }

  /** The status a monitor gets (GlobalStatus). */
  statusBody(now: number): StatusBody {
    const e = this.engine;
    const st = e.stats;
    const m = this.membership.status();
    const segs = new Set<number>();
    for (const id of m.regularMembers) {
      const seg = this.membership.conf.proc(id)?.segIndex;
      if (seg !== undefined) segs.add(seg);
    }
    const w = e.windows;
    return {
      sec: Math.floor((now - this.startedAt) / 1000),
      state: m.state,
      gstate: this.status?.gstate() ?? 1,
      packetSent: st.packetsSent,
      packetRecv: st.packetsReceived,
      packetDelivered: st.packetsDelivered,
      retrans: st.retransUnicast + st.retransSegment + st.retransBroadcast,
      uRetrans: st.retransUnicast,
      sRetrans: st.retransSegment,
      bRetrans: st.retransBroadcast,
      aru: e.aru,
      myAru: e.myAru,
      highestSeq: e.highestSeq,
      tokenHurry: st.tokenHurryStatus,
      tokenRounds: e.tokenRounds,
      myId: this.myId,
      leaderId: m.ringId.procId,
      messageDelivered: this.ordering.stats.regularDelivered,
      membershipChanges: m.membershipChanges,
      numProcs: m.regularMembers.length,
      numSegments: segs.size,
      window: w.window,
      personalWindow: w.personalWindow,
      acceleratedRing: e.accelerated ? 1 : 0,
      acceleratedWindow: w.acceleratedWindow,
      numSessions: this.status?.sessions() ?? 0,
      numGroups: this.status?.groups() ?? 0,
      majorVersion: STATUS_VERSION.major,
      minorVersion: STATUS_VERSION.minor,
      patchVersion: STATUS_VERSION.patch,
    };
  }

  /** Membership state name (OP, SEG, …) for logs. */
  get stateName(): string {
    return membStateName(this.membership.memberState);
  }

  // ------------------------------------------------------------------------------------------
  // Engine and membership actions

  private onRing(a: RingAction, now: number): void {
    switch (a.kind) {
      case 'send':
        this.out.push(a);
        break;
      case 'timer':
        this.out.push({ kind: 'timer', timer: RING_TIMERS[a.timer], at: a.at });
        break;
      case 'deliver':
        this.ordering.delivered(a);
        break;
      case 'tokenLost':
        this.membership.tokenLost(now);
        break;
      case 'upward':
        if (a.what === 'control') this.onControl(a.bytes, now);
        else this.membership.handleDatagram(a.channel, a.bytes, now);
        break;
      case 'backpressure':
        // The core re-reads the ordering backlog (and resumes reading clients) when it runs.
        this.out.push(ORDERING_READY);
        break;
      case 'violation':
        this.stats.violations++;
        this.log.error({ code: a.code }, `ring protocol violation (the reference exits): ${a.message}`);
        break;
    }
  }

  private onMembership(a: MembershipAction, now: number): void {
    switch (a.kind) {
      case 'send':
        this.out.push(a);
        break;
      case 'timer':
        this.out.push({ kind: 'timer', timer: { owner: 'memb', timer: a.timer }, at: a.at });
        break;
      case 'deliver':
        this.ordering.delivered(a);
        break;
      case 'transitional':
        this.ordering.transitional(a.members, a.id);
        break;
      case 'regular': {
        this.stats.configurations++;
        this.ordering.regular(a.members, a.ringId, now);
        const first = this.rings++ === 0;
        this.out.push({ kind: 'configuration', ringId: { procId: a.ringId.procId | 0, time: a.ringId.time | 0 }, members: [...a.members], first });
        break;
      }
      case 'exit':
        this.out.push({ kind: 'exit', reason: a.reason });
        break;
      case 'reload': {
        const origin = this.reloadBySignal ? 'signal' : 'monitor';
        this.reloadBySignal = false;
        if (this.reloadByEdge) this.out.push({ kind: 'reload', origin });
        break;
      }
      case 'log':
        if (a.level === 'error') this.log.error({ state: this.stateName }, a.message);
        else if (a.level === 'warning') this.log.warn({ state: this.stateName }, a.message);
        else this.log.debug({ state: this.stateName }, a.message);
        break;
    }
  }

  /** A changed configuration into the engine, the monitor checks and the edge; membership's part returned. */
  private takeConfiguration(c: SpreadConfig, needPartition: boolean): MembershipReload {
    const m = membershipSettingsFromConfig(c, this.myId);
    const w = c.settings;
    this.engine.reconfigure({ segments: m.segments, confHash: m.confHash, window: w.window, personalWindow: w.personalWindow, acceleratedWindow: w.acceleratedWindow, accelerated: acceleratedRingAtStart(c) });
    this.dangerousMonitor = w.dangerousMonitor;
    this.procIndex.clear();
    c.daemons.forEach((d, i) => this.procIndex.set(d.id | 0, i));
    this.out.push({ kind: 'reconfigure', config: c });
    return { segments: m.segments, confHash: m.confHash, dangerousMonitor: w.dangerousMonitor, needPartition };
  }

  /** STATUS / FC / RELOAD from a monitor (the engine hands them up unchanged). */
  private onControl(bytes: Uint8Array, now: number): void {
    const r = safeDecode(bytes, 'data');
    if (!r.ok) {
      this.stats.monitorIgnored++;
      return;
    }
    const d = r.value;
    switch (d.kind) {
      case 'status-request': {
        const h = d.header;
        if (h.membId.procId !== MONITOR_MAGIC || !this.procIndex.has(h.procId | 0)) {
          this.stats.monitorIgnored++;
          return;
        }
        this.stats.statusReplies++;
        this.out.push({ kind: 'send-raw', address: h.procId | 0, port: h.seq & 0xffff, bytes: encodeStatusReply(this.myId, this.statusBody(now)) });
        break;
      }
      case 'fc': {
        const h = d.header;
        if (!this.dangerousMonitor || h.membId.procId !== MONITOR_MAGIC || !this.procIndex.has(h.procId | 0)) {
          this.stats.monitorIgnored++;
          this.log.info({}, 'monitor flow-control request denied (DangerousMonitor off, or not from a monitor)');
          return;
        }
        const me = this.procIndex.get(this.myId)!;
        this.engine.setFlowControl({
          window: d.windows[this.procIndex.size] ?? -1,
          personalWindow: d.windows[me] ?? -1,
          acceleratedWindow: d.acceleratedWindows[me] ?? -1,
        });
        this.log.info(this.engine.windows, 'monitor changed the flow control');
        break;
      }
      case 'reload':
        this.reloadBySignal = false;
        this.membership.handleDatagram('data', bytes, now);
        break;
      case 'partition':
        this.membership.handleDatagram('data', bytes, now);
        break;
      default:
        this.stats.monitorIgnored++;
    }
  }
}
