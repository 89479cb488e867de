/**
 * The interop matrix (interop/README.md, "The matrix"): arrangements × scenarios on one
 * backend, every cell compared with the all-reference ring of the same size (or, without the
 * reference, every client agreeing: the EVS properties the shared scenarios check).
 *
 *   npm run interop -- --matrix [--backend docker|loopback|netns] [--arrangements ORO,ROR,OOROO]
 *                      [--out DIR] [--build]
 *
 * Prints the pass/fail table with formation and recovery times and writes DIR/matrix.md and
 * DIR/matrix.xml (JUnit); exits 1 when a cell failed. Rings run in containers (docker,
 * interop/docker) or as processes on loopback segments (loopback, interop/loopback-ring.ts);
 * network-namespace rings run in test/rings only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { execa } from 'execa';
import { arrangementLabel, OURS_IMAGE, parseArrangement, REFERENCE_IMAGE, type RingLayout } from './docker/compose.js';
import { DockerRing, dockerSupport, imageExists } from './docker/ring.js';
import { oursDaemonBuilt, referencePrefix, repoRoot, type Impl } from './launcher.js';
import { LoopbackMatrixRing } from './loopback-ring.js';
import {
  cellFlooder, cellFormation, cellJoinLeave, cellKillRestart, cellOrder, cellPartition, transcriptDiff, victims,
  type CellRun, type MatrixRing, type Transcript,
} from './matrix-cells.js';
import { junit, markdown, summaryLine, textTable, type Cell } from './matrix-report.js';

export type Backend = 'docker' | 'loopback' | 'netns';

export interface MatrixOptions {
  readonly backend: Backend;
  readonly arrangements: readonly string[];
  readonly out: string;
  readonly build: boolean;
}

const RELOAD_SKIP = 'this backend cannot grow its ring';

/** One scenario cell: timed, failures caught, the transcript compared with the reference ring's. */
async function runCell(
  arrangement: string,
  scenario: string,
  golden: Map<string, Transcript> | undefined,
  body: () => Promise<{ transcript?: Transcript; formationMs?: number; recoveryMs?: number[]; compared?: string }>,
): Promise<CellRun> {
  const t0 = Date.now();
  const cell: Cell = { arrangement, scenario, status: 'pass' };
  try {
    const r = await body();
    if (r.formationMs !== undefined) cell.formationMs = r.formationMs;
    if (r.recoveryMs !== undefined) cell.recoveryMs = r.recoveryMs;
    cell.compared = r.compared ?? 'all clients agree';
    const g = golden?.get(scenario.split(' (')[0]!);
    if (r.transcript !== undefined && g !== undefined) {
      const d = transcriptDiff(r.transcript, g);
      if (d !== '') Object.assign(cell, { status: 'fail', reason: `differs from the all-reference ring: ${d}` });
      else cell.compared = 'all agree, equal to the reference ring';
    }
    cell.durationMs = Date.now() - t0;
    return r.transcript === undefined ? { cell } : { cell, transcript: r.transcript };
  } catch (err) {
    Object.assign(cell, { status: 'fail', reason: err instanceof Error ? err.message : String(err), durationMs: Date.now() - t0 });
    return { cell };
  }
}

function layoutFor(impls: readonly Impl[], ref: string | undefined): RingLayout {
  // One subnet for the whole run (one ring at a time): the reference ring's and this ring's
  // daemons then have the same addresses, so group ids (the representative's address) compare.
  const third = 100 + (process.pid % 150);
  const project = `spts-${arrangementLabel(impls).toLowerCase()}-${process.pid}`;
  return { project, subnet: `10.214.${third}`, impls, referencePrefix: impls.includes('reference') ? ref : undefined };
}

/** Every scenario on one ring, in order; the transcripts by scenario key. */
async function runScenarios(ring: MatrixRing, label: string, kills: readonly number[], golden?: Map<string, Transcript>): Promise<CellRun[]> {
  const runs: CellRun[] = [];
  const cell = async (key: string, body: Parameters<typeof runCell>[3]): Promise<boolean> => {
    const r = await runCell(label, key, golden, body);
    if (r.cell.status === 'fail') r.cell.reason = `${r.cell.reason ?? ''}\n${await ring.logTails(15)}`;
    runs.push(r);
    console.log(`  ${label} ${key}: ${r.cell.status}${r.cell.status === 'fail' ? ` (${(r.cell.reason ?? '').split('\n')[0]})` : ''}`);
    return r.cell.status === 'pass';
  };
  if (!(await cell('formation', async () => cellFormation(ring)))) return runs;
  await cell('join-leave', async () => ({ transcript: await cellJoinLeave(ring) }));
  await cell('order', async () => ({ transcript: await cellOrder(ring) }));
  await cell('flooder', async () => ({ compared: await cellFlooder(ring) }));
  for (const v of kills) {
    const impl = ring.nodes[v]!.impl === 'ours' ? 'O' : 'R';
    await cell(`kill-restart n${v} (${impl})`, async () => cellKillRestart(ring, v));
  }
  const alone = ring.nodes.length - 1;
  if (ring.partitionSkip !== undefined) runs.push({ cell: { arrangement: label, scenario: `partition n${alone}`, status: 'skip', reason: ring.partitionSkip } });
  else await cell(`partition n${alone}`, async () => cellPartition(ring, alone));
  if (ring.reload === undefined) runs.push({ cell: { arrangement: label, scenario: 'reload', status: 'skip', reason: RELOAD_SKIP } });
  else await cell('reload', async () => ring.reload!());
  return runs;
}

type RunningRing = MatrixRing & { stop(): Promise<void> };

function startRing(backend: Backend, impls: readonly Impl[], ref: string | undefined): Promise<RunningRing> {
  return backend === 'docker' ? DockerRing.start(layoutFor(impls, ref)) : LoopbackMatrixRing.start(impls);
}

async function runRing(backend: Backend, impls: readonly Impl[], kills: readonly number[], ref: string | undefined, golden?: Map<string, Transcript>): Promise<CellRun[]> {
  const label = arrangementLabel(impls);
  console.log(`ring ${label}: starting ${impls.length} daemons (${backend})`);
  let ring: RunningRing;
  try {
    ring = await startRing(backend, impls, ref);
  } catch (err) {
    return [{ cell: { arrangement: label, scenario: 'formation', status: 'fail', reason: `start: ${err instanceof Error ? err.message : String(err)}` } }];
  }
  const stop = (): void => void ring.stop().then(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    return await runScenarios(ring, label, kills, golden);
  } finally {
    process.off('SIGINT', stop);
    await ring.stop();
  }
}

function skipAll(label: string, reason: string): CellRun[] {
  return ['formation', 'join-leave', 'order', 'flooder', 'kill-restart', 'partition', 'reload'].map((scenario) => ({ cell: { arrangement: label, scenario, status: 'skip', reason } }));
}

const toMap = (runs: readonly CellRun[]): Map<string, Transcript> =>
  new Map(runs.filter((r) => r.transcript !== undefined).map((r) => [r.cell.scenario.split(' (')[0]!, r.transcript!]));

async function ensureImages(ref: string | undefined, build: boolean): Promise<void> {
  const need = [OURS_IMAGE, ...(ref !== undefined ? [REFERENCE_IMAGE] : [])];
  const missing = (await Promise.all(need.map(async (i) => ((await imageExists(i)) ? undefined : i)))).filter((i) => i !== undefined);
  if (!build && missing.length === 0) return;
  console.log(`building images (${build ? 'asked' : `missing: ${missing.join(', ')}`})`);
  await execa('bash', [join(repoRoot(), 'interop', 'docker', 'build.sh')], { stdio: 'inherit' });
}

async function backendSupport(backend: Backend): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (backend === 'netns') return { ok: false, reason: 'backend netns: its clients run inside the namespaces, out of the matrix probes\' reach (test/rings runs ORO and ROR there)' };
  if (!oursDaemonBuilt()) return { ok: false, reason: 'our daemon is not built (npm run build)' };
  return backend === 'docker' ? dockerSupport() : { ok: true };
}

/** Runs the matrix; returns every cell. */
export async function runMatrix(o: MatrixOptions): Promise<Cell[]> {
  const ref = referencePrefix();
  const arrs = o.arrangements.map((a) => parseArrangement(a));
  const sup = await backendSupport(o.backend);
  if (!sup.ok) return arrs.flatMap((impls) => skipAll(arrangementLabel(impls), sup.reason)).map((r) => r.cell);
  if (o.backend === 'docker') await ensureImages(ref, o.build);
  const runs: CellRun[] = [];
  const goldens = new Map<string, Map<string, Transcript>>();
  for (const impls of arrs) {
    const label = arrangementLabel(impls);
    if (impls.includes('reference') && ref === undefined) {
      runs.push(...skipAll(label, 'SPREAD_REF not set: no reference daemon to run'));
      continue;
    }
    const kills = victims(impls).map((v) => v.index);
    const allRef = impls.every((i) => i === 'reference');
    let golden: Map<string, Transcript> | undefined;
    if (ref !== undefined && !allRef) {
      const key = `${impls.length}:${kills.join(',')}`;
      if (!goldens.has(key)) {
        const g = await runRing(o.backend, impls.map(() => 'reference'), kills, ref);
        runs.push(...g);
        goldens.set(key, toMap(g));
      }
      golden = goldens.get(key);
    }
    runs.push(...(await runRing(o.backend, impls, kills, ref, golden)));
  }
  return runs.map((r) => r.cell);
}

function report(cells: readonly Cell[], o: MatrixOptions): void {
  const title = `spread-ts interop matrix (${o.backend}, reference ${referencePrefix() ?? 'not set'})`;
  console.log(`\n${title}\n${textTable(cells)}\n`);
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'matrix.md'), markdown(cells, title));
  writeFileSync(join(o.out, 'matrix.xml'), junit(cells, title));
  console.log(`written: ${join(o.out, 'matrix.md')}, ${join(o.out, 'matrix.xml')}`);
  console.log(summaryLine(cells));
}

async function main(argv: readonly string[]): Promise<void> {
  const cmd = new Command('interop')
    .option('--matrix', 'run the interop matrix')
    .addOption(new Option('--backend <kind>', 'where the daemons run').choices(['docker', 'loopback', 'netns']).default('docker'))
    .option('--arrangements <list>', 'comma-separated arrangements (O ours, R reference)')
    .option('--out <dir>', 'where matrix.md and matrix.xml go', 'interop-results')
    .option('--build', 'build the images first (interop/docker/build.sh)', false)
    .parse(['node', 'interop', ...argv]);
  const v = cmd.opts<{ matrix?: boolean; backend: Backend; arrangements?: string; out: string; build: boolean }>();
  if (v.matrix !== true) {
    cmd.help();
    return;
  }
  const dflt = referencePrefix() !== undefined ? 'ORO,ROR,OOROO' : 'OOO,ORO';
  const o: MatrixOptions = { backend: v.backend, arrangements: (v.arrangements ?? dflt).split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''), out: v.out, build: v.build };
  const cells = await runMatrix(o);
  report(cells, o);
  process.exitCode = cells.some((c) => c.status === 'fail') ? 1 : 0;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
