/**
 * The simulator's whole-daemon mode (SPEC.md Part V §13): every daemon is the code a real
 * daemon runs minus its sockets — DaemonNode (ring engine, membership, ordering, monitor
 * replies) and the client-facing DaemonCore with its groups layer — on one virtual clock, one
 * event heap (heap.ts), one seeded PRNG (prng.ts) and the simulated network (network.ts).
 *
 * The edge here is daemon.ts's, played on the heap: a datagram goes to node.datagram(), a fired
 * timer to node.timer(), and after every input the node's and the core's actions are carried
 * out until both are quiet (settle). Daemons start, crash (nothing in, nothing out, timers
 * dead) and restart as fresh processes; the network can be partitioned and healed; a monitor's
 * PARTITION can be sent. Each daemon's log holds what its core consumed from the ordering —
 * configurations and messages, in order — for the EVS checks of evs.ts.
 */
import { parseConfig, type MembershipTimeouts, type SpreadConfig } from '../daemon/config/index.js';
import { ringMessageFromFrame, type RingMessage } from '../daemon/core/frames.js';
import type { OrderingEvent } from '../daemon/core/ordering.js';
import { silentLog } from '../daemon/core/daemon-core.js';
import type { RingId } from '../wire/daemon/header.js';
import { DaemonNode, nodeTimerKey, type NodeAction, type NodeTimer } from '../daemon/node/node.js';
import { judgeReload } from '../daemon/reload.js';
import { ServiceType } from '../wire/client/constants.js';
import { encodeMessage, makeHint } from '../wire/client/message.js';
import { encodeDatagram, ipString, MONITOR_HASH, MONITOR_MAGIC, PacketType, procIdOf } from '../wire/daemon/index.js';
import type { Channel } from '../wire/daemon/datagram.js';
import { SimClient } from './client.js';
import { SimCore } from './core-adapter.js';
import { EventHeap, type Timed } from './heap.js';
import { Network, type NetworkFaults } from './network.js';
import { Prng } from './prng.js';
import { dataOffset, mayOvertake } from './scenario.js';

export type LogEntry =
  /** `ordered`: delivered in ring order (false: a single-packet (UN)RELIABLE message, scenario.ts mayOvertake). */
  | { t: number; kind: 'deliver'; ring: string; sender: string; text: string; ordered: boolean }
  | { t: number; kind: 'transitional'; ring: string; members: number[]; id: string; ringId: RingId }
  | { t: number; kind: 'regular'; ring: string; members: number[]; id: string; ringId: RingId };

/** A ring id as the logs name it: leader IP / time. */
export function idKey(m: RingId): string {
  return `${ipString(m.procId)}/${m.time}`;
}

export class SimDaemon {
  alive = false;
  /** How often it was started (a datagram or timer of an older incarnation is dropped). */
  incarnation = 0;
  node!: DaemonNode;
  core!: SimCore;
  /** Current regular ring ('' before the first). */
  ringKey = '';
  readonly log: LogEntry[] = [];
  /** The node's `configuration` and `send-raw` actions, in order. */
  readonly reports: NodeAction[] = [];
  /** Pending timers: key → deadline. */
  readonly timers = new Map<string, number>();
  /** Its clients' connections (of this incarnation). */
  readonly clients = new Map<number, SimClient>();
  /** Messages traffic() submitted here. */
  sent = 0;
  /** Ring protocol violations of earlier incarnations. */
  pastViolations = 0;
  /** Paused (SIGSTOP) until this virtual time: what arrives meanwhile waits for it. */
  pausedUntil = 0;
  /** Its spread.conf (read at boot and by a RELOAD; setConfig) and the configuration it runs on. */
  file: SpreadConfig | null = null;
  running: SpreadConfig | null = null;
  /** Inputs that arrived while paused, in arrival order (a socket buffer keeps its order). */
  readonly held: (() => void)[] = [];
  constructor(
    readonly index: number,
    readonly id: number,
    readonly name: string,
  ) {}

  get ip(): string {
    return ipString(this.id);
  }
}

/** One-way latency (ms) between a client and its daemon. */
export const CLIENT_LATENCY = 0.05;

interface SimEvent extends Timed {
  run: () => void;
}

export interface DaemonSimOptions {
  readonly seed: number;
  /** Network faults; default: lossless, 0.1–0.6 ms latency, no duplicates, no reordering. */
  readonly network?: Partial<NetworkFaults>;
  /** Wall-clock seconds at virtual time 0 (ring and FORM ids are made of it). */
  readonly epoch?: number;
}

export class DaemonSim {
  now = 0;
  readonly daemons: SimDaemon[] = [];
  readonly network: Network;
  readonly prng: Prng;
  readonly epoch: number;
  private readonly heap = new EventHeap<SimEvent>();
  private readonly byId = new Map<number, SimDaemon>();
  /** Each segment's daemons, in configuration order. */
  private readonly bySegment: SimDaemon[][] = [];
  private nextConn = 1;

  constructor(
    readonly config: SpreadConfig,
    options: DaemonSimOptions = { seed: 1 },
  ) {
    this.prng = new Prng(options.seed);
    this.epoch = options.epoch ?? 1_700_000_000;
    this.network = new Network({
      loss: 0, dup: 0, delayMin: 0.1, delayMax: 0.6, reorder: 0, reorderDelay: 0, loopbackLoss: false, ...options.network,
    }, this.prng.fork());
    config.daemons.forEach((spec, index) => {
      const d = new SimDaemon(index, spec.id | 0, spec.name);
      this.daemons.push(d);
      this.byId.set(d.id, d);
      (this.bySegment[spec.segmentIndex] ??= []).push(d);
      this.boot(d);
    });
  }

  /** A daemon by configuration index, IP or name. */
  daemon(who: number | string): SimDaemon {
    const byIp = typeof who === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(who);
    const d = typeof who === 'number' ? this.daemons[who] : byIp ? this.byId.get(procIdOf(who)) : this.daemons.find((x) => x.name === who);
    if (d === undefined) throw new Error(`no daemon ${who}`);
    return d;
  }

  /** Violations of the ring protocol (what the reference treats as fatal), per daemon. */
  get violations(): string[] {
    return this.daemons.flatMap((d) => {
      const n = d.pastViolations + d.node.stats.violations;
      return n > 0 ? [`${d.ip}: ${n} ring protocol violation(s)`] : [];
    });
  }

  get dropped(): number {
    return this.network.dropped;
  }

  get datagrams(): number {
    return this.network.datagrams;
  }

  // ---------------------------------------------------------------------------------------------
  // Scenario steps: scheduled at `t` (default now).

  at(t: number, run: () => void): void {
    this.heap.push({ time: Math.max(t, this.now), order: 0, run });
  }

  /** Starts a daemon; a daemon that ran before comes back as a fresh process. */
  start(who: number | string, t = this.now): void {
    this.at(t, () => {
      const d = this.daemon(who);
      if (d.alive) this.stop(d); // a restart: the old process and its clients are gone
      if (d.incarnation > 0) this.boot(d);
      d.incarnation++;
      d.alive = true;
      d.ringKey = '';
      d.node.start(this.now);
      this.settle(d);
    });
  }

  restart(who: number | string, t = this.now): void {
    this.start(who, t);
  }

  /** The daemon stops: nothing in, nothing out, timers dead. */
  crash(who: number | string, t = this.now): void {
    this.at(t, () => this.stop(this.daemon(who)));
  }

  /** SIGSTOP for `ms`, then SIGCONT: datagrams, client bytes and timers wait until then. */
  pause(who: number | string, ms: number, t = this.now): void {
    this.at(t, () => {
      const d = this.daemon(who);
      if (d.alive) d.pausedUntil = Math.max(d.pausedUntil, this.now + ms);
    });
  }

  /** Splits the network into components of daemons (IPs or names); null heals it. */
  partition(components: readonly (readonly string[])[] | null, t = this.now): void {
    this.at(t, () => {
      if (components === null) return this.network.partition(null);
      const c = this.daemons.map((d) => components.findIndex((names) => names.includes(d.ip) || names.includes(d.name)));
      this.network.partition(c);
    });
  }

  /**
   * Daemon `who`'s spread.conf from now on (default: the simulation's): read when it boots
   * (at once if it never started) and by a RELOAD (SPEC.md Part IX §6).
   */
  setConfig(who: number | string, config: SpreadConfig): void {
    const d = this.daemon(who);
    d.file = config;
    if (d.incarnation === 0) this.boot(d);
  }

  /** A monitor's RELOAD, once to every daemon. */
  monitorReload(t = this.now): void {
    this.at(t, () => {
      const h = { type: PacketType.RELOAD, transmitterId: 0, procId: this.daemons[0]!.id, membId: { procId: MONITOR_MAGIC, time: 0 },
        seq: 0, tokenRound: 0, confHash: MONITOR_HASH, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0 };
      const bytes = encodeDatagram({ kind: 'reload', littleEndian: true, header: h });
      for (const d of this.daemons) this.at(this.now + 0.05, () => this.receive(d, d.incarnation, 'data', bytes));
    });
  }

  /** A monitor's PARTITION (sent twice to every daemon): component per configuration index. */
  monitorPartition(components: readonly number[], t = this.now): void {
    this.at(t, () => {
      const h = { type: PacketType.PARTITION, transmitterId: 0, procId: this.daemons[0]!.id, membId: { procId: MONITOR_MAGIC, time: 0 },
        seq: 0, tokenRound: 0, confHash: MONITOR_HASH, dataLen: 256, padding: 0, fragIndex: 0, fragLen: 0 };
      const bytes = encodeDatagram({ kind: 'partition', littleEndian: true, header: h, components: Array.from({ length: 128 }, (_, i) => components[i] ?? 0) });
      for (const d of this.daemons) {
        for (let k = 0; k < 2; k++) this.at(this.now + 0.05, () => this.receive(d, d.incarnation, 'data', bytes));
      }
    });
  }

  /**
   * A client connects to a live daemon now (asking for private name `name`); it joins, leaves
   * and sends through the returned handle, its bytes reaching the daemon CLIENT_LATENCY later.
   */
  connect(who: number | string, name: string): SimClient {
    const d = this.daemon(who);
    const conn = this.nextConn++;
    const incarnation = d.incarnation;
    const c: SimClient = new SimClient(d.index, conn, name, (bytes) => {
      const run = (): void => {
        if (!d.alive || d.incarnation !== incarnation || c.state === 'closed' || this.deferred(d, run)) return;
        d.core.receive(conn, bytes, this.now);
        this.settle(d);
      };
      this.at(this.now + CLIENT_LATENCY, run);
    });
    if (!d.alive) {
      c.close();
      return c;
    }
    d.clients.set(conn, c);
    d.core.connect(conn, d.id, this.now);
    c.hello();
    this.settle(d);
    return c;
  }

  /** A client goes away (its socket closes) at `t`. */
  disconnect(c: SimClient, t = this.now): void {
    this.at(t, () => {
      const d = this.daemons[c.daemon]!;
      if (c.state === 'closed' || d.clients.get(c.conn) !== c) return;
      c.close();
      d.clients.delete(c.conn);
      d.core.disconnected(c.conn, this.now);
      this.settle(d);
    });
  }

  /** Submits a client message at a live daemon now, as its core would. */
  submit(who: number | string, message: RingMessage): void {
    const d = this.daemon(who);
    if (!d.alive) return;
    d.node.ordering.submit(message, this.now);
    this.settle(d);
  }

  /**
   * Queues `count` messages at a daemon, one every `every` ms from `from`: text
   * `IP#incarnation.n`, from the private group `#s#name`.
   */
  traffic(who: number | string, from: number, count: number, every: number, service: number = ServiceType.AGREED_MESS): void {
    for (let k = 0; k < count; k++) {
      this.at(from + k * every, () => {
        const d = this.daemon(who);
        if (d.alive) this.submit(d.index, clientMessage(`#s#${d.name}`, `${d.ip}#${d.incarnation}.${++d.sent}`, service));
      });
    }
  }

  /** Runs events up to virtual time `until` (ms). */
  run(until: number): void {
    for (let e = this.heap.peek(); e !== undefined && e.time <= until; e = this.heap.peek()) this.step();
    this.now = Math.max(this.now, until);
  }

  /** Runs until `pred` holds (checked after every event) or `limit` ms pass; returns whether it held. */
  runUntilTrue(pred: () => boolean, limit: number): boolean {
    const end = this.now + limit;
    while (!pred()) {
      const e = this.heap.peek();
      if (e === undefined || e.time > end) {
        this.now = end;
        return pred();
      }
      this.step();
    }
    return true;
  }

  private step(): void {
    const e = this.heap.pop()!;
    this.now = Math.max(this.now, e.time);
    e.run();
  }

  // ---------------------------------------------------------------------------------------------
  // The edge (daemon.ts's, on the virtual clock and network).

  /** A fresh process: node and core, nothing started. */
  private boot(d: SimDaemon): void {
    if (d.incarnation > 0) d.pastViolations += d.node.stats.violations;
    d.timers.clear();
    const config = (d.running = d.file ?? this.config);
    const node = new DaemonNode({
      config, myId: d.id, now: () => this.now, wallClock: (now) => this.epoch + now / 1000,
      status: { sessions: () => 0, groups: () => d.core.groups, gstate: () => 1 },
      reloadByEdge: true,
    });
    d.node = node;
    d.core = new SimCore({
      daemon: { name: d.name, procId: d.id },
      daemons: config.daemons.map((x) => ({ name: x.name, procId: x.id | 0 })),
      ordering: node.ordering, random: () => this.prng.float(), log: silentLog,
      onEvent: (ev) => this.record(d, ev),
      onOutput: (conn, bytes) => d.clients.get(conn)?.receive(bytes.slice()),
      onClose: (conn) => {
        d.clients.get(conn)?.close();
        d.clients.delete(conn);
      },
    });
  }

  /** The RELOAD's verdict on the daemon's file, as a real daemon's edge reaches it (reading takes no virtual time). */
  private reloaded(d: SimDaemon, incarnation: number, origin: 'monitor' | 'signal'): void {
    if (!d.alive || d.incarnation !== incarnation) return;
    const judge = { running: () => d.running!, selection: { name: d.name, localAddresses: [] }, log: silentLog };
    d.node.reloadLoaded(judgeReload(judge, d.file ?? this.config, origin).node, this.now);
    this.settle(d);
  }

  private stop(d: SimDaemon): void {
    d.alive = false;
    d.pausedUntil = 0;
    d.held.length = 0;
    d.timers.clear();
    for (const c of d.clients.values()) c.close();
    d.clients.clear();
  }

  /** A paused daemon's input waits, in arrival order, until it resumes. */
  private deferred(d: SimDaemon, run: () => void): boolean {
    if (d.pausedUntil <= this.now) return false;
    if (d.held.push(run) === 1) this.at(d.pausedUntil, () => this.resume(d));
    return true;
  }

  /** SIGCONT (or a later one, if the pause was extended): the held inputs run in order. */
  private resume(d: SimDaemon): void {
    if (d.pausedUntil > this.now) return this.at(d.pausedUntil, () => this.resume(d));
    for (const run of d.held.splice(0)) run();
  }

  private receive(d: SimDaemon, incarnation: number, channel: Channel, bytes: Uint8Array): void {
    if (!d.alive || d.incarnation !== incarnation || this.deferred(d, () => this.receive(d, incarnation, channel, bytes))) return;
    d.node.datagram(channel, bytes, this.now);
    this.settle(d);
  }

  /** Carries out what the node and the core asked for, until both are quiet. */
  private settle(d: SimDaemon): void {
    for (let round = 0; round < 1000; round++) {
      if (!d.alive) return;
      d.node.drain(this.now);
      const acts = d.node.takeActions();
      for (const a of acts) this.carry(d, a);
      const coreDid = d.core.run(this.now);
      if (acts.length === 0 && !coreDid) {
        this.armCoreDeadline(d);
        return;
      }
    }
    throw new Error(`${d.ip}: the node and the core did not come to rest after 1000 rounds`);
  }

  private carry(d: SimDaemon, a: NodeAction): void {
    switch (a.kind) {
      case 'send': {
        // Every receiver gets its own copy, as every process has its own memory.
        if (a.to === 'proc') {
          const to = this.byId.get(a.target | 0);
          if (to !== undefined) this.transmit(d, to, a.channel, a.bytes.slice());
        } else {
          for (const to of this.bySegment[a.target] ?? []) if (to !== d) this.transmit(d, to, a.channel, a.bytes.slice());
        }
        break;
      }
      case 'timer':
        this.arm(d, nodeTimerKey(a.timer), a.at, () => d.node.timer(a.timer satisfies NodeTimer, this.now));
        break;
      case 'ordering':
        d.core.orderingReady();
        break;
      case 'send-raw':
      case 'configuration':
        d.reports.push(a);
        break;
      case 'reload': {
        const incarnation = d.incarnation;
        this.at(this.now, () => this.reloaded(d, incarnation, a.origin));
        break;
      }
      case 'reconfigure':
        d.running = a.config;
        d.core.core.reconfigure(a.config.daemons.map((x) => ({ name: x.name, procId: x.id | 0 })));
        break;
      case 'exit':
        this.stop(d);
        break;
    }
  }

  private transmit(from: SimDaemon, to: SimDaemon, channel: Channel, bytes: Uint8Array): void {
    const incarnation = to.incarnation;
    for (const at of this.network.route(from.index, to.index, this.now)) this.at(at, () => this.receive(to, incarnation, channel, bytes));
  }

  private armCoreDeadline(d: SimDaemon): void {
    this.arm(d, 'core', d.core.nextDeadline(), () => d.core.checkDeadlines(this.now));
  }

  /** Lazy timers: an event per arming; it fires only if the deadline is still the same. */
  private arm(d: SimDaemon, key: string, at: number | null, fire: () => void): void {
    if (at === null) {
      d.timers.delete(key);
      return;
    }
    if (d.timers.get(key) === at) return;
    d.timers.set(key, at);
    const incarnation = d.incarnation;
    const fireIfDue = (): void => {
      if (!d.alive || d.incarnation !== incarnation || d.timers.get(key) !== at || this.deferred(d, fireIfDue)) return;
      d.timers.delete(key);
      fire();
      this.settle(d);
    };
    this.at(at, fireIfDue);
  }

  private record(d: SimDaemon, ev: OrderingEvent): void {
    const t = this.now;
    switch (ev.kind) {
      case 'transitional':
        d.log.push({ t, kind: 'transitional', ring: d.ringKey, members: [...ev.members], id: idKey(ev.transId), ringId: ev.transId });
        break;
      case 'regular':
        d.log.push({ t, kind: 'regular', ring: d.ringKey, members: [...ev.members], id: idKey(ev.ringId), ringId: ev.ringId });
        d.ringKey = idKey(ev.ringId);
        break;
      case 'message': {
        const m = ev.message;
        const text = Buffer.from(m.frame.subarray(dataOffset(m.groups.length))).toString('utf8');
        d.log.push({ t, kind: 'deliver', ring: d.ringKey, sender: m.sender, text, ordered: !mayOvertake(m.type, m.frame.length) });
        break;
      }
      case 'groups':
        break;
    }
  }
}

/** A client message to group `g` as the core would submit it. */
const UTF8 = new TextEncoder();

export function clientMessage(sender: string, text: string, service: number = ServiceType.AGREED_MESS): RingMessage {
  const data = UTF8.encode(text);
  return ringMessageFromFrame(encodeMessage({ header: { type: service, name: sender, numGroups: 1, hint: makeHint(0), dataLen: data.length }, oldType: 0, groups: ['g'], data }));
}

export interface SimConfigOptions {
  readonly timeouts?: MembershipTimeouts;
  readonly dangerousMonitor?: boolean;
  readonly debugInitialSequence?: boolean;
}

/**
 * A configuration for the simulator: segments of daemon IPs (segment k broadcasts on
 * 127.0.k.255, port 4803 + 10k; daemon names n0, n1, … in configuration order), or `n`: n
 * one-daemon segments of 127.0.0.1 … 127.0.0.n.
 */
export function simConfig(layout: number | readonly (readonly string[])[], o: SimConfigOptions = {}): SpreadConfig {
  const segments = typeof layout === 'number' ? Array.from({ length: layout }, (_, i) => [`127.0.0.${i + 1}`]) : layout;
  let text = '';
  let n = 0;
  segments.forEach((ips, k) => {
    text += `Spread_Segment 127.0.${k}.255:${4803 + 10 * k} {\n${ips.map((ip) => `\tn${n++} ${ip}\n`).join('')}}\n`;
  });
  if (o.dangerousMonitor === true) text += 'DangerousMonitor = yes\n';
  if (o.debugInitialSequence === true) text += 'DebugInitialSequence\n';
  if (o.timeouts !== undefined) {
    const t = o.timeouts;
    text += `TokenTimeout = ${t.token}\nHurryTimeout = ${t.hurry}\nAliveTimeout = ${t.alive}\nJoinTimeout = ${t.join}\n` +
      `RepTimeout = ${t.rep}\nSegTimeout = ${t.seg}\nGatherTimeout = ${t.gather}\nFormTimeout = ${t.form}\nLookupTimeout = ${t.lookup}\n`;
  }
  return parseConfig(text, 'sim.conf');
}
