/**
 * Rings of our daemons only: 3 and 5 daemons on loopback segments (formation, one group with a
 * client on every daemon, one agreed order, kill -9, restart), and 3 daemons on one broadcast
 * segment in network namespaces when we may create them (formation, views, order).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oursDaemonBuilt, oursDaemonPath } from '../../interop/launcher.js';
import { netnsSupport, startTopology, type Topology } from '../../interop/topology.js';
import { runCase } from './expected.js';
import {
  expectSameLines, GROUP, lossSupport, Ring, scenarioFormation, scenarioJoin, scenarioKill, scenarioLossyOrder, scenarioOrder, scenarioRestart,
  type ScenarioTimes,
} from './support.js';

const built = oursDaemonBuilt();
if (!built) console.log(`SKIP: rings: our daemon is not built (${oursDaemonPath()} missing: npm run build)`);
const netns = await netnsSupport();
if (!netns.ok) console.log(`SKIP: rings: network namespace rings: ${netns.reason}`);
const loss = lossSupport();
if (!loss.ok) console.log(`SKIP: rings: rings with datagram loss: ${loss.reason}`);

for (const { n, victim } of [{ n: 3, victim: 1 }, { n: 5, victim: 0 }]) {
  const label = 'O'.repeat(n);
  describe.skipIf(!built)(`loopback ring ${label} (ours only)`, () => {
    let ring: Ring;
    const times: ScenarioTimes = {};
    beforeAll(async () => {
      ring = await Ring.start(Array.from({ length: n }, () => 'ours' as const));
    }, 60_000);
    afterAll(async () => {
      console.log(`RING TIMES loopback/${label}: ${JSON.stringify(times)}`);
      await ring?.stop();
    }, 60_000);

    it('formation: one ring, one id', () => runCase(`loopback/${label}/formation`, () => scenarioFormation(ring, times)), 40_000);
    it('join: the same REG_MEMB views at every daemon', () => runCase(`loopback/${label}/join`, () => scenarioJoin(ring)), 60_000);
    it('order: one agreed order at every daemon', () => runCase(`loopback/${label}/order`, () => scenarioOrder(ring)), 60_000);
    it.skipIf(!loss.ok)('loss: the same order while n1 loses 5 % of its datagrams', () => runCase(`loopback/${label}/loss`, () => scenarioLossyOrder(ring, 1, 0.05)), 60_000);
    it(`kill -9 of n${victim}: the same TRANSITION and CAUSED_BY_NETWORK views`, () => runCase(`loopback/${label}/kill`, () => scenarioKill(ring, victim, times)), 60_000);
    it(`restart of n${victim}: merge, and a join seen alike`, () => runCase(`loopback/${label}/restart`, () => scenarioRestart(ring, victim, times)), 70_000);
  });
}

describe.skipIf(!built || !netns.ok)('network namespaces: OOO on one broadcast segment', () => {
  let t: Topology;
  beforeAll(async () => {
    t = await startTopology({ kind: 'netns', nodes: ['ours', 'ours', 'ours'], readyTimeoutMs: 20_000 });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  it('formation, the same views and one agreed order at every daemon', () =>
    runCase('netns/OOO/order', async () => {
      const st = await t.waitForRing(3, { timeoutMs: 30_000 });
      expect(new Set(st.map((s) => s.id)).size).toBe(1);
      const runs = await Promise.all(t.nodes.map((node, i) => t.runTs(i, 'test/rings/ns-client.ts', [node.spreadTcp, GROUP, '3', '50', '30000', `c${i}`], { timeoutMs: 40_000 })));
      const out = runs.map((r, i) => {
        if (r.code !== 0) throw new Error(`client in ${t.nodes[i]!.namespace}: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr}${r.stdout}`);
        return JSON.parse(r.stdout.trim().split('\n').pop()!) as { privateGroup: string; views: string[]; messages: string[] };
      });
      // Joins come first (every client sends only after the full view): the last view is the full one.
      expectSameLines('final view', out.map((o) => ({ label: o.privateGroup, lines: [o.views.at(-1) ?? ''] })));
      for (const o of out) expect(o.views.at(-1)).toContain('members [#c0#n0 #c1#n1 #c2#n2]');
      expectSameLines('agreed order', out.map((o) => ({ label: o.privateGroup, lines: o.messages })));
    }), 90_000);
});
