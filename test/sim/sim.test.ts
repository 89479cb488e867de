/**
 * The deterministic simulator: a few hundred seeded ring-mode runs of 3–5 daemon rings (plus
 * smaller ones) over a network that loses, duplicates, delays and reorders datagrams; every run
 * checks total order, SAFE stability, FIFO, exactly-once delivery and progress
 * (src/sim/checker.ts). Then whole-daemon runs with crashes, restarts and partitions
 * (src/sim/daemon-scenario.ts): one ring again in the end, EVS, and the final ring's traffic
 * everywhere in one order. A failing seed's report carries the command that replays it.
 */
import { describe, expect, it } from 'vitest';
import { RingEngine } from '../../src/daemon/ring/engine.js';
import type { RingAction } from '../../src/daemon/ring/actions.js';
import { failureReport, replayCommand, runSeed, sweep } from '../../src/sim/run.js';
import { randomScenario, type ScenarioOverrides } from '../../src/sim/scenario.js';
import { runScenario } from '../../src/sim/simulation.js';
import { main } from '../../src/sim/cli.js';
import { describeDaemonScenario, randomDaemonScenario, runDaemonScenario } from '../../src/sim/daemon-scenario.js';
import { clientMessage, DaemonSim, simConfig, type LogEntry } from '../../src/sim/daemons.js';
import { ServiceType } from '../../src/wire/client/constants.js';
import { checkEvs, settle } from '../../src/sim/evs.js';

function expectAllPass(start: number, count: number, overrides: ScenarioOverrides = {}): void {
  const res = sweep(start, count, overrides);
  const report = res.failed.slice(0, 3).map((r) => failureReport(r, overrides)).join('\n');
  expect(report, `${res.failed.length} of ${count} seeds failed`).toBe('');
}

describe('simulated rings', () => {
  it('random scenarios (1–5 daemons, all topologies, both ring variants): seeds 1..150', () => {
    expectAllPass(1, 150);
  });

  it('3 daemons, one segment, 20% loss, duplicates and reordering: 60 seeds', () => {
    expectAllPass(10_000, 60, { segments: [3], loss: 0.2, dup: 0.05, reorder: 0.1 });
  });

  it('5 daemons, one per segment (routed), 10% loss: 50 seeds', () => {
    expectAllPass(20_000, 50, { segments: [1, 1, 1, 1, 1], loss: 0.1, dup: 0.02 });
  });

  it('4 daemons in segments of 2 (relays), accelerated, 5% loss: 50 seeds', () => {
    expectAllPass(30_000, 50, { segments: [2, 2], accelerated: true, loss: 0.05, reorder: 0.05 });
  });

  it('5 daemons, original ring, small windows, duplicates and reordering, the LAN token timeout: 40 seeds', () => {
    expectAllPass(40_000, 40, { segments: [5], accelerated: false, loss: 0, dup: 0.05, reorder: 0.1, personalWindow: 5, window: 30, acceleratedWindow: 5 });
  });

  it('a run is a pure function of its seed', () => {
    const a = runSeed(77, { loss: 0.1, dup: 0.05, reorder: 0.1, segments: [3] });
    const b = runSeed(77, { loss: 0.1, dup: 0.05, reorder: 0.1, segments: [3] });
    expect(a.ok).toBe(true);
    expect([b.events, b.datagrams, b.dropped, b.completedAt, b.endTime]).toEqual([a.events, a.datagrams, a.dropped, a.completedAt, a.endTime]);
    expect(b.nodes.map((n) => n.engine.stats)).toEqual(a.nodes.map((n) => n.engine.stats));
  });
});

describe('simulated whole daemons', () => {
  it('random configurations, faults, crashes, restarts, partitions and heals: seeds 1..40', () => {
    const failed: string[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const r = runDaemonScenario(randomDaemonScenario(seed));
      if (!r.ok) failed.push(`seed ${seed} (${describeDaemonScenario(r.scenario)}): ${r.failures.slice(0, 3).join('; ')}`);
    }
    expect(failed).toEqual([]);
  });

  it('a run is a pure function of its seed', () => {
    const a = runDaemonScenario(randomDaemonScenario(28));
    const b = runDaemonScenario(randomDaemonScenario(28));
    expect(a.scenario.faults).toBeGreaterThan(0);
    expect([b.ok, b.endTime, b.datagrams, b.dropped, b.deliveries]).toEqual([a.ok, a.endTime, a.datagrams, a.dropped, a.deliveries]);
  });
});

describe('the EVS checks catch broken daemons', () => {
  /** Four daemons with traffic; one crashes; the survivors' logs, then `tamper` with one. */
  function run(tamper: (sim: DaemonSim) => void): string[] {
    const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
    const sim = new DaemonSim(simConfig([ips]), { seed: 3 });
    for (const ip of ips) sim.start(ip);
    for (const ip of ips) sim.traffic(ip, 2000, 30, 40);
    sim.crash('10.0.0.4', 2600);
    sim.run(8000);
    expect(settle(sim, 20_000)).toEqual([ips.slice(0, 3)]);
    expect(checkEvs(sim)).toEqual([]);
    tamper(sim);
    return checkEvs(sim);
  }
  const deliveries = (sim: DaemonSim, ip: string): number[] =>
    sim.daemon(ip).log.flatMap((e, i) => (e.kind === 'deliver' && e.ring !== '' ? [i] : []));

  it('a daemon skipping one delivery', () => {
    const f = run((sim) => sim.daemon('10.0.0.2').log.splice(deliveries(sim, '10.0.0.2')[5]!, 1));
    expect(f.join('\n')).toMatch(/delivered \d+ messages/);
  });

  it('a daemon delivering two messages in another order', () => {
    const f = run((sim) => {
      const log = sim.daemon('10.0.0.3').log;
      const [i, j] = deliveries(sim, '10.0.0.3');
      [log[i!], log[j!]] = [log[j!]!, log[i!]!];
    });
    expect(f.join('\n')).toMatch(/another order|different orders/);
  });

  it('RELIABLE messages too long for one packet are held to the ring order; single-packet ones are not', () => {
    const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
    const sim = new DaemonSim(simConfig([ips]), { seed: 5 });
    for (const ip of ips) sim.start(ip);
    // Three daemons send short and 3000-byte RELIABLE messages, alternately; then the fourth
    // crashes, so that the others close their span of the old ring (what checkEvs compares).
    ips.slice(0, 3).forEach((ip, i) => {
      for (let k = 0; k < 20; k++) {
        sim.at(2000 + k * 30, () => sim.submit(ip, clientMessage(`#s#n${i}`, `${ip}.${k} ${k % 2 === 0 ? '' : 'x'.repeat(3000)}`, ServiceType.RELIABLE_MESS)));
      }
    });
    sim.crash('10.0.0.4', 5000);
    sim.run(8000);
    expect(settle(sim, 20_000)).toEqual([ips.slice(0, 3)]);
    const log = sim.daemon('10.0.0.2').log;
    const long = (e: LogEntry): boolean => e.kind === 'deliver' && e.text.length > 3000;
    const at = (pick: (e: LogEntry) => boolean): number[] => log.flatMap((e, i) => (e.kind === 'deliver' && e.ring !== '' && pick(e) ? [i] : []));
    expect(at(long).length).toBe(30);
    expect(at(long).every((i) => (log[i] as { ordered: boolean }).ordered)).toBe(true);
    expect(at((e) => !long(e)).every((i) => !(log[i] as { ordered: boolean }).ordered)).toBe(true);
    expect(checkEvs(sim)).toEqual([]);
    const swap = ([i, j]: number[]): void => void ([log[i!], log[j!]] = [log[j!]!, log[i!]!]);
    swap(at((e) => !long(e)));
    expect(checkEvs(sim)).toEqual([]);
    swap(at(long));
    expect(checkEvs(sim).join('\n')).toMatch(/another order|different orders/);
  });
});

describe('the checks catch a broken ring', () => {
  /** An engine whose deliveries are tampered with on their way out. */
  function tampered(tamper: (actions: readonly RingAction[], engine: RingEngine) => readonly RingAction[]): typeof RingEngine {
    return class extends RingEngine {
      override takeActions(): readonly RingAction[] {
        return tamper(super.takeActions(), this);
      }
    };
  }
  const run = (Engine: typeof RingEngine): string[] =>
    runScenario(randomScenario(5, { segments: [3], loss: 0.05, messages: 60, sizes: 'small' }), {
      makeEngine: (s) => new Engine(s),
    }).failures as string[];

  it('a lost delivery', () => {
    let dropped = false;
    const f = run(tampered((acts, e) => acts.filter((a) => dropped || a.kind !== 'deliver' || e.settings.myId !== ((10 << 24) | 2) || !(dropped = true))));
    expect(f.join('\n')).toMatch(/never delivered 1 message|ordered position/);
  });

  it('a duplicate delivery', () => {
    const f = run(tampered((acts) => acts.flatMap((a): RingAction[] => (a.kind === 'deliver' ? [a, a] : [a]))));
    expect(f.join('\n')).toMatch(/twice/);
  });

  it('two daemons disagreeing on the order', () => {
    const f = run(tampered((taken, e) => {
      if (e.settings.myId !== ((10 << 24) | 3)) return taken;
      const acts = [...taken];
      const i = acts.findIndex((a) => a.kind === 'deliver');
      const j = acts.findIndex((a, k) => k > i && a.kind === 'deliver');
      if (i >= 0 && j >= 0) [acts[i], acts[j]] = [acts[j]!, acts[i]!];
      return acts;
    }));
    expect(f.join('\n')).toMatch(/ordered position|FIFO/);
  });

  it('a failure names its seed and the command that replays it', () => {
    const r = runSeed(3, { segments: [3], loss: 0.2, tokenTimeout: 300 });
    expect(r.ok).toBe(false);
    const report = failureReport(r, { segments: [3], loss: 0.2, tokenTimeout: 300 });
    expect(report).toContain('seed 3: FAILED');
    expect(report).toContain('replay: npx tsx src/sim/cli.ts --seed 3 --segments 3 --loss 0.2 --token-timeout 300');
    expect(replayCommand(9)).toBe('npx tsx src/sim/cli.ts --seed 9');
  });
});

describe('the simulator CLI', () => {
  it('runs a seed and a sweep, exit status 0 when all pass, 64 on a usage error', async () => {
    const write = process.stdout.write.bind(process.stdout);
    const lines: string[] = [];
    process.stdout.write = ((s: string) => {
      lines.push(s);
      return true;
    }) as typeof process.stdout.write;
    try {
      expect(await main(['--seed', '4', '--quiet'])).toBe(0);
      expect(await main(['--sweep', '3', '--start', '10', '--quiet'])).toBe(0);
      expect(await main(['--daemons', '--sweep', '2', '--start', '5', '--quiet'])).toBe(0);
      expect(await main(['--loss', '2'], () => undefined)).toBe(64);
    } finally {
      process.stdout.write = write;
      process.exitCode = 0;
    }
    expect(lines.join('')).toContain('3/3 seeds passed (10..12)');
    expect(lines.join('')).toContain('2/2 seeds passed (5..6)');
  });
});
