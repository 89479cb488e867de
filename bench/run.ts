/**
 * Benchmark runner: `npm run bench` (= build, then `node dist/bench/run.js`).
 *
 *   node dist/bench/run.js [--only <name...>] [--duration <ms>] [--json] [--list]
 *
 * A benchmark is a `BenchModule`. Modules are found two ways:
 *  - the explicit `BENCHMARKS` list below (and `registerBenchmark()` for programmatic use);
 *  - any other module in this directory that exports `benchmark: BenchModule` (or
 *    `benchmarks: BenchModule[]`) is picked up automatically, so a new file such as
 *    `bench/daemon.ts` needs no edit here.
 *
 * Each module returns rows. A row may carry a `baseline` (a second implementation measured in
 * the same run: binary-parser for the codecs, the C reference daemon for daemon benchmarks);
 * the table then prints the ratio, oriented so that > 1 means ours is better. A module that
 * needs something absent (say the reference daemon binary) reports it from `available()` and
 * is listed as skipped instead of failing the run.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { benchmark as wireClient } from './wire-client.js';
import { machineLine } from './measure.js';

export interface BenchRow {
  /** Section of the table, e.g. `wire/client` or `daemon`. */
  group: string;
  name: string;
  /** `ops/s`, `MB/s`, `msgs/s`, `ms`, ... */
  unit: string;
  /** Our figure. */
  value: number;
  /** False for latencies and other figures where lower is better. Default true. */
  higherIsBetter?: boolean;
  /** The same measurement of another implementation in the same run. */
  baseline?: { label: string; value: number };
  note?: string;
}

export interface BenchOptions {
  /** Wall-clock budget per measurement, in ms (default 500). */
  durationMs: number;
  /** Progress output (stderr), so stdout stays a clean table or JSON. */
  log: (line: string) => void;
}

export interface BenchModule {
  /** Unique name, used by --only. */
  name: string;
  description: string;
  /** null when runnable, otherwise why not (the module is then reported as skipped). */
  available?: (opts: BenchOptions) => Promise<string | null> | string | null;
  run: (opts: BenchOptions) => Promise<BenchRow[]> | BenchRow[];
}

/** Explicitly registered benchmarks, in run order. */
export const BENCHMARKS: BenchModule[] = [wireClient];

export function registerBenchmark(m: BenchModule): void {
  if (BENCHMARKS.some((b) => b.name === m.name)) throw new Error(`benchmark ${m.name} is already registered`);
  BENCHMARKS.push(m);
}

function isBenchModule(v: unknown): v is BenchModule {
  return typeof v === 'object' && v !== null && typeof (v as BenchModule).name === 'string' && typeof (v as BenchModule).run === 'function';
}

/** BENCHMARKS plus every module in `dir` that exports `benchmark` or `benchmarks`. */
export async function discoverBenchmarks(dir = dirname(fileURLToPath(import.meta.url))): Promise<BenchModule[]> {
  const found = [...BENCHMARKS];
  const self = fileURLToPath(import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.js') && `${dir}/${f}` !== self).sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(`${dir}/${f}`).href)) as { benchmark?: unknown; benchmarks?: unknown };
    const candidates = [mod.benchmark, ...(Array.isArray(mod.benchmarks) ? (mod.benchmarks as unknown[]) : [])];
    for (const c of candidates) if (isBenchModule(c) && !found.some((b) => b.name === c.name)) found.push(c);
  }
  return found;
}

/** > 1 means ours is better, whichever direction the unit runs. */
export function ratio(row: BenchRow): number | undefined {
  if (!row.baseline || row.baseline.value === 0 || row.value === 0) return undefined;
  return row.higherIsBetter === false ? row.baseline.value / row.value : row.value / row.baseline.value;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (abs >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  if (abs >= 100) return v.toFixed(0);
  return v.toFixed(2);
}

export function formatTable(rows: readonly BenchRow[], skipped: readonly { name: string; reason: string }[] = []): string {
  const header = ['group', 'benchmark', 'ours', 'unit', 'baseline', 'baseline value', 'ratio (>1: ours better)'];
  const body = rows.map((r) => {
    const q = ratio(r);
    return [r.group, r.name + (r.note ? ` (${r.note})` : ''), fmt(r.value), r.unit, r.baseline?.label ?? '', r.baseline ? fmt(r.baseline.value) : '', q === undefined ? '' : `${q.toFixed(2)}×`];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const numeric = new Set([2, 5, 6]);
  const line = (cells: string[]): string => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  for (const s of skipped) out.push(`skipped ${s.name}: ${s.reason}`);
  return out.join('\n');
}

export interface RunResult {
  rows: BenchRow[];
  skipped: { name: string; reason: string }[];
  failed: { name: string; error: string }[];
}

export async function runBenchmarks(modules: readonly BenchModule[], opts: BenchOptions): Promise<RunResult> {
  const result: RunResult = { rows: [], skipped: [], failed: [] };
  for (const m of modules) {
    try {
      const reason = m.available ? await m.available(opts) : null;
      if (reason !== null) {
        result.skipped.push({ name: m.name, reason });
        continue;
      }
      opts.log(`running ${m.name}: ${m.description}`);
      result.rows.push(...(await m.run(opts)));
    } catch (e) {
      result.failed.push({ name: m.name, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  }
  return result;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('bench')
    .description('spread-ts benchmarks (ours side by side with a baseline, ratios > 1 = ours better)')
    .option('--only <names...>', 'run only these benchmark modules')
    .addOption(new Option('--duration <ms>', 'time budget per measurement').default(500).argParser((v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of milliseconds');
      return n;
    }))
    .option('--json', 'print rows as JSON instead of a table')
    .option('--list', 'list the benchmark modules and exit')
    .exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    // --help and --version are not errors; every other parse failure is a usage error (64).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 64;
    throw e;
  }
  const o = program.opts<{ only?: string[]; duration: number; json?: boolean; list?: boolean }>();
  const all = await discoverBenchmarks();
  if (o.list) {
    for (const m of all) process.stdout.write(`${m.name}\t${m.description}\n`);
    return 0;
  }
  const unknown = (o.only ?? []).filter((n) => !all.some((m) => m.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')} (have: ${all.map((m) => m.name).join(', ')})\n`);
    return 64;
  }
  const selected = o.only ? all.filter((m) => o.only!.includes(m.name)) : all;
  const machine = machineLine();
  process.stderr.write(`${machine}\n`);
  const res = await runBenchmarks(selected, { durationMs: o.duration, log: (l) => process.stderr.write(`${l}\n`) });
  if (o.json) process.stdout.write(`${JSON.stringify({ machine, ...res }, null, 2)}\n`);
  else process.stdout.write(`${formatTable(res.rows, res.skipped)}\n`);
  for (const f of res.failed) process.stderr.write(`FAILED ${f.name}: ${f.error}\n`);
  return res.failed.length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
