/**
 * Proof: the reference's own client tools (spuser, sptuser, spflooder) behave the same against
 * our daemon as against the reference daemon.
 *
 *   npx tsx interop/proof/tools-compare.ts [--only <scenario>] [--verbose]
 *
 * Each scenario runs twice with identical scripted input — once against a fresh reference
 * daemon, once against a fresh daemon of ours — and every client's output is normalised
 * (daemon port, membership time, generated names) and diffed. Prints a table (SAME / DIFF /
 * FAIL per client) and the diffs. Needs SPREAD_REF; our daemon must be built (npm run build).
 */
import { parseArgs } from 'node:util';
import { compareTexts, normalise, table } from '../compare.js';
import { oursDaemonBuilt, oursDaemonPath, referenceBin, referencePrefix, skipLine, startDaemon, type DaemonHandle, type Impl } from '../launcher.js';
import { flooderScenarios, spuserBufferedInput, spuserBurstEdges, spuserErrors, spuserPair, spuserSolo, spuserSyncRead, type Scenario, type Tool } from '../scenarios.js';
import { runSession, type SessionResult } from '../session.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    verbose: { type: 'boolean', short: 'v', default: false },
  },
});

interface ScenarioRun {
  session: SessionResult | undefined;
  daemon: DaemonHandle | undefined;
  error: string | undefined;
  daemonAlive: boolean;
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '') ?? s;
}

async function runAgainst(impl: Impl, sc: Scenario): Promise<ScenarioRun> {
  if (impl === 'ours' && !oursDaemonBuilt()) {
    return { session: undefined, daemon: undefined, error: `our daemon is not built (${oursDaemonPath()})`, daemonAlive: false };
  }
  let d: DaemonHandle;
  try {
    d = await startDaemon({ impl, readyTimeoutMs: 20_000 });
  } catch (e) {
    return { session: undefined, daemon: undefined, error: `daemon did not start: ${firstLine(e instanceof Error ? e.message : String(e))}`, daemonAlive: false };
  }
  try {
    const session = await runSession(sc.clients(d), sc.steps, { exitTimeoutMs: 10_000, totalTimeoutMs: 120_000 });
    return { session, daemon: d, error: undefined, daemonAlive: d.running() };
  } catch (e) {
    return { session: undefined, daemon: d, error: `session crashed: ${e instanceof Error ? e.message : String(e)}`, daemonAlive: d.running() };
  } finally {
    await d.stop();
  }
}

function clientText(run: ScenarioRun, id: string, sc: Scenario): string | undefined {
  const c = run.session?.clients[id];
  if (c === undefined || run.daemon === undefined) return undefined;
  const d = run.daemon;
  let text = c.stdout;
  if (c.stderr !== '') text += `\n[stderr]\n${c.stderr}`;
  text += `\n[exit ${c.code ?? c.signal}${c.killed ? ', killed' : ''}]`;
  return normalise(text, { ...sc.normalise, spreads: [d.spread, d.spreadTcp] });
}

async function main(): Promise<number> {
  const prefix = referencePrefix();
  if (prefix === undefined) {
    skipLine('proof/tools-compare (needs the reference tools and daemon)');
    return 0;
  }
  const bin = (t: 'spuser' | 'sptuser' | 'spflooder'): Tool => {
    const p = referenceBin(t, prefix);
    if (p === undefined) throw new Error(`${prefix}/bin/${t} not found`);
    return { command: p, args: [] };
  };
  const spuser = bin('spuser');
  const sptuser = bin('sptuser');
  const spflooder = bin('spflooder');
  let scenarios: Scenario[] = [
    spuserSolo(spuser),
    spuserSyncRead(spuser),
    spuserErrors(spuser),
    spuserBufferedInput(spuser),
    spuserBurstEdges(spuser),
    spuserPair(spuser, sptuser, 'sptuser'),
    ...flooderScenarios(spflooder),
  ];
  if (args.only !== undefined) scenarios = scenarios.filter((s) => s.name === args.only);

  const rows: string[][] = [];
  const details: string[] = [];
  let failures = 0;
  for (const sc of scenarios) {
    process.stderr.write(`${sc.name}: reference daemon...\n`);
    const ref = await runAgainst('reference', sc);
    process.stderr.write(`${sc.name}: our daemon...\n`);
    const ours = await runAgainst('ours', sc);
    const ids = [...new Set([...Object.keys(ref.session?.clients ?? {}), ...Object.keys(ours.session?.clients ?? {})])];
    if (ids.length === 0) ids.push('-');
    for (const id of ids) {
      const a = clientText(ref, id, sc);
      const b = clientText(ours, id, sc);
      let verdict: string;
      if (ref.error !== undefined || a === undefined) {
        verdict = `FAIL (reference run: ${ref.error ?? 'no output'})`;
      } else if (ours.error !== undefined || b === undefined) {
        verdict = `FAIL (our run: ${ours.error ?? 'no output'})`;
      } else {
        const cmp = compareTexts(a, b, { a: `${sc.name}/${id} against reference daemon`, b: `${sc.name}/${id} against our daemon` });
        verdict = cmp.equal ? 'SAME' : `DIFF (${cmp.diff.split('\n').filter((l) => /^[-+][^-+]/.test(l)).length} lines)`;
        if (!cmp.equal) details.push(cmp.diff);
      }
      if (args.verbose && a !== undefined) details.push(`=== ${sc.name}/${id} (normalised, reference daemon) ===\n${a}`);
      const lines = a?.split('\n').length ?? 0;
      if (verdict !== 'SAME') failures++;
      rows.push([sc.name, id, String(lines), verdict]);
    }
    for (const [impl, run] of [
      ['reference', ref],
      ['ours', ours],
    ] as const) {
      for (const p of run.session?.problems ?? []) details.push(`${sc.name} against ${impl} daemon: ${p}`);
      if (run.daemon !== undefined && !run.daemonAlive) details.push(`${sc.name}: the ${impl} daemon died during the scenario`);
    }
  }

  console.log('');
  console.log('Reference tools against the reference daemon vs against our daemon (normalised outputs)');
  console.log('');
  console.log(table(['scenario', 'client', 'lines', 'verdict'], rows));
  console.log('');
  console.log(`${rows.length - failures}/${rows.length} client transcripts identical`);
  if (details.length > 0) {
    console.log('');
    console.log(details.join('\n\n'));
  }
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error('tools-compare crashed:', e);
    process.exitCode = 2;
  },
);
