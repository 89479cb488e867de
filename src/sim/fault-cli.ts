/**
 * The CLI's fault sweep (SPEC.md Part V §13.2): `--sweep N --faults all` runs seeds through
 * fault-run.ts and reports, per failing seed, the failures and a shrunk schedule that
 * `--schedule` replays; `--schedule '<json>'` (or `@file`) replays one schedule.
 */
import { readFileSync } from 'node:fs';
import { parseFaultKinds, randomSchedule, type FaultSchedule } from './fault-schedule.js';
import { runFaultSchedule, shrinkSchedule, type FaultRunResult } from './fault-run.js';

/** Over this many virtual ms from the final heal to one ring counts as slow (reported, not failed). */
export const SLOW_CONVERGENCE = 10_000;

function report(s: FaultSchedule, r: FaultRunResult, shrink: boolean, out: (s: string) => void): void {
  out(`seed ${s.seed}: FAILED — ${s.segments.join(',')} daemons per segment, ${s.steps.length} steps`);
  for (const f of r.failures.slice(0, 20)) out(`  ${f}`);
  const small = shrink ? shrinkSchedule(s) : s;
  out(`  replay (${small.steps.length} steps): npm run sim -- --schedule '${JSON.stringify(small)}'`);
}

export function readSchedule(v: string): FaultSchedule {
  return JSON.parse(v.startsWith('@') ? readFileSync(v.slice(1), 'utf8') : v) as FaultSchedule;
}

/** One schedule, replayed. */
export function replaySchedule(s: FaultSchedule, out: (s: string) => void): number {
  const r = runFaultSchedule(s);
  if (!r.ok) report(s, r, false, out);
  else out(`seed ${s.seed}: ok — ${r.deliveries} client frames, one ring ${r.convergeMs} ms after the final heal`);
  return r.ok ? 0 : 1;
}

/** Seeds start..start+count-1; returns the exit status. */
export function faultSweep(start: number, count: number, faults: string, quiet: boolean, shrink: boolean, out: (s: string) => void): number {
  const kinds = parseFaultKinds(faults);
  const t0 = Date.now();
  let failed = 0;
  const slow: string[] = [];
  let frames = 0;
  for (let seed = start; seed < start + count; seed++) {
    const s = randomSchedule(seed, kinds);
    const r = runFaultSchedule(s);
    frames += r.deliveries;
    if (r.convergeMs !== null && r.convergeMs > SLOW_CONVERGENCE) slow.push(`${seed} (${(r.convergeMs / 1000).toFixed(1)} s)`);
    if (!r.ok) {
      failed++;
      report(s, r, shrink, out);
    } else if (!quiet) out(`seed ${seed}: ok, one ring after ${r.convergeMs} ms, ${r.deliveries} client frames`);
  }
  out(`faults ${kinds.join(',')}: ${count - failed}/${count} seeds passed (${start}..${start + count - 1}), ${frames} client frames checked, ` +
    `${slow.length} slow to converge (> ${SLOW_CONVERGENCE / 1000} s)${slow.length > 0 ? `: ${slow.slice(0, 30).join(', ')}` : ''} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return failed > 0 ? 1 : 0;
}
