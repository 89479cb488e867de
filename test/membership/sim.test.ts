/**
 * Multi-daemon runs of the membership machine inside whole daemons (DaemonNode with its ring
 * engine, DaemonCore with its groups layer) on the simulator (src/sim/daemons.ts): start-up,
 * crash, partition and merge, loss, monitor partitions, the sequence-wrap membership, restarts.
 * Every run ends with the extended-virtual-synchrony checks on the daemons' logs.
 */
import { describe, expect, it } from 'vitest';
import { LAN_TIMEOUTS, type MembershipTimeouts } from '../../src/daemon/config/index.js';
import { ServiceType } from '../../src/wire/client/constants.js';
import { ipString } from '../../src/wire/daemon/index.js';
import { DaemonSim, simConfig, type LogEntry } from '../../src/sim/daemons.js';
import { checkEvs, currentRings, settle, stableRings } from '../../src/sim/evs.js';

interface SimSpec {
  segments: string[][];
  seed: number;
  loss?: number;
  timeouts?: MembershipTimeouts;
  dangerousMonitor?: boolean;
  /** DebugInitialSequence: every ring's counters start at 2^30 − 5. */
  nearWrap?: boolean;
}

function newSim(o: SimSpec): DaemonSim {
  const opts = {
    ...(o.timeouts ? { timeouts: o.timeouts } : {}),
    ...(o.dangerousMonitor ? { dangerousMonitor: true } : {}),
    ...(o.nearWrap ? { debugInitialSequence: true } : {}),
  };
  return new DaemonSim(simConfig(o.segments, opts), { seed: o.seed, network: { loss: o.loss ?? 0 } });
}

function service(safe: boolean): number {
  return safe ? ServiceType.SAFE_MESS : ServiceType.AGREED_MESS;
}

const FIVE = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];

const LAYOUTS: Record<string, string[][]> = {
  'one broadcast segment': [FIVE],
  'five one-daemon segments': FIVE.map((ip) => [ip]),
  'two segments (3 + 2)': [FIVE.slice(0, 3), FIVE.slice(3)],
};

function regulars(log: readonly LogEntry[]): Extract<LogEntry, { kind: 'regular' }>[] {
  return log.filter((e): e is Extract<LogEntry, { kind: 'regular' }> => e.kind === 'regular');
}

function lastTransitional(log: readonly LogEntry[]): Extract<LogEntry, { kind: 'transitional' }> {
  const t = log.filter((e): e is Extract<LogEntry, { kind: 'transitional' }> => e.kind === 'transitional');
  return t[t.length - 1]!;
}

function delivered(sim: DaemonSim, ip: string, ring: string): string[] {
  return sim.daemon(ip).log.filter((e) => e.kind === 'deliver' && e.ring === ring).map((e) => (e as { text: string }).text);
}

describe.each(Object.entries(LAYOUTS))('%s', (_name, segments) => {
  it('5 daemons started one by one form one ring: same id, same order everywhere', () => {
    const sim = newSim({ segments, seed: 1 });
    FIVE.forEach((ip, k) => sim.start(ip, k * 700));
    sim.run(12_000);
    expect(stableRings(sim)).toEqual([FIVE]);
    const ids = new Set(FIVE.map((ip) => regulars(sim.daemon(ip).log).at(-1)!.id));
    expect(ids.size).toBe(1);
    expect(checkEvs(sim)).toEqual([]);
  });

  it('a crashed daemon is left out; the survivors share one transitional configuration', () => {
    const sim = newSim({ segments, seed: 2 });
    for (const ip of FIVE) sim.start(ip, 0);
    for (const ip of FIVE) sim.traffic(ip, 3000, 30, 40);
    sim.run(6000);
    expect(stableRings(sim)).toEqual([FIVE]);
    const before = currentRings(sim);
    sim.crash('10.0.0.3', 6000);
    sim.run(12_000);
    const survivors = FIVE.filter((ip) => ip !== '10.0.0.3');
    expect(stableRings(sim)).toEqual([survivors]);
    const trans = survivors.map((ip) => lastTransitional(sim.daemon(ip).log));
    for (const t of trans) {
      expect(t.members.map(ipString)).toEqual(survivors);
      expect(t.id).toBe(trans[0]!.id);
      expect(before.has(t.ring)).toBe(true);
    }
    // Everyone delivered the same messages of the old ring.
    const old = trans[0]!.ring;
    const first = delivered(sim, survivors[0]!, old);
    expect(first.length).toBeGreaterThan(0);
    for (const ip of survivors) expect(delivered(sim, ip, old)).toEqual(first);
    expect(checkEvs(sim)).toEqual([]);
  });

  it('a partition makes two rings, healing merges them back', () => {
    const sim = newSim({ segments, seed: 3, timeouts: { ...LAN_TIMEOUTS, lookup: 5000 } });
    for (const ip of FIVE) sim.start(ip, 0);
    sim.run(5000);
    expect(stableRings(sim)).toEqual([FIVE]);
    const left = FIVE.slice(0, 2);
    const right = FIVE.slice(2);
    sim.partition([left, right], 5000);
    for (const ip of FIVE) sim.traffic(ip, 5000, 40, 50);
    sim.run(12_000);
    expect(stableRings(sim)).toEqual([left, right]);
    for (const side of [left, right]) {
      const t = side.map((ip) => lastTransitional(sim.daemon(ip).log));
      for (const x of t) {
        expect(x.members.map(ipString)).toEqual(side);
        expect(x.id).toBe(t[0]!.id);
      }
    }
    sim.partition(null, 12_000);
    for (const ip of FIVE) sim.traffic(ip, 12_000, 40, 50);
    sim.run(25_000);
    expect(stableRings(sim)).toEqual([FIVE]);
    // Each side went through with its own transitional set.
    for (const side of [left, right]) {
      for (const ip of side) expect(lastTransitional(sim.daemon(ip).log).members.map(ipString)).toEqual(side);
    }
    expect(checkEvs(sim)).toEqual([]);
  });
});

describe('losses, restarts, monitor, wrap', () => {
  it.each([1, 2, 3])('5 % datagram loss with traffic and a crash (seed %i): EVS holds', (seed) => {
    const sim = newSim({ segments: [FIVE.slice(0, 3), FIVE.slice(3)], seed, loss: 0.05 });
    for (const ip of FIVE) sim.start(ip, 0);
    for (const ip of FIVE) sim.traffic(ip, 1000, 100, 45, service(ip === '10.0.0.2'));
    sim.crash('10.0.0.4', 4000);
    sim.run(15_000);
    expect(settle(sim, 30_000)).toEqual([FIVE.filter((ip) => ip !== '10.0.0.4')]);
    expect(checkEvs(sim)).toEqual([]);
    // In the final ring every message sent there is delivered everywhere, in one order.
    const ring = regulars(sim.daemon('10.0.0.1').log).at(-1)!.id;
    const seqs = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.5'].map((ip) => delivered(sim, ip, ring));
    for (const s of seqs) expect(s).toEqual(seqs[0]);
  });

  it('a restarted daemon rejoins', () => {
    const sim = newSim({ segments: FIVE.map((ip) => [ip]), seed: 4 });
    for (const ip of FIVE) sim.start(ip, 0);
    sim.crash('10.0.0.1', 5000);
    sim.run(10_000);
    expect(stableRings(sim)).toEqual([FIVE.slice(1)]);
    sim.start('10.0.0.1', 10_000);
    sim.run(18_000);
    expect(stableRings(sim)).toEqual([FIVE]);
    expect(checkEvs(sim)).toEqual([]);
  });

  it('a monitor PARTITION splits the ring only with DangerousMonitor, and expires after 60 s', () => {
    for (const dangerous of [false, true]) {
      const sim = newSim({ segments: [FIVE], seed: 5, dangerousMonitor: dangerous });
      for (const ip of FIVE) sim.start(ip, 0);
      sim.run(5000);
      sim.monitorPartition([0, 0, 1, 1, 1], 5000);
      sim.run(12_000);
      if (!dangerous) {
        expect(stableRings(sim)).toEqual([FIVE]);
        continue;
      }
      expect(stableRings(sim)).toEqual([FIVE.slice(0, 2), FIVE.slice(2)]);
      expect(sim.daemon('10.0.0.1').node.membership.partitionComponents.slice(0, 5)).toEqual([0, 0, 1, 1, 1]);
      sim.run(66_000); // cleared at 65 s; the leaders' lookups (30 s) merge the rings
      expect(sim.daemon('10.0.0.1').node.membership.partitionComponents.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
      sim.run(100_000);
      expect(stableRings(sim)).toEqual([FIVE]);
      expect(checkEvs(sim)).toEqual([]);
    }
  });

  it('a monitor PARTITION with component −1 stops that daemon', () => {
    const sim = newSim({ segments: [FIVE], seed: 6, dangerousMonitor: true });
    for (const ip of FIVE) sim.start(ip, 0);
    sim.run(5000);
    sim.monitorPartition([0, 0, 0, 0, -1], 5000);
    sim.run(12_000);
    expect(sim.daemon('10.0.0.5').alive).toBe(false);
    expect(stableRings(sim)).toEqual([FIVE.slice(0, 4)]);
  });

  it('sequence numbers past 2^30 force a new membership, which starts counting again', () => {
    const sim = newSim({ segments: [FIVE.slice(0, 3)], seed: 7, nearWrap: true });
    for (const ip of FIVE.slice(0, 3)) sim.start(ip, 0);
    sim.run(4000);
    const ring0 = regulars(sim.daemon('10.0.0.1').log).at(-1)!.id;
    for (const ip of FIVE.slice(0, 3)) sim.traffic(ip, 4000, 10, 100);
    sim.run(15_000);
    expect(settle(sim, 30_000)).toEqual([FIVE.slice(0, 3)]);
    const swallowed = FIVE.slice(0, 3).reduce((n, ip) => n + sim.daemon(ip).node.engine.stats.seqWrapSwallowed, 0);
    expect(swallowed).toBeGreaterThan(0);
    const ring1 = regulars(sim.daemon('10.0.0.1').log).at(-1)!.id;
    expect(ring1).not.toBe(ring0);
    // All 30 messages delivered everywhere, in the same order.
    const all = FIVE.slice(0, 3).map((ip) => sim.daemon(ip).log.filter((e) => e.kind === 'deliver').map((e) => (e as { text: string }).text));
    expect(all[0]!.length).toBe(30);
    for (const a of all) expect(a).toEqual(all[0]);
    expect(checkEvs(sim)).toEqual([]);
  });
});

describe('traffic through start, crash, partition and merge', () => {
  it.each([
    ['one broadcast segment', [FIVE], 0],
    ['five one-daemon segments', FIVE.map((ip) => [ip]), 0],
    ['3 + 2 segments, 5 % loss', [FIVE.slice(0, 3), FIVE.slice(3)], 0.05],
  ] as const)('%s: start, crash, partition, merge; EVS holds', (_name, segments, loss) => {
    const sim = newSim({ segments: segments.map((s) => [...s]), seed: 11, loss, timeouts: { ...LAN_TIMEOUTS, lookup: 5000 } });
    FIVE.forEach((ip, k) => sim.start(ip, k * 300));
    for (const ip of FIVE) sim.traffic(ip, 500, 40, 97, service(ip === '10.0.0.2'));
    sim.run(8000);
    expect(settle(sim, 15_000)).toEqual([FIVE]);
    sim.crash('10.0.0.3', sim.now);
    sim.run(sim.now + 6000);
    const survivors = FIVE.filter((ip) => ip !== '10.0.0.3');
    expect(settle(sim, sim.now + 10_000)).toEqual([survivors]);
    sim.partition([['10.0.0.1', '10.0.0.2'], ['10.0.0.4', '10.0.0.5']], sim.now);
    for (const ip of FIVE) sim.traffic(ip, sim.now, 30, 53);
    sim.run(sim.now + 15_000);
    sim.partition(null, sim.now);
    for (const ip of FIVE) sim.traffic(ip, sim.now, 30, 53);
    sim.run(sim.now + 15_000);
    expect(settle(sim, sim.now + 20_000)).toEqual([survivors]);
    expect(checkEvs(sim)).toEqual([]);
    expect(sim.violations).toEqual([]);
    // Self delivery: every message a survivor queued was delivered to itself (messages queued
    // across a ring change stay queued and go out in the next ring).
    for (const ip of survivors) {
      const mine = new Set(sim.daemon(ip).log.filter((e) => e.kind === 'deliver').map((e) => (e as { text: string }).text));
      for (let k = 1; k <= sim.daemon(ip).sent; k++) expect(mine.has(`${ip}#1.${k}`)).toBe(true);
    }
    // The final ring's messages are the same everywhere.
    const last = regulars(sim.daemon('10.0.0.1').log).at(-1)!.id;
    const finals = survivors.map((ip) => delivered(sim, ip, last));
    for (const f of finals) expect(f).toEqual(finals[0]);
  });
});
