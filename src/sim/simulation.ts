/**
 * The simulator's ring mode (SPEC.md Part V §13): a static ring of RingEngines.
 *
 * One virtual clock, one event heap, one seeded PRNG: a run is a pure function of its
 * Scenario. The network (network.ts, shared with the whole-daemon mode in daemons.ts) loses,
 * duplicates, delays and reorders datagrams per receiver; each
 * daemon is a single CPU that works through its inbox one datagram at a time, data channel
 * first unless the engine asks for the token first (the reference's event priorities).
 * Timers are lazy: an engine re-arms its token-loss timer on every packet, the simulator only
 * schedules a wake-up when a deadline moves earlier.
 */
import { RingEngine, type RingSettings } from '../daemon/ring/engine.js';
import type { Channel, RingAction, RingTimer } from '../daemon/ring/actions.js';
import { EventHeap } from './heap.js';
import { Network } from './network.js';
import { Prng } from './prng.js';
import { deliveryBound, makeWorkload, procIdOf, type Scenario, type WorkItem } from './scenario.js';
import { Checker } from './checker.js';

export const CONF_HASH = 0x5eed1234;

interface SimEvent {
  time: number;
  order: number;
  kind: 0 | 1 | 2 | 3;
  node: number;
  channel: Channel;
  bytes: Uint8Array | null;
  timer: RingTimer;
  item: WorkItem | null;
}
const ARRIVE = 0;
const WAKE = 1;
const TIMER = 2;
const SUBMIT = 3;

class Inbox {
  private items: (Uint8Array | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(b: Uint8Array): void {
    this.items.push(b);
  }
  shift(): Uint8Array {
    const b = this.items[this.head]!;
    this.items[this.head++] = undefined;
    if (this.head > 256 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return b;
  }
}

export class SimNode {
  readonly data = new Inbox();
  readonly token = new Inbox();
  busyUntil = 0;
  wakeScheduled = false;
  readonly timerEventAt: Record<RingTimer, number> = { tokenLoss: Infinity, hurry: Infinity };
  constructor(
    readonly index: number,
    readonly id: number,
    readonly segment: number,
    readonly engine: RingEngine,
  ) {}
}

export interface TraceLine {
  time: number;
  text: string;
}

export interface SimOptions {
  /** Builds each daemon's engine (tests swap in instrumented ones). */
  makeEngine?: (settings: RingSettings) => RingEngine;
  /** Called for every datagram sent (for --trace). */
  trace?: (time: number, from: SimNode, to: SimNode, channel: Channel, bytes: Uint8Array, dropped: boolean) => void;
  /** Extra virtual time to run after everything was delivered (default 2 s). */
  settle?: number;
  /** Submit these instead of the scenario's own workload. */
  workload?: WorkItem[];
  /** Only count deliveries (benchmarks): no byte, order or stability checks. */
  countOnly?: boolean;
}

export interface SimResult {
  readonly scenario: Scenario;
  readonly ok: boolean;
  readonly failures: readonly string[];
  /** Virtual ms at which the last message reached its last daemon (NaN if never). */
  readonly completedAt: number;
  readonly endTime: number;
  readonly datagrams: number;
  readonly dropped: number;
  readonly events: number;
  readonly delivered: number;
  readonly nodes: readonly SimNode[];
}

export class Simulation {
  readonly nodes: SimNode[] = [];
  readonly checker: Checker;
  private readonly heap = new EventHeap<SimEvent>();
  readonly network: Network;
  private readonly bySegment: SimNode[][] = [];
  private readonly byId = new Map<number, SimNode>();
  now = 0;
  events = 0;
  private readonly workload: WorkItem[];

  private readonly options: SimOptions;

  constructor(
    readonly scenario: Scenario,
    options: SimOptions = {},
  ) {
    this.options = options;
    const s = scenario;
    this.network = new Network({ ...s, loopbackLoss: true }, new Prng(s.seed ^ 0x0be7));
    this.network.faultsOn = false;
    const segSpecs = s.segments.map((n, si) => ({ daemons: Array.from({ length: n }, (_, i) => procIdOf(si, i)) }));
    const members = segSpecs.flatMap((x) => x.daemons);
    s.segments.forEach((n, si) => {
      const list: SimNode[] = [];
      for (let i = 0; i < n; i++) {
        const id = procIdOf(si, i);
        const settings: RingSettings = {
          myId: id, segments: segSpecs, confHash: CONF_HASH, window: s.window, personalWindow: s.personalWindow,
          acceleratedWindow: s.acceleratedWindow, accelerated: s.accelerated, tokenTimeout: s.tokenTimeout,
          hurryTimeout: s.hurryTimeout,
        };
        const engine = options.makeEngine ? options.makeEngine(settings) : new RingEngine(settings);
        const node = new SimNode(this.nodes.length, id, si, engine);
        this.nodes.push(node);
        list.push(node);
        this.byId.set(id, node);
      }
      this.bySegment.push(list);
    });
    this.workload = options.workload ?? makeWorkload(s, this.nodes.length);
    this.checker = new Checker(this.nodes, this.workload, options.countOnly === true);
    const ringId = { procId: members[0]!, time: 1_700_000_000 };
    for (const n of this.nodes) {
      n.engine.install({ ringId, members }, 0);
      this.apply(n, n.engine.takeActions());
    }
    for (const item of this.workload) {
      this.heap.push({ time: item.at, order: 0, kind: SUBMIT, node: item.node, channel: 'data', bytes: null, timer: 'hurry', item });
    }
  }

  /** Runs to completion (or the delivery bound) and checks everything. */
  run(): SimResult {
    const s = this.scenario;
    const lastSubmit = this.workload.length > 0 ? this.workload[this.workload.length - 1]!.at : 0;
    const limit = lastSubmit + deliveryBound(s, this.workload);
    const settle = this.options.settle ?? 2000;
    let stopAt = Infinity;
    for (;;) {
      const ev = this.heap.peek();
      if (ev === undefined) break;
      if (ev.time > limit || ev.time > stopAt) break;
      this.heap.pop();
      this.now = ev.time;
      this.events++;
      this.dispatch(ev);
      if (this.checker.failures.length > 0) break;
      if (stopAt === Infinity && this.checker.complete) stopAt = this.now + settle;
    }
    this.checker.finish(this.now, limit);
    return {
      scenario: s,
      ok: this.checker.failures.length === 0,
      failures: this.checker.failures,
      completedAt: this.checker.completedAt,
      endTime: this.now,
      datagrams: this.network.datagrams,
      dropped: this.network.dropped,
      events: this.events,
      delivered: this.checker.deliveredTotal,
      nodes: this.nodes,
    };
  }

  private dispatch(ev: SimEvent): void {
    const node = this.nodes[ev.node]!;
    switch (ev.kind) {
      case ARRIVE:
        (ev.channel === 'token' ? node.token : node.data).push(ev.bytes!);
        if (!node.wakeScheduled) {
          const idle = node.busyUntil <= this.now;
          this.scheduleWake(node, idle ? this.now + this.scenario.wakeLatency : node.busyUntil);
        }
        break;
      case WAKE: {
        node.wakeScheduled = false;
        const e = node.engine;
        let ch: Channel;
        if (node.token.length > 0 && (e.tokenHasPriority || node.data.length === 0)) ch = 'token';
        else ch = 'data';
        const bytes = ch === 'token' ? node.token.shift() : node.data.shift();
        e.handleDatagram(ch, bytes, this.now);
        this.apply(node, e.takeActions());
        node.busyUntil = this.now + this.scenario.cpuCost;
        if (node.data.length + node.token.length > 0) this.scheduleWake(node, node.busyUntil);
        break;
      }
      case TIMER: {
        const t = ev.timer;
        if (node.timerEventAt[t] !== ev.time) break; // superseded
        node.timerEventAt[t] = Infinity;
        const at = node.engine.timerDeadline(t);
        if (at === null) break;
        if (at > this.now) {
          this.scheduleTimer(node, t, at);
          break;
        }
        node.engine.handleTimer(t, this.now);
        this.apply(node, node.engine.takeActions());
        break;
      }
      case SUBMIT: {
        const item = ev.item!;
        this.checker.submitted(item, this.now);
        node.engine.submit(item.bytes, item.packetType, this.now);
        this.apply(node, node.engine.takeActions());
        break;
      }
    }
    this.checker.afterEvent(node);
  }

  private scheduleWake(node: SimNode, at: number): void {
    node.wakeScheduled = true;
    this.heap.push({ time: at, order: 0, kind: WAKE, node: node.index, channel: 'data', bytes: null, timer: 'hurry', item: null });
  }

  private scheduleTimer(node: SimNode, t: RingTimer, at: number): void {
    node.timerEventAt[t] = at;
    this.heap.push({ time: at, order: 0, kind: TIMER, node: node.index, channel: 'data', bytes: null, timer: t, item: null });
  }

  private apply(node: SimNode, actions: readonly RingAction[]): void {
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      switch (a.kind) {
        case 'send':
          if (a.to === 'proc') {
            const to = this.byId.get(a.target);
            if (to === undefined) this.checker.fail(this.now, `${name(node)} sent to unknown proc ${a.target}`);
            else this.transmit(node, to, a.channel, a.bytes);
          } else {
            const seg = this.bySegment[a.target];
            if (seg === undefined) this.checker.fail(this.now, `${name(node)} broadcast to unknown segment ${a.target}`);
            else for (const to of seg) if (to !== node) this.transmit(node, to, a.channel, a.bytes);
          }
          break;
        case 'timer':
          if (a.at !== null && a.at < node.timerEventAt[a.timer]) this.scheduleTimer(node, a.timer, a.at);
          break;
        case 'deliver':
          this.checker.delivered(node, a, this.now);
          break;
        case 'tokenLost':
          this.checker.fail(this.now, `${name(node)}: token lost (membership would form a new ring; not simulated)`);
          break;
        case 'violation':
          this.checker.fail(this.now, `${name(node)}: protocol violation ${a.code}: ${a.message}`);
          break;
        case 'upward':
          this.checker.fail(this.now, `${name(node)}: unexpected ${a.what} datagram on a static ring`);
          break;
        case 'backpressure':
          break;
      }
    }
  }

  private transmit(from: SimNode, to: SimNode, channel: Channel, bytes: Uint8Array): void {
    const s = this.scenario;
    const net = this.network;
    if (!net.faultsOn) net.faultsOn = s.faultStart > 0 ? this.now >= s.faultStart : this.nodes[0]!.engine.stats.tokensProcessed > 0;
    const arrivals = net.route(from.index, to.index, this.now);
    this.options.trace?.(this.now, from, to, channel, bytes, arrivals.length === 0);
    for (const at of arrivals) {
      this.heap.push({ time: at, order: 0, kind: ARRIVE, node: to.index, channel, bytes, timer: 'hurry', item: null });
    }
  }
}

export function name(n: SimNode): string {
  return `d${n.index}(${(n.id >>> 8) & 0xff}.${n.id & 0xff})`;
}

export function runScenario(s: Scenario, options: SimOptions = {}): SimResult {
  return new Simulation(s, options).run();
}
