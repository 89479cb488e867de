/**
 * The interop matrix's scenarios on one running ring (interop/README.md, "The matrix"). Each
 * cell runs the shared ring scenarios (interop/ring-scenarios.ts: every client agrees) and
 * returns the deterministic part of its clients' transcripts — membership views with the
 * membership time masked, the sorted set of messages — for comparison with the all-reference
 * ring's. Cells run in order on one ring: formation, join-leave, order, flooder, kill and
 * restart of one daemon of each implementation, partition and merge, reload.
 */
import type { Impl } from './launcher.js';
import type { Cell } from './matrix-report.js';
import {
  expectSameLines, GROUP, scenarioFormation, scenarioJoin, scenarioKill, scenarioOrder, scenarioRestart, sleep, waitFor,
  type Probe, type RingLike, type ScenarioTimes,
} from './ring-scenarios.js';
import type { RingStatus } from './topology-conf.js';

/** A ring the matrix can drive: the shared scenarios' ring, plus partitions and client programs. */
export interface MatrixRing extends RingLike {
  waitForRing(members: number, timeoutMs?: number, group?: readonly number[]): Promise<readonly RingStatus[]>;
  /** Set when this ring cannot be partitioned: the reason the partition cell is skipped. */
  readonly partitionSkip?: string;
  isolate(i: number): Promise<void>;
  heal(i: number): Promise<void>;
  /** Runs a program where the clients run; `onOutput` sees its output as it comes. */
  runClient(argv: readonly string[], timeoutMs: number, onOutput?: (text: string) => void): Promise<{ code: number | undefined; out: string; timedOut: boolean }>;
  /** The flooder to run: the reference's spflooder (path where clients run), or our flood.js. */
  readonly flooder: { kind: 'spflooder'; path: string } | { kind: 'flood'; argv: readonly string[] };
  logTails(lines?: number): string | Promise<string>;
  /**
   * The reload cell (interop/reload-ring.ts): one more daemon joins by RELOAD and leaves again;
   * absent where the backend cannot grow its ring.
   */
  reload?(): Promise<{ recoveryMs: number[]; compared: string }>;
}

/** One cell's deterministic transcript, by client. */
export type Transcript = Record<string, string[]>;

export interface CellRun {
  readonly cell: Cell;
  readonly transcript?: Transcript;
}

/** Membership time masked: `id P:T:I` → `id P:<T>:I`. */
export function maskLine(line: string): string {
  return line.replace(/\bid (-?\d+):(-?\d+):(-?\d+)/g, 'id $1:<T>:$3');
}

function memberships(probes: readonly Probe[], from: readonly number[]): Transcript {
  const t: Transcript = {};
  probes.forEach((p, i) => (t[p.privateGroup] = p.memberships().slice(from[i] ?? 0).map(maskLine)));
  return t;
}

const counts = (probes: readonly Probe[]): number[] => probes.map((p) => p.memberships().length);
const viewSize = (p: Probe): number | undefined => (p.lastView() as { members?: string[] } | undefined)?.members?.length;

export async function cellFormation(ring: MatrixRing): Promise<{ formationMs: number }> {
  const times: ScenarioTimes = {};
  await scenarioFormation(ring, times);
  return { formationMs: times.formationMs ?? 0 };
}

/** Joins one client per daemon in turn, then the last leaves and joins again: vs_sets and causes alike. */
export async function cellJoinLeave(ring: MatrixRing): Promise<Transcript> {
  await scenarioJoin(ring);
  const probes = ring.probes;
  const last = probes.at(-1)!;
  const base = counts(probes);
  await last.conn.leave(GROUP);
  const others = probes.slice(0, -1);
  await waitFor(() => others.every((p) => viewSize(p) === probes.length - 1), 15_000, () => `leave: ${others.map((p) => p.memberships().slice(-2).join(' | ')).join('\n')}`);
  await last.conn.join(GROUP);
  await waitFor(() => probes.every((p) => viewSize(p) === probes.length), 15_000, () => `rejoin: ${probes.map((p) => p.memberships().slice(-2).join(' | ')).join('\n')}`);
  await sleep(200);
  const after = memberships(others, base);
  expectSameLines('leave and rejoin', others.map((p) => ({ label: p.privateGroup, lines: after[p.privateGroup]! })));
  return memberships(probes, probes.map(() => 0));
}

/** AGREED and SAFE from every client at once: one order everywhere; the set of messages compared. */
export async function cellOrder(ring: MatrixRing): Promise<Transcript> {
  const base = ring.probes.map((p) => p.messages().length);
  await scenarioOrder(ring, 60);
  const p = ring.probes[0]!;
  return { messages: p.messages().slice(base[0]).sort() };
}

/** The flooder across the ring: a reader at the last daemon, a writer at the first. */
export async function cellFlooder(ring: MatrixRing, messages = 1000, bytes = 1000): Promise<string> {
  const first = ring.nodes[0]!.spread;
  const last = ring.nodes.at(-1)!.spread;
  const f = ring.flooder;
  const readerArgv = f.kind === 'spflooder'
    ? ['stdbuf', '-oL', f.path, '-ro', '-m', String(messages), '-b', String(bytes), '-u', 'flrd', '-s', last]
    : [...f.argv, '--spread', last, '--role', 'read', '--count', String(messages), '--group', 'flooder', '--idle-ms', '20000'];
  const readyMark = f.kind === 'spflooder' ? 'Only receiving messages' : 'ready';
  let readerOut = '';
  const reader = ring.runClient(readerArgv, 90_000, (t) => (readerOut += t));
  await waitFor(() => readerOut.includes(readyMark), 15_000, () => `flooder reader did not start: ${readerOut}`);
  await sleep(500);
  // Write-only, as test/rings' flooder: a read-write spflooder exits with its own last messages
  // unread, its socket resets, and the tail it had not yet handed to the daemon is lost (the
  // reader then waits for messages nobody accepted; with either daemon).
  const writerArgv = f.kind === 'spflooder'
    ? [f.path, '-wo', '-m', String(messages), '-b', String(bytes), '-u', 'flwr', '-s', first]
    : [...f.argv, '--spread', first, '--role', 'write', '--count', String(messages), '--size', String(bytes), '--group', 'flooder', '--service', 'agreed'];
  const [w, r] = await Promise.all([ring.runClient(writerArgv, 90_000), reader]);
  if (w.code !== 0) throw new Error(`flooder writer: exit ${w.code}${w.timedOut ? ' (timed out)' : ''}: ${w.out.slice(-1500)}`);
  if (f.kind === 'spflooder') {
    if (r.code !== 0 || !r.out.includes(`completed multicast of ${messages} messages`)) throw new Error(`spflooder reader: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}: ${r.out.slice(-1500)}`);
    return `spflooder: ${messages} × ${bytes} B read at ${ring.nodes.at(-1)!.name}`;
  }
  const res = JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}') as { received?: number; fifoBreaks?: number; duplicates?: number };
  if (res.received !== messages || res.fifoBreaks !== 0 || res.duplicates !== 0) throw new Error(`flood reader: ${r.out.slice(-1500)}`);
  return `flood.js: ${messages} × ${bytes} B read at ${ring.nodes.at(-1)!.name}`;
}

/** kill -9 of node `victim`, then its restart: survivors agree, then everyone does. */
export async function cellKillRestart(ring: MatrixRing, victim: number): Promise<{ transcript: Transcript; recoveryMs: number[] }> {
  const times: ScenarioTimes = {};
  const probes = [...ring.probes];
  const base = counts(probes);
  await scenarioKill(ring, victim, times);
  // The killed daemon's clients are gone with it: later cells use the live ones.
  for (const p of probes.filter((q) => q.node === victim)) {
    ring.probes.splice(ring.probes.indexOf(p), 1);
    await p.close();
  }
  await scenarioRestart(ring, victim, times);
  const survivors = probes.filter((p) => p.node !== victim);
  const transcript = memberships(survivors, base.filter((_, i) => probes[i]!.node !== victim));
  return { transcript, recoveryMs: [times.killRecoveryMs ?? 0, times.restartMergeMs ?? 0] };
}

/** Node `alone` is cut off: two rings; its peers' clients agree; healed, one ring again. */
export async function cellPartition(ring: MatrixRing, alone: number): Promise<{ transcript: Transcript; recoveryMs: number[] }> {
  const n = ring.nodes.length;
  const others = ring.nodes.filter((x) => x.index !== alone).map((x) => x.index);
  const side = ring.probes.filter((p) => p.node !== alone);
  const base = counts(side);
  const t0 = Date.now();
  await ring.isolate(alone);
  try {
    await ring.waitForRing(n - 1, 40_000, others);
    await ring.waitForRing(1, 40_000, [alone]);
  } catch (err) {
    await ring.heal(alone);
    throw err;
  }
  const split = Date.now() - t0;
  await waitFor(() => side.every((p) => viewSize(p) === side.length), 15_000, () => `partition: ${side.map((p) => p.memberships().slice(-2).join(' | ')).join('\n')}`);
  const t1 = Date.now();
  await ring.heal(alone);
  await ring.waitForRing(n, 60_000);
  const merge = Date.now() - t1;
  await waitFor(() => ring.probes.every((p) => viewSize(p) === ring.probes.length), 15_000, () => `merge: ${ring.probes.map((p) => p.memberships().slice(-2).join(' | ')).join('\n')}`);
  await sleep(200);
  const transcript = memberships(side, base);
  expectSameLines('partition and merge', side.map((p) => ({ label: p.privateGroup, lines: transcript[p.privateGroup]! })));
  return { transcript, recoveryMs: [split, merge] };
}

/** Victims of the kill cells: the first daemon of each implementation present. */
export function victims(impls: readonly Impl[]): { impl: Impl; index: number }[] {
  const out: { impl: Impl; index: number }[] = [];
  for (const impl of ['ours', 'reference'] as const) {
    const i = impls.indexOf(impl);
    if (i >= 0) out.push({ impl, index: i });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Compares a cell's transcript with the all-reference ring's; '' when equal. */
export function transcriptDiff(mine: Transcript, golden: Transcript): string {
  const keys = [...new Set([...Object.keys(mine), ...Object.keys(golden)])].sort();
  for (const k of keys) {
    const a = golden[k] ?? [];
    const b = mine[k] ?? [];
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) return `${k} line ${i}: reference ring "${a[i] ?? '(none)'}", this ring "${b[i] ?? '(none)'}"`;
    }
  }
  return '';
}
