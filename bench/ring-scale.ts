/**
 * Scale on a real loopback ring of 3, ours against the C reference, side by side in one run
 * (`npm run bench -- --only ring-scale`): the seed's "thousands of groups".
 *
 * On daemon 1: S sessions connect (997 by default: the reference's select() set holds 1024
 * descriptors), then each joins G/S groups of its own (10,000 groups by default), every join
 * awaited through its own membership notice; then each leaves them. Probes on daemons 2 and 3
 * share one group. Daemon 3 is then killed (SIGKILL): the time until the probe on daemon 2 gets
 * the network notice is the new ring plus the GROUPS exchange of every group; daemon 3 restarts
 * and a probe there joins: the time until its own notice is the merge plus the exchange.
 * Memory: daemon 1's resident set before, after the sessions, after the joins; per session and
 * per group. Implementations alternate; rows are medians.
 *
 * Environment: RING_SCALE_SESSIONS (997), RING_SCALE_GROUPS (10000), RING_SCALE_REPS (1),
 * RING_REAL_IMPLS as for ring-real.
 */
import { startDaemon, type DaemonHandle, type Impl } from '../interop/launcher.js';
import { sleep } from '../interop/ring-scenarios.js';
import { startTopology, type Topology } from '../interop/topology.js';
import { connect } from '../src/client/index.js';
import type { SpreadConnection as Connection } from '../src/client/index.js';
import { alternating, benchImpls, median, ringBenchAvailable, rssKb } from './measure.js';
import type { BenchModule, BenchOptions, BenchRow } from './run.js';

interface ScaleResult {
  connectPerS: number;
  joinPerS: number;
  leavePerS: number;
  kbPerSession: number;
  bytesPerGroup: number;
  killExchangeMs: number;
  mergeRingMs: number;
  mergeExchangeMs: number;
}

/** Waits for this session's own membership notice on `group` (join or leave), bounded in time. */
async function notice(c: Connection, group: string, reason: 'join' | 'leave' | 'network' | 'disconnect', timeoutMs = 60_000): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  for (;;) {
    const ev = await c.receive({ signal });
    if (ev.kind === 'membership' && ev.group === group && !ev.transitional && (ev.reason === reason || (reason === 'leave' && ev.selfLeave))) return;
  }
}

/** Runs `fn` over `items` with at most `width` in flight. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function sessions(spread: string, n: number): Promise<Connection[]> {
  const out: Connection[] = [];
  await pool(Array.from({ length: n }, (_, i) => i), 32, async (i) => {
    out.push(await connect({ spread, name: `s${i}`, membership: true, reconnect: false }));
  });
  return out;
}

async function joinAll(conns: readonly Connection[], perSession: number, leave: boolean): Promise<void> {
  await pool(conns.map((c, i) => ({ c, i })), 64, async ({ c, i }) => {
    for (let k = 0; k < perSession; k++) {
      const g = `g${i}.${k}`;
      if (leave) await c.leave(g);
      else await c.join(g);
      await notice(c, g, leave ? 'leave' : 'join');
    }
  });
}

async function once(impl: Impl, nSessions: number, nGroups: number): Promise<ScaleResult> {
  const t: Topology = await startTopology({ kind: 'loopback', nodes: [impl, impl, impl] });
  const conns: Connection[] = [];
  let revived: DaemonHandle | null = null;
  try {
    await t.waitForRing(3, { timeoutMs: 30_000 });
    const pid = t.nodes[0]!.daemon.pid;
    const rss0 = rssKb(pid);
    let t0 = performance.now();
    conns.push(...(await sessions(t.nodes[0]!.spreadTcp, nSessions)));
    const connectPerS = nSessions / ((performance.now() - t0) / 1000);
    await sleep(500);
    const rss1 = rssKb(pid);
    const perSession = Math.max(1, Math.round(nGroups / nSessions));
    const groups = perSession * nSessions;
    t0 = performance.now();
    await joinAll(conns, perSession, false);
    const joinPerS = groups / ((performance.now() - t0) / 1000);
    await sleep(500);
    const rss2 = rssKb(pid);

    const p2 = await connect({ spread: t.nodes[1]!.spreadTcp, name: 'p2', membership: true, reconnect: false });
    const p3 = await connect({ spread: t.nodes[2]!.spreadTcp, name: 'p3', membership: true, reconnect: false });
    conns.push(p2, p3);
    await p2.join('probe');
    await notice(p2, 'probe', 'join');
    await p3.join('probe');
    await notice(p3, 'probe', 'join');
    await notice(p2, 'probe', 'join');
    const victim = t.nodes[2]!;
    t0 = performance.now();
    process.kill(victim.daemon.pid, 'SIGKILL');
    await notice(p2, 'probe', 'network');
    const killExchangeMs = performance.now() - t0;
    await victim.daemon.exited;
    t0 = performance.now();
    revived = await startDaemon({ impl, name: victim.name, port: victim.port, configText: t.confText, host: victim.address });
    // Both launch markers are the daemon's first regular configuration (here the merged ring).
    const mergeRingMs = performance.now() - t0;
    const p3b = await connect({ spread: victim.spreadTcp, name: 'p3b', membership: true, reconnect: false });
    conns.push(p3b);
    await p3b.join('probe');
    await notice(p3b, 'probe', 'join');
    const mergeExchangeMs = performance.now() - t0;

    t0 = performance.now();
    await joinAll(conns.slice(0, nSessions), perSession, true);
    const leavePerS = groups / ((performance.now() - t0) / 1000);
    return {
      connectPerS, joinPerS, leavePerS, killExchangeMs, mergeRingMs, mergeExchangeMs,
      kbPerSession: (rss1 - rss0) / nSessions, bytesPerGroup: ((rss2 - rss1) * 1024) / groups,
    };
  } finally {
    await Promise.all(conns.map((c) => c.disconnect().catch(() => undefined)));
    await revived?.stop();
    await t.stop();
  }
}

const ROWS: readonly { key: keyof ScaleResult; name: string; unit: string; higher: boolean }[] = [
  { key: 'connectPerS', name: 'sessions connected per second', unit: '/s', higher: true },
  { key: 'joinPerS', name: 'joins per second (each awaited)', unit: '/s', higher: true },
  { key: 'leavePerS', name: 'leaves per second (each awaited)', unit: '/s', higher: true },
  { key: 'kbPerSession', name: 'memory per session', unit: 'kB', higher: false },
  { key: 'bytesPerGroup', name: 'memory per group', unit: 'B', higher: false },
  { key: 'killExchangeMs', name: 'kill -9 → network notice (new ring + GROUPS exchange)', unit: 'ms', higher: false },
  { key: 'mergeRingMs', name: 'restart → its first ring (the merge, before the exchange)', unit: 'ms', higher: false },
  { key: 'mergeExchangeMs', name: 'restart → a join there delivered (merge + GROUPS exchange)', unit: 'ms', higher: false },
];

export const benchmark: BenchModule = {
  name: 'ring-scale',
  description: 'ring of 3: 997 sessions and 10,000 groups on one daemon: join/leave rate, memory per session and group, GROUPS exchange after a kill and a merge',
  available: ringBenchAvailable,
  run: async (opts: BenchOptions) => {
    const reps = Number(process.env.RING_SCALE_REPS ?? 1);
    const nSessions = Number(process.env.RING_SCALE_SESSIONS ?? 997);
    const nGroups = Number(process.env.RING_SCALE_GROUPS ?? 10_000);
    const impls = benchImpls();
    const got = await alternating(impls, reps, (impl) => once(impl, nSessions, nGroups), (impl, r) =>
      opts.log(`  ${impl}: ${ROWS.map((row) => `${row.key} ${r[row.key].toFixed(1)}`).join(', ')}`));
    const pick = (impl: Impl | undefined, k: keyof ScaleResult): number | undefined => {
      const rs = impl === undefined ? undefined : got.get(impl);
      return rs === undefined || rs.length === 0 ? undefined : median(rs.map((r) => r[k]));
    };
    const ref = impls.length > 1 ? 'reference' : undefined;
    return ROWS.map((row): BenchRow => {
      const base = pick(ref, row.key);
      return {
        group: 'ring-scale', name: `3d ${row.name}`, unit: row.unit, higherIsBetter: row.higher, value: pick(impls[0], row.key) ?? NaN,
        ...(base !== undefined ? { baseline: { label: 'reference', value: base } } : {}),
      };
    });
  },
};
