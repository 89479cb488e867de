/**
 * V8 and malloc settings of the daemon process (SPEC.md Part VIII §10), set by the `spread`
 * command before the daemon starts; the library's startDaemon leaves its host process alone.
 *
 *   --always-sparkplug   every function gets baseline code at its first call: a just-started
 *                        daemon runs its first flood faster, and it pays for the smaller young
 *                        generation below
 *   --max-inlined-bytecode-size-cumulative=230
 *                        a quarter of V8's default inlining budget (920) per optimised function:
 *                        TurboFan compiles less, which five daemons on two cores feel most
 *                        (SPEC.md Part VIII §10)
 *   --heap-growing-percent=10
 *                        after each full collection the old generation may grow 10 % (V8 picks
 *                        a larger factor for a small heap): what a flood promotes and then drops
 *                        is collected every few seconds instead of piling up for tens of them
 *   young generation     capped at 4 MiB: V8 doubles it under a flood (up to 32 MiB, the bulk of
 *                        a flooded daemon's growth); once it reaches the cap its growth factor
 *                        is set to 1 (`--max-semi-space-size` would do it, but it is read only
 *                        when the process starts)
 *   malloc arenas        one (glibc's M_ARENA_MAX, through the native addon): by default each
 *                        thread that allocates (V8's compiler and GC helpers) gets an arena of
 *                        its own, and freed memory stays resident in each; a MALLOC_ARENA_MAX in
 *                        the environment is left to glibc
 *
 * SPREAD_TS_V8_TUNING=0 leaves V8's and malloc's defaults; SPREAD_TS_V8_FLAGS adds flags, SPREAD_TS_V8_YOUNG_MB moves
 * the cap (measurements).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { limitMallocArenas } from '../net/udp-native.js';

export const DAEMON_V8_FLAGS: readonly string[] = ['--always-sparkplug', '--max-inlined-bytecode-size-cumulative=230', '--heap-growing-percent=10'];
/** The young generation (both semi-spaces) stops growing at this size. */
export const YOUNG_GENERATION_CAP_BYTES = 4 * 1024 * 1024;

function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Stops the young generation's growth once it reaches `cap`: V8 grows it only at a garbage
 * collection, so it is looked at after each one (nothing runs while the daemon is idle).
 * Returns a function that stops watching.
 */
export function capYoungGeneration(cap = YOUNG_GENERATION_CAP_BYTES): () => void {
  const observer = new PerformanceObserver(() => {
    if (youngGenerationBytes() < cap) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

export function tuneV8ForDaemon(env: NodeJS.ProcessEnv = process.env): void {
  if (env.SPREAD_TS_V8_TUNING === '0') return;
  if (env.MALLOC_ARENA_MAX === undefined) limitMallocArenas(1);
  const extra = env.SPREAD_TS_V8_FLAGS?.split(' ').filter((f) => f.length > 0) ?? [];
  for (const flag of [...DAEMON_V8_FLAGS, ...extra]) setFlagsFromString(flag);
  const mb = Number(env.SPREAD_TS_V8_YOUNG_MB);
  capYoungGeneration(Number.isFinite(mb) && mb > 0 ? mb * 1024 * 1024 : YOUNG_GENERATION_CAP_BYTES);
}
