/**
 * Membership recovery on real loopback rings, ours against the C reference, side by side in one
 * run (`npm run bench -- --only ring-recovery`): a ring of 3 daemons of one implementation
 * forms; the last daemon is killed (SIGKILL) and the time until both survivors report the same
 * 2-member ring is measured; then it is started again (same name, port and configuration) and the
 * time until all three report the same 3-member ring is measured. LAN default timeouts, so both
 * figures are dominated by the protocol's timers (token loss 1.25 s, gather, form), which is
 * what "no slower than the reference" asks of us. Implementations alternate; rows are medians.
 *
 * Environment: RING_RECOVERY_REPS (default 3), and RING_REAL_IMPLS as for ring-real.
 */
import { startDaemon, type DaemonHandle, type Impl } from '../interop/launcher.js';
import { sleep } from '../interop/ring-scenarios.js';
import { logRingStatus, startTopology, type Topology } from '../interop/topology.js';
import { alternating, benchImpls, median, ringBenchAvailable } from './measure.js';
import type { BenchModule, BenchOptions, BenchRow } from './run.js';

const DAEMONS = 3;

/** Polls until every daemon reports a ring of `members` with one id; returns the ms it took. */
async function ringOf(impl: Impl, daemons: readonly DaemonHandle[], members: number, since: number): Promise<number> {
  const deadline = since + 30_000;
  while (performance.now() < deadline) {
    const st = daemons.map((d) => logRingStatus({ impl, daemon: d }));
    if (st.every((s) => s?.members === members) && new Set(st.map((s) => s?.id)).size === 1) return performance.now() - since;
    await sleep(10);
  }
  throw new Error(`ring-recovery ${impl}: no ring of ${members} within 30 s`);
}

async function once(impl: Impl): Promise<{ killMs: number; mergeMs: number }> {
  const t: Topology = await startTopology({ kind: 'loopback', nodes: Array.from({ length: DAEMONS }, () => impl) });
  let revived: DaemonHandle | null = null;
  try {
    await t.waitForRing(DAEMONS, { timeoutMs: 30_000 });
    const victim = t.nodes[DAEMONS - 1]!;
    const survivors = t.nodes.slice(0, -1).map((n) => n.daemon);
    const t0 = performance.now();
    process.kill(victim.daemon.pid, 'SIGKILL');
    const killMs = await ringOf(impl, survivors, DAEMONS - 1, t0);
    await victim.daemon.exited;
    const t1 = performance.now();
    revived = await startDaemon({ impl, name: victim.name, port: victim.port, configText: t.confText, host: victim.address });
    const mergeMs = await ringOf(impl, [...survivors, revived], DAEMONS, t1);
    return { killMs, mergeMs };
  } finally {
    await revived?.stop();
    await t.stop();
  }
}


export const benchmark: BenchModule = {
  name: 'ring-recovery',
  description: 'real loopback ring of 3: kill -9 → new ring, restart → merged ring (ms); ours vs the reference',
  available: ringBenchAvailable,
  run: async (opts: BenchOptions) => {
    const reps = Number(process.env.RING_RECOVERY_REPS ?? 3);
    const impls = benchImpls();
    const got = await alternating(impls, reps, once, (impl, r) =>
      opts.log(`  ${impl}: kill → ring of ${DAEMONS - 1} in ${r.killMs.toFixed(0)} ms, restart → ring of ${DAEMONS} in ${r.mergeMs.toFixed(0)} ms`));
    const mine = got.get(impls[0]!)!;
    const ref = impls.length > 1 ? got.get('reference') : undefined;
    const row = (name: string, k: 'killMs' | 'mergeMs'): BenchRow => ({
      group: 'ring-recovery', name, unit: 'ms', higherIsBetter: false, value: median(mine.map((r) => r[k])),
      ...(ref !== undefined ? { baseline: { label: 'reference', value: median(ref.map((r) => r[k])) } } : {}),
    });
    return [row(`${DAEMONS}d kill -9 → new ring`, 'killMs'), row(`${DAEMONS}d restart → merged ring`, 'mergeMs')];
  },
};
