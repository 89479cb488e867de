/**
 * The operational ring in the deterministic simulator: messages per second of wall-clock time
 * for a flood from one daemon (like the reference's spflooder), every message delivered at
 * every daemon, no loss. What is measured is the engines' work plus the simulator's event
 * queue; the network costs nothing. Also reported: the virtual-time throughput the protocol
 * reaches with the simulated per-datagram CPU cost (a property of the token protocol and the
 * windows, not of this machine).
 *
 * The real ring, ours against the reference, is bench/ring-real.ts.
 */
import type { BenchModule, BenchOptions, BenchRow } from './run.js';
import { randomScenario } from '../src/sim/scenario.js';
import { floodWorkload } from '../src/sim/scenario.js';
import { Simulation } from '../src/sim/simulation.js';

interface Case {
  nodes: number;
  size: number;
  accelerated: boolean;
}

const CASES: Case[] = [
  { nodes: 3, size: 100, accelerated: true },
  { nodes: 3, size: 1000, accelerated: true },
  { nodes: 5, size: 100, accelerated: true },
  { nodes: 5, size: 1000, accelerated: true },
  { nodes: 3, size: 1000, accelerated: false },
];

const REFERENCE: Record<string, number> = { '3/100': 80_000, '3/1000': 37_000 };

function flood(c: Case, count: number): { wallSeconds: number; virtualMs: number; ok: boolean } {
  const scenario = randomScenario(1, {
    segments: [c.nodes], accelerated: c.accelerated, loss: 0, dup: 0, reorder: 0, delayMin: 0.02, delayMax: 0.02,
    cpuCost: 0.002, wakeLatency: 0, window: 160, personalWindow: 20, acceleratedWindow: 15, messages: count,
  });
  const workload = floodWorkload(count, c.size);
  const t0 = process.hrtime.bigint();
  const r = new Simulation(scenario, { workload, countOnly: true, settle: 0 }).run();
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { wallSeconds, virtualMs: r.completedAt, ok: r.ok && r.delivered === count * c.nodes };
}

export function measureCase(c: Case, durationMs: number): { msgsPerSec: number; virtualMsgsPerSec: number } {
  flood(c, 2000); // warm-up
  let msgs = 0;
  let seconds = 0;
  let virtualMs = 0;
  const batch = 20_000;
  while (seconds * 1000 < durationMs) {
    const r = flood(c, batch);
    if (!r.ok) throw new Error(`ring flood ${JSON.stringify(c)} did not deliver everything`);
    msgs += batch;
    seconds += r.wallSeconds;
    virtualMs += r.virtualMs;
  }
  return { msgsPerSec: msgs / seconds, virtualMsgsPerSec: msgs / (virtualMs / 1000) };
}

export const benchmark: BenchModule = {
  name: 'ring',
  description: 'operational token ring in the deterministic simulator (flood from one daemon, no loss)',
  run(opts: BenchOptions): BenchRow[] {
    const rows: BenchRow[] = [];
    for (const c of CASES) {
      const label = `${c.nodes} daemons, ${c.size} B, ${c.accelerated ? 'accelerated' : 'original'}`;
      opts.log(`ring: ${label}`);
      const m = measureCase(c, opts.durationMs);
      const ref = REFERENCE[`${c.nodes}/${c.size}`];
      rows.push({
        group: 'ring/sim',
        name: label,
        unit: 'msgs/s',
        value: m.msgsPerSec,
        note: `wall clock, all daemons in one thread${ref !== undefined && c.accelerated ? `; reference ring ≈ ${ref / 1000}k on a real network` : ''}`,
      });
      rows.push({ group: 'ring/sim', name: `${label} (virtual time)`, unit: 'msgs/s', value: m.virtualMsgsPerSec, note: '2 µs CPU per datagram, 20 µs links' });
    }
    return rows;
  },
};

