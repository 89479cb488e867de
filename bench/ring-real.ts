/**
 * Real rings on loopback, ours against the C reference, side by side in one run
 * (`npm run bench -- --only ring-real`).
 *
 * Each ring is N daemons of one implementation (one loopback segment per daemon, the reference's
 * LAN defaults), started afresh per repetition; implementations alternate so machine noise hits
 * both alike, and each row is the median of the repetitions. Load: interop/flood.ts, a lean
 * client that speaks the wire directly, the same for both implementations: one writer on daemon 1
 * sends M messages of B bytes, a reader joined to the group on the last daemon receives them.
 * "Time to deliver" runs from the writer's first send to the reader's last message (one clock). The first flood on a ring is "cold" (just formed), later ones "warm".
 * The reader checks every message arrived, once, in per-sender order: a run that loses any fails.
 * Memory: the sending daemon's peak resident set (VmHWM) after the floods.
 *
 * Environment: RING_REAL_REPS (default 3), RING_REAL_ONLY (comma-separated row-name substrings),
 * RING_REAL_IMPLS (`ours`, `reference` or both; default both when SPREAD_REF is set),
 * RING_REAL_PROF_DIR (our daemons write V8 CPU profiles there: `--cpu-prof`).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { oursDaemonBuilt, referencePrefix, repoRoot, type Impl } from '../interop/launcher.js';
import { startTopology, type Topology } from '../interop/topology.js';
import type { FloodService } from '../interop/flood.js';
import { cpuSeconds, median, peakRssKb } from './measure.js';
import type { BenchModule, BenchOptions, BenchRow } from './run.js';

interface Flood {
  /** Row name; `cold` floods must come first on their ring. */
  name: string;
  size: number;
  count: number;
  service: FloodService;
}

interface RingPlan {
  daemons: number;
  floods: readonly Flood[];
}

const f = (name: string, size: number, count: number, service: FloodService = 'agreed'): Flood => ({ name, size, count, service });

const PLANS: readonly RingPlan[] = [
  { daemons: 3, floods: [f('3d 100 B agreed cold', 100, 40_000), f('3d 100 B agreed warm', 100, 40_000), f('3d 100 B safe warm', 100, 40_000, 'safe')] },
  {
    daemons: 3,
    floods: [
      f('3d 1000 B agreed cold', 1000, 40_000), f('3d 1000 B agreed warm', 1000, 40_000), f('3d 1000 B safe warm', 1000, 40_000, 'safe'),
      f('3d 10 kB agreed warm', 10_000, 4_000), f('3d 100 kB agreed warm', 100_000, 400),
    ],
  },
  { daemons: 5, floods: [f('5d 100 B agreed cold', 100, 40_000), f('5d 100 B agreed warm', 100, 40_000), f('5d 1000 B agreed warm', 1000, 40_000), f('5d 1000 B safe warm', 1000, 40_000, 'safe')] },
];

interface FloodResult {
  seconds: number;
  /** CPU seconds all the ring's daemons used during the flood (sys: in the kernel). */
  cpu: number;
  sys: number;
  p50: number;
  p99: number;
}

/** Runs one flood client to completion; resolves with its JSON line (and the `ready` promise for readers). */
function client(t: Topology, node: number, args: string[], onReady?: () => void): Promise<Record<string, unknown>> {
  const script = join(repoRoot(), 'dist', 'interop', 'flood.js');
  // The reader must keep up with the daemon (the reference cuts a session 1000 messages behind),
  // so as root it runs at a higher priority than the daemons; the same for both implementations.
  const boost = args[1] === 'read' && process.getuid?.() === 0 ? ['nice', '-n', '-10'] : [];
  const argv = [...boost, process.execPath, script, '--spread', t.nodes[node]!.spreadTcp, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    if (onReady !== undefined && out.includes('ready\n')) {
      onReady();
      onReady = undefined;
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 180_000);
  return new Promise((res, rej) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) rej(new Error(`flood client exited ${code}: ${err.slice(-500)}`));
      else res(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

async function flood(t: Topology, fl: Flood, group: string): Promise<FloodResult> {
  const last = t.nodes.length - 1;
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => (ready = r));
  const reader = client(t, last, ['--role', 'read', '--count', String(fl.count), '--group', group, '--idle-ms', '20000'], ready);
  await Promise.race([isReady, reader]);
  const cpu0 = t.nodes.reduce((sum, n) => sum + cpuSeconds(n.daemon.pid), 0);
  const sys0 = t.nodes.reduce((sum, n) => sum + cpuSeconds(n.daemon.pid, true), 0);
  const writer = await client(t, 0, ['--role', 'write', '--count', String(fl.count), '--size', String(fl.size), '--service', fl.service, '--group', group]);
  const r = await reader;
  if (r.received !== fl.count || r.duplicates !== 0 || r.fifoBreaks !== 0) {
    throw new Error(`${fl.name}: reader got ${String(r.received)}/${fl.count} (duplicates ${String(r.duplicates)}, FIFO breaks ${String(r.fifoBreaks)})`);
  }
  const lat = r.latencyMs as { p50: number; p99: number };
  const cpu = t.nodes.reduce((sum, n) => sum + cpuSeconds(n.daemon.pid), 0) - cpu0;
  const sys = t.nodes.reduce((sum, n) => sum + cpuSeconds(n.daemon.pid, true), 0) - sys0;
  return { cpu, sys, seconds: ((r.lastMs as number) - (writer.startMs as number)) / 1000, p50: lat.p50, p99: lat.p99 };
}

interface Sample {
  results: Map<string, FloodResult[]>;
  rssKb: number[];
}

async function runRing(impl: Impl, plan: RingPlan, sample: Sample, wanted: (name: string) => boolean, opts: BenchOptions): Promise<void> {
  const floods = plan.floods.filter((fl) => wanted(fl.name));
  if (floods.length === 0) return;
  const prof = process.env.RING_REAL_PROF_DIR;
  const env = prof !== undefined && impl === 'ours' ? { env: { ...process.env, SPREAD_TS_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${prof}` } } : {};
  const t = await startTopology({ kind: 'loopback', nodes: Array.from({ length: plan.daemons }, () => impl), ...env });
  try {
    await t.waitForRing(plan.daemons, { timeoutMs: 30_000 });
    for (const [i, fl] of floods.entries()) {
      const r = await flood(t, fl, `flood${i}`);
      opts.log(`  ${impl} ${fl.name}: ${r.seconds.toFixed(3)} s, daemons' CPU ${r.cpu.toFixed(2)} s (sys ${r.sys.toFixed(2)}), p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`);
      const list = sample.results.get(fl.name) ?? [];
      list.push(r);
      sample.results.set(fl.name, list);
    }
    sample.rssKb.push(peakRssKb(t.nodes[0]!.daemon.pid));
  } finally {
    await t.stop();
  }
}

function rowsFor(plan: RingPlan, impls: readonly Impl[], samples: Map<Impl, Sample>): BenchRow[] {
  const rows: BenchRow[] = [];
  const ours = samples.get('ours');
  const ref = samples.get('reference');
  const pick = (s: Sample | undefined, name: string, k: keyof FloodResult): number | undefined => {
    const rs = s?.results.get(name);
    return rs === undefined || rs.length === 0 ? undefined : median(rs.map((r) => r[k]));
  };
  for (const fl of plan.floods) {
    const o = pick(ours, fl.name, 'seconds');
    const b = pick(ref, fl.name, 'seconds');
    if (o === undefined && b === undefined) continue;
    const main = impls.includes('ours') ? o : b;
    const base = (v: number | undefined) => (v !== undefined && impls.length > 1 ? { baseline: { label: 'reference', value: v } } : {});
    rows.push({ group: 'ring-real', name: `${fl.name} msgs/s`, unit: 'msgs/s', value: fl.count / (main ?? NaN), ...base(b === undefined ? undefined : fl.count / b) });
    const cpuOf = (s: Sample | undefined): number | undefined => {
      const c = pick(s, fl.name, 'cpu');
      return c === undefined ? undefined : (c * 1e6) / fl.count;
    };
    const co = cpuOf(impls.includes('ours') ? ours : ref);
    rows.push({ group: 'ring-real', name: `${fl.name} daemons' CPU per message`, unit: 'µs', higherIsBetter: false, value: co ?? NaN, ...base(cpuOf(ref)) });
    for (const k of ['p50', 'p99'] as const) {
      rows.push({ group: 'ring-real', name: `${fl.name} latency ${k}`, unit: 'ms', higherIsBetter: false, value: pick(impls.includes('ours') ? ours : ref, fl.name, k) ?? NaN, ...base(pick(ref, fl.name, k)) });
    }
  }
  const rss = (s: Sample | undefined) => (s === undefined || s.rssKb.length === 0 ? undefined : Math.max(...s.rssKb) / 1024);
  const o = rss(ours);
  const b = rss(ref);
  if (o !== undefined || b !== undefined) {
    rows.push({ group: 'ring-real', name: `${plan.daemons}d peak RSS of the sending daemon`, unit: 'MB', higherIsBetter: false, value: (impls.includes('ours') ? o : b) ?? NaN, ...(b !== undefined && impls.length > 1 ? { baseline: { label: 'reference', value: b } } : {}) });
  }
  return rows;
}

function implsToRun(): Impl[] {
  const env = process.env.RING_REAL_IMPLS;
  const all: Impl[] = referencePrefix() === undefined ? ['ours'] : ['ours', 'reference'];
  return env === undefined ? all : all.filter((i) => env.split(',').includes(i));
}

export const benchmark: BenchModule = {
  name: 'ring-real',
  description: 'real loopback rings (3 and 5 daemons): time to deliver a flood, latency, peak RSS; ours vs the reference',
  available: () => (oursDaemonBuilt() || referencePrefix() !== undefined ? null : 'our daemon is not built'),
  run: async (opts) => {
    const reps = Number(process.env.RING_REAL_REPS ?? 3);
    const only = process.env.RING_REAL_ONLY?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    const wanted = (name: string): boolean => only === undefined || only.some((o) => name.includes(o));
    const impls = implsToRun();
    const rows: BenchRow[] = [];
    for (const plan of PLANS) {
      const samples = new Map<Impl, Sample>(impls.map((i) => [i, { results: new Map(), rssKb: [] }]));
      for (let rep = 0; rep < reps; rep++) {
        // Alternate which implementation goes first in each repetition.
        const order = rep % 2 === 0 ? impls : [...impls].reverse();
        for (const impl of order) await runRing(impl, plan, samples.get(impl)!, wanted, opts);
      }
      rows.push(...rowsFor(plan, impls, samples));
    }
    return rows;
  },
};
