import { readFileSync } from 'node:fs';
import { cpus, release, type } from 'node:os';
import { oursDaemonBuilt, referencePrefix, type Impl } from '../interop/launcher.js';

/**
 * Helpers for benchmarks: run a function in growing batches for a fixed wall-clock budget after
 * a short warm-up and report operations per second; medians; readings of a process's CPU and
 * peak RSS and of the machine's UDP counters (Linux /proc); which implementations to run.
 */

/** Consumed results, so the optimiser cannot drop the measured work. */
let sink: unknown = undefined;
export function consume(v: unknown): void {
  sink = v;
}
export function lastSink(): unknown {
  return sink;
}

export interface Measurement {
  /** Calls of `fn` per second. */
  opsPerSec: number;
  /** Calls made while timing. */
  ops: number;
  /** Seconds spent timing. */
  seconds: number;
}

/**
 * Calls `fn` repeatedly for about `durationMs` (after a warm-up of a fifth of that) and returns
 * the rate. `fn` should do one unit of work and return something to consume.
 */
export function measure(fn: () => unknown, durationMs: number): Measurement {
  const warmupNs = BigInt(Math.round(durationMs * 0.2 * 1e6));
  const budgetNs = BigInt(Math.round(durationMs * 1e6));
  // Grow the batch until one batch takes about 2 ms, so clock reads stay negligible.
  let batch = 1;
  const w0 = process.hrtime.bigint();
  while (process.hrtime.bigint() - w0 < warmupNs) {
    const b0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) consume(fn());
    if (process.hrtime.bigint() - b0 < 2_000_000n && batch < 1 << 20) batch *= 2;
  }
  let ops = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < budgetNs) {
    for (let i = 0; i < batch; i++) consume(fn());
    ops += batch;
    elapsed = process.hrtime.bigint() - t0;
  }
  const seconds = Number(elapsed) / 1e9;
  return { opsPerSec: ops / seconds, ops, seconds };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS' | 'RssAnon'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]);
  } catch {
    return NaN;
  }
}

/** Peak resident set of a process in kB (Linux), or NaN. */
export function peakRssKb(pid: number): number {
  return statusKb(pid, 'VmHWM');
}

/**
 * Samples a process's private resident memory (RssAnon: its heap, stacks and other anonymous
 * pages, without the shared file pages of its binary and libraries) every `everyMs` until
 * stopped; stop() returns the largest sample in kB (NaN if none). The kernel keeps no peak of it.
 */
export function anonPeakSampler(pid: number, everyMs = 50): { stop(): number } {
  let peak = NaN;
  const take = (): void => {
    const v = statusKb(pid, 'RssAnon');
    if (!Number.isNaN(v)) peak = Number.isNaN(peak) ? v : Math.max(peak, v);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}

/** Resident set of a process now, in kB (Linux), or NaN. */
export function rssKb(pid: number): number {
  return statusKb(pid, 'VmRSS');
}

/** CPU seconds a process has used so far (Linux): user + system, and the system part alone; NaN if unreadable. */
export function cpuTimes(pid: number): { cpu: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const sys = Number(f[12]) / 100;
    return { cpu: Number(f[11]) / 100 + sys, sys };
  } catch {
    return { cpu: NaN, sys: NaN };
  }
}

/**
 * CPU seconds the hypervisor has taken from this machine's vCPUs so far (the `steal` column of
 * /proc/stat, Linux), or NaN. On a shared host a flood that loses CPU this way runs slower for
 * reasons of neither implementation: the ring benches print it beside each flood.
 */
export function stealSeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    return Number(cpu[8]) / 100;
  } catch {
    return NaN;
  }
}

/** One line naming the machine a run was measured on: CPU model and count, kernel, Node, the reference's prefix. */
export function machineLine(): string {
  const all = cpus();
  const model = all[0]?.model.trim() ?? 'unknown CPU';
  return `machine: ${model} × ${all.length}, ${type()} ${release()}, Node ${process.version}, reference ${referencePrefix() ?? 'not set (SPREAD_REF)'}`;
}

/** The machine's UDP counters (/proc/net/snmp, Linux): datagrams sent, and receive-buffer drops. */
export function udpCounters(): { out: number; rcvbufErrors: number } {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    const get = (n: string): number => Number(values[names.indexOf(n)] ?? NaN);
    return { out: get('OutDatagrams'), rcvbufErrors: get('RcvbufErrors') };
  } catch {
    return { out: NaN, rcvbufErrors: NaN };
  }
}

/**
 * The implementations a real-daemon benchmark runs, in alternation: ours, and the reference
 * where SPREAD_REF names it; RING_REAL_IMPLS (`ours`, `reference`, comma-separated) narrows it.
 */
export function benchImpls(): Impl[] {
  const env = process.env.RING_REAL_IMPLS;
  const all: Impl[] = referencePrefix() === undefined ? ['ours'] : ['ours', 'reference'];
  return env === undefined ? all : all.filter((i) => env.split(',').includes(i));
}

/**
 * Runs `once` for every implementation `reps` times, the order reversed every other repetition
 * so machine noise hits both alike; `log` sees each result; returns the results by implementation.
 */
export async function alternating<K, T>(impls: readonly K[], reps: number, once: (impl: K) => Promise<T>, log: (impl: K, r: T) => void): Promise<Map<K, T[]>> {
  const got = new Map<K, T[]>(impls.map((i) => [i, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const impl of rep % 2 === 0 ? impls : [...impls].reverse()) {
      const r = await once(impl);
      log(impl, r);
      got.get(impl)!.push(r);
    }
  }
  return got;
}

/** `available` of the real-ring benchmarks: our daemon built or the reference installed. */
export function ringBenchAvailable(): string | null {
  return oursDaemonBuilt() || referencePrefix() !== undefined ? null : 'our daemon is not built';
}
