/**
 * Random whole-daemon runs for the CLI's `--daemons` mode (SPEC.md Part V §13): from one seed,
 * a configuration (1–5 daemons in 1–3 segments), network faults, staggered starts, client
 * traffic, and a series of crashes, restarts, partitions and heals; then everything heals and
 * restarts and the run must show:
 *   - one ring of every daemon within the bound (60 s of virtual time after the last fault);
 *   - extended virtual synchrony on every daemon's log (evs.ts);
 *   - no ring protocol violation;
 *   - every message sent in the final ring delivered at every daemon, in one order.
 */
import { ServiceType } from '../wire/client/constants.js';
import { DaemonSim, simConfig } from './daemons.js';
import { checkEvs, oneRing } from './evs.js';
import { Prng } from './prng.js';

export interface DaemonScenario {
  readonly seed: number;
  /** Daemons per segment. */
  readonly segments: readonly number[];
  readonly loss: number;
  readonly dup: number;
  readonly reorder: number;
  /** Faults (crash, restart, partition, heal), one every 2–10 s. */
  readonly faults: number;
}

export interface DaemonRunResult {
  readonly scenario: DaemonScenario;
  readonly ok: boolean;
  readonly failures: readonly string[];
  readonly endTime: number;
  readonly datagrams: number;
  readonly dropped: number;
  readonly deliveries: number;
}

export function randomDaemonScenario(seed: number): DaemonScenario {
  const r = new Prng(seed ^ 0xdae7);
  const segments = randomSegments(r, r.int(1, 5));
  return { seed, segments, loss: r.pick([0, 0, 0.01, 0.05]), dup: r.pick([0, 0.01]), reorder: r.pick([0, 0, 0.05]), faults: r.int(0, 6) };
}

/** `n` daemons cut into segments of 1–3, drawn from `r`. */
export function randomSegments(r: Prng, n: number): number[] {
  const segments: number[] = [];
  for (let left = n; left > 0;) {
    const k = Math.min(left, r.int(1, 3));
    segments.push(k);
    left -= k;
  }
  return segments;
}

export function describeDaemonScenario(s: DaemonScenario): string {
  return `segments [${s.segments.join(',')}] loss ${s.loss} dup ${s.dup} reorder ${s.reorder}, ${s.faults} faults`;
}

/** A run's daemons per segment and network faults (a DaemonScenario's or a fault schedule's). */
export type SegmentedNetwork = Pick<DaemonScenario, 'seed' | 'segments' | 'loss' | 'dup' | 'reorder'>;

/** The simulator of `s`: daemon i of segment k at 10.0.k.(i+1); `all` lists them in configuration order. */
export function segmentedSim(s: SegmentedNetwork): { sim: DaemonSim; all: string[] } {
  const ips = s.segments.map((k, seg) => Array.from({ length: k }, (_, i) => `10.0.${seg}.${i + 1}`));
  const sim = new DaemonSim(simConfig(ips), { seed: s.seed, network: { loss: s.loss, dup: s.dup, reorder: s.reorder, reorderDelay: 1 } });
  return { sim, all: ips.flat() };
}

export function runDaemonScenario(s: DaemonScenario): DaemonRunResult {
  const { sim, all } = segmentedSim(s);
  const r = new Prng(s.seed ^ 0xfa17);
  all.forEach((ip) => sim.start(ip, r.float() * 2000));
  for (const ip of all) sim.traffic(ip, 500, 40, 97, r.pick([ServiceType.AGREED_MESS, ServiceType.SAFE_MESS]));
  let t = 3000;
  for (let k = 0; k < s.faults; k++) {
    t += 2000 + r.float() * 8000;
    fault(sim, r, all, t);
  }
  t += 1000;
  sim.partition(null, t);
  for (const ip of all) {
    sim.at(t, () => {
      if (!sim.daemon(ip).alive) sim.start(ip);
    });
  }
  sim.run(t);
  const failures: string[] = [];
  const rings = oneRing(sim, all.length, t + 60_000);
  if (rings !== null) failures.push(`no single ring of all daemons by ${t + 60_000} ms: ${JSON.stringify(rings)}`);
  else finalRing(sim, all, failures);
  failures.push(...checkEvs(sim), ...sim.violations);
  const deliveries = sim.daemons.reduce((n, d) => n + d.log.filter((e) => e.kind === 'deliver').length, 0);
  return { scenario: s, ok: failures.length === 0, failures, endTime: sim.now, datagrams: sim.datagrams, dropped: sim.dropped, deliveries };
}

function fault(sim: DaemonSim, r: Prng, all: readonly string[], t: number): void {
  const x = r.float();
  const ip = r.pick(all);
  if (x < 0.3) sim.crash(ip, t);
  else if (x < 0.5) sim.start(ip, t);
  else if (x < 0.8) {
    const side = all.filter(() => r.chance(0.5));
    sim.partition([side, all.filter((y) => !side.includes(y))], t);
  } else sim.partition(null, t);
  for (const y of all) sim.traffic(y, t, 10, 53);
}

/**
 * Traffic in the final ring: every message delivered everywhere, in one order (the ring may
 * re-form meanwhile — a token loss — as long as it re-forms with every daemon).
 */
function finalRing(sim: DaemonSim, all: readonly string[], failures: string[]): void {
  const ring = sim.daemon(all[0]!).ringKey;
  const before = new Map(all.map((ip) => [ip, sim.daemon(ip).sent]));
  for (const ip of all) sim.traffic(ip, sim.now, 20, 11, ServiceType.SAFE_MESS);
  sim.run(sim.now + 10_000);
  const rings = oneRing(sim, all.length, sim.now + 30_000);
  if (rings !== null) failures.push(`the final ring ${ring} fell apart: ${JSON.stringify(rings)}`);
  const orders = all.map((ip) => {
    const log = sim.daemon(ip).log;
    const from = log.findIndex((e) => e.kind === 'regular' && e.id === ring);
    return log.slice(from).flatMap((e) => (e.kind === 'deliver' ? [e.text] : []));
  });
  for (const ip of all) {
    const d = sim.daemon(ip);
    for (let k = before.get(ip)! + 1; k <= d.sent; k++) {
      const text = `${ip}#${d.incarnation}.${k}`;
      orders.forEach((o, i) => {
        if (!o.includes(text)) failures.push(`${all[i]} never delivered ${text} after the final ring formed`);
      });
    }
  }
  orders.forEach((o, i) => {
    if (o.join('|') !== orders[0]!.join('|')) failures.push(`${all[i]} delivered the final ring's messages in another order than ${all[0]}`);
  });
}
