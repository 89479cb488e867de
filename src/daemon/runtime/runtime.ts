/**
 * One running daemon's event loop glue (SPEC.md Part VIII §1–§2): carries out what the node
 * and the core ask for — datagrams to the UDP edge, node timers, ordering runs
 * (setImmediate, never re-entrant), client output, closes, pause/resume — until both are
 * quiet (`settle`). Inputs reach it from the socket edges (clients: after every event; data
 * datagrams: once per Node turn, tokens at once, through the DatagramReader) and from its
 * timers.
 */
import type { SpreadConfig } from '../config/index.js';
import type { CoreLog } from '../core/daemon-core.js';
import type { DaemonCore } from '../core/daemon-core.js';
import { procIdToIp } from '../core/types.js';
import type { RingId } from '../../wire/daemon/header.js';
import type { ClientServer } from '../net/client-server.js';
import type { UdpEdge } from '../net/udp.js';
import type { DaemonNode, NodeAction } from '../node/node.js';
import { DatagramReader } from './datagram-reader.js';
import { CoreDeadline, NodeTimers } from './timers.js';

/** The reference's membership report line, and the one-line ring summary topology tools parse. */
export function membershipLines(ringId: RingId, members: readonly number[]): { report: string; summary: string } {
  const p = ringId.procId | 0;
  const t = ringId.time | 0;
  return {
    report: `Membership id is ( ${p}, ${t})`,
    summary: `ring: ${members.length} members, id ${p}:${t}`,
  };
}

export interface RuntimeOptions {
  readonly node: DaemonNode;
  readonly core: DaemonCore;
  readonly clock: () => number;
  readonly log: CoreLog;
  /** proc id → daemon name, for the membership report. */
  readonly nameOf: ReadonlyMap<number, string>;
  /** Events handled per ordering run before yielding to I/O. */
  readonly orderingBatch: number;
  readonly onFirstRing: (id: RingId) => void;
  /** `fatal`: a RELOAD the reference exits on (SPEC.md Part IX §6). */
  readonly onExit: (reason: string, fatal: boolean) => void;
  /** A RELOAD runs: read spread.conf, then node.reloadLoaded (SPEC.md Part IX §6). */
  readonly onReload: (origin: 'monitor' | 'signal') => void;
  /** A reloaded configuration for the edges (UDP plan, groups layer, names). */
  readonly onReconfigure: (config: SpreadConfig) => void;
}

export class DaemonRuntime {
  readonly reader: DatagramReader;
  server: ClientServer | null = null;
  udp: UdpEdge | null = null;
  private readonly node: DaemonNode;
  private readonly core: DaemonCore;
  private readonly clock: () => number;
  private readonly timers: NodeTimers;
  private readonly deadline: CoreDeadline;
  private orderingScheduled: NodeJS.Immediate | null = null;
  private settling = false;
  /** Whether this settle already delivered a batch of the ordering layer inline. */
  private orderedInline = false;
  private closed = false;

  constructor(private readonly o: RuntimeOptions) {
    this.node = o.node;
    this.core = o.core;
    this.clock = o.clock;
    this.reader = new DatagramReader(o.node, o.clock, this.settle);
    this.timers = new NodeTimers(o.clock, (timer, at) => {
      this.node.timer(timer, at);
      this.settle();
    });
    this.deadline = new CoreDeadline(o.clock, () => {
      this.core.checkDeadlines(this.clock());
      this.settle();
    });
  }

  /** Carries out what the node and the core asked for, until both are quiet. */
  readonly settle = (): void => {
    if (this.settling || this.closed) return;
    this.settling = true;
    this.orderedInline = false;
    try {
      let quiet = false;
      for (let round = 0; round < 1000 && !quiet; round++) {
        this.node.drain(this.clock());
        const acts = this.node.takeActions();
        for (let i = 0; i < acts.length; i++) this.carry(acts[i]!);
        this.udp?.flush();
        const coreDid = this.flushCore();
        quiet = acts.length === 0 && !coreDid;
      }
      if (!quiet) this.o.log.error({}, 'settle: the node and the core did not come to rest after 1000 rounds');
      if (!this.closed) this.deadline.arm(this.core.nextDeadline());
    } finally {
      this.settling = false;
    }
  };

  close(): void {
    this.closed = true;
    if (this.orderingScheduled !== null) clearImmediate(this.orderingScheduled);
    this.orderingScheduled = null;
    this.reader.close();
    this.deadline.close();
    this.timers.close();
  }

  private carry(a: NodeAction): void {
    switch (a.kind) {
      case 'send':
        this.udp?.carry(a);
        break;
      case 'send-raw':
        this.udp?.sendRaw(a.address, a.port, a.bytes);
        break;
      case 'timer':
        this.timers.arm(a.timer, a.at);
        break;
      case 'ordering':
        this.core.orderingReady();
        break;
      case 'configuration':
        this.reportConfiguration(a.ringId, a.members, a.first);
        break;
      case 'reload':
        this.o.onReload(a.origin);
        break;
      case 'reconfigure':
        this.o.onReconfigure(a.config);
        break;
      case 'exit':
        this.o.log.error({}, `exiting: ${a.reason}`);
        this.o.onExit(a.reason, a.fatal === true);
        break;
    }
  }

  private reportConfiguration(ringId: RingId, members: readonly number[], first: boolean): void {
    const lines = membershipLines(ringId, members);
    const names = members.map((id) => this.o.nameOf.get(id | 0) ?? procIdToIp(id));
    this.o.log.info({ ringProcId: ringId.procId, ringTime: ringId.time }, lines.report);
    this.o.log.info({ members: names }, lines.summary);
    if (first) this.o.onFirstRing(ringId);
  }

  /** The core's actions, once; true if there were any. */
  private flushCore(): boolean {
    const server = this.server;
    if (server === null) return false;
    let any = false;
    for (let actions = this.core.takeActions(); actions.length > 0; actions = this.core.takeActions()) {
      any = true;
      for (let i = 0; i < actions.length; i++) {
        const a = actions[i]!;
        switch (a.kind) {
          case 'transmit':
            server.pump(a.conn);
            break;
          case 'close':
            server.close(a.conn, a.flush);
            break;
          case 'pause-reading':
            this.o.log.debug({ backlog: this.core.stats.orderingBacklog }, 'not reading clients (ordering queue full, slow reader or groups exchange)');
            server.pauseReading();
            break;
          case 'resume-reading':
            server.resumeReading();
            break;
          case 'ordering-ready':
            this.orderingReady();
            break;
        }
      }
    }
    return any;
  }

  /**
   * The first batch of a settle is delivered at once, as the reference delivers while it
   * handles a packet (the token has already left: the UDP flush comes first); further batches
   * wait for the next turn, so a long backlog never holds the datagrams behind it.
   */
  private orderingReady(): void {
    if (this.closed || this.orderingScheduled !== null) return;
    if (!this.orderedInline) {
      this.orderedInline = true;
      this.core.processOrdering(this.clock(), this.o.orderingBatch);
      return;
    }
    this.orderingScheduled = setImmediate(this.runOrdering);
  }

  private readonly runOrdering = (): void => {
    this.orderingScheduled = null;
    if (this.closed) return;
    this.core.processOrdering(this.clock(), this.o.orderingBatch);
    this.settle();
  };
}
