/**
 * Proof: throughput of our daemon against the reference daemon, measured with the reference's
 * own load generator (spflooder), in one run, side by side.
 *
 *   npx tsx interop/proof/flooder.ts [--messages 100000] [--bytes 1000] [--reps 3] [--tcp]
 *                                     [--warmup 10000] [--timeout 120] [--only ours|reference]
 *
 * Needs SPREAD_REF (the reference install prefix, for bin/spflooder and sbin/spread) and our
 * daemon built (npm run build). For each daemon: start it on a free port, one warm-up run, then
 * N timed runs of `spflooder -m M -b B -s <port>`; a run counts only if spflooder exits 0 and
 * prints its final "completed multicast" line. Prints msgs/s per run, the median, and the ratio
 * ours/reference of the medians. Every run has a time limit; daemons are always stopped.
 */
import { parseArgs } from 'node:util';
import { oursDaemonBuilt, oursDaemonPath, referenceBin, referencePrefix, skipLine, startDaemon, type DaemonHandle, type Impl } from '../launcher.js';
import { runOnce } from '../session.js';
import { table } from '../compare.js';

interface RunOutcome {
  ok: boolean;
  seconds: number;
  rate: number;
  note: string;
}

interface ImplOutcome {
  impl: Impl;
  port: number | undefined;
  runs: RunOutcome[];
  error: string | undefined;
}

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', short: 'm', default: '100000' },
    bytes: { type: 'string', short: 'b', default: '1000' },
    reps: { type: 'string', short: 'r', default: '3' },
    warmup: { type: 'string', default: '10000' },
    timeout: { type: 'string', default: '120' },
    tcp: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});

const messages = Number(args.messages);
const bytes = Number(args.bytes);
const reps = Math.max(1, Math.min(50, Number(args.reps)));
const warmup = Number(args.warmup);
const timeoutMs = Number(args.timeout) * 1000;

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '') ?? s;
}

function tail(s: string, n = 5): string {
  return s.trimEnd().split('\n').slice(-n).join(' | ');
}

async function flood(spflooder: string, d: DaemonHandle, count: number, user: string): Promise<RunOutcome> {
  const spread = args.tcp ? d.spreadTcp : d.spread;
  const r = await runOnce({ command: spflooder, args: ['-m', String(count), '-b', String(bytes), '-s', spread, '-u', user] }, { timeoutMs });
  const seconds = r.elapsedMs / 1000;
  const done = r.stdout.includes(`flooder: completed multicast of ${count} messages`);
  if (r.timedOut) return { ok: false, seconds, rate: NaN, note: `TIMEOUT after ${seconds.toFixed(1)} s; last output: ${tail(r.stdout)}` };
  if (r.code !== 0 || !done) {
    return { ok: false, seconds, rate: NaN, note: `FAILED (exit ${r.code ?? r.signal}); last output: ${tail(r.stdout + r.stderr)}` };
  }
  if (!d.running()) return { ok: false, seconds, rate: NaN, note: 'daemon died during the run' };
  return { ok: true, seconds, rate: count / seconds, note: '' };
}

async function measure(impl: Impl, spflooder: string): Promise<ImplOutcome> {
  const out: ImplOutcome = { impl, port: undefined, runs: [], error: undefined };
  let d: DaemonHandle;
  try {
    d = await startDaemon({ impl, readyTimeoutMs: 20_000 });
  } catch (e) {
    out.error = `daemon did not start: ${firstLine(e instanceof Error ? e.message : String(e))}`;
    return out;
  }
  out.port = d.port;
  try {
    if (warmup > 0) {
      const w = await flood(spflooder, d, warmup, `w${impl[0]}`);
      if (!w.ok) {
        out.error = `warm-up failed: ${w.note}`;
        return out;
      }
    }
    for (let i = 0; i < reps; i++) {
      process.stderr.write(`  ${impl}: run ${i + 1}/${reps}...\n`);
      const r = await flood(spflooder, d, messages, `f${impl[0]}${i}`);
      out.runs.push(r);
      if (!r.ok && !d.running()) break;
    }
  } finally {
    await d.stop();
  }
  return out;
}

async function main(): Promise<number> {
  const prefix = referencePrefix();
  if (prefix === undefined) {
    skipLine('proof/flooder (needs the reference spflooder)');
    return 0;
  }
  const spflooder = referenceBin('spflooder', prefix);
  if (spflooder === undefined) {
    console.log(`FAIL: ${prefix}/bin/spflooder not found`);
    return 1;
  }
  const impls: Impl[] = args.only === 'ours' || args.only === 'reference' ? [args.only] : ['ours', 'reference'];
  const results: ImplOutcome[] = [];
  for (const impl of impls) {
    if (impl === 'ours' && !oursDaemonBuilt()) {
      results.push({ impl, port: undefined, runs: [], error: `not built (${oursDaemonPath()} missing): run npm run build` });
      continue;
    }
    process.stderr.write(`${impl}: starting daemon\n`);
    results.push(await measure(impl, spflooder));
  }

  const transport = args.tcp ? 'TCP 127.0.0.1' : 'unix socket';
  console.log('');
  console.log(`spflooder (reference client) -m ${messages} -b ${bytes}, ${transport}, ${reps} timed runs per daemon${warmup > 0 ? ` (+1 warm-up of ${warmup})` : ''}`);
  console.log('');
  const header = ['daemon', 'port', ...Array.from({ length: reps }, (_, i) => `run ${i + 1} msgs/s`), 'median msgs/s', 'median MB/s'];
  const rows = results.map((r) => {
    const cells = Array.from({ length: reps }, (_, i) => {
      const run = r.runs[i];
      if (run === undefined) return '-';
      return run.ok ? Math.round(run.rate).toString() : 'FAIL';
    });
    const ok = r.runs.filter((x) => x.ok).map((x) => x.rate);
    const med = ok.length === r.runs.length && ok.length > 0 ? median(ok) : NaN;
    return [
      r.impl,
      r.port === undefined ? '-' : String(r.port),
      ...cells,
      Number.isNaN(med) ? 'n/a' : Math.round(med).toString(),
      Number.isNaN(med) ? 'n/a' : ((med * bytes) / 1e6).toFixed(1),
    ];
  });
  console.log(table(header, rows));
  console.log('');

  const medOf = (impl: Impl): number => {
    const r = results.find((x) => x.impl === impl);
    if (r === undefined || r.error !== undefined || r.runs.length === 0 || r.runs.some((x) => !x.ok)) return NaN;
    return median(r.runs.map((x) => x.rate));
  };
  const ours = medOf('ours');
  const ref = medOf('reference');
  console.log(`ratio ours/reference (median msgs/s): ${Number.isNaN(ours) || Number.isNaN(ref) ? 'n/a' : (ours / ref).toFixed(2)}`);

  let failed = false;
  for (const r of results) {
    if (r.error !== undefined) {
      console.log(`${r.impl}: ${r.error}`);
      failed = true;
    }
    r.runs.forEach((run, i) => {
      if (!run.ok) {
        console.log(`${r.impl} run ${i + 1}: ${run.note}`);
        failed = true;
      }
    });
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error('flooder proof crashed:', e);
    process.exitCode = 2;
  },
);
