/**
 * The `spread` command line, run in-process (exit codes, --check, a start/stop cycle).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLog } from '../../src/daemon/core/daemon-core.js';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_TEXT, formatCheckOutput, parseConfig } from '../../src/daemon/config/index.js';
import { ExitCode, main } from '../../src/tools/spread.js';
import { authReply, connectBytes, hex } from './harness.js';
import { freePort, RawClient } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'spread-ts-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(): { out: string[]; err: string[]; io: { stdout(t: string): void; stderr(t: string): void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) } };
}

function conf(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const silent = silentLog;

describe('spread CLI: exit codes', () => {
  it.each([
    [['--bogus'], ExitCode.USAGE],
    [['-l', 'x'], ExitCode.USAGE],
    [['-n'], ExitCode.USAGE],
    [['stray'], ExitCode.USAGE],
    [['-n', 'x'.repeat(20)], ExitCode.USAGE],
    [['--help'], ExitCode.OK],
    [['-V'], ExitCode.OK],
    [['-c', '/nonexistent/spread.conf'], ExitCode.CONFIG],
    [['-n', 'nobody-here'], ExitCode.CONFIG],
  ])('%j → %i', async (argv, code) => {
    const t = io();
    expect(await main(argv, { io: t.io, logger: silent, stopSignal: Promise.resolve() })).toBe(code);
  });

  it('a configuration with a syntax error → 78 with the file position', async () => {
    const t = io();
    const p = conf('bad.conf', 'Spread_Segment 127.0.0.255:4803 {\n localhost 127.0.0.1\n');
    expect(await main(['-c', p], { io: t.io, logger: silent })).toBe(ExitCode.CONFIG);
    expect(t.err.join('')).toContain(p);
  });

  it('--check prints the canonical configuration and hash (embedded default without -c)', async () => {
    const t = io();
    expect(await main(['--check'], { io: t.io })).toBe(ExitCode.OK);
    expect(t.out.join('')).toBe(formatCheckOutput(parseConfig(DEFAULT_CONFIG_TEXT, '<default>')));
  });

  it('a port in use → 69', async () => {
    const srv = createServer();
    const port = await new Promise<number>((res) => srv.listen({ port: 0, host: '127.0.0.1' }, () => res((srv.address() as { port: number }).port)));
    try {
      const p = conf('busy.conf', `Spread_Segment 127.0.0.255:${port} {\n localhost 127.0.0.1 { 127.0.0.1 }\n}\n`);
      const t = io();
      expect(await main(['-c', p, '-n', 'localhost'], { io: t.io, logger: silent, stopSignal: Promise.resolve() })).toBe(ExitCode.UNAVAILABLE);
      expect(existsSync(`/tmp/${port}`)).toBe(false);
    } finally {
      srv.close();
    }
  });
});

describe('spread CLI: run and stop', () => {
  it('serves clients until the stop signal, then removes the unix socket and exits 0', async () => {
    const port = await freePort();
    const p = conf('run.conf', `Spread_Segment 127.0.0.255:${port} {\n localhost 127.0.0.1 { 127.0.0.1 }\n}\n`);
    const t = io();
    let stop!: () => void;
    const stopSignal = new Promise<void>((res) => (stop = res));
    let ready!: () => void;
    const isReady = new Promise<void>((res) => (ready = res));
    const done = main(['-n', 'localhost', '-c', p, '-l', 'n'], { io: t.io, logger: silent, stopSignal, onReady: () => ready() });
    await isReady;
    expect(t.out.join('')).toBe(`spread-ts ready: localhost on 127.0.0.1:${port}, /tmp/${port}\n`);
    const c = await RawClient.open({ path: `/tmp/${port}` });
    c.write(connectBytes('cli'));
    expect(hex(await c.read(6))).toBe('054e554c4c20');
    c.write(authReply());
    await c.read(5);
    stop();
    expect(await done).toBe(ExitCode.OK);
    await c.waitClosed();
    expect(existsSync(`/tmp/${port}`)).toBe(false);
  });
});
