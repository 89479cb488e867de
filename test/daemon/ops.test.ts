/**
 * The daemon's operations layer, unit level (SPEC Part IX): the logger's formats, levels,
 * DebugFlags and time stamps; the command line; the membership-change causes; the privilege
 * drop's decisions against a fake process.
 */
import { describe, expect, it } from 'vitest';
import { DEBUG_FLAGS, DEFAULTS } from '../../src/daemon/config/index.js';
import { changeCause, MessageCounters, serviceIndex, SERVICES } from '../../src/daemon/ops/counters.js';
import { Logger, strftime } from '../../src/daemon/ops/log.js';
import type { LogSinkOptions } from '../../src/daemon/ops/log.js';
import { dropPrivileges, PrivilegeError } from '../../src/daemon/ops/privileges.js';
import type { ProcessIds } from '../../src/daemon/ops/privileges.js';
import { parseListenAddress, parseSpreadArgs } from '../../src/tools/spread-args.js';

function logger(o: Partial<LogSinkOptions> = {}): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger({ level: 'info', format: 'json', write: (l) => void lines.push(l), now: () => 1_700_000_000_123, ...o });
  return { log, lines };
}

describe('logger', () => {
  it('writes JSON lines with level, time, bindings, fields and msg; errors without a stack', () => {
    const { log, lines } = logger();
    const err = Object.assign(new Error('address in use'), { code: 'EADDRINUSE' });
    log.child({ session: 'alice' }).error({ err, n: 2 }, 'boom');
    expect(lines).toHaveLength(1);
    const obj = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(obj).toMatchObject({ level: 'error', time: 1_700_000_000_123, session: 'alice', err: 'EADDRINUSE: address in use', n: 2, msg: 'boom' });
    expect(lines[0]).not.toContain('at ');
    expect(lines[0]!.endsWith('\n')).toBe(true);
  });

  it('writes one readable line in pretty format, with the EventTimeStamp format', () => {
    const { log, lines } = logger({ format: 'pretty', timeStamp: '%Y-%m-%d' });
    log.info({ port: 4803, who: 'a b' }, 'listening');
    const day = strftime('%Y-%m-%d', new Date(1_700_000_000_123));
    expect(lines).toEqual([`${day} INFO  listening port=4803 who="a b"\n`]);
  });

  it('adds microseconds with EventPreciseTimeStamp and writes no stamp without EventTimeStamp', () => {
    const a = logger({ format: 'pretty', timeStamp: '%S', preciseTimeStamp: true });
    a.log.warn({}, 'x');
    expect(a.lines[0]).toMatch(/^\d\d\.123000 WARN {2}x\n$/);
    const b = logger({ format: 'pretty' });
    b.log.warn({}, 'x');
    expect(b.lines).toEqual(['WARN  x\n']);
  });

  it('filters by level; debug lines of a category in DebugFlags pass at any level', () => {
    const { log, lines } = logger({ level: 'warn', debugFlags: DEBUG_FLAGS.SESSION });
    log.info({}, 'info');
    log.debug({}, 'plain debug');
    log.child({ cat: 'MEMBERSHIP' }).debug({}, 'membership debug');
    log.child({ cat: 'SESSION' }).debug({}, 'session debug');
    log.error({}, 'error');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['session debug', 'error']);
  });

  it('silent writes nothing, fatal writes at every other level', () => {
    const s = logger({ level: 'silent' });
    s.log.fatal({}, 'x');
    s.log.error({}, 'x');
    expect(s.lines).toEqual([]);
    const e = logger({ level: 'error' });
    e.log.fatal({}, 'x');
    expect(e.lines).toHaveLength(1);
  });

  it('strftime: the reference default format and literal text', () => {
    const d = new Date(2026, 0, 5, 7, 8, 9);
    expect(strftime('%m/%d/%y %H:%M:%S', d)).toBe('01/05/26 07:08:09');
    expect(strftime('[%a %d %b %Y] %% %q', d)).toBe('[Mon 05 Jan 2026] % %q');
  });
});

describe('command line', () => {
  const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseSpreadArgs(argv, env);

  it("takes the reference's -n -c -l and the long forms", () => {
    expect(run(['-n', 'a', '-c', 'f.conf', '-l', 'y'])).toEqual({ kind: 'run', args: { name: 'a', config: 'f.conf', activityLog: true, check: false } });
    expect(run(['--name=a', '--config', 'f', '--log', 'n', '--check'])).toEqual({ kind: 'run', args: { name: 'a', config: 'f', activityLog: false, check: true } });
  });

  it('refuses what the reference refuses', () => {
    for (const argv of [['-l', 'x'], ['-l', ''], ['-n'], ['stray'], ['--bogus'], ['--log-level', 'loud'], ['--metrics', 'x:y']]) {
      expect(run(argv).kind, argv.join(' ')).toBe('usage');
    }
  });

  it('log level and format: flag over environment; metrics: flag over environment', () => {
    const env = { SPREAD_LOG_LEVEL: 'debug', SPREAD_LOG_FORMAT: 'pretty', SPREAD_METRICS: '9100' };
    expect(run([], env)).toMatchObject({ args: { logLevel: 'debug', logFormat: 'pretty', metrics: { host: '127.0.0.1', port: 9100 } } });
    expect(run(['--log-level', 'warn', '--log-format', 'json', '--metrics', '0.0.0.0:9200'], env)).toMatchObject({
      args: { logLevel: 'warn', logFormat: 'json', metrics: { host: '0.0.0.0', port: 9200 } },
    });
    expect(run([], { SPREAD_LOG_LEVEL: 'noisy' }).kind).toBe('usage');
  });

  it('help and version', () => {
    expect(run(['-h']).kind).toBe('help');
    expect(run(['--version']).kind).toBe('version');
  });

  it('[HOST:]PORT', () => {
    expect(parseListenAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseListenAddress('70000')).toBeNull();
  });
});

describe('metrics counters', () => {
  it('membership change causes', () => {
    expect(changeCause(null, [1])).toBe('start');
    expect(changeCause([1], [1, 2])).toBe('join');
    expect(changeCause([1, 2], [2])).toBe('leave');
    expect(changeCause([1, 2], [2, 3])).toBe('join_and_leave');
    expect(changeCause([1, 2], [2, 1])).toBe('same');
  });

  it('service of a type word: control bits first, then the strongest service', () => {
    expect(SERVICES[serviceIndex(0x10)]).toBe('agreed');
    expect(SERVICES[serviceIndex(0x00010000 | 0x10)]).toBe('join');
    expect(SERVICES[serviceIndex(0x20 | 0x02)]).toBe('safe');
    expect(SERVICES[serviceIndex(0)]).toBe('other');
  });

  it('counts what passes the wrapped ordering and nothing else', () => {
    const events = [
      { kind: 'regular' as const, ringId: { procId: 1, time: 2 }, members: [1] },
      { kind: 'message' as const, message: { frame: new Uint8Array(0), type: 0x20, sender: 'a', groups: ['g'], dataLen: 7, service: 'safe' as const, packetRoom: false } },
    ];
    const heard: number[][] = [];
    const c = new MessageCounters((_id, members) => heard.push([...members]));
    const submitted: unknown[] = [];
    const o = c.wrap({
      ringId: null, backlog: 3, backlogBytes: 0,
      submit: (m) => void submitted.push(m),
      poll: () => events.shift() ?? null,
      submitGroups() {}, setDownQueue() {}, setDeliveryLevel() {},
    });
    o.submit({ frame: new Uint8Array(0), type: 0x04, sender: 'a', groups: ['g'], dataLen: 5, service: 'fifo', packetRoom: false }, 0);
    while (o.poll(0) !== null);
    expect(submitted).toHaveLength(1);
    expect(o.backlog).toBe(3);
    expect([c.messagesIn[SERVICES.indexOf('fifo')], c.bytesIn[SERVICES.indexOf('fifo')]]).toEqual([1, 5]);
    expect([c.messagesOut[SERVICES.indexOf('safe')], c.bytesOut[SERVICES.indexOf('safe')]]).toEqual([1, 7]);
    expect([...c.changes]).toEqual([['start', 1]]);
    expect(heard).toEqual([[1]]);
  });
});

describe('privilege drop (fake process)', () => {
  function fake(euid: number, users: Record<string, number>, dirs: string[]): ProcessIds & { calls: string[] } {
    const calls: string[] = [];
    let e = euid;
    let gid = 0;
    const known = (id: string | number, table: Record<string, number>): number => {
      const v = typeof id === 'number' ? id : table[id];
      if (v === undefined) throw new Error(`unknown ${id}`);
      return v;
    };
    return {
      calls,
      geteuid: () => e, getuid: () => 0, getgid: () => gid,
      seteuid: (id) => { e = known(id, users); calls.push(`seteuid ${id}`); },
      setuid: (id) => { e = known(id, users); calls.push(`setuid ${id}`); },
      setgid: (id) => { gid = known(id, { nogroup: 65534 }); calls.push(`setgid ${id}`); },
      setgroups: (g) => { known(g[0]!, { nogroup: 65534 }); calls.push(`setgroups ${g.join(',')}`); },
      chdir: (d) => { if (!dirs.includes(d)) throw new Error('ENOENT'); calls.push(`chdir ${d}`); },
    };
  }
  const conf = { runtimeDir: '/run/x', daemonUser: 'nobody', daemonGroup: 'nogroup' };

  it('not root: nothing is done', () => {
    const p = fake(1000, {}, []);
    expect(dropPrivileges(conf, [], p)).toEqual({ kind: 'not-root' });
    expect(p.calls).toEqual([]);
  });

  it('root: enters RuntimeDir, takes the group, then the user', () => {
    const p = fake(0, { nobody: 65534 }, ['/run/x']);
    expect(dropPrivileges(conf, [], p)).toEqual({ kind: 'dropped', uid: 65534, gid: 65534 });
    expect(p.calls).toEqual(['chdir /run/x', 'setgroups nogroup', 'setgid nogroup', 'seteuid nobody', 'seteuid 0', 'setuid 65534']);
  });

  it('root: refuses a missing RuntimeDir or an unknown user, as the reference', () => {
    expect(() => dropPrivileges(conf, [], fake(0, { nobody: 65534 }, []))).toThrow(PrivilegeError);
    expect(() => dropPrivileges({ ...conf, daemonUser: 'ghost' }, [], fake(0, {}, ['/run/x']))).toThrow(
      "FAILED privilege drop to user/group 'ghost/nogroup' (defined in spread.conf)",
    );
  });

  it('root with the defaults and no such user: stays root (the reference refuses; ours warns)', () => {
    const d = { runtimeDir: DEFAULTS.runtimeDir, daemonUser: DEFAULTS.daemonUser, daemonGroup: DEFAULTS.daemonGroup };
    expect(dropPrivileges(d, [], fake(0, {}, []))).toEqual({ kind: 'root-kept' });
  });
});
