/**
 * Configuration reload checks (SPEC Part IX §6): the reference's refusals and the added /
 * removed daemons, unit level, and SIGHUP on the built daemon.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../interop/ring-scenarios.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { reloadVerdict } from '../../src/daemon/config/reload.js';
import { startDaemonProcess } from './support.js';

const conf = (body: string, seg = '127.0.0.255:4803'): ReturnType<typeof parseConfig> => parseConfig(`Spread_Segment ${seg} {\n${body}}\n`, 'r.conf');
const A = 'a 127.0.0.1 { 127.0.0.1 }\n';
const B = 'b 127.0.0.2 { 127.0.0.2 }\n';
const C = 'c 127.0.0.3 { 127.0.0.3 }\n';
const SELF = 0x7f000001;

describe('reload verdict', () => {
  it('unchanged: the same hash', () => {
    expect(reloadVerdict(conf(A + B), conf(A + B), SELF)).toEqual({ kind: 'unchanged' });
  });

  it('added and removed daemons, without a partition', () => {
    const v = reloadVerdict(conf(A + B), conf(A + C), SELF);
    expect(v).toMatchObject({ kind: 'changed', needPartition: false });
    if (v.kind !== 'changed') throw new Error('changed expected');
    expect(v.added.map((d) => d.name)).toEqual(['c']);
    expect(v.removed.map((d) => d.name)).toEqual(['b']);
  });

  it('another daemon renamed or its interfaces changed: a partition first', () => {
    expect(reloadVerdict(conf(A + B), conf(A + 'bb 127.0.0.2 { 127.0.0.2 }\n'), SELF)).toMatchObject({ kind: 'changed', needPartition: true });
    expect(reloadVerdict(conf(A + B), conf(A + 'b 127.0.0.2 { C 127.0.0.2 }\n'), SELF)).toMatchObject({ kind: 'changed', needPartition: true });
  });

  it("refuses what the reference exits on, with its message", () => {
    expect(reloadVerdict(conf(A + B), conf(B), SELF)).toEqual({ kind: 'refused', message: 'Conf_reload_initiate: I (127.0.0.1) am no longer in config, so exiting.' });
    expect(reloadVerdict(conf(A), conf('z 127.0.0.1 { 127.0.0.1 }\n'), SELF)).toEqual({
      kind: 'refused',
      message: 'Conf_reload_initiate: My identity has changed: old name (a), num_if: 1, bcast: 127.0.0.255\t new name (z), num_if: 1, bcast: 127.0.0.255',
    });
    expect(reloadVerdict(conf(A), conf(A, '127.0.0.254:4803'), SELF)).toMatchObject({ kind: 'refused' });
    expect(reloadVerdict(conf(A), conf('a 127.0.0.1 { D 127.0.0.1 }\n'), SELF)).toMatchObject({
      kind: 'refused',
      message: 'Conf_reload_initiate: My interface spec has changed so must exit: old (127.127.127.127:0 - 7) new (127.127.127.127:0 - 4)',
    });
  });
});

describe('SIGHUP', () => {
  it('a RELOAD of this daemon alone: unchanged (the ring re-forms), a daemon added (applied: the new hash), itself removed or a broken file (refused, the daemon keeps serving)', async () => {
    const d = await startDaemonProcess({ args: ['--log-format', 'json'] });
    const seg = `Spread_Segment 127.0.0.255:${d.port} {\n`;
    const tail = (): string => d.stderr().slice(-2000);
    const logged = (text: string): Promise<void> => waitFor(() => d.stderr().includes(text), 10_000, () => `"${text}" not logged: ${tail()}`);
    try {
      d.child.kill('SIGHUP');
      await logged('SIGHUP: configuration unchanged; the ring re-forms');
      const hash = /Hash value for this configuration is: (\d+)/.exec(d.stderr())![1]!;
      writeFileSync(d.confPath, `${seg}\tlocalhost 127.0.0.1 { 127.0.0.1 }\n\tother 127.0.0.9\n}\n`);
      d.child.kill('SIGHUP');
      await logged('SIGHUP: configuration changed (added: other; removed: none)');
      await logged('Conf_reload_initiate: Config Added daemon at 127.0.0.9');
      const hashes = (): string[] => [...d.stderr().matchAll(/Hash value for this configuration is: (\d+)/g)].map((m) => m[1]!);
      await waitFor(() => hashes().length >= 2, 10_000, tail);
      expect(hashes()).toHaveLength(2);
      expect(hashes()[1]).not.toBe(hash);
      writeFileSync(d.confPath, `${seg}\tother 127.0.0.9\n}\n`);
      d.child.kill('SIGHUP');
      await logged('SIGHUP: reload refused (the running configuration stays): Conf_load_conf_file: My proc localhost is not in configuration');
      writeFileSync(d.confPath, `${seg}\tlocalhost 127.0.0.1 {\n`);
      d.child.kill('SIGHUP');
      const refusals = (): number => d.stderr().split('SIGHUP: reload refused (the running configuration stays): Conf_load_conf_file: ').length - 1;
      await waitFor(() => refusals() >= 2, 10_000, tail);
      expect(refusals()).toBe(2);
      expect(d.child.exitCode).toBeNull();
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });
});
