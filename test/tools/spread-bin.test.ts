/**
 * `bin/spread.js`, the command users run: the bundled daemon (dist/spread-daemon.mjs, built by
 * `npm run build`) starts, serves a client, loads prom-client for --metrics, and stops on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
});
