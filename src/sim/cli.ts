/**
 * The deterministic simulator (SPEC.md Part V §13); `npm run sim -- …` runs it.
 *
 *   npx tsx src/sim/cli.ts --seed 42             one ring-mode run, summary (and failures)
 *   npx tsx src/sim/cli.ts --seed 42 --trace     ... with every datagram
 *   npx tsx src/sim/cli.ts --sweep 1000          seeds 1..1000 (--start to move)
 *   npx tsx src/sim/cli.ts --daemons --sweep 100 whole daemons: crashes, restarts, partitions
 *   npx tsx src/sim/cli.ts --sweep 1000 --faults all   the fault sweep with clients (EVS at the clients)
 *   npx tsx src/sim/cli.ts --schedule '<json>'   replays a fault-sweep schedule a failure printed
 *
 * Knobs not given are drawn from the seed; a failing run prints the command that replays it.
 * Exit status: 0 all runs passed, 1 a run failed, 64 usage error.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { formatDatagram } from './trace.js';
import { failureReport, runSeed, summarize, sweep } from './run.js';
import type { ScenarioOverrides } from './scenario.js';
import { describeDaemonScenario, randomDaemonScenario, runDaemonScenario, type DaemonRunResult } from './daemon-scenario.js';
import { name } from './simulation.js';
import { faultSweep, readSchedule, replaySchedule } from './fault-cli.js';

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function prob(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a probability in [0, 1]');
  return n;
}

function segments(v: string): number[] {
  const parts = v.split(',').map((x) => Number(x));
  if (parts.length === 0 || parts.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError('expected counts like 3 or 1,1,1');
  return parts;
}

/** The ring-mode knobs given on the command line. */
function overridesOf(opts: Record<string, unknown>): ScenarioOverrides {
  const o: ScenarioOverrides = {};
  if (opts['segments'] !== undefined) o.segments = opts['segments'] as number[];
  if (opts['accelerated']) o.accelerated = true;
  if (opts['original']) o.accelerated = false;
  if (opts['loss'] !== undefined) o.loss = opts['loss'] as number;
  if (opts['dup'] !== undefined) o.dup = opts['dup'] as number;
  if (opts['reorder'] !== undefined) o.reorder = opts['reorder'] as number;
  if (opts['messages'] !== undefined) o.messages = opts['messages'] as number;
  if (opts['sizes'] !== undefined) {
    const s = opts['sizes'];
    if (s !== 'mixed' && s !== 'small' && s !== 'large') throw new InvalidArgumentError('--sizes: mixed | small | large');
    o.sizes = s;
  }
  if (opts['tokenTimeout'] !== undefined) o.tokenTimeout = opts['tokenTimeout'] as number;
  return o;
}

export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Command {
  const program = new Command('spread-sim')
    .description('deterministic simulation of the Spread operational token ring, or of whole daemons')
    .option('--daemons', 'whole daemons (membership, ring, groups, core) with crashes, restarts and partitions')
    .option('--seed <n>', 'run this seed', int)
    .option('--sweep <count>', 'run this many seeds', int)
    .option('--start <n>', 'first seed of a sweep', int, 1)
    .option('--segments <list>', 'daemons per segment, e.g. 3 or 1,1,1', segments)
    .option('--accelerated', 'accelerated ring')
    .option('--original', 'original ring')
    .option('--loss <p>', 'datagram loss probability', prob)
    .option('--dup <p>', 'duplication probability', prob)
    .option('--reorder <p>', 'reordering probability', prob)
    .option('--messages <n>', 'messages to submit', int)
    .option('--sizes <kind>', 'mixed | small | large')
    .option('--token-timeout <ms>', 'token loss timeout', int)
    .option('--faults <kinds>', 'fault sweep: all, or a list of crash,restart,partition,loss,pause,spike')
    .option('--schedule <json>', 'replay one fault-sweep schedule (JSON, or @file)')
    .option('--no-shrink', 'fault sweep: print failing schedules unshrunk')
    .option('--trace', 'print every datagram')
    .option('--quiet', 'only failures and the total')
    .action((opts: Record<string, unknown>) => {
      const o = overridesOf(opts);
      const quiet = opts['quiet'] === true;
      if (opts['schedule'] !== undefined) {
        process.exitCode = replaySchedule(readSchedule(opts['schedule'] as string), out);
        return;
      }
      if (opts['faults'] !== undefined) {
        const count = (opts['sweep'] as number | undefined) ?? 1;
        const start = opts['sweep'] !== undefined ? (opts['start'] as number) : ((opts['seed'] as number | undefined) ?? 1);
        process.exitCode = faultSweep(start, count, opts['faults'] as string, quiet, opts['shrink'] !== false, out);
        return;
      }
      if (opts['daemons'] === true) {
        runDaemons(opts, quiet, out);
        return;
      }
      if (opts['sweep'] !== undefined) {
        const start = opts['start'] as number;
        const count = opts['sweep'] as number;
        const t0 = Date.now();
        const res = sweep(start, count, o, (r) => {
          if (!r.ok) out(failureReport(r, o));
          else if (!quiet) out(summarize(r));
        });
        out(`${res.runs - res.failed.length}/${res.runs} seeds passed (${start}..${start + count - 1}) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
        process.exitCode = res.failed.length > 0 ? 1 : 0;
        return;
      }
      const seed = (opts['seed'] as number | undefined) ?? 1;
      const trace = opts['trace'] === true;
      const r = runSeed(seed, o, trace ? {
        trace: (t, from, to, ch, bytes, dropped) =>
          out(`${t.toFixed(4).padStart(10)}  ${name(from)} -> ${name(to)} ${ch.padEnd(5)} ${dropped ? 'LOST ' : ''}${formatDatagram(ch, bytes)}`),
      } : {});
      out(r.ok ? summarize(r) : failureReport(r, o));
      if (r.ok && !quiet) {
        for (const n of r.nodes) {
          const e = n.engine;
          out(`  ${name(n)} Highest_seq ${e.highestSeq} Aru ${e.aru} rounds ${e.tokenRounds} ${JSON.stringify(e.stats)}`);
        }
      }
      process.exitCode = r.ok ? 0 : 1;
    });
  return program;
}

function daemonSummary(r: DaemonRunResult): string {
  const s = r.scenario;
  const head = `seed ${s.seed}: ${r.ok ? 'ok' : 'FAILED'} — whole daemons, ${describeDaemonScenario(s)}; ${r.deliveries} deliveries, ` +
    `end ${r.endTime.toFixed(0)}ms, ${r.datagrams} datagrams (${r.dropped} dropped)`;
  if (r.ok) return head;
  return [head, ...r.failures.slice(0, 20).map((f) => `  ${f}`), `  replay: npx tsx src/sim/cli.ts --daemons --seed ${s.seed}`].join('\n');
}

/** --daemons: one seed, or a sweep, of whole-daemon runs. */
function runDaemons(opts: Record<string, unknown>, quiet: boolean, out: (s: string) => void): void {
  const count = (opts['sweep'] as number | undefined) ?? 1;
  const start = opts['sweep'] !== undefined ? (opts['start'] as number) : ((opts['seed'] as number | undefined) ?? 1);
  const t0 = Date.now();
  let failed = 0;
  for (let seed = start; seed < start + count; seed++) {
    const r = runDaemonScenario(randomDaemonScenario(seed));
    if (!r.ok) failed++;
    if (!r.ok || !quiet) out(daemonSummary(r));
  }
  if (opts['sweep'] !== undefined) out(`${count - failed}/${count} seeds passed (${start}..${start + count - 1}) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  process.exitCode = failed > 0 ? 1 : 0;
}

export async function main(argv: string[], writeErr: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 64;
    throw e;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }, (e: unknown) => {
    console.error(e);
    process.exitCode = 70;
  });
}
