/**
 * Running seeds and reporting them: shared by the CLI and the tests.
 */
import { randomScenario, type Scenario, type ScenarioOverrides } from './scenario.js';
import { runScenario, type SimOptions, type SimResult } from './simulation.js';

/** The command that replays `seed` with `overrides`. */
export function replayCommand(seed: number, overrides: ScenarioOverrides = {}): string {
  const parts = ['npx tsx src/sim/cli.ts', `--seed ${seed}`];
  const o = overrides;
  if (o.segments !== undefined) parts.push(`--segments ${o.segments.join(',')}`);
  if (o.accelerated !== undefined) parts.push(o.accelerated ? '--accelerated' : '--original');
  if (o.loss !== undefined) parts.push(`--loss ${o.loss}`);
  if (o.dup !== undefined) parts.push(`--dup ${o.dup}`);
  if (o.reorder !== undefined) parts.push(`--reorder ${o.reorder}`);
  if (o.messages !== undefined) parts.push(`--messages ${o.messages}`);
  if (o.sizes !== undefined) parts.push(`--sizes ${o.sizes}`);
  if (o.tokenTimeout !== undefined) parts.push(`--token-timeout ${o.tokenTimeout}`);
  return parts.join(' ');
}

export function describeScenario(s: Scenario): string {
  return (
    `segments [${s.segments.join(',')}] ${s.accelerated ? 'accelerated' : 'original'} ` +
    `W/PW/AW ${s.window}/${s.personalWindow}/${s.acceleratedWindow} loss ${s.loss} dup ${s.dup} reorder ${s.reorder} ` +
    `delay ${s.delayMin}-${s.delayMax}ms cpu ${s.cpuCost}ms wake ${s.wakeLatency}ms timeouts ${s.tokenTimeout}/${s.hurryTimeout}ms ` +
    `${s.messages} msgs (${s.sizes}) over ${s.submitSpan}ms`
  );
}

export function summarize(r: SimResult): string {
  const status = r.ok ? 'ok' : 'FAILED';
  return (
    `seed ${r.scenario.seed}: ${status} — ${describeScenario(r.scenario)}; ${r.delivered} deliveries, ` +
    `done at ${Number.isNaN(r.completedAt) ? '-' : r.completedAt.toFixed(1)}ms, ${r.datagrams} datagrams (${r.dropped} dropped), ` +
    `${r.events} events`
  );
}

export function failureReport(r: SimResult, overrides: ScenarioOverrides = {}): string {
  return [summarize(r), ...r.failures.map((f) => `  ${f}`), `  replay: ${replayCommand(r.scenario.seed, overrides)}`].join('\n');
}

export interface SweepResult {
  runs: number;
  failed: SimResult[];
  results: SimResult[];
}

export function runSeed(seed: number, overrides: ScenarioOverrides = {}, options: SimOptions = {}): SimResult {
  return runScenario(randomScenario(seed, overrides), options);
}

export function sweep(start: number, count: number, overrides: ScenarioOverrides = {}, onResult?: (r: SimResult) => void): SweepResult {
  const failed: SimResult[] = [];
  const results: SimResult[] = [];
  for (let seed = start; seed < start + count; seed++) {
    const r = runSeed(seed, overrides);
    results.push(r);
    if (!r.ok) failed.push(r);
    onResult?.(r);
  }
  return { runs: count, failed, results };
}
