/**
 * Timing helpers for benchmarks: run a function in growing batches for a fixed wall-clock
 * budget after a short warm-up, and report operations per second.
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
