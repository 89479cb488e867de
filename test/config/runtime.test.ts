import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  acceleratedRingAtStart,
  ConfigError,
  configHash,
  DaemonSelectionError,
  effectiveTimeouts,
  expandLogFileName,
  isWideNetwork,
  LAN_TIMEOUTS,
  loadConfig,
  parseConfig,
  parseConfigAsync,
  selectDaemon,
  WAN_TIMEOUTS,
  type Resolver,
} from '../../src/daemon/config/index.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const LOOPBACK_3 = `Spread_Segment 127.0.0.255:4803 {\n\tlo1 127.0.0.1 { 127.0.0.1 }\n}
Spread_Segment 127.0.1.255:4803 {\n\tlo2 127.0.0.2 { D 127.0.0.2 C 10.9.9.9 }\n}
Spread_Segment 127.0.2.255:4803 {\n\tlo3 127.0.0.3 { 127.0.0.3 }\n}\n`;

/** A resolver that never touches the network. */
const table =
  (entries: Record<string, string>): Resolver =>
  async (name) =>
    entries[name];

describe('selectDaemon', () => {
  const config = parseConfig(LOOPBACK_3, 'lo.conf');

  it('picks the daemon by name', () => {
    expect(selectDaemon(config, { name: 'lo2', localAddresses: [] }).id).toBe(0x7f000002);
  });

  it('fails on an unknown or too long name', () => {
    expect(() => selectDaemon(config, { name: 'lo9', localAddresses: ['127.0.0.1'] })).toThrow(
      new DaemonSelectionError('DAEMON_NOT_FOUND', "my daemon 'lo9' is not in the configuration"),
    );
    expect(() => selectDaemon(config, { name: 'x'.repeat(20), localAddresses: [] })).toThrow(
      expect.objectContaining({ name: 'DaemonSelectionError', code: 'NAME_TOO_LONG' }),
    );
  });

  it('otherwise takes the first local address that is an interface address, in the order given', () => {
    expect(selectDaemon(config, { localAddresses: ['::1', '192.168.1.5', '127.0.0.3', '127.0.0.1'] }).name).toBe('lo3');
    // An interface address that is not the daemon id counts too.
    expect(selectDaemon(config, { localAddresses: ['10.9.9.9'] }).name).toBe('lo2');
  });

  it('fails when no local address is configured', () => {
    expect(() => selectDaemon(config, { localAddresses: ['192.168.1.5'] })).toThrow(
      expect.objectContaining({ code: 'NO_LOCAL_DAEMON' }),
    );
  });
});

describe('network class and timeouts', () => {
  it('uses the LAN defaults when every segment leader shares segment 0 /16', () => {
    const config = parseConfig(LOOPBACK_3, 'lo.conf');
    expect(isWideNetwork(config)).toBe(false);
    expect(effectiveTimeouts(config)).toEqual(LAN_TIMEOUTS);
    expect(LAN_TIMEOUTS).toEqual({ token: 1250, hurry: 500, alive: 250, join: 250, rep: 625, seg: 500, gather: 1250, form: 1250, lookup: 30000 });
  });

  it('uses the WAN defaults when a segment leader is in another /16', async () => {
    const config = await loadConfig(here('fixtures/own/wide-network.conf'), table({}));
    expect(isWideNetwork(config)).toBe(true);
    expect(effectiveTimeouts(config)).toEqual(WAN_TIMEOUTS);
    expect(WAN_TIMEOUTS).toEqual({ token: 5000, hurry: 1500, alive: 250, join: 250, rep: 1250, seg: 500, gather: 2500, form: 2500, lookup: 45000 });
  });

  it('skips empty segments', () => {
    const config = parseConfig('Spread_Segment 10.1.0.255 {\n}\nSpread_Segment 10.2.0.255 {\n\ta 10.2.0.1\n}\n', 'e.conf');
    expect(isWideNetwork(config)).toBe(false);
  });

  it('uses configured timeouts whatever the network', async () => {
    const config = await loadConfig(here('fixtures/own/all-settings-crlf.conf'), table({}));
    expect(effectiveTimeouts(config).token).toBe(2000);
  });

  it('starts in accelerated mode only with an explicit AcceleratedRing = true (4.4.0 quirk)', () => {
    const base = 'Spread_Segment 127.0.0.255 {\n\ta 127.0.0.1\n}\n';
    expect(acceleratedRingAtStart(parseConfig(base, 'a'))).toBe(false);
    expect(acceleratedRingAtStart(parseConfig(`${base}AcceleratedRing = false\n`, 'a'))).toBe(false);
    expect(acceleratedRingAtStart(parseConfig(`${base}AcceleratedRing = yes\n`, 'a'))).toBe(true);
  });

  it('expands %h and %H in the log file name', () => {
    expect(expandLogFileName('spread-%h-%H-%d.log', 'box')).toBe('spread-box-box-%d.log');
  });
});

describe('loading and name resolution', () => {
  it('resolves daemons written without an address through the injected resolver', async () => {
    const config = await loadConfig(here('fixtures/own/resolve-name.conf'), table({ localhost: '127.0.0.1' }));
    expect(config.daemons.map((d) => [d.name, d.address, d.interfaces[0]?.address])).toEqual([
      ['localhost', '127.0.0.1', '127.0.0.1'],
      ['other', '127.0.0.2', '127.0.0.2'],
    ]);
    expect(configHash(config)).toBe(1984017886); // reference run
  });

  it('only asks the resolver for names without an address', async () => {
    const asked: string[] = [];
    const resolver: Resolver = async (name) => {
      asked.push(name);
      return '10.0.0.7';
    };
    const config = await parseConfigAsync('Spread_Segment 10.0.0.255 {\n\ta 10.0.0.1\n\tb\n\tc { 10.0.0.9 }\n}\n', 'r.conf', resolver);
    expect(asked).toEqual(['b', 'c']);
    // A daemon with a block keeps its interfaces; its id comes from the name.
    expect(config.daemons.map((d) => [d.name, d.address, d.interfaces.map((i) => i.address)])).toEqual([
      ['a', '10.0.0.1', ['10.0.0.1']],
      ['b', '10.0.0.7', ['10.0.0.7']],
      ['c', '10.0.0.7', ['10.0.0.9']],
    ]);
  });

  it('rejects a name that does not resolve, at the daemon line', async () => {
    await expect(parseConfigAsync('Spread_Segment 10.0.0.255 {\n\ta 10.0.0.1\n\tghost\n}\n', 'r.conf', table({}))).rejects.toThrow(
      "r.conf:3:2: no such host 'ghost': daemon without an address was not resolved",
    );
    await expect(parseConfigAsync('Spread_Segment 10.0.0.255 {\n\tghost\n}\n', 'r.conf', table({ ghost: '::1' }))).rejects.toThrow(
      "r.conf:2:2: no such host 'ghost': daemon without an address resolved to '::1', not an IPv4 address",
    );
  });

  it('accepts a host table in the synchronous parser', () => {
    const config = parseConfig('Spread_Segment 127.0.0.255:27881 {\n\tlocalhost\n\tother 127.0.0.2\n}\n', 'h.conf', {
      hosts: { localhost: '127.0.0.1' },
    });
    expect(configHash(config)).toBe(1984017886);
  });

  it('reports an unreadable file as ConfigError UNREADABLE', async () => {
    const missing = here('fixtures/own/does-not-exist.conf');
    const error: unknown = await loadConfig(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'UNREADABLE', file: missing, line: 1, column: 1 });
  });

  it('reads the file as bytes (non-UTF-8 names survive)', async () => {
    const config = await loadConfig(here('fixtures/own/non-ascii.conf'), table({}));
    expect(config.daemons.map((d) => Buffer.from(d.name, 'latin1').toString('utf8'))).toEqual(['dæmon', 'αβ']);
    expect(configHash(config)).toBe(1306721334); // reference run
  });
});
