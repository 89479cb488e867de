/**
 * Our spmonitor: arguments, packets and report format, then the menu and the script commands
 * against our daemon (always) and the reference's (SPREAD_REF). With SPREAD_REF the packets
 * are compared byte for byte with the reference spmonitor's, its report with ours for the same
 * status reply, and the menu transcripts with the reference spmonitor's (deterministic parts).
 * Runs bin/spmonitor.js (dist/): `npm test` builds first.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, generateConf, oursDaemonBuilt, referenceBin, referencePrefix, repoRoot, skipLine, type DaemonHandle } from '../../interop/launcher.js';
import { end, exit, line, runOnce, runSession, start, waitFor, type ClientSpec } from '../../interop/session.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { PacketType } from '../../src/wire/daemon/constants.js';
import { encodeStatusReply, type StatusBody } from '../../src/wire/daemon/monitor.js';
import { formatStatus, MonitorRequests } from '../../src/tools/monitor-net.js';
import { daemonImpls, daemonPerSuite } from './daemons.js';
import { MENU, parseArgs } from '../../src/tools/spmonitor.js';

const root = repoRoot();
const ref = referencePrefix();
const refMonitor = referenceBin('spmonitor', ref);
const ourBin = join(root, 'bin', 'spmonitor.js');
const built = existsSync(join(root, 'dist', 'src', 'tools', 'spmonitor.js')) && oursDaemonBuilt();
if (ref === undefined) skipLine('spmonitor: reference daemon, packets and transcripts of the reference spmonitor');
if (!built) console.log('SKIP: spmonitor: not built (npm run build)');

const ours = (args: string[]): Omit<ClientSpec, 'id'> => ({ command: process.execPath, args: [ourBin, ...args] });
const theirs = (args: string[]): Omit<ClientSpec, 'id'> => ({ command: 'stdbuf', args: ['-oL', refMonitor!, ...args] });

const STATUS: StatusBody = {
  sec: 42, state: 1, gstate: 1, packetSent: 1234, packetRecv: 567, packetDelivered: 1300, retrans: 3, uRetrans: 1, sRetrans: 0,
  bRetrans: 2, aru: 1290, myAru: 1291, highestSeq: 1299, tokenHurry: 77, tokenRounds: 9999, myId: 0x7f000001, leaderId: 0x7f000002,
  messageDelivered: 1200, membershipChanges: 2, numProcs: 2, numSegments: 1, window: 160, personalWindow: 20, acceleratedRing: 1,
  acceleratedWindow: 15, numSessions: 4, numGroups: 3, majorVersion: 4, minorVersion: 4, patchVersion: 0,
};
const TWO = parseConfig('Spread_Segment 127.0.0.255:4803 {\n a 127.0.0.1\n b 127.0.0.2\n}\n', 'two.conf');

describe('spmonitor: arguments, packets, report', () => {
  it('parses the reference flags (pairs, exact names, strtol) and our commands', () => {
    expect(parseArgs([])).toEqual({ port: 6543, name: undefined, statusSeconds: 10, configFile: 'spread.conf', command: undefined });
    expect(parseArgs(['-p', '0x10', '-n', 'a', '-t', '3', '-c', 'f'])).toMatchObject({ port: 16, name: 'a', statusSeconds: 3, configFile: 'f' });
    expect(parseArgs(['-p', '70000'])).toBe('Port number must be in range [0, 65536): 70000');
    expect(parseArgs(['-t', '0'])).toBe('Status query timeout must be a positive integer: 0');
    expect(parseArgs(['-x'])).toBe('Unknown or missing parameter: -x');
    expect(parseArgs(['-px', '1'])).toBe('Unknown parameter: -px');
    expect(parseArgs(['-c', 'f', 'status', '--json', 'a'])).toMatchObject({ configFile: 'f', command: ['status', '--json', 'a'] });
  });

  it('encodes the requests as the reference monitor does', () => {
    const req = new MonitorRequests(TWO.daemons[0]!, 6543);
    const s = Buffer.from(req.status());
    expect(s.length).toBe(40);
    expect(s.readUInt32LE(0)).toBe((0x80000080 | PacketType.STATUS) >>> 0); // STATUS with the endian marker
    expect(s.readInt32LE(8)).toBe(0x7f000001); // proc_id: the monitor's daemon
    expect(s.readInt32LE(12)).toBe(15051963); // memb_id.proc_id: the monitor magic
    expect(s.readInt32LE(20)).toBe(6543); // seq: the reply port
    expect(s.readUInt32LE(28)).toBe(1100); // conf_hash
    expect(s.readUInt16LE(32)).toBe(0);
    const p = Buffer.from(req.partition([0, -1]));
    expect(p.length).toBe(40 + 256);
    expect([p.readInt16LE(40), p.readInt16LE(42), p.readInt16LE(44)]).toEqual([0, -1, 0]);
    const f = Buffer.from(req.flowControl([5, 6, 100], [7, 8]));
    expect(f.length).toBe(40 + 512);
    expect([f.readInt16LE(40), f.readInt16LE(42), f.readInt16LE(44), f.readInt16LE(46), f.readInt16LE(48)]).toEqual([5, 7, 6, 8, 100]);
    expect(Buffer.from(req.reload()).length).toBe(40);
  });

  it('prints a status report as the reference does', () => {
    const text = formatStatus(TWO, { daemon: TWO.daemons[0], status: STATUS }, { ...STATUS, messageDelivered: 1000, aru: 1200, sec: 40 });
    expect(text).toBe(
      '\n============================\n' +
        'Status at a V 4.04. 0 (state 1, gstate 1) after 42 seconds :\n' +
        'Membership  :  2  procs in 1 segments, leader is b, accelerated protocol\n' +
        'rounds   :    9999\ttok_hurry :      77\tmemb change:       2\n' +
        'sent pack:    1234\trecv pack :     567\tretrans    :       3\n' +
        'u retrans:       1\ts retrans :       0\tb retrans  :       2\n' +
        'My_aru   :    1291\tAru       :    1290\tHighest seq:    1299\n' +
        'Sessions :       4\tGroups    :       3\tWindow     :     160\n' +
        'Deliver M:    1200\tDeliver Pk:    1300\tP/A Window :      20/15\n' +
        'Delta Mes:     200\tDelta Pk  :      90\tDelta sec  :       2\n' +
        '==================================\n',
    );
    expect(formatStatus(TWO, { daemon: undefined, status: STATUS }, undefined)).toBe(
      '\n============================\nReport_message: Skiping illegal status \n==================================\n',
    );
  });
});

/** A UDP socket on 127.0.0.1 standing in for a daemon: collects what a monitor sends it. */
async function fakeDaemon(port: number): Promise<{ sock: Socket; got: Buffer[]; next(n: number): Promise<Buffer[]> }> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  let wake: (() => void) | undefined;
  sock.on('message', (m) => {
    got.push(m);
    wake?.();
  });
  await new Promise<void>((res) => sock.bind(port, '127.0.0.1', () => res()));
  return {
    sock,
    got,
    async next(n) {
      for (let i = 0; i < 100 && got.length < n; i++) await new Promise<void>((res) => ((wake = res), setTimeout(res, 100)));
      return got.splice(0, n);
    },
  };
}

describe.runIf(built && refMonitor !== undefined)('spmonitor: the reference spmonitor\'s packets and report', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spmonitor-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sends the same bytes as ours for every request', async () => {
    const port = await freePort();
    const conf = join(dir, 'cap.conf');
    writeFileSync(conf, generateConf(port, 'cap', 'DangerousMonitor = true'));
    const config = parseConfig(generateConf(port, 'cap'), conf);
    const replyPort = await freePort();
    const fake = await fakeDaemon(port);
    const ourReq = new MonitorRequests(config.daemons[0]!, replyPort);
    const steps = [start('m'), line('m', '0'), line('m', 'cap'), line('m', '')];
    const session = runSession([{ id: 'm', ...theirs(['-c', conf, '-n', 'cap', '-p', String(replyPort), '-t', '100']) }], [
      ...steps, waitFor('m', 'send status query'),
      // The reference takes a command only when stdin becomes readable (its stdio may hold the
      // next line already): one command at a time, each after the previous one's output.
      line('m', '1'), line('m', '3'), waitFor('m', 'Partition Map'), line('m', '2'), waitFor('m', 'send partition'),
      line('m', '5'), line('m', '7'), line('m', '9'), waitFor('m', 'Flow Control Parameters'), line('m', '6'), waitFor('m', 'send flow control'),
      line('m', '8'), line('m', 'cap'), line('m', ''), waitFor('m', 'Terminating cap'),
      line('m', 'r'), waitFor('m', 'Reload Membership'), line('m', 'q'), end('m'), exit('m'),
    ]);
    const [status, p1, p2, f1, f2, k1, k2, reload] = await fake.next(8);
    const res = await session;
    fake.sock.close();
    expect(res.problems).toEqual([]);
    expect(status!.toString('hex')).toBe(Buffer.from(ourReq.status()).toString('hex'));
    expect(p1!.toString('hex')).toBe(Buffer.from(ourReq.partition([3])).toString('hex'));
    expect(p2).toEqual(p1);
    expect(f1!.toString('hex')).toBe(Buffer.from(ourReq.flowControl([9, 7], [0])).toString('hex'));
    expect(f2).toEqual(f1);
    expect(k1!.toString('hex')).toBe(Buffer.from(ourReq.partition([-1])).toString('hex'));
    expect(k2).toEqual(k1);
    expect(reload!.toString('hex')).toBe(Buffer.from(ourReq.reload()).toString('hex'));
  }, 60_000);

  it('prints the same report as ours for a status reply', async () => {
    const port = await freePort();
    const conf = join(dir, 'rep.conf');
    const text = `Spread_Segment 127.0.0.255:${port} {\n a 127.0.0.1\n b 127.0.0.2\n}\n`;
    writeFileSync(conf, text);
    const config = parseConfig(text, conf);
    const replyPort = await freePort();
    const sender = createSocket('udp4');
    const reply = encodeStatusReply(0x7f000001, STATUS);
    // The monitor binds its reply port before it prints the menu; resend until it printed a report.
    const session = runSession([{ id: 'm', ...theirs(['-c', conf, '-n', 'a', '-p', String(replyPort)]) }], [
      start('m'), waitFor('m', 'Monitor> '), waitFor('m', 'Delta sec'), end('m'), exit('m'),
    ]);
    const timer = setInterval(() => sender.send(reply, replyPort, '127.0.0.1'), 300);
    const res = await session;
    clearInterval(timer);
    sender.close();
    expect(res.problems).toEqual([]);
    const printed = res.clients['m']!.stdout;
    const at = printed.indexOf('\n============================\n');
    expect(at).toBeGreaterThan(0);
    const block = printed.slice(at, printed.indexOf('==================================\n', at) + 35);
    expect(block).toBe(formatStatus(config, { daemon: config.daemons[0], status: STATUS }, undefined));
  }, 60_000);
});

const impls = daemonImpls(built);

async function statusJson(d: DaemonHandle, replyPort: number): Promise<Record<string, number | string | boolean>> {
  const r = await runOnce(ours(['-c', d.confPath, '-n', d.name, '-p', String(replyPort), 'status', '--json']));
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as Record<string, number | string | boolean>[])[0]!;
}

describe.each(impls)('spmonitor against the %s daemon', (impl) => {
  const daemon = daemonPerSuite(impl, { confExtra: 'DangerousMonitor = true' });
  let replyPort: number;
  beforeAll(async () => {
    replyPort = await freePort();
  });

  it('status: text and --json', async () => {
    const d = daemon();
    const s = await statusJson(d, replyPort);
    expect(s).toMatchObject({ name: 'localhost', address: '127.0.0.1', answered: true, stateName: 'OP', leader: 'localhost', numProcs: 1, numSegments: 1, version: '4.4.0' });
    const t = await runOnce(ours(['-c', d.confPath, '-n', d.name, '-p', String(replyPort), 'status']));
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^\n============================\nStatus at localhost V 4\.04\. 0 \(state 1, gstate 1\) after \d+ seconds :\nMembership {2}: {2}1 {2}procs in 1 segments, leader is localhost, /);
  }, 30_000);

  it('flow-control: the daemon takes the new windows', async () => {
    const d = daemon();
    const r = await runOnce(ours(['-c', d.confPath, '-n', d.name, '-p', String(replyPort), 'flow-control', '--window', '100', 'localhost=10']));
    expect(r.code).toBe(0);
    let s = await statusJson(d, replyPort);
    for (let i = 0; i < 20 && s.window !== 100; i++) s = await statusJson(d, replyPort);
    expect(s).toMatchObject({ window: 100, personalWindow: 10 });
  }, 60_000);

  it('the menu: dialogs and reviews as the reference prints them', async () => {
    const d = daemon();
    const input = ['3', '1', 'x', '4', '3', '5', '', '12', '7', 'z', '8', 'nobody', 'none', '', '9'];
    const run = async (tool: Omit<ClientSpec, 'id'>): Promise<string> => {
      const r = await runOnce({ ...tool, args: [...tool.args, '-c', d.confPath, '-n', d.name, '-p', String(replyPort)] }, { input: input.map((l) => `${l}\n`).join('') });
      expect(r.code).toBe(0);
      return r.stdout.slice(r.stdout.indexOf(MENU.slice(0, 30)));
    };
    const got = await run(ours([]));
    const partition = (n: number): string => `\n=============\nPartition Map:\n-------------\n\n\tlocalhost\t${n}\n\n\nMonitor> `;
    const fc = (w: number, p: number): string => `\n========================\nFlow Control Parameters:\n------------------------\n\nWindow size:  ${w}\n\n\tlocalhost personal window\t${p}\n\n\nMonitor> `;
    expect(got).toBe(
      MENU + partition(0) +
        '\n=============\nDefine Partition\n-------------\n\n\tlocalhost\tPlease enter a number\n\tlocalhost\t\n' + partition(4) +
        partition(0) +
        '\n===================\nDefine Flow Control\n-------------------\n\n    Window size: \n\tlocalhost personal window\t\n' + fc(-1, 12) +
        fc(0, 0) +
        '\nUnknown commnad\n' + MENU +
        '\tEnter Proc Name to Terminate: Please! enter a legal proc name, none, or all\n\tEnter Proc Name to Terminate: \tEnter Proc Name to Terminate: \nMonitor> ' +
        'Bye.\n',
    );
    if (refMonitor !== undefined) expect(got).toBe(await run(theirs([])));
  }, 60_000);

  it('interactive status: reports arrive after the prompt', async () => {
    const d = daemon();
    const res = await runSession([{ id: 'm', ...ours(['-c', d.confPath, '-n', d.name, '-p', String(replyPort), '-t', '100']) }], [
      start('m'), line('m', '0'), line('m', 'all'), line('m', ''), waitFor('m', 'Delta Mes'), line('m', '0'), line('m', 'none'), line('m', ''), line('m', '9'), end('m'), exit('m'),
    ]);
    expect(res.problems).toEqual([]);
    const out = res.clients['m']!.stdout;
    expect(out).toContain('\n=============\nActivate Status\n-------------\n\n\tEnter Proc Name: \tEnter Proc Name: Monitor: send status query\n\nMonitor> ');
    expect(out).toMatch(/\nStatus at localhost V 4\.04\. 0 \(state 1, gstate 1\) after \d+ seconds :\n/);
    expect(out.endsWith('\tEnter Proc Name: \tEnter Proc Name: \nMonitor> Bye.\n')).toBe(true);
  }, 60_000);

  it('reload: the daemon re-forms its ring', async () => {
    const d = daemon();
    const before = (await statusJson(d, replyPort)).membershipChanges as number;
    const r = await runOnce(ours(['-c', d.confPath, '-n', d.name, '-p', String(replyPort), 'reload']));
    expect(r.stdout).toBe('Monitor: send conf reload command\n');
    // Bounded wait for the new ring (and back to OP, so that the next test finds it settled).
    let s = await statusJson(d, replyPort);
    for (let i = 0; i < 120 && ((s.membershipChanges as number) <= before || s.stateName !== 'OP'); i++) {
      await new Promise((res) => setTimeout(res, 250));
      s = await statusJson(d, replyPort);
    }
    expect(s.membershipChanges).toBeGreaterThan(before);
    expect(s.stateName).toBe('OP');
  }, 90_000);

  it('terminate: the daemon exits', async () => {
    const d = daemon();
    let exited = false;
    // UDP: a request may be lost on a loaded machine; a few bounded attempts.
    for (let attempt = 0; attempt < 3 && !exited; attempt++) {
      const r = await runOnce(ours(['-c', d.confPath, '-n', d.name, '-p', String(replyPort), 'terminate', 'localhost']));
      expect(r.stdout).toBe('Monitor: Terminating localhost\n');
      exited = await Promise.race([d.exited.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 10_000))]);
    }
    expect(exited).toBe(true);
  }, 60_000);
});

describe.each(impls)('spmonitor against the %s daemon without DangerousMonitor', (impl) => {
  const daemon = daemonPerSuite(impl);

  it('terminate and flow-control are ignored (and our monitor warns)', async () => {
    const d = daemon();
    const replyPort = await freePort();
    const args = ['-c', d.confPath, '-n', d.name, '-p', String(replyPort)];
    const t = await runOnce(ours([...args, 'terminate', 'all']));
    expect(t.stderr).toContain('does not set DangerousMonitor = true');
    await runOnce(ours([...args, 'flow-control', '--window', '99']));
    const s = await statusJson(d, replyPort);
    expect(s.answered).toBe(true);
    expect(s.window).not.toBe(99);
    expect(d.running()).toBe(true);
  }, 30_000);
});
