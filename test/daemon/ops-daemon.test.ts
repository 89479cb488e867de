/**
 * The built daemon run as a system daemon (SPEC Part IX): privilege drop as root, refusal of
 * an unknown DaemonUser, a clean start with nothing at warn, per-session lines at debug, one
 * line for a port in use, and the opt-in metrics and health endpoints moving with traffic.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../interop/ring-scenarios.js';
import { connect } from '../../src/client/index.js';
import { metricsUrl, sample, scrape } from './hostile-support.js';
import { DAEMON_JS, startDaemonProcess } from './support.js';

const isRoot = process.getuid?.() === 0;
const nobody = isRoot && spawnSync('id', ['-u', 'nobody']).status === 0 && spawnSync('getent', ['group', 'nogroup']).status === 0;
if (!nobody) console.log('SKIP: ops: privilege drop (needs root and the user nobody, group nogroup)');

const dir = mkdtempSync(join(tmpdir(), 'spread-ts-ops-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** spread.conf lines that let a root-started daemon drop to nobody (no warn as root). */
const DROP = `DaemonUser = nobody\nDaemonGroup = nogroup\nRuntimeDir = ${dir}\n`;
const asDaemonUser = isRoot ? DROP : '';

const levels = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { level: string }).level);

describe.skipIf(!nobody)('privilege drop as root', () => {
  it('enters RuntimeDir as nobody/nogroup after opening its sockets, then serves clients and removes its socket', async () => {
    const d = await startDaemonProcess({ extraConf: DROP });
    try {
      const status = readFileSync(`/proc/${d.child.pid}/status`, 'utf8');
      expect(status).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
      expect(status).toMatch(/^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
      expect(status).toMatch(/^Groups:\s+65534\s*$/m);
      expect(readlinkSync(`/proc/${d.child.pid}/cwd`)).toBe(dir);
      const c = await connect({ spread: String(d.port), name: 'dropped' });
      await c.join('g');
      await c.disconnect();
    } finally {
      expect(await d.stop()).toBe(0);
    }
    expect(spawnSync('test', ['-e', d.unixPath]).status).not.toBe(0);
  });

  it('refuses an unknown DaemonUser with the reference\'s message and exit 78', () => {
    const conf = join(dir, 'ghost.conf');
    writeFileSync(conf, `Spread_Segment 127.0.0.255:4899 {\n localhost 127.0.0.1 { 127.0.0.1 }\n}\nDaemonUser = no-such-user-x\nDaemonGroup = nogroup\nRuntimeDir = ${dir}\n`);
    const r = spawnSync(process.execPath, [DAEMON_JS, '-c', conf, '-n', 'localhost'], { encoding: 'utf8', timeout: 20000 });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain("spread: FAILED privilege drop to user/group 'no-such-user-x/nogroup' (defined in spread.conf)\n");
  });
});

describe('logs', () => {
  it('a clean start logs nothing at warn or above; session lines only at debug', async () => {
    const quiet = await startDaemonProcess({ extraConf: asDaemonUser });
    const loud = await startDaemonProcess({ extraConf: asDaemonUser, args: ['--log-level', 'debug'] });
    try {
      for (const d of [quiet, loud]) {
        const c = await connect({ spread: String(d.port), name: 'sess' });
        await c.disconnect();
      }
    } finally {
      await quiet.stop();
      await loud.stop();
    }
    expect(levels(quiet.stderr()).filter((l) => l !== 'info' && l !== 'debug')).toEqual([]);
    expect(quiet.stderr()).not.toContain('"session":"sess"');
    expect(loud.stderr()).toMatch(/"level":"debug".*"session":"sess"/);
    expect(loud.stderr()).toContain('lost my token');
    expect(levels(loud.stderr())).not.toContain('warn');
  });

  it('spread.conf: DebugFlags shows that category\'s debug lines at info; EventTimeStamp stamps pretty lines', async () => {
    const extraConf = `${asDaemonUser}DebugFlags = { PRINT EXIT MEMBERSHIP }\nEventTimeStamp = "%Y-%m-%d"\nEventPreciseTimeStamp\n`;
    const d = await startDaemonProcess({ extraConf, args: ['--log-format', 'pretty'] });
    await d.stop();
    const lines = d.stderr().trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\d\.\d{6} (DEBUG|INFO) {1,2}\S/);
    expect(lines.filter((l) => l.includes(' DEBUG ')).some((l) => l.includes('lost my token'))).toBe(true);
  });

  it('a port in use: one line on stderr, exit 69', async () => {
    const srv = createServer();
    const port = await new Promise<number>((res) => srv.listen({ port: 0, host: '127.0.0.1' }, () => res((srv.address() as { port: number }).port)));
    try {
      const conf = join(dir, 'busy.conf');
      writeFileSync(conf, `Spread_Segment 127.0.0.255:${port} {\n localhost 127.0.0.1 { 127.0.0.1 }\n}\n${asDaemonUser}`);
      const r = spawnSync(process.execPath, [DAEMON_JS, '-c', conf, '-n', 'localhost', '--log-level', 'error'], { encoding: 'utf8', timeout: 20000 });
      expect(r.status).toBe(69);
      expect(r.stderr).toBe(`spread: unable to listen: address already in use 127.0.0.1:${port}\n`);
    } finally {
      srv.close();
    }
  });
});

describe('-l y', () => {
  it("writes the reference's activity file, named after the daemon, in the working directory", async () => {
    const d = await startDaemonProcess({ extraConf: asDaemonUser, args: ['-l', 'y'] });
    const file = join(dirname(d.confPath), 'localhost');
    let text = '';
    try {
      // The M line follows the ready line once the core has taken the configuration.
      await waitFor(() => (text = readFileSync(file, 'latin1')).includes('\nM '), 10_000, () => text);
    } finally {
      await d.stop();
    }
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^B {1,13}\d+$/);
    expect(lines[1]).toMatch(/^M {1,13}\d+ {1,13}\d+ {1,11}\d+ > {3}0$/);
    expect(lines[2]).toMatch(/^A {1,13}\d+ {1,11}\d+$/);
    expect(lines.slice(3)).toEqual(['']);
  });
});

describe('metrics and health (--metrics)', () => {
  it('serves /healthz and /metrics; the message counters move with traffic', async () => {
    const d = await startDaemonProcess({ extraConf: asDaemonUser, args: ['--metrics', '127.0.0.1:0'] });
    try {
      const url = metricsUrl(d.stderr());
      expect(url).toBeDefined();
      const healthz = await fetch(url!.replace('/metrics', '/healthz'));
      expect(healthz.status).toBe(200);
      expect(await healthz.json()).toMatchObject({ op: true, state: 'OP', members: 1 });

      const c = await connect({ spread: String(d.port), name: 'm' });
      await c.join('g');
      for (let i = 0; i < 10; i++) await c.multicast('g', 'x'.repeat(100), { service: 'agreed' });
      let got = 0;
      for (let i = 0; i < 50 && got < 10; i++) if ((await c.receive()).kind === 'message') got++;
      const text = await scrape(url!);
      await c.disconnect();
      const value = (line: string): number => sample(text, line);
      expect(value('spread_messages_in_total{service="agreed"}')).toBe(10);
      expect(value('spread_message_bytes_in_total{service="agreed"}')).toBe(1000);
      expect(value('spread_messages_out_total{service="agreed"}')).toBe(10);
      expect(value('spread_messages_in_total{service="join"}')).toBe(1);
      expect(value('spread_sessions')).toBe(1);
      expect(value('spread_ring_op')).toBe(1);
      expect(value('spread_membership_changes_total{cause="start"}')).toBe(1);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
      expect(text).toMatch(/^spread_udp_dropped_total\{channel="data",reason="wrongHash"\} 0$/m);
    } finally {
      await d.stop();
    }
  });
});
