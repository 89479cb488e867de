/**
 * Daemon throughput and memory, ours against the C reference, side by side in one run.
 *
 * Load: the reference's own spflooder (`-m M -b B`, one sender that also reads its messages
 * back) against a fresh daemon of each implementation, over the unix socket and over TCP.
 * Runs alternate ours / reference so machine noise hits both alike; the row is the median of
 * the runs. Memory: each daemon's peak resident set (VmHWM) after its runs.
 *
 * Needs SPREAD_REF (the reference install prefix) and our daemon built; otherwise skipped.
 */
import { oursDaemonBuilt, referenceBin, referencePrefix, startDaemon, type DaemonHandle } from '../interop/launcher.js';
import { runOnce } from '../interop/session.js';
import { median, peakRssKb } from './measure.js';
import type { BenchModule, BenchOptions, BenchRow } from './run.js';

const REPS = 3;
interface FloodCase {
  bytes: number;
  messages: number;
  tcp: boolean;
}

const CASES: readonly FloodCase[] = [
  { bytes: 100, messages: 50_000, tcp: false },
  { bytes: 1000, messages: 50_000, tcp: false },
  { bytes: 1000, messages: 20_000, tcp: true },
];



async function flood(spflooder: string, d: DaemonHandle, c: FloodCase, user: string): Promise<number> {
  const r = await runOnce(
    { command: spflooder, args: ['-m', String(c.messages), '-b', String(c.bytes), '-s', c.tcp ? d.spreadTcp : d.spread, '-u', user] },
    { timeoutMs: 120_000 },
  );
  if (r.timedOut || r.code !== 0 || !r.stdout.includes(`completed multicast of ${c.messages} messages`)) {
    throw new Error(`spflooder against ${d.impl} failed (exit ${r.code ?? r.signal}): ${r.stdout.slice(-200)}`);
  }
  return c.messages / (r.elapsedMs / 1000);
}

export const benchmark: BenchModule = {
  name: 'daemon',
  description: 'spflooder msgs/s and daemon peak RSS, ours vs the reference daemon',
  available: () => {
    if (referencePrefix() === undefined) return 'SPREAD_REF not set (needs the reference spflooder and daemon)';
    if (!oursDaemonBuilt()) return 'our daemon is not built (npm run build)';
    return null;
  },
  async run(opts: BenchOptions): Promise<BenchRow[]> {
    const spflooder = referenceBin('spflooder', referencePrefix());
    if (spflooder === undefined) throw new Error('reference spflooder not found');
    const ours = await startDaemon({ impl: 'ours', readyTimeoutMs: 20_000 });
    const ref = await startDaemon({ impl: 'reference', readyTimeoutMs: 20_000 });
    const rows: BenchRow[] = [];
    try {
      for (const [i, c] of CASES.entries()) {
        // One short warm-up each, then alternate.
        await flood(spflooder, ours, { ...c, messages: 5000 }, `wo${i}`);
        await flood(spflooder, ref, { ...c, messages: 5000 }, `wr${i}`);
        const o: number[] = [];
        const r: number[] = [];
        for (let k = 0; k < REPS; k++) {
          opts.log(`daemon: ${c.bytes} B ${c.tcp ? 'tcp' : 'unix'} run ${k + 1}/${REPS}`);
          o.push(await flood(spflooder, ours, c, `o${i}${k}`));
          r.push(await flood(spflooder, ref, c, `r${i}${k}`));
        }
        rows.push({
          group: 'daemon',
          name: `spflooder ${c.messages} × ${c.bytes} B, ${c.tcp ? 'TCP' : 'unix socket'} (median of ${REPS})`,
          unit: 'msgs/s',
          value: median(o),
          baseline: { label: 'reference', value: median(r) },
        });
      }
      rows.push({
        group: 'daemon',
        name: 'daemon peak RSS after the runs',
        unit: 'MB',
        value: peakRssKb(ours.pid) / 1024,
        higherIsBetter: false,
        baseline: { label: 'reference', value: peakRssKb(ref.pid) / 1024 },
      });
    } finally {
      await ours.stop();
      await ref.stop();
    }
    return rows;
  },
};
