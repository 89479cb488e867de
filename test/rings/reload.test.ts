/**
 * Configuration reload on running rings (SPEC.md Part IX §6): a loopback ring of 3 grows to 4
 * and shrinks back by RELOAD, clients on the first three keeping their sessions and groups:
 * ours only with our spmonitor, then (SPREAD_REF) with reference daemons in the ring and the
 * reference spmonitor sending the RELOAD. A configured daemon that never runs is renamed: every
 * daemon alone first (the singleton partition), then one ring. Then the refusal: a daemon whose
 * own interface port changed exits on a monitor's RELOAD with the reference's message.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oursDaemonBuilt, oursDaemonPath, referenceBin, referencePrefix, skipLine } from '../../interop/launcher.js';
import { loopbackGrowth, ourReloadSender, referenceReloadSender, ringConf, scenarioReload, writeAll, type ReloadSender, type ReloadTimes } from '../../interop/reload-ring.js';
import type { Impl } from '../../interop/launcher.js';
import { loopbackAddress } from '../../interop/topology-conf.js';
import { Ring, scenarioJoin, waitFor } from './support.js';

/** Every live daemon's file: the ring's live daemons, then `extra` (a daemon that never runs). */
function writeConf(ring: Ring, extra: { name: string; port: number }): string {
  const live = ring.nodes.filter((n) => n.alive);
  const text = ringConf(live, [{ ...extra, address: loopbackAddress(ring.nodes.length) }]);
  writeAll(live, text);
  return text;
}

/** RELOAD of what `send` is given; resolves once every live daemon reports a new ring of all of them. */
async function reloadAndWait(ring: Ring, send: ReloadSender, text: string): Promise<void> {
  const live = ring.nodes.filter((n) => n.alive);
  const before = ring.status(live[0]!.index)?.id;
  await send(text);
  await waitFor(() => live.every((n) => ring.status(n.index)?.id !== before), 40_000, () => ring.describeStatus(), 50);
  await ring.waitForRing(live.length, 40_000);
}

/**
 * A daemon that is configured but not running (n9) is renamed: its entry changed, so every
 * daemon first forms a ring alone (the singleton partition), then they merge into one ring.
 */
async function scenarioSingleton(ring: Ring, send: ReloadSender): Promise<void> {
  const port = Number(ring.nodes[0]!.spread.split('@')[0]) + 7;
  const current = readFileSync(ring.nodes.find((n) => n.alive)!.handle.confPath, 'utf8');
  writeConf(ring, { name: 'n9', port }); // n9 added: no partition
  await reloadAndWait(ring, send, current);
  const live = ring.nodes.filter((n) => n.alive);
  const marks = live.map((n) => n.handle.log().length);
  const renamed = readFileSync(live[0]!.handle.confPath, 'utf8');
  writeConf(ring, { name: 'm9', port });
  await reloadAndWait(ring, send, renamed);
  live.forEach((n, i) => {
    if (n.impl !== 'ours') return;
    const after = n.handle.log().slice(marks[i]);
    expect(after).toContain('every daemon alone first');
    expect(after.indexOf('ring: 1 members')).toBeGreaterThan(-1);
    expect(after.lastIndexOf(`ring: ${live.length} members`)).toBeGreaterThan(after.indexOf('ring: 1 members'));
  });
}

/**
 * n0's own interface port changes: it refuses the RELOAD with the reference's message and
 * exits (ours with 78; the reference aborts, SIGABRT, after its message); the others re-form.
 */
async function scenarioRefusal(ring: Ring, send: ReloadSender): Promise<void> {
  const n0 = ring.nodes[0]!;
  const text = readFileSync(n0.handle.confPath, 'utf8');
  writeFileSync(n0.handle.confPath, text.replace('\t\t127.0.0.1\n', '\t\t127.0.0.1:4999\n'));
  await send(text);
  const exit = await n0.handle.exited;
  if (n0.impl === 'ours') expect(exit.code).toBe(78);
  else expect(exit.signal).toBe('SIGABRT');
  expect(n0.handle.log()).toContain('Conf_reload_initiate: My interface spec has changed so must exit: old (127.127.127.127:0 - 7) new (127.127.127.127:4999 - 7)');
  n0.alive = false;
  await ring.waitForRing(2, 40_000);
}

const built = oursDaemonBuilt();
if (!built) console.log(`SKIP: reload rings: our daemon is not built (${oursDaemonPath()} missing: npm run build)`);
const ref = referencePrefix();
const refMonitor = referenceBin('spmonitor', ref);
if (ref === undefined || refMonitor === undefined) skipLine('reload rings with reference daemons and the reference spmonitor');

/** The rings: ours alone with our spmonitor; mixed rings with the reference spmonitor sending the RELOAD. */
const CASES: readonly { impls: readonly Impl[]; added: Impl; monitor: 'ours' | 'reference' }[] = [
  { impls: ['ours', 'ours', 'ours'], added: 'ours', monitor: 'ours' },
  { impls: ['reference', 'ours', 'reference'], added: 'ours', monitor: 'reference' },
  { impls: ['ours', 'reference', 'ours'], added: 'reference', monitor: 'reference' },
];

for (const { impls, added, monitor } of CASES) {
  const label = `${impls.map((i) => (i === 'ours' ? 'O' : 'R')).join('')}+${added === 'ours' ? 'O' : 'R'}`;
  const sender = (as: string): ReloadSender => (monitor === 'ours' ? ourReloadSender(as) : referenceReloadSender(refMonitor!, as));
  describe.skipIf(!built || (monitor === 'reference' && refMonitor === undefined))(`reload: ring ${label} (${monitor === 'ours' ? 'our' : 'the reference'} spmonitor)`, () => {
    let ring: Ring;
    const times: ReloadTimes = {};
    beforeAll(async () => {
      ring = await Ring.start(impls);
      await ring.waitForRing(3, 30_000);
    }, 60_000);
    afterAll(async () => {
      console.log(`RELOAD TIMES loopback/${label}: ${JSON.stringify(times)}`);
      await ring?.stop();
    }, 60_000);

    it('the added daemon joins and leaves by RELOAD; the others keep their clients', async () => {
      await scenarioJoin(ring);
      await scenarioReload(ring, loopbackGrowth(ring, added, sender(ring.nodes[0]!.name)), times);
      expect(ring.nodes[3]!.handle.running()).toBe(false);
    }, 150_000);

    it("another daemon's entry changed: every daemon alone first, then one ring again", () => scenarioSingleton(ring, sender(ring.nodes[0]!.name)), 120_000);

    it("n0's interface port changed: RELOAD is refused with the reference's message and n0 exits", () => scenarioRefusal(ring, sender(ring.nodes[0]!.name)), 90_000);
  });
}
