/**
 * A simulation scenario and the client workload, both derived from one seed.
 *
 * Every knob can be overridden (CLI flags, tests); whatever is not overridden is drawn from
 * the seed, so `--seed N` alone replays a run exactly.
 */
import { ipv4Word, put32 } from '../wire/bytes.js';
import { ServiceType } from '../wire/client/constants.js';
import { encodeMessage, HEADER_SIZE, makeHint, NAME_SIZE } from '../wire/client/message.js';
import { FRAGMENT_SIZE, packetTypeOf, type DataPacketType } from '../daemon/ring/constants.js';
import type { NetworkFaults } from './network.js';
import { Prng } from './prng.js';

/** A ring-mode run; the network faults are network.ts's (the loopback loses too in this mode). */
export interface Scenario extends Omit<NetworkFaults, 'loopbackLoss'> {
  readonly seed: number;
  /** Daemons per segment, in configuration order. */
  readonly segments: readonly number[];
  readonly accelerated: boolean;
  readonly window: number;
  readonly personalWindow: number;
  readonly acceleratedWindow: number;
  readonly tokenTimeout: number;
  readonly hurryTimeout: number;
  /** Virtual CPU time (ms) a daemon spends per datagram; datagrams queue behind it. */
  readonly cpuCost: number;
  /** Virtual time an idle daemon takes to wake up for a datagram (what arrives meanwhile queues). */
  readonly wakeLatency: number;
  /**
   * Faults (loss, dup, reorder) start at this time, or (0) as soon as the leader has taken the
   * first token: forming the ring is membership's job, not simulated here.
   */
  readonly faultStart: number;
  readonly messages: number;
  /** Messages are submitted over [0, submitSpan) ms, partly in bursts. */
  readonly submitSpan: number;
  readonly sizes: 'mixed' | 'small' | 'large';
  /**
   * Every message must be delivered everywhere within this many ms after the last submit;
   * 0: computed from the workload (see deliveryBound()).
   */
  readonly deliveryBound: number;
}

export type ScenarioOverrides = { -readonly [K in keyof Scenario]?: Scenario[K] };

const LOSS_LEVELS = [0, 0, 0.01, 0.05, 0.1, 0.2] as const;

export function randomScenario(seed: number, o: ScenarioOverrides = {}): Scenario {
  const r = new Prng(seed ^ 0x5eed5eed);
  // Draw everything, in a fixed order, even when overridden: overriding one knob must not
  // shift the others.
  const nodes = r.pick([1, 2, 3, 3, 3, 4, 5, 5]);
  const topo = r.int(0, 2);
  const accelerated = r.chance(0.5);
  const window = r.pick([160, 160, 60, 30]);
  const personalWindow = Math.min(window, r.pick([20, 20, 5, 1, 40]));
  const acceleratedWindow = Math.min(personalWindow, r.pick([15, 15, 0, 3, 20]));
  const loss = r.pick(LOSS_LEVELS);
  const dup = r.pick([0, 0, 0.01, 0.05]);
  const delayMin = r.pick([0.02, 0.05, 0.1]);
  const delayMax = delayMin + r.pick([0, 0.05, 0.2, 1]);
  const reorder = r.pick([0, 0, 0.02, 0.1]);
  const reorderDelay = r.pick([0.2, 1, 3]);
  const cpuCost = r.pick([0.002, 0.005, 0.01]);
  const messages = r.int(40, 250);
  const submitSpan = r.pick([0, 20, 200, 1500]);
  const sizes = r.pick(['mixed', 'mixed', 'small', 'large'] as const);
  const wakeLatency = r.pick([0, 0.005, 0.02]);

  const nodeCount = o.segments ? o.segments.reduce((a, b) => a + b, 0) : nodes;
  const segments = o.segments ?? layout(nodeCount, topo);
  const lossV = o.loss ?? loss;
  const hurryTimeout = o.hurryTimeout ?? 500;
  return {
    seed,
    segments,
    accelerated: o.accelerated ?? accelerated,
    window: o.window ?? window,
    personalWindow: o.personalWindow ?? personalWindow,
    acceleratedWindow: o.acceleratedWindow ?? acceleratedWindow,
    // Without membership a token loss ends the run, and with any loss the reference itself
    // loses its token now and then (two tokens lost within TokenTimeout) and re-forms the ring.
    // Lossy runs get the WAN token timeout (SPEC.md Part V §13).
    tokenTimeout: o.tokenTimeout ?? (lossV > 0 ? 5000 : 1250),
    hurryTimeout,
    loss: lossV,
    dup: o.dup ?? dup,
    delayMin: o.delayMin ?? delayMin,
    delayMax: o.delayMax ?? delayMax,
    reorder: o.reorder ?? reorder,
    reorderDelay: o.reorderDelay ?? reorderDelay,
    cpuCost: o.cpuCost ?? cpuCost,
    wakeLatency: o.wakeLatency ?? wakeLatency,
    faultStart: o.faultStart ?? 0,
    messages: o.messages ?? messages,
    submitSpan: o.submitSpan ?? submitSpan,
    sizes: o.sizes ?? sizes,
    deliveryBound: o.deliveryBound ?? 0,
  };
}

function layout(n: number, kind: number): number[] {
  if (n <= 1) return [1];
  if (kind === 0) return [n]; // one broadcast segment
  if (kind === 1) return new Array<number>(n).fill(1); // one daemon per segment: routed unicasts
  // Mixed: segments of 2 and 1, exercising relays by segment leaders.
  const out: number[] = [];
  let left = n;
  while (left > 0) {
    const k = Math.min(left, out.length % 2 === 0 ? 2 : 1);
    out.push(k);
    left -= k;
  }
  return out;
}

/** Proc id of daemon `i` of segment `s`: 10.0.s.(i+1). */
export function procIdOf(segment: number, index: number): number {
  return ipv4Word(10, 0, segment, index + 1) | 0;
}

export const SERVICES = [
  ServiceType.UNRELIABLE_MESS,
  ServiceType.RELIABLE_MESS,
  ServiceType.FIFO_MESS,
  ServiceType.CAUSAL_MESS,
  ServiceType.AGREED_MESS,
  ServiceType.SAFE_MESS,
] as const;

export interface WorkItem {
  /** Index of the message (its id), also written in its first 4 data bytes. */
  readonly id: number;
  /** Index of the submitting node. */
  readonly node: number;
  /** Per-sender counter, written in data bytes 4..7. */
  readonly counter: number;
  readonly at: number;
  readonly service: number;
  readonly packetType: DataPacketType;
  readonly bytes: Uint8Array;
}

/**
 * Whether a message may overtake the ring order (the fast path, SPEC.md Part V §11 "Reliable"):
 * UNRELIABLE or RELIABLE, and the whole message (header, groups, data: `bytes`) fits in one
 * fragment. A longer one travels in fragments and is delivered in ring order, as FIFO and
 * stronger are (the reference's Deliver_reliable_packets and Deliver_packet, daemon/protocol.c).
 */
export function mayOvertake(type: number, bytes: number): boolean {
  return (type & (ServiceType.UNRELIABLE_MESS | ServiceType.RELIABLE_MESS)) !== 0 && bytes <= FRAGMENT_SIZE;
}

/** Offset of the data in a ring message with `numGroups` groups. */
export function dataOffset(numGroups: number): number {
  return HEADER_SIZE + NAME_SIZE * numGroups;
}

export function makeWorkload(s: Scenario, nodeCount: number): WorkItem[] {
  const r = new Prng(s.seed ^ 0x3a11ad);
  // Submission times first (bursts: most messages come right after the previous one), then
  // ids and per-sender counters in submission order.
  const times: number[] = [];
  let t = 0;
  for (let i = 0; i < s.messages; i++) {
    if (s.submitSpan > 0) t = r.chance(0.7) ? t : r.float() * s.submitSpan;
    times.push(t);
  }
  times.sort((a, b) => a - b);
  const items: WorkItem[] = [];
  const counters = new Array<number>(nodeCount).fill(0);
  for (let id = 0; id < s.messages; id++) {
    const node = r.int(0, nodeCount - 1);
    const service = r.pick(SERVICES);
    const numGroups = r.int(1, 3);
    const dataLen = drawSize(r, s.sizes, numGroups);
    const data = new Uint8Array(dataLen);
    r.fill(data);
    const counter = counters[node]!++;
    put32(data, 0, id);
    put32(data, 4, counter);
    const groups: string[] = [];
    for (let g = 0; g < numGroups; g++) groups.push(`g${r.int(0, 9)}`);
    const bytes = encodeMessage({
      header: { type: service, name: `#c${node}#d${node}`, numGroups, hint: makeHint(r.int(0, 0x7fff)), dataLen },
      oldType: 0,
      groups,
      data,
    });
    items.push({ id, node, counter, at: times[id]!, service, packetType: packetTypeOf(service)!, bytes });
  }
  return items;
}

function drawSize(r: Prng, sizes: Scenario['sizes'], numGroups: number): number {
  const head = dataOffset(numGroups);
  const x = r.float();
  if (sizes === 'small' || (sizes === 'mixed' && x < 0.6)) return r.int(8, 200);
  if (sizes === 'mixed' && x < 0.85) return r.int(200, 1432 - head);
  if (sizes === 'mixed' && x < 0.9) {
    // Exactly k full fragments (the last fragment a whole 1432 bytes).
    return r.int(1, 4) * 1432 - head;
  }
  if (sizes === 'large' && r.chance(0.05)) return 100 * 1432 - head; // the largest message
  return r.int(1432 - head + 1, 12_000);
}

/**
 * How long delivering the workload may take: four times a pessimistic estimate, at least 20 s.
 * Estimate: every packet needs its own token visit at PersonalWindow packets per visit, and a
 * round loses its token (costing a HurryTimeout and a half) with probability 1 − (1 − loss)^N.
 */
export function deliveryBound(s: Scenario, workload: readonly WorkItem[]): number {
  if (s.deliveryBound > 0) return s.deliveryBound;
  const n = s.segments.reduce((a, b) => a + b, 0);
  let packets = 0;
  for (const w of workload) packets += Math.ceil(w.bytes.length / 1432);
  const rounds = Math.ceil(packets / Math.max(1, Math.min(s.window, s.personalWindow))) + 10;
  const pLost = 1 - Math.pow(1 - s.loss, Math.max(1, n) + 1);
  const roundTime = n * (s.delayMax + s.reorderDelay * s.reorder + 4 * s.cpuCost) + pLost * 1.5 * s.hurryTimeout;
  return Math.max(20_000, 4 * rounds * roundTime);
}

/**
 * A flood like the reference's spflooder: `count` messages of `dataLen` data bytes (one group)
 * from the first `senders` daemons in turn, all queued at time 0.
 */
export function floodWorkload(count: number, dataLen: number, service: number = ServiceType.AGREED_MESS, senders = 1): WorkItem[] {
  const items: WorkItem[] = [];
  const counters = new Array<number>(senders).fill(0);
  const len = Math.max(8, dataLen);
  for (let id = 0; id < count; id++) {
    const node = id % senders;
    const data = new Uint8Array(len);
    const counter = counters[node]!++;
    put32(data, 0, id);
    put32(data, 4, counter);
    const bytes = encodeMessage({
      header: { type: service, name: `#f${node}#d${node}`, numGroups: 1, hint: makeHint(0), dataLen: len },
      oldType: 0,
      groups: ['flood'],
      data,
    });
    items.push({ id, node, counter, at: 0, service, packetType: packetTypeOf(service)!, bytes });
  }
  return items;
}
