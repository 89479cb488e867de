/**
 * The daemon process's malloc arena cap (SPEC.md Part VIII §10), in child processes of their own
 * (the cap is process-wide): threads that allocate after it add no arena of their own, where
 * without it each gets one. glibc's secondary arenas are reservations of exactly 64 MiB at a
 * 64 MiB boundary (a used head, the rest inaccessible), which /proc/self/maps shows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeBackend } from '../../src/daemon/net/udp-native.js';
import { REPO } from './support.js';

const NATIVE_JS = join(REPO, 'dist', 'src', 'daemon', 'net', 'udp-native.js');
const GLIBC = process.platform === 'linux' && (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime !== undefined;
const RUNS = nativeBackend() !== null && GLIBC;
if (!RUNS) console.log('SKIP: the malloc arena cap (needs the native addon on glibc Linux)');

/** Arena heaps before and after three worker threads allocated, with or without the cap. */
function arenasAroundWorkers(cap: boolean): { applied: boolean | null; before: number; after: number } {
  const script = `
    import { readFileSync } from 'node:fs';
    import { Worker } from 'node:worker_threads';
    const { limitMallocArenas } = await import(${JSON.stringify(pathToFileURL(NATIVE_JS).href)});
    const applied = ${cap} ? limitMallocArenas(1) : null;
    const M = 64n << 20n;
    function arenaHeaps() {
      const maps = readFileSync('/proc/self/maps', 'utf8').trim().split('\\n').map((l) => l.split(' ')[0].split('-').map((h) => BigInt('0x' + h)));
      let n = 0;
      for (let i = 0; i < maps.length; i++) {
        const start = maps[i][0];
        if (start % M !== 0n) continue;
        let end = maps[i][1];
        for (let j = i + 1; end - start < M && j < maps.length && maps[j][0] === end; j++) end = maps[j][1];
        if (end - start === M) n++;
      }
      return n;
    }
    const before = arenaHeaps();
    const work = 'const a = []; for (let i = 0; i < 2000; i++) a.push(Buffer.alloc(4096));';
    await Promise.all([1, 2, 3].map(() => new Promise((done) => new Worker(work, { eval: true }).on('exit', done))));
    console.log(JSON.stringify({ applied, before, after: arenaHeaps() }));`;
  const env = { ...process.env };
  delete env.MALLOC_ARENA_MAX;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, env });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim()) as { applied: boolean | null; before: number; after: number };
}

describe.runIf(RUNS)('limitMallocArenas', () => {
  it('stops new threads from taking malloc arenas of their own, where without it they do', () => {
    expect(existsSync(NATIVE_JS), `${NATIVE_JS} is missing: run \`npm run build\` first`).toBe(true);
    const free = arenasAroundWorkers(false);
    expect(free.after).toBeGreaterThan(free.before);
    const capped = arenasAroundWorkers(true);
    expect(capped.applied).toBe(true);
    expect(capped.after).toBe(capped.before);
  }, 120_000);
});
