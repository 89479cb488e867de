/**
 * The daemon process's young-generation cap (SPEC.md Part VIII §10), in a child process of its
 * own (the cap changes V8's settings for the whole process): a workload whose objects survive
 * grows V8's young generation far past the cap without it, and not at all past it with it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO } from './support.js';

const TUNING_JS = join(REPO, 'dist', 'src', 'daemon', 'runtime', 'v8-tuning.js');

/** Largest young generation (bytes) seen while 3 million objects churn through 100,000 live slots. */
function youngGenerationPeak(cap: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    const tuning = await import(${JSON.stringify(pathToFileURL(TUNING_JS).href)});
    if (${cap}) tuning.capYoungGeneration();
    const keep = new Array(100000);
    let peak = 0;
    for (let i = 0; i < 3000000; i++) {
      keep[i % keep.length] = { i, s: 'x' + (i & 1023) };
      if ((i & 8191) === 0) {
        await new Promise((r) => setImmediate(r)); // the gc observer runs between turns
        peak = Math.max(peak, getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
      }
    }
    console.log(peak);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout.trim());
}

describe('capYoungGeneration', () => {
  it('keeps the young generation at the cap where V8 alone would grow it several times over', async () => {
    expect(existsSync(TUNING_JS), `${TUNING_JS} is missing: run \`npm run build\` first`).toBe(true);
    const { YOUNG_GENERATION_CAP_BYTES } = await import('../../src/daemon/runtime/v8-tuning.js');
    const uncapped = youngGenerationPeak(false);
    const capped = youngGenerationPeak(true);
    expect(uncapped).toBeGreaterThanOrEqual(4 * YOUNG_GENERATION_CAP_BYTES);
    expect(capped).toBeLessThanOrEqual(YOUNG_GENERATION_CAP_BYTES);
    expect(capped).toBeGreaterThan(0);
  }, 120_000);
});
