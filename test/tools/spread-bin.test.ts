/**
 * `bin/spread.js`, the command users run: the bundled daemon (dist/spread-daemon.mjs, built by
 * `npm run build`) starts, serves a client, loads prom-client for --metrics, and stops on SIGTERM;
 * the bundle is pure ASCII (scripts/bundle.mjs), so V8 keeps its source one byte per character.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { freePort, REPO } from '../daemon/support.js';

const dir = mkdtempSync(join(tmpdir(), 'spread-ts-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bin/spread.js', () => {
  it('runs the bundled daemon: ready line, a client, /healthz, exit 0 on SIGTERM', async () => {
    expect(existsSync(join(REPO, 'dist', 'spread-daemon.mjs'))).toBe(true);
    const port = await freePort();
    const conf = join(dir, 'spread.conf');
    writeFileSync(conf, `Spread_Segment 127.0.0.255:${port} {\n localhost 127.0.0.1 { 127.0.0.1 }\n}\n`);
    const child = spawn(process.execPath, [join(REPO, 'bin', 'spread.js'), '-c', conf, '-n', 'localhost', '--metrics', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 400 && !out.includes('spread-ts ready:') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
      expect(out).toBe(`spread-ts ready: localhost on 127.0.0.1:${port}, /tmp/${port}\n`);
      const c = await connect({ spread: String(port), name: 'bin' });
      await c.disconnect();
      const url = /metrics on (http:\S+)\/metrics/.exec(err)?.[1];
      const health = await fetch(`${url}/healthz`);
      expect(await health.json()).toMatchObject({ op: true, members: 1 });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('is built as pure ASCII, the comments esbuild keeps included', () => {
    const bytes = readFileSync(join(REPO, 'dist', 'spread-daemon.mjs'));
    const wide = bytes.findIndex((b) => b > 0x7f);
    expect(wide, wide < 0 ? '' : bytes.subarray(Math.max(0, wide - 60), wide + 20).toString('utf8')).toBe(-1);
    // The source did have such characters (in its comments): the escaping is what removed them.
    expect(bytes.toString('latin1')).toMatch(/\\u(00a7|2192|2014)/);
  });
});
