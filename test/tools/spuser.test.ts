/**
 * Our spuser against the reference's: the same scripted sessions, against the same daemon
 * (ours and/or the reference), must print the same thing once ports, membership times and
 * generated names are normalised. Without SPREAD_REF our spuser runs against our daemon alone
 * and is checked against the transcript the reference's source defines.
 *
 * Our spuser runs from the build (bin/spuser.js → dist/src/tools/spuser.js): `npm test` builds
 * first.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTexts, normalise } from '../../interop/compare.js';
import { sleep } from '../../interop/ring-scenarios.js';
import { oursDaemonBuilt, referenceBin, referencePrefix, repoRoot, skipLine, startDaemon, type DaemonHandle, type Impl } from '../../interop/launcher.js';
import { spuserBufferedInput, spuserBurstEdges, spuserErrors, spuserPair, spuserSolo, spuserSyncRead, type Scenario, type Tool } from '../../interop/scenarios.js';
import { runOnce, runSession } from '../../interop/session.js';
import { MENU, parseArgs, scanTokens, scanUnsigned, spErrorLine, StdioInput, USAGE } from '../../src/tools/spuser.js';

const root = repoRoot();
const ref = referencePrefix();
const refSpuserPath = referenceBin('spuser', ref);
const ourBuilt = existsSync(join(root, 'dist', 'src', 'tools', 'spuser.js'));
const ours: Tool = { command: process.execPath, args: [join(root, 'bin', 'spuser.js')] };
const theirs: Tool | undefined = refSpuserPath === undefined ? undefined : { command: refSpuserPath, args: [] };

if (ref === undefined) skipLine('spuser: comparison with the reference spuser and daemon');
if (!ourBuilt) console.log('SKIP: spuser: our spuser is not built (npm run build)');

const daemons: Impl[] = [];
if (ref !== undefined) daemons.push('reference');
if (oursDaemonBuilt()) daemons.push('ours');

interface Transcripts {
  texts: Record<string, string>;
  problems: string[];
}

async function play(sc: Scenario, d: DaemonHandle): Promise<Transcripts> {
  const res = await runSession(sc.clients(d), sc.steps, { exitTimeoutMs: 10_000, totalTimeoutMs: 60_000 });
  const texts: Record<string, string> = {};
  for (const [id, c] of Object.entries(res.clients)) {
    let t = c.stdout;
    if (c.stderr !== '') t += `\n[stderr]\n${c.stderr}`;
    t += `\n[exit ${c.code ?? c.signal}${c.killed ? ', killed' : ''}]`;
    texts[id] = normalise(t, { ...sc.normalise, spreads: [d.spread, d.spreadTcp] });
  }
  // Let the daemon forget the sessions before the next run reuses their names.
  await sleep(300);
  return { texts, problems: res.problems };
}

/**
 * A block printed by an asynchronous event (a membership notice with its prompt) may land before
 * or after a block printed for a command, depending on which wakeup the process saw first: each
 * transcript must hold it exactly once, and the rest is compared without it.
 */
function withoutFloating(text: string, floating: string | undefined, label: string): string {
  if (floating === undefined) return text;
  expect(text.split(floating).length - 1, `${label}: the asynchronous block once`).toBe(1);
  return text.replace(floating, '');
}

function expectSame(a: Transcripts, b: Transcripts, labels: { a: string; b: string }, floating?: string): void {
  expect(b.problems, `problems of ${labels.b}`).toEqual([]);
  expect(a.problems, `problems of ${labels.a}`).toEqual([]);
  expect(Object.keys(b.texts).sort()).toEqual(Object.keys(a.texts).sort());
  const diffs: string[] = [];
  for (const id of Object.keys(a.texts)) {
    const la = `${labels.a} ${id}`;
    const lb = `${labels.b} ${id}`;
    const ta = withoutFloating(a.texts[id] as string, floating, la);
    const cmp = compareTexts(ta, withoutFloating(b.texts[id] as string, floating, lb), { a: la, b: lb });
    if (!cmp.equal) diffs.push(cmp.diff);
  }
  expect(diffs.join('\n\n')).toBe('');
}

// -------------------------------------------------------------------------------------------
// Without a daemon

describe('spuser: arguments and helpers', () => {
  it('parses flags the way the reference does', () => {
    expect(parseArgs([])).toEqual({ user: 'user', spread: '4803', passwordUser: undefined, password: undefined });
    expect(parseArgs(['-u', 'bob', '-s', '24803@127.0.0.1'])).toMatchObject({ user: 'bob', spread: '24803@127.0.0.1' });
    expect(parseArgs(['-uXYZ', 'bob'])).toMatchObject({ user: 'bob' }); // first two characters decide
    expect(parseArgs(['-u', 'bob', '-r'])).toMatchObject({ user: '' });
    expect(parseArgs(['-n', 'x', '-p', 'y'])).toMatchObject({ passwordUser: 'x', password: 'y' });
    expect(parseArgs(['-u'])).toBe('help');
    expect(parseArgs(['-h'])).toBe('help');
    expect(parseArgs(['bob'])).toBe('help');
  });

  it('scans like sscanf %s and %u', () => {
    expect(scanTokens(Buffer.from(' a  b\tc\n'), 10)).toEqual(['a', 'b', 'c']);
    expect(scanTokens(Buffer.from('a b c'), 2)).toEqual(['a', 'b']);
    expect(scanTokens(Buffer.from(' \n'), 1)).toEqual([]);
    expect(scanUnsigned(Buffer.from(' 20\n'), 102400)).toBe(20);
    expect(scanUnsigned(Buffer.from('abc'), 102400)).toBeUndefined();
    expect(scanUnsigned(Buffer.from('-5'), 102400)).toBe(102400);
    expect(scanUnsigned(Buffer.from('-0'), 102400)).toBe(0);
    expect(scanUnsigned(Buffer.from('999999999999'), 102400)).toBe(102400);
  });

  it('prints SP_error lines', () => {
    expect(spErrorLine(-6)).toBe('SP_error: (-6) Connection rejected, name not unique\n');
    expect(spErrorLine(-42)).toBe('SP_error: (-42) unrecognized error\n');
  });

  it('reads stdin as C stdio does: fgets limits, buffered lines, EOF', async () => {
    const s = new PassThrough();
    let wakeups = 0;
    const input = new StdioInput(s, () => wakeups++);
    expect(input.readable).toBe(false);
    s.write('j grp\ns grp\n');
    await sleep(10);
    expect(input.readable).toBe(true);
    expect((await input.fgets(130))?.toString()).toBe('j grp\n');
    // The second line now sits in the stdio buffer: fd 0 is not readable any more.
    expect(input.readable).toBe(false);
    expect((await input.fgets(130))?.toString()).toBe('s grp\n');
    s.write(`${'x'.repeat(150)}\n`);
    await sleep(10);
    expect((await input.fgets(130))?.length).toBe(129);
    expect((await input.fgets(130))?.toString()).toBe(`${'x'.repeat(21)}\n`);
    s.end('tail');
    await sleep(10);
    expect(input.readable).toBe(true);
    expect((await input.fgets(130))?.toString()).toBe('tail');
    expect(await input.fgets(130)).toBeNull();
    expect(wakeups).toBeGreaterThan(0);
  });
});

describe.skipIf(!ourBuilt)('spuser: no daemon', () => {
  it('prints the usage for -h and exits 0', async () => {
    const r = await runOnce({ command: ours.command, args: [...ours.args, '-h'] }, { timeoutMs: 10_000 });
    expect(r.stdout).toBe(USAGE);
    expect(r.code).toBe(0);
    if (theirs !== undefined) {
      const t = await runOnce({ command: theirs.command, args: ['-h'] }, { timeoutMs: 10_000 });
      expect(r.stdout).toBe(t.stdout);
      expect(r.code).toBe(t.code);
    }
  });

  it('reports a daemon that is not there like the reference', async () => {
    const args = ['-u', 'nobody1', '-s', '1'];
    const r = await runOnce({ command: ours.command, args: [...ours.args, ...args] }, { input: 'q\n', timeoutMs: 10_000 });
    expect(r.stdout).toBe('Spread library version is 4.4.0\nSP_error: (-2) Could not connect. Is Spread running?\n\nBye.\n');
    expect(r.code).toBe(0);
    if (theirs !== undefined) {
      const t = await runOnce({ command: theirs.command, args }, { input: 'q\n', timeoutMs: 10_000 });
      expect(r.stdout).toBe(t.stdout);
      expect(r.code).toBe(t.code);
    }
  });
});

// -------------------------------------------------------------------------------------------
// Against daemons

/** The transcript of spuserSolo as the reference's source defines it (normalised). */
function expectedSolo(): string {
  const recv = (kind: string, bytes: number, text: string): string =>
    `User> \n============================\nreceived ${kind} message from #alice#localhost, of type ${kind === 'SAFE' ? 1 : 2}, (endian 0) to 1 groups \n(${bytes} bytes): ${text}\n\n`;
  let t = 'Spread library version is 4.4.0\nUser: connected to <SPREAD> with private group #alice#localhost\n';
  t += `${MENU}\nUser> \nUser> \n============================\n`;
  t += 'Received REGULAR membership for group grp with 1 members, where I am member 0:\n\t#alice#localhost\ngrp id is 2130706433 <T> 1\nDue to the JOIN of #alice#localhost\n\n';
  t += 'User> enter message: \n';
  t += recv('SAFE', 12, 'hello world\n');
  t += 'User> enter message: \n';
  t += recv('SAFE', 23, 'first line\nsecond line\n');
  t += 'User> enter size of each message: sending 10 messages of 20 bytes\n';
  for (let i = 1; i <= 10; i++) t += `sent message ${i} (total ${i + 2})\n`;
  t += '\n';
  for (let i = 3; i <= 12; i++) t += recv('FIFO', 20, `mess num ${i} `);
  t += 'User> Polling sais: 0\n\nUser> \nUnknown commnad\n';
  t += `${MENU}\nUser> \nUser> \n============================\nreceived membership message that left group grp\n\n`;
  t += 'User> \nBye.\n\n[exit 0]';
  return t;
}

for (const impl of daemons) {
  describe.skipIf(!ourBuilt)(`spuser against the ${impl} daemon`, () => {
    let d: DaemonHandle | undefined;
    beforeAll(async () => {
      d = await startDaemon({ impl });
    }, 30_000);
    afterAll(async () => {
      await d?.stop();
    });

    // In the buffered-input session the leave notice races the `x` command's "Unknown commnad".
    const leftNotice = '\n============================\nreceived membership message that left group grp\n\nUser> ';
    const cases: { name: string; make: (t: Tool) => Scenario; floating?: string }[] = [
      { name: 'solo (j, s, m, b, p, unknown, l, q)', make: spuserSolo },
      { name: 'sync read (d, s, p, r, r, e, q)', make: spuserSyncRead },
      { name: 'errors (no group, long group, duplicate name, -r)', make: spuserErrors },
      { name: 'buffered input (several commands per write)', make: spuserBufferedInput, floating: leftNotice },
      { name: 'burst edges (small, default group, NUL byte, junk size)', make: spuserBurstEdges },
      { name: 'two spusers (join, send, leave, disconnect)', make: (t) => spuserPair(t, t, 'spuser') },
    ];

    for (const c of cases) {
      const title = theirs !== undefined ? `${c.name}: ours prints what the reference spuser prints` : `${c.name}: ours runs cleanly (no reference to compare with)`;
      it(title, { timeout: 90_000 }, async () => {
        const daemon = d as DaemonHandle;
        const mine = await play(c.make(ours), daemon);
        if (theirs === undefined) {
          expect(mine.problems).toEqual([]);
          for (const t of Object.values(mine.texts)) expect(t).toMatch(/\[exit 0\]$/);
          if (c.make === spuserSolo) expect(mine.texts['alice']).toBe(expectedSolo());
          return;
        }
        const golden = await play(c.make(theirs), daemon);
        expectSame(golden, mine, { a: `reference spuser / ${impl} daemon`, b: `our spuser / ${impl} daemon` }, c.floating);
        if (c.make === spuserSolo) expect(golden.texts['alice']).toBe(expectedSolo());
      });
    }

    it.skipIf(theirs === undefined)('mixed pair: our spuser (bob) with the reference spuser (alice)', { timeout: 90_000 }, async () => {
      const daemon = d as DaemonHandle;
      const t = theirs as Tool;
      const golden = await play(spuserPair(t, t, 'spuser'), daemon);
      const mixed = await play(spuserPair(ours, t, 'spuser'), daemon);
      expectSame(golden, mixed, { a: 'reference bob + reference alice', b: 'our bob + reference alice' });
    });
  });
}
