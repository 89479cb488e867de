/**
 * Configuration reload inside whole simulated daemons (SPEC.md Part IX §6; src/sim/daemons.ts
 * setConfig / monitorReload): every layer takes the new configuration — the ring engine's and
 * membership's hash and daemons, the groups layer's daemon list — and the ring re-forms:
 * 3 daemons grow to 4 and shrink back with a client's session and group kept; another daemon's
 * entry changed: every daemon alone first (the singleton partition), then one ring again.
 * Extended virtual synchrony holds throughout.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/daemon/config/index.js';
import { DaemonSim, simConfig, type SimDaemon } from '../../src/sim/daemons.js';
import { checkEvs, settle, stableRings } from '../../src/sim/evs.js';
import { ServiceType } from '../../src/wire/client/index.js';

/** simConfig's layout (one daemon per segment), with the daemons' names given. */
function named(names: readonly string[]): ReturnType<typeof parseConfig> {
  const text = names.map((n, k) => `Spread_Segment 127.0.${k}.255:${4803 + 10 * k} {\n\t${n} 127.0.0.${k + 1}\n}\n`).join('');
  return parseConfig(text, 'sim.conf');
}

const regulars = (d: SimDaemon): number[] => d.log.filter((e) => e.kind === 'regular').map((e) => e.members.length);
const texts = (c: { received: readonly { data: Uint8Array }[] }): string[] => c.received.map((m) => new TextDecoder().decode(m.data));

describe('simulated reload', () => {
  it('3 daemons grow to 4 and shrink back; a client keeps its session and group', () => {
    const three = simConfig(3);
    const four = simConfig(4);
    const sim = new DaemonSim(four, { seed: 7 });
    for (let i = 0; i < 3; i++) sim.setConfig(i, three);
    for (let i = 0; i < 4; i++) sim.start(i);
    sim.run(100);
    expect(settle(sim, 20_000)?.map((r) => r.length).sort()).toEqual([1, 3]);
    const c0 = sim.connect(0, 'c0');
    sim.run(sim.now + 10);
    c0.join('g');
    sim.run(sim.now + 500);

    for (let i = 0; i < 3; i++) sim.setConfig(i, four);
    sim.monitorReload();
    sim.run(sim.now + 100);
    expect(settle(sim, sim.now + 20_000)?.map((r) => r.length)).toEqual([4]);
    const c3 = sim.connect(3, 'c3');
    sim.run(sim.now + 10);
    c3.join('g');
    sim.run(sim.now + 500);
    c3.multicast(ServiceType.AGREED_MESS, ['g'], 'hello from n3');
    sim.run(sim.now + 500);
    expect(texts(c0)).toContain('hello from n3');
    expect(c0.state).toBe('op');

    for (let i = 0; i < 4; i++) sim.setConfig(i, three);
    sim.monitorReload();
    sim.run(sim.now + 100);
    expect(sim.daemon(3).alive).toBe(false); // Conf_load_conf_file: My proc n3 is not in configuration
    expect(settle(sim, sim.now + 20_000)?.map((r) => r.length)).toEqual([3]);
    c0.multicast(ServiceType.AGREED_MESS, ['g'], 'after the shrink');
    sim.run(sim.now + 500);
    expect(texts(c0)).toContain('after the shrink');
    expect(c0.state).toBe('op');
    expect(checkEvs(sim)).toEqual([]);
  });

  it("another daemon's entry changed: every daemon alone first, then one ring again", () => {
    const sim = new DaemonSim(named(['n0', 'n1', 'n2', 'n3']), { seed: 11 });
    for (let i = 0; i < 3; i++) sim.start(i);
    sim.run(100);
    expect(settle(sim, 20_000)?.map((r) => r.length)).toEqual([3]);
    const before = sim.daemons.slice(0, 3).map((d) => regulars(d).length);
    // n3 (not running) renamed: a changed entry of a daemon present before and after.
    for (let i = 0; i < 3; i++) sim.setConfig(i, named(['n0', 'n1', 'n2', 'm3']));
    sim.monitorReload();
    sim.run(sim.now + 100);
    // Every daemon alone (a stable state of its own), then the lookup merges them.
    expect(sim.runUntilTrue(() => stableRings(sim)?.length === 1, 30_000)).toBe(true);
    expect(stableRings(sim)?.map((r) => r.length)).toEqual([3]);
    for (const [i, d] of sim.daemons.slice(0, 3).entries()) expect(regulars(d).slice(before[i])).toEqual([1, 3]);
    expect(checkEvs(sim)).toEqual([]);
  });
});
