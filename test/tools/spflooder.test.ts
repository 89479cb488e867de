/**
 * Our spflooder: its argument parsing and checker, then runs against our daemon (always) and
 * the reference's (SPREAD_REF), compared with the reference's spflooder where it is installed.
 * Only deterministic output is compared (no timings; the reference's lines and exit codes).
 * Runs bin/spflooder.js (dist/): `npm test` builds first.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, oursDaemonBuilt, referenceBin, referencePrefix, repoRoot, skipLine } from '../../interop/launcher.js';
import { exit, runOnce, runSession, start, waitFor, type ClientSpec } from '../../interop/session.js';
import { FloodChecker, payloadTemplate, PAYLOAD_HEADER, stampPayload, summarise } from '../../src/tools/flood-check.js';
import { daemonImpls, daemonPerSuite } from './daemons.js';
import { LONG_USAGE, parseArgs, scanInt, USAGE } from '../../src/tools/spflooder.js';

const root = repoRoot();
const ref = referencePrefix();
const refFlooder = referenceBin('spflooder', ref);
const ourBin = join(root, 'bin', 'spflooder.js');
const built = existsSync(join(root, 'dist', 'src', 'tools', 'spflooder.js')) && oursDaemonBuilt();
if (ref === undefined) skipLine('spflooder: runs against the reference daemon and comparison with the reference spflooder');
if (!built) console.log('SKIP: spflooder: not built (npm run build)');

const ours = (args: string[]): Omit<ClientSpec, 'id'> => ({ command: process.execPath, args: [ourBin, ...args] });
/** Ours with stderr merged into stdout (in --json mode the reference's lines go to stderr). */
const oursMerged = (args: string[]): Omit<ClientSpec, 'id'> => ({ command: 'sh', args: ['-c', 'exec "$0" "$@" 2>&1', process.execPath, ourBin, ...args] });
/** The reference's, line-buffered (its stdout to a pipe is block-buffered otherwise). */
const theirs = (args: string[]): Omit<ClientSpec, 'id'> => ({ command: 'stdbuf', args: ['-oL', refFlooder!, ...args] });

describe('spflooder: arguments', () => {
  it('parses the reference flags the reference way', () => {
    expect(parseArgs([])).toMatchObject({ user: 'flooder', spread: '4803', bytes: 1000, messages: 10_000, members: 0, readOnly: false, writeOnly: false });
    expect(parseArgs(['-u', 'bob', '-m', '5', '-b', '7', '-s', '1@h', '-n', '3'])).toMatchObject({ user: 'bob', messages: 5, bytes: 7, spread: '1@h', members: 3 });
    expect(parseArgs(['-mXX', '12'])).toMatchObject({ messages: 12 }); // the first two characters decide
    expect(parseArgs(['-m', 'abc'])).toMatchObject({ messages: 10_000 }); // sscanf fails: unchanged
    expect(parseArgs(['-ro', '-wo'])).toMatchObject({ readOnly: false, writeOnly: true });
    expect(parseArgs(['-wo', '-ro'])).toMatchObject({ readOnly: true, writeOnly: false });
    expect(parseArgs(['-m'])).toBe('help');
    expect(parseArgs(['-x'])).toBe('help');
    expect(parseArgs(['-n', '101'])).toBe('too-many-members');
  });

  it('parses our long options', () => {
    expect(parseArgs(['--service', 'safe', '--senders', '3', '--groups', 'a,b', '--duration', '2', '--json'])).toMatchObject({
      service: 'safe', senders: 3, groups: ['a', 'b'], durationMs: 2000, json: true,
    });
    expect(parseArgs(['--service', 'bogus'])).toBe('help');
    expect(parseArgs(['--senders', '0'])).toBe('help');
    expect(parseArgs(['--senders'])).toBe('help');
    expect(parseArgs(['--what'])).toBe('help');
  });

  it('scans integers like sscanf %d', () => {
    expect(scanInt(' 42x')).toBe(42);
    expect(scanInt('-7')).toBe(-7);
    expect(scanInt('x1')).toBeUndefined();
  });
});

describe('spflooder: payload checker', () => {
  const msg = (stream: number, seq: number, size = 32, index = 0): Uint8Array => stampPayload(payloadTemplate(size, index, stream), size, seq, 1000).slice();

  it('counts in-order messages and latency', () => {
    const c = new FloodChecker();
    for (let i = 1; i <= 3; i++) expect(c.message('#a#d', msg(9, i, 32, 5), 1000 + i)).toBe(5);
    expect(c.counts).toMatchObject({ received: 3, checked: 3, lost: 0, duplicates: 0, fifoBreaks: 0, bytes: 96 });
    expect(c.latencySummary()).toEqual({ p50: 2, p90: 3, p99: 3, max: 3 });
  });

  it('finds gaps, late arrivals and duplicates, per sender and stream', () => {
    const c = new FloodChecker();
    c.message('#a#d', msg(1, 1), 0);
    c.message('#a#d', msg(1, 4), 0); // 2 and 3 missing
    expect(c.counts).toMatchObject({ lost: 2, fifoBreaks: 1 });
    c.message('#a#d', msg(1, 2), 0); // late: no longer lost
    expect(c.counts).toMatchObject({ lost: 1, fifoBreaks: 2, duplicates: 0 });
    c.message('#a#d', msg(1, 2), 0); // twice
    c.message('#a#d', msg(1, 4), 0);
    expect(c.counts).toMatchObject({ lost: 1, duplicates: 2 });
    c.message('#b#d', msg(1, 1), 0); // another sender, same stream number: its own sequence
    c.message('#a#d', msg(2, 1), 0); // another stream of the same sender
    expect(c.counts).toMatchObject({ lost: 1, duplicates: 2, checked: 7 });
  });

  it('counts but does not check payloads without the magic or too short', () => {
    const c = new FloodChecker();
    c.message('#r#d', new Uint8Array(1000), 0); // the reference flooder's zeros
    c.message('#r#d', new Uint8Array(1000), 0);
    c.message('#r#d', msg(1, 1, PAYLOAD_HEADER - 1), 0);
    expect(c.counts).toMatchObject({ received: 3, checked: 0, duplicates: 0 });
    expect(c.latencySummary()).toBeNull();
  });

  it('summarises', () => {
    const c = new FloodChecker();
    c.message('#a#d', msg(1, 1), 1);
    const s = summarise('read-write', 1, 1000, 1_000_000, 500, c, 2);
    expect(s).toMatchObject({ messages: 1000, bytes: 1_000_000, seconds: 0.5, msgsPerSec: 2000, mbitPerSec: 16, lost: 2, received: 1 });
  });
});

function expectedRun(spread: string, m: number, b: number, wo = false): string {
  let t = `flooder: connecting to ${spread}\n`;
  t += `flooder: starting  multicast of ${m} messages, ${b} bytes each${wo ? ' (self discarding)' : ''}.\n`;
  for (let i = 1000; i <= m; i += 1000) t += `flooder: completed ${String(i).padStart(6)} messages of ${b} bytes\n`;
  return `${t}flooder: completed multicast of ${m} messages, ${b} bytes each.\n`;
}

describe.runIf(built)('spflooder: without a daemon', () => {
  it('prints the usage and exits 1', async () => {
    const r = await runOnce(ours(['-x']));
    expect(r.stdout).toBe(USAGE + LONG_USAGE);
    expect(r.code).toBe(1);
    const t = await runOnce(ours(['-n', '500']));
    expect(t.stdout).toBe(`Too many members. The max is 100\n${USAGE}${LONG_USAGE}`);
    expect(t.code).toBe(1);
  });

  it('reports a daemon that is not there as SP_error, exit 1', async () => {
    const port = String(await freePort());
    const r = await runOnce(ours(['-s', port, '-m', '10']));
    expect(r.stdout).toBe(`flooder: connecting to ${port}\nSP_error: (-2) Could not connect. Is Spread running?\n`);
    expect(r.code).toBe(1);
    if (refFlooder !== undefined) {
      const t = await runOnce(theirs(['-s', port, '-m', '10']));
      expect(r.stdout).toBe(t.stdout);
      expect(r.code).toBe(t.code);
      const u = await runOnce(theirs(['-x']));
      expect(USAGE).toBe(u.stdout);
      expect(u.code).toBe(1);
    }
  });
});

const impls = daemonImpls(built);

describe.each(impls)('spflooder against the %s daemon', (impl) => {
  const daemon = daemonPerSuite(impl);

  it('floods with the reference\'s lines (read-write and write-only)', async () => {
    const d = daemon();
    const r = await runOnce(ours(['-s', d.spread, '-m', '2500', '-b', '100', '-u', 'f1']));
    expect(r.stdout).toBe(expectedRun(d.spread, 2500, 100));
    expect(r.code).toBe(0);
    const w = await runOnce(ours(['-s', d.spreadTcp, '-m', '1000', '-b', '10', '-wo', '-u', 'f2']));
    expect(w.stdout).toBe(expectedRun(d.spreadTcp, 1000, 10, true));
    expect(w.code).toBe(0);
    if (refFlooder !== undefined) {
      const t = await runOnce(theirs(['-s', d.spread, '-m', '2500', '-b', '100', '-u', 'f3']));
      expect(r.stdout).toBe(t.stdout);
      expect(r.code).toBe(t.code);
    }
  }, 60_000);

  it('--senders --json: every connection reads every message once, in order', async () => {
    // A group of its own: the earlier tests' flooders may still have messages in flight to `flooder`.
    // 3 × 300 messages reach each connection: under the daemon's 1000 queued messages per session
    // (MaxSessionMessages), so a connection that reads late on a loaded machine is never killed.
    const d = daemon();
    const r = await runOnce(ours(['-s', d.spread, '-m', '300', '-b', '200', '--senders', '3', '--service', 'agreed', '--groups', 'senders', '--json', '-u', 'js']));
    expect(r.code, r.stdout).toBe(0);
    const s = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(s).toMatchObject({ role: 'read-write', senders: 3, messages: 900, bytes: 180_000, received: 2700, checked: 2700, lost: 0, duplicates: 0, fifoBreaks: 0 });
    expect(Object.keys(s.latencyMs as object)).toEqual(['p50', 'p90', 'p99', 'max']);
    expect(r.stderr).toContain('flooder: completed multicast of 300 messages, 200 bytes each.\n');
  }, 60_000);

  it('--groups: a message to several groups arrives once; --duration ends a run early', async () => {
    const d = daemon();
    const g = await runOnce(ours(['-s', d.spread, '-m', '500', '-b', '50', '--groups', 'ga,gb', '--json', '-u', 'gg']));
    expect(g.code).toBe(0);
    expect(JSON.parse(g.stdout)).toMatchObject({ messages: 500, received: 500, checked: 500, lost: 0, duplicates: 0 });
    const t = await runOnce(ours(['-s', d.spread, '-m', '100000000', '-b', '10', '-wo', '--duration', '1', '--json', '-u', 'dd']), { timeoutMs: 30_000 });
    expect(t.code).toBe(0);
    const s = JSON.parse(t.stdout) as { role: string; messages: number; latencyMs: unknown };
    expect(s.role).toBe('write');
    expect(s.messages).toBeGreaterThan(0);
    expect(s.messages).toBeLessThan(100_000_000);
    expect(s.latencyMs).toBeNull();
  }, 60_000);

  it('-ro reads what -wo senders write (ours and the reference\'s), checked', async () => {
    const d = daemon();
    const writers: ClientSpec[] = [{ id: 'w', ...ours(['-s', d.spread, '-m', '1500', '-b', '64', '-wo', '--senders', '2', '-u', 'ww']) }];
    if (refFlooder !== undefined) writers.push({ id: 'rw', ...theirs(['-s', d.spread, '-m', '1000', '-b', '64', '-wo', '-u', 'rw']) });
    const total = 3000 + (refFlooder !== undefined ? 1000 : 0);
    // -n 1: the reader is ready once its own join's membership arrives.
    const reader: ClientSpec = { id: 'r', ...oursMerged(['-s', d.spread, '-ro', '-n', '1', '-m', String(total), '--json', '-u', 'rr']) };
    const res = await runSession([reader, ...writers], [
      start('r'), { kind: 'waitFor', client: 'r', text: 'Received REGULAR membership', timeoutMs: 20_000 },
      ...writers.map((w) => start(w.id)), ...writers.map((w) => exit(w.id, 30_000)), exit('r', 30_000),
    ], { totalTimeoutMs: 90_000 });
    expect(res.problems).toEqual([]);
    const r = res.clients['r']!;
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(s).toMatchObject({ role: 'read', messages: total, received: total, checked: 3000, lost: 0, duplicates: 0 });
    for (const w of writers) expect(res.clients[w.id]!.code).toBe(0);
  }, 120_000);

  it.runIf(refFlooder !== undefined)('the reference\'s -ro reads what ours writes', async () => {
    const d = daemon();
    const res = await runSession([
      { id: 'r', ...theirs(['-s', d.spread, '-ro', '-n', '1', '-m', '2000', '-u', 'rr2']) },
      { id: 'w', ...ours(['-s', d.spread, '-m', '2000', '-b', '100', '-wo', '-u', 'ww2']) },
    ], [start('r'), waitFor('r', 'Received REGULAR membership', 1, 20_000), start('w'), exit('w', 30_000), exit('r', 30_000)], { totalTimeoutMs: 90_000 });
    expect(res.problems).toEqual([]);
    expect(res.clients['r']!.code).toBe(0);
    expect(res.clients['r']!.stdout).toContain('flooder: completed   2000 messages of 100 bytes\n');
  }, 120_000);
});
