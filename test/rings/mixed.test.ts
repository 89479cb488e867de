/**
 * Mixed rings: our daemons and the C reference in every arrangement of two and three daemons,
 * and ORORO (five daemons)
 * (O = ours, R = the reference, in configuration order), on loopback segments:
 *
 *   formation  the same ring id everywhere
 *   join       identical REG_MEMB sequences at the clients of every daemon
 *   order      one agreed order of messages multicast from every daemon at once
 *   loss       the same while the second daemon loses 5 % of its datagrams (iptables, root):
 *              retransmission requests and answers across implementations
 *   kill       kill -9 of the second daemon: identical TRANSITION and CAUSED_BY_NETWORK views
 *   restart    it comes back and merges; a join there is seen alike
 *
 * plus the reference's spflooder across OR and RO (both directions), the reference's spmonitor
 * reading our daemon's status, partitioning ORO / ROR (DangerousMonitor) and terminating a
 * daemon, and ORO / ROR on one broadcast segment in network namespaces.
 * Known failures are listed in expected-failures.json (which may only shrink).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oursDaemonBuilt, referenceBin, referencePrefix, skipLine, type Impl } from '../../interop/launcher.js';
import { netnsSupport, startTopology, type Topology } from '../../interop/topology.js';
import { runCase } from './expected.js';
import {
  DANGEROUS_MONITOR_CONF, expectSameLines, GROUP, lossSupport, Ring, scenarioFlooder, scenarioFormation, scenarioJoin, scenarioKill,
  scenarioLossyOrder, scenarioMonitor, scenarioOrder, scenarioPartition, scenarioRestart, scenarioTerminate, type ScenarioTimes,
} from './support.js';

const ref = referencePrefix();
const built = oursDaemonBuilt();
if (ref === undefined) skipLine('rings: mixed rings of our daemons and the reference');
else if (!built) console.log('SKIP: rings: mixed rings: our daemon is not built (npm run build)');
const enabled = ref !== undefined && built;
const spflooder = referenceBin('spflooder');
const spmonitor = referenceBin('spmonitor');
const netns = enabled ? await netnsSupport() : { ok: false, reason: 'SPREAD_REF not set' };
if (enabled && !netns.ok) console.log(`SKIP: rings: mixed rings in network namespaces: ${netns.reason}`);
const loss = enabled ? lossSupport() : { ok: false as const, reason: 'SPREAD_REF not set' };
if (enabled && !loss.ok) console.log(`SKIP: rings: mixed rings with datagram loss: ${loss.reason}`);

const ARRANGEMENTS = ['OR', 'RO', 'RRO', 'ROR', 'ORR', 'OOR', 'ROO', 'ORO', 'ORORO'] as const;
const impls = (label: string): Impl[] => [...label].map((c) => (c === 'O' ? 'ours' : 'reference'));
const VICTIM = 1;

for (const label of ARRANGEMENTS) {
  describe.skipIf(!enabled)(`loopback ring ${label}`, () => {
    let ring: Ring;
    const times: ScenarioTimes = {};
    beforeAll(async () => {
      ring = await Ring.start(impls(label));
    }, 60_000);
    afterAll(async () => {
      console.log(`RING TIMES loopback/${label}: ${JSON.stringify(times)}`);
      await ring?.stop();
    }, 60_000);

    const c = (scenario: string): string => `loopback/${label}/${scenario}`;
    it('formation: the same ring id at every daemon', () => runCase(c('formation'), () => scenarioFormation(ring, times)), 40_000);
    it('join: identical REG_MEMB views at the clients of every daemon', () => runCase(c('join'), () => scenarioJoin(ring)), 60_000);
    it('order: one agreed order at every daemon', () => runCase(c('order'), () => scenarioOrder(ring)), 60_000);
    it.skipIf(!loss.ok)('loss: the same order while n1 loses 5 % of its datagrams (retransmissions)', () =>
      runCase(c('loss'), () => scenarioLossyOrder(ring, 1, 0.05)), 60_000);
    if (label.length === 2) {
      it.skipIf(spflooder === undefined)(`the reference spflooder: ${label[0]} writes, ${label[1]} reads`, () =>
        runCase(c('flooder'), () => scenarioFlooder(ring, spflooder!, 0, 1, 10_000, 1000)), 120_000);
    }
    if (label === 'ORO') {
      it.skipIf(spmonitor === undefined)('the reference spmonitor reads our daemon\'s status', () =>
        runCase(c('monitor'), async () => {
          const report = await scenarioMonitor(ring, spmonitor!, 0);
          expect(report).toContain('accelerated protocol');
        }), 40_000);
    }
    it(`kill -9 of n${VICTIM}: identical TRANSITION and CAUSED_BY_NETWORK views`, () => runCase(c('kill'), () => scenarioKill(ring, VICTIM, times)), 60_000);
    it(`restart of n${VICTIM}: merge, and a join seen alike`, () => runCase(c('restart'), () => scenarioRestart(ring, VICTIM, times)), 70_000);
  });
}

for (const label of ['ORO', 'ROR'] as const) {
  describe.skipIf(!enabled || spmonitor === undefined)(`loopback ring ${label} with DangerousMonitor: the reference spmonitor partitions and terminates`, () => {
    let ring: Ring;
    beforeAll(async () => {
      ring = await Ring.start(impls(label), { confExtra: DANGEROUS_MONITOR_CONF });
    }, 60_000);
    afterAll(async () => {
      await ring?.stop();
    }, 60_000);
    const c = (scenario: string): string => `loopback/${label}+monitor/${scenario}`;
    it('formation and one group', () => runCase(c('formation'), async () => {
      await scenarioFormation(ring, {});
      await scenarioJoin(ring);
    }), 60_000);
    it('partition {n0, n1} | {n2}: identical views on the larger side; cancelled: one ring again', () =>
      runCase(c('partition'), () => scenarioPartition(ring, spmonitor!, 2)), 90_000);
    it('terminate n0 (component −1): it exits', () => runCase(c('terminate'), () => scenarioTerminate(ring, spmonitor!, 0)), 30_000);
  });
}

for (const label of ['ORO', 'ROR'] as const) {
  describe.skipIf(!enabled || !netns.ok)(`network namespaces: ${label} on one broadcast segment`, () => {
    let t: Topology;
    beforeAll(async () => {
      t = await startTopology({ kind: 'netns', nodes: impls(label), readyTimeoutMs: 20_000 });
    }, 60_000);
    afterAll(async () => {
      await t?.stop();
    }, 60_000);

    it('formation, the same views and one agreed order at every daemon', () =>
      runCase(`netns/${label}/order`, async () => {
        const st = await t.waitForRing(3, { timeoutMs: 30_000 });
        expect(new Set(st.map((s) => s.id)).size).toBe(1);
        const runs = await Promise.all(t.nodes.map((node, i) => t.runTs(i, 'test/rings/ns-client.ts', [node.spreadTcp, GROUP, '3', '50', '30000', `c${i}`], { timeoutMs: 40_000 })));
        const out = runs.map((r, i) => {
          if (r.code !== 0) throw new Error(`client in ${t.nodes[i]!.namespace}: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr}${r.stdout}`);
          return JSON.parse(r.stdout.trim().split('\n').pop()!) as { privateGroup: string; views: string[]; messages: string[] };
        });
        expectSameLines('final view', out.map((o) => ({ label: o.privateGroup, lines: [o.views.at(-1) ?? ''] })));
        expectSameLines('agreed order', out.map((o) => ({ label: o.privateGroup, lines: o.messages })));
      }), 90_000);
  });
}
