/**
 * A deterministic harness for DaemonNode (ring engine + membership + ordering, no sockets):
 * N nodes of one configuration on a virtual clock, a loss-free network with a fixed latency,
 * timers on an event heap. The groups layer is played by `open`: when a node's ordering yields
 * a regular configuration, delivery is opened (as the groups layer's GOP shift does).
 */
import { parseConfig, type SpreadConfig } from '../../src/daemon/config/index.js';
import { ringMessageFromFrame, type RingMessage } from '../../src/daemon/core/frames.js';
import type { OrderingEvent } from '../../src/daemon/core/ordering.js';
import { DaemonNode, nodeTimerKey, type NodeAction } from '../../src/daemon/node/node.js';
import { EventHeap, type Timed } from '../../src/sim/heap.js';
import { ServiceType } from '../../src/wire/client/constants.js';
import { encodeMessage, makeHint } from '../../src/wire/client/message.js';

interface SimEvent extends Timed {
  run: () => void;
}

export interface SimDaemon {
  readonly index: number;
  readonly id: number;
  readonly node: DaemonNode;
  alive: boolean;
  /** Everything the ordering yielded, as lines. */
  readonly log: string[];
  readonly actions: NodeAction[];
  timers: Map<string, number>;
}

/** One segment per daemon (127.0.0.(i+1) on 127.0.i.255), the loopback topology's shape. */
export function simConfig(n: number, extra = ''): SpreadConfig {
  let text = '';
  for (let i = 0; i < n; i++) text += `Spread_Segment 127.0.${i}.255:${4803 + 10 * i} {\n\tn${i} 127.0.0.${i + 1}\n}\n`;
  return parseConfig(text + extra, 'sim.conf');
}

export function eventText(ev: OrderingEvent): string {
  switch (ev.kind) {
    case 'transitional':
      return `transitional ${ev.transId.procId}:${ev.transId.time} [${ev.members.join(',')}]`;
    case 'regular':
      return `regular ${ev.ringId.procId}:${ev.ringId.time} [${ev.members.join(',')}]`;
    case 'groups':
      return `groups ${ev.raw.length}`;
    case 'message':
      return `message ${ev.message.sender} ${Buffer.from(ev.message.frame.subarray(48 + 32 * ev.message.groups.length)).toString('utf8')}`;
  }
}

/** A client message as the core would submit it. */
export function clientMessage(sender: string, text: string, service: number = ServiceType.AGREED_MESS): RingMessage {
  const data = Buffer.from(text);
  return ringMessageFromFrame(encodeMessage({ header: { type: service, name: sender, numGroups: 1, hint: makeHint(0), dataLen: data.length }, oldType: 0, groups: ['g'], data }));
}

export class NodeSim {
  now = 0;
  readonly daemons: SimDaemon[] = [];
  readonly latencyMs: number;
  private readonly heap = new EventHeap<SimEvent>();
  private readonly byId = new Map<number, SimDaemon>();
  private readonly segmentOf: number[];

  /** Fraction of datagrams lost (seeded, deterministic). */
  readonly loss: number;
  private seed: number;
  dropped = 0;

  constructor(readonly config: SpreadConfig, opts: { latencyMs?: number; loss?: number; seed?: number } = {}) {
    this.latencyMs = opts.latencyMs ?? 0.2;
    this.loss = opts.loss ?? 0;
    this.seed = opts.seed ?? 1;
    this.segmentOf = config.daemons.map((d) => d.segmentIndex);
    config.daemons.forEach((d, index) => {
      const id = d.id | 0;
      const daemon: SimDaemon = {
        index,
        id,
        node: this.makeNode(id),
        alive: false,
        log: [],
        actions: [],
        timers: new Map(),
      };
      this.daemons.push(daemon);
      this.byId.set(id, daemon);
    });
  }

  private makeNode(id: number): DaemonNode {
    return new DaemonNode({ config: this.config, myId: id, now: () => this.now, wallClock: (now) => 1_800_000_000 + now / 1000 });
  }

  /** mulberry32 */
  private random(): number {
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  at(time: number, run: () => void): void {
    this.heap.push({ time, order: 0, run });
  }

  start(i: number): void {
    const d = this.daemons[i]!;
    d.alive = true;
    d.node.start(this.now);
    this.pump(d);
  }

  /** The daemon stops (crash): nothing in, nothing out, timers dead. */
  crash(i: number): void {
    const d = this.daemons[i]!;
    d.alive = false;
    d.timers.clear();
  }

  /** A crashed daemon comes back as a fresh process. */
  restart(i: number): void {
    const d = this.daemons[i]!;
    (d as { node: DaemonNode }).node = this.makeNode(d.id);
    d.timers.clear();
    this.start(i);
  }

  submit(i: number, message: RingMessage): void {
    const d = this.daemons[i]!;
    d.node.ordering.submit(message);
    d.node.drain(this.now);
    this.pump(d);
  }

  /** Runs events up to virtual time `until` (ms). */
  runUntil(until: number): void {
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined || e.time > until) break;
      this.heap.pop();
      this.now = Math.max(this.now, e.time);
      e.run();
    }
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
      this.heap.pop();
      this.now = Math.max(this.now, e.time);
      e.run();
    }
    return true;
  }

  /** Takes a daemon's node actions and carries them out on the virtual network and clock. */
  pump(d: SimDaemon): void {
    if (!d.alive) return;
    for (let round = 0; round < 1000; round++) {
      const acts = d.node.takeActions();
      if (acts.length === 0) return;
      for (const a of acts) {
        d.actions.push(a);
        this.carry(d, a);
      }
      d.node.drain(this.now);
    }
    throw new Error(`daemon ${d.index}: actions never settle`);
  }

  private carry(d: SimDaemon, a: NodeAction): void {
    switch (a.kind) {
      case 'send': {
        const targets = a.to === 'proc'
          ? [this.byId.get(a.target | 0)].filter((x): x is SimDaemon => x !== undefined)
          : this.daemons.filter((x) => this.segmentOf[x.index] === a.target && x !== d);
        const bytes = a.bytes.slice();
        for (const t of targets) {
          if (this.loss > 0 && this.random() < this.loss) {
            this.dropped++;
            continue;
          }
          const node = t.node;
          this.at(this.now + this.latencyMs, () => {
            if (!t.alive || t.node !== node) return;
            t.node.datagram(a.channel, bytes, this.now);
            this.pump(t);
          });
        }
        break;
      }
      case 'timer': {
        const key = nodeTimerKey(a.timer);
        if (a.at === null) {
          d.timers.delete(key);
          break;
        }
        d.timers.set(key, a.at);
        const node = d.node;
        const at = a.at;
        this.at(at, () => {
          if (!d.alive || d.node !== node || d.timers.get(key) !== at) return;
          d.timers.delete(key);
          d.node.timer(a.timer, this.now);
          this.pump(d);
        });
        break;
      }
      case 'ordering':
        for (let ev = d.node.ordering.poll(); ev !== null; ev = d.node.ordering.poll()) {
          d.log.push(eventText(ev));
          // The groups layer's part: GOP after every regular configuration opens delivery.
          if (ev.kind === 'regular') d.node.ordering.setDeliveryLevel('all');
        }
        d.node.drain(this.now);
        break;
      default:
        break;
    }
  }
}
