/**
 * V8 settings of the daemon process (SPEC.md Part VIII §10), set by the `spread` command before
 * the daemon starts; the library's startDaemon leaves its host process alone.
 *
 *   --semi-space-growth-factor=1   the young generation stays at its initial size (2 MiB)
 *                                  instead of doubling up to 32 MiB under a flood: a flood's
 *                                  peak resident set stays flat (107 → 82 MB for the sending
 *                                  daemon of a 10^6-message flood); scavenges are more frequent
 *                                  but each one is small (the daemon's garbage dies young)
 *
 * SPREAD_TS_V8_TUNING=0 leaves V8's defaults (for side-by-side measurements).
 */
import { setFlagsFromString } from 'node:v8';

export const DAEMON_V8_FLAGS: readonly string[] = ['--semi-space-growth-factor=1'];

export function tuneV8ForDaemon(env: NodeJS.ProcessEnv = process.env): void {
  if (env.SPREAD_TS_V8_TUNING === '0') return;
  const extra = env.SPREAD_TS_V8_FLAGS?.split(' ').filter((f) => f.length > 0) ?? [];
  for (const flag of [...DAEMON_V8_FLAGS, ...extra]) setFlagsFromString(flag);
}
