import { existsSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, generateConf, oursDaemonBuilt, oursDaemonPath, portUsable, referencePrefix, skipLine, startDaemon, type DaemonHandle } from '../../interop/launcher.js';

const ref = referencePrefix();
if (ref === undefined) skipLine('launcher: reference daemon start/stop');
const ours = oursDaemonBuilt();
if (!ours) console.log(`SKIP: launcher: our daemon start/stop: ${oursDaemonPath()} not built (npm run build)`);

/** Connects to the daemon's unix socket and TCP port (just a TCP/unix connect, no handshake). */
async function canConnect(path: string | { port: number; host: string }): Promise<boolean> {
  return new Promise((res) => {
    const s = typeof path === 'string' ? netConnect(path) : netConnect(path.port, path.host);
    const t = setTimeout(() => {
      s.destroy();
      res(false);
    }, 2000);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      res(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      res(false);
    });
  });
}

async function checkLifecycle(d: DaemonHandle): Promise<void> {
  expect(d.running()).toBe(true);
  expect(d.spread).toBe(String(d.port));
  expect(d.spreadTcp).toBe(`${d.port}@127.0.0.1`);
  expect(existsSync(d.confPath)).toBe(true);
  expect(await canConnect(`/tmp/${d.port}`)).toBe(true);
  expect(await canConnect({ port: d.port, host: '127.0.0.1' })).toBe(true);
  await d.stop();
  expect(d.running()).toBe(false);
  expect(existsSync(d.confPath)).toBe(false);
  expect(existsSync(`/tmp/${d.port}`)).toBe(false);
  await d.stop(); // idempotent
}

describe('launcher helpers', () => {
  it('generates the loopback conf', () => {
    expect(generateConf(24803, 'localhost')).toBe('Spread_Segment 127.0.0.255:24803 {\n localhost 127.0.0.1\n}\nSocketPortReuse = ON\n');
    expect(generateConf(1, 'a', 'DebugFlags = { PRINT }')).toMatch(/SocketPortReuse = ON\nDebugFlags = \{ PRINT \}\n$/);
  });

  it('picks a free port pair', async () => {
    const p = await freePort();
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(65535);
    expect(await portUsable(p)).toBe(true);
  });

  it('skipLine prints one SKIP line', () => {
    const lines: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      expect(skipLine('x')).toBe('SKIP: x: SPREAD_REF not set');
    } finally {
      console.log = orig;
    }
    expect(lines).toEqual(['SKIP: x: SPREAD_REF not set']);
  });
});

describe.skipIf(ref === undefined)('launcher: reference daemon', () => {
  it('starts, is ready, and stops', async () => {
    const d = await startDaemon({ impl: 'reference' });
    try {
      expect(d.log()).toContain('Membership id is');
      expect(d.log()).toContain(`port: ${d.port}`);
      await checkLifecycle(d);
      expect(d.log()).toContain('Spread daemon exiting normally!');
    } finally {
      await d.stop();
    }
  });

  it('rejects with the output when the daemon exits before ready', async () => {
    // A config the reference refuses to parse: it exits (aborts) before any membership.
    await expect(startDaemon({ impl: 'reference', configText: 'Spread_Segment 127.0.0.255:{{PORT}} {\n nonsense\n' })).rejects.toThrow(
      /exited .* before ready/,
    );
  });

  it('rejects on readiness timeout and stops the daemon', async () => {
    // Name not in the config: the reference refuses; with a tiny timeout, either way it rejects.
    await expect(startDaemon({ impl: 'reference', readyTimeoutMs: 200 })).rejects.toThrow(/not ready after 200 ms/);
  });
});

describe.skipIf(!ours)('launcher: our daemon', () => {
  it('starts, is ready, and stops', async () => {
    const d = await startDaemon({ impl: 'ours' });
    try {
      expect(d.log()).toMatch(/ready/);
      await checkLifecycle(d);
    } finally {
      await d.stop();
    }
  });
});
