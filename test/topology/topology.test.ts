import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { configHash, parseConfig, selectDaemon } from '../../src/daemon/config/index.js';
import { oursDaemonBuilt, oursDaemonPath, referencePrefix, skipLine } from '../../interop/launcher.js';
import { createBridge, netnsSupport } from '../../interop/netns-bridge.js';
import { loopbackConf, netnsConf, parseOursRing, parseReferenceRing } from '../../interop/topology-conf.js';
import { startTopology, tsxLoader, type Topology } from '../../interop/topology.js';
import { joinAndWait, type ViewReport } from './membership.js';

const ref = referencePrefix();
const netns = await netnsSupport();
const ours = oursDaemonBuilt();
if (ref === undefined) skipLine('topology: 3-daemon reference rings (loopback segments, network namespaces)');
if (!netns.ok) console.log(`SKIP: topology: network namespace topologies: ${netns.reason}`);
if (!ours) console.log(`SKIP: topology: our daemon in topologies: ${oursDaemonPath()} not built (npm run build)`);

const CLIENT = 'test/topology/member-client.ts';
const started: Topology[] = [];

afterAll(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function topology(...args: Parameters<typeof startTopology>): Promise<Topology> {
  const t = await startTopology(...args);
  started.push(t);
  return t;
}

function namespaces(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** Every client saw the same regular membership: `n` members, one group id, each its own private group in it. */
function expectSameView(views: readonly ViewReport[], n: number): void {
  expect(views).toHaveLength(n);
  const first = views[0]!;
  expect(first.members).toHaveLength(n);
  for (const v of views) {
    expect(v.members).toEqual(first.members);
    expect(v.groupId).toEqual(first.groupId);
    expect(v.members).toContain(v.privateGroup);
  }
  expect(new Set(views.map((v) => v.privateGroup)).size).toBe(n);
}

/** Runs member-client in every node's namespace at once. */
async function viewsInNamespaces(t: Topology, group: string, n: number): Promise<ViewReport[]> {
  const results = await Promise.all(t.nodes.map((node, i) => t.runTs(i, CLIENT, [node.spreadTcp, group, String(n), '20000', `c${i}`], { timeoutMs: 30_000 })));
  return results.map((r, i) => {
    if (r.code !== 0) throw new Error(`client ${i} in ${t.nodes[i]!.namespace}: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as ViewReport;
  });
}

// -------------------------------------------------------------------------------------------------

const REFERENCE_LOG = `Conf_load_conf_file: My name: lo1, id: 127.0.0.1, port: 24803
Membership id is ( 2130706433, 1795718550)
--------------------
Configuration at lo1 is:
Num Segments 3
\t1\t127.0.0.255       24803
\t\tlo1                 \t127.0.0.1       
\t0\t127.0.1.255       24813
\t0\t127.0.2.255       24823
====================
Membership id is ( 2130706433, 1795718558)
--------------------
Configuration at lo1 is:
Num Segments 3
\t1\t127.0.0.255       24803
\t\tlo1                 \t127.0.0.1       
\t1\t127.0.1.255       24813
\t\tlo2                 \t127.0.0.2       
\t1\t127.0.2.255       24823
\t\tlo3                 \t127.0.0.3       
====================
Membership id is ( 2130706433, 1795718999)
--------------------
Configuration at lo1 is:
`;

describe('topology configuration and status parsing', () => {
  it('loopback: one segment per daemon, interface blocks, a port each; every daemon finds itself by name; one hash', () => {
    const nodes = [0, 1, 2].map((i) => ({ name: `n${i}`, address: `127.0.0.${i + 1}`, port: 24000 + 10 * i }));
    const text = loopbackConf(nodes);
    const config = parseConfig(text, 'lo.conf');
    expect(config.segments.map((s) => `${s.address}:${s.port}`)).toEqual(['127.0.0.255:24000', '127.0.1.255:24010', '127.0.2.255:24020']);
    expect(config.settings.acceleratedRing).toBe(true);
    for (const n of nodes) {
      const d = selectDaemon(config, { name: n.name, localAddresses: [] });
      expect(d.address).toBe(n.address);
      expect(d.interfaces.map((i) => i.address)).toEqual([n.address]);
    }
    expect(configHash(parseConfig(text, 'again.conf'))).toBe(configHash(config));
    expect(parseConfig(loopbackConf(nodes, { accelerated: null }), 'x').settings.acceleratedRing).toBeNull();
    expect(() => loopbackConf([])).toThrow(RangeError);
    expect(() => loopbackConf(Array.from({ length: 21 }, (_, i) => ({ name: `n${i}`, address: '127.0.0.1', port: 1 })))).toThrow(RangeError);
  });

  it('netns: one broadcast segment, no interface blocks; daemons found by name or by their address', () => {
    const nodes = [0, 1, 2].map((i) => ({ name: `n${i}`, address: `10.213.9.${i + 1}`, port: 4803 }));
    const config = parseConfig(netnsConf('10.213.9', 4803, nodes, { extra: 'DebugFlags = { PRINT EXIT }' }), 'ns.conf');
    expect(config.segments).toHaveLength(1);
    expect(config.segments[0]!.address).toBe('10.213.9.255');
    expect(config.daemons.map((d) => d.name)).toEqual(['n0', 'n1', 'n2']);
    expect(selectDaemon(config, { localAddresses: ['127.0.0.1', '10.213.9.2'] }).name).toBe('n1');
  });

  it('reads the reference\'s last complete membership report', () => {
    expect(parseReferenceRing(REFERENCE_LOG)).toEqual({ members: 3, id: '2130706433:1795718558', names: ['lo1', 'lo2', 'lo3'] });
    expect(parseReferenceRing(REFERENCE_LOG.split('Membership id is ( 2130706433, 1795718558)')[0]!)).toEqual({ members: 1, id: '2130706433:1795718550', names: ['lo1'] });
    expect(parseReferenceRing('Hash value for this configuration is: 1\n')).toBeUndefined();
    const stamped = REFERENCE_LOG.split('\n').map((l) => `[Wed 26 Nov 2025 18:42:00] ${l}`).join('\n');
    expect(parseReferenceRing(stamped)).toMatchObject({ members: 3, id: '2130706433:1795718558' });
  });

  it('reads ours\' `ring: N members` line (hook for the daemon)', () => {
    expect(parseOursRing('spread-ts ready: n0\n')).toBeUndefined();
    expect(parseOursRing('ring: 1 member\nring: 3 members\n')).toEqual({ members: 3 });
    expect(parseOursRing('{"msg":"ring: 2 members (2130706433, 17)"}')).toEqual({ members: 2, id: '2130706433:17' });
    expect(parseOursRing('ring: 2 members id 5:6')).toEqual({ members: 2, id: '5:6' });
  });
});

describe.skipIf(!netns.ok)('network namespaces on a private bridge', () => {
  it('builds namespaces with addresses on one /24, gives each command a private /tmp on request, and tears everything down', async () => {
    const b = await createBridge({ nodes: 2 });
    try {
      expect(namespaces()).toEqual(expect.arrayContaining([b.bridgeNamespace, ...b.nodes.map((n) => n.namespace)]));
      const addr = execFileSync('ip', ['-n', b.nodes[1]!.namespace, '-o', '-4', 'addr', 'show', 'eth0'], { encoding: 'utf8' });
      expect(addr).toContain(`${b.subnet}.2/24 brd ${b.subnet}.255`);
      // Nothing was added to the host's interfaces.
      expect(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })).not.toContain(b.tag);
      // A tmpfs on /tmp inside stays inside.
      const marker = `spts-private-${process.pid}`;
      execFileSync('ip', ['netns', 'exec', b.nodes[0]!.namespace, 'sh', '-c', `mount -t tmpfs -o mode=1777 t /tmp && touch /tmp/${marker} && test -e /tmp/${marker}`]);
      expect(existsSync(`/tmp/${marker}`)).toBe(false);
    } finally {
      expect(await b.destroy()).toEqual([]);
    }
    const left = namespaces();
    expect(left.filter((n) => n.startsWith(b.tag))).toEqual([]);
    expect(await b.destroy()).toEqual([]); // idempotent
  });
});

describe.skipIf(!netns.ok || (!ours && ref === undefined))('a topology that fails to start', () => {
  it('rejects with the daemon\'s output and leaves no namespace behind', { timeout: 60_000 }, async () => {
    const before = new Set(namespaces());
    const impl = ours ? 'ours' : 'reference';
    // A keyword neither parser knows: every daemon exits at start.
    const err = await startTopology({ kind: 'netns', nodes: [impl, impl], confExtra: 'No_Such_Keyword = 1', readyTimeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).toMatch(/exited|not ready/);
    expect(namespaces().filter((n) => n.startsWith('spts-') && !before.has(n))).toEqual([]);
  });
});

describe.skipIf(ref === undefined)('3-daemon reference ring on loopback segments', () => {
  it('forms one ring; a client on each daemon joins a group; all see the same 3-member view', { timeout: 90_000 }, async () => {
    const t = await topology({ kind: 'loopback', nodes: ['reference', 'reference', 'reference'] });
    expect(new Set(t.nodes.map((n) => n.port)).size).toBe(3);
    const ring = await t.waitForRing(3, { timeoutMs: 30_000 });
    expect(ring.map((r) => r.names)).toEqual([['n0', 'n1', 'n2'], ['n0', 'n1', 'n2'], ['n0', 'n1', 'n2']]);
    const views = await Promise.all(t.nodes.map((n, i) => joinAndWait(n.spreadTcp, 'topo-lo', 3, 20_000, `c${i}`)));
    expectSameView(views, 3);
    expect(views.map((v) => v.privateGroup).sort()).toEqual(['#c0#n0', '#c1#n1', '#c2#n2']);
    const pids = t.nodes.map((n) => n.daemon.pid);
    await t.stop();
    expect(t.teardownProblems).toEqual([]);
    for (const n of t.nodes) expect(n.daemon.running()).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe.skipIf(ref === undefined || !netns.ok)('3-daemon reference ring in network namespaces', () => {
  it('forms one ring on the bridge; clients inside each namespace see the same 3-member view; all torn down', { timeout: 90_000 }, async () => {
    const hostSocketBefore = existsSync('/tmp/4803');
    const t = await topology({ kind: 'netns', nodes: ['reference', 'reference', 'reference'] });
    expect(t.nodes.every((n) => n.port === 4803)).toBe(true); // one port: a private /tmp per daemon
    if (!hostSocketBefore) expect(existsSync('/tmp/4803')).toBe(false); // nothing on the host's /tmp
    const ring = await t.waitForRing(3, { timeoutMs: 30_000 });
    expect(new Set(ring.map((r) => r.id)).size).toBe(1);
    const views = await viewsInNamespaces(t, 'topo-ns', 3);
    expectSameView(views, 3);
    expect(views.map((v) => v.privateGroup).sort()).toEqual(['#c0#n0', '#c1#n1', '#c2#n2']);
    // The unix socket of each daemon is in its own /tmp: reachable by joining its mount namespace.
    const viaUnix = await t.exec(1, process.execPath, ['--import', tsxLoader(), CLIENT, String(t.nodes[1]!.port), 'topo-unix', '1', '10000'], { daemonMounts: true, timeoutMs: 20_000 });
    expect(viaUnix.code, viaUnix.stderr).toBe(0);
    expect((JSON.parse(viaUnix.stdout) as ViewReport).members).toHaveLength(1);

    const tag = t.tag!;
    await t.stop();
    expect(t.teardownProblems).toEqual([]);
    expect(namespaces().filter((n) => n.startsWith(tag))).toEqual([]);
  });
});

describe.skipIf(!ours)('our daemon in topologies (single node: rings of ours come later)', () => {
  it('loopback: one node of ours; a client joins through its TCP address', { timeout: 60_000 }, async () => {
    const t = await topology({ kind: 'loopback', nodes: ['ours'] });
    expect(t.nodes[0]!.spreadTcp).toBe(`${t.nodes[0]!.port}@127.0.0.1`);
    const v = await joinAndWait(t.nodes[0]!.spreadTcp, 'topo-ours', 1, 10_000, 'solo');
    expect(v.members).toEqual(['#solo#n0']);
    await t.stop();
  });

  it.skipIf(!netns.ok)('netns: one node of ours; a client inside its namespace joins over TCP', { timeout: 60_000 }, async () => {
    const t = await topology({ kind: 'netns', nodes: ['ours'] });
    const [v] = await viewsInNamespaces(t, 'topo-ours-ns', 1);
    expect(v!.members).toEqual(['#c0#n0']);
    const tag = t.tag!;
    await t.stop();
    expect(namespaces().filter((n) => n.startsWith(tag))).toEqual([]);
  });
});
