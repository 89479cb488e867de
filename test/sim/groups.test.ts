/**
 * The groups layer inside whole daemons (src/sim/daemons.ts): clients connect with the client
 * protocol, join, leave and disconnect at random while the network partitions and heals and
 * daemons crash and restart. Whenever the daemons have settled, inside each ring
 *   - every daemon's groups layer is in GOP, reading clients, delivering everything, with the
 *     whole ring as its synced set;
 *   - all daemons have the same groups, group ids and member lists, and a group's members are
 *     exactly the clients its ring's daemons have (ground truth kept here from the requests);
 *   - every client's last notice for a group it is in is a REG_MEMB listing exactly the
 *     current members with the current id, and a CAUSED_BY_NETWORK one points its
 *     my_vs_set_offset at a set holding that client;
 * and the daemons' logs satisfy extended virtual synchrony.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim/prng.js';
import { DaemonSim, simConfig, type SimDaemon } from '../../src/sim/daemons.js';
import { checkEvs, settle, stableRings } from '../../src/sim/evs.js';
import type { SimClient } from '../../src/sim/client.js';
import { decodeMembershipBody, ServiceType } from '../../src/wire/client/index.js';

const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
const GROUPS = ['g0', 'g1', 'g2'];
const CLIENTS = 3;

class World {
  readonly sim: DaemonSim;
  readonly r: Prng;
  /** clients[d][m]: client m of daemon d (null while not connected). */
  readonly clients: (SimClient | null)[][] = IPS.map(() => new Array<SimClient | null>(CLIENTS).fill(null));
  /** Ground truth: the groups each connected client is in. */
  readonly joined = new Map<SimClient, Set<string>>();

  constructor(seed: number) {
    this.sim = new DaemonSim(simConfig([IPS.slice(0, 2), IPS.slice(2)]), { seed, network: { loss: 0.01 } });
    this.r = new Prng(seed);
    for (const ip of IPS) this.sim.start(ip);
    this.reconfigured();
  }

  /** One random step, then the daemons settle. */
  step(): void {
    const x = this.r.float();
    const live = this.sim.daemons.filter((d) => d.alive);
    const d = this.r.pick(live);
    const m = this.r.int(0, CLIENTS - 1);
    if (x < 0.7) this.request(d, m);
    else if (x < 0.8) this.partition();
    else if (x < 0.9) {
      this.sim.partition(null);
      for (const dead of this.sim.daemons.filter((y) => !y.alive)) this.sim.start(dead.index);
      this.reconfigured();
    } else if (live.length > 2) {
      this.sim.crash(d.index);
      this.reconfigured();
    }
  }

  private request(d: SimDaemon, m: number): void {
    let c = this.clients[d.index]![m] ?? null;
    if (c === null || c.state === 'closed') {
      c = this.sim.connect(d.index, `m${m}`);
      this.clients[d.index]![m] = c;
      this.joined.set(c, new Set());
      this.sim.run(this.sim.now + 5);
    }
    const g = this.r.pick(GROUPS);
    const y = this.r.float();
    if (y < 0.6) {
      c.join(g);
      this.joined.get(c)!.add(g);
    } else if (y < 0.9) {
      c.leave(g);
      this.joined.get(c)!.delete(g);
    } else {
      this.sim.disconnect(c);
      this.clients[d.index]![m] = null;
    }
    this.sim.run(this.sim.now + 300);
  }

  private partition(): void {
    const assign = IPS.map(() => this.r.int(0, 1));
    this.sim.partition([0, 1].map((k) => IPS.filter((_, i) => assign[i] === k)));
    this.reconfigured();
  }

  private reconfigured(): void {
    this.sim.run(this.sim.now + 8000);
    expect(settle(this.sim, this.sim.now + 30_000)).not.toBeNull();
    this.sim.run(this.sim.now + 500);
  }

  /** Clients of daemon d that are connected (and in op). */
  private live(d: SimDaemon): SimClient[] {
    return this.clients[d.index]!.filter((c): c is SimClient => c !== null && c.state === 'op' && d.clients.get(c.conn) === c);
  }

  check(): void {
    const rings = stableRings(this.sim)!;
    expect(rings).not.toBeNull();
    for (const ring of rings) {
      const daemons = ring.map((ip) => this.sim.daemon(ip)).sort((a, b) => a.index - b.index);
      const ids = daemons.map((d) => d.id);
      for (const d of daemons) {
        const l = d.core.core.groupsLayer;
        expect(l.stateName, d.ip).toBe('GOP');
        expect(l.clientReadingPaused).toBe(false);
        expect(l.deliveryLevel).toBe('all');
        expect(l.synced, d.ip).toEqual(ids);
      }
      const first = daemons[0]!.core.core.groupsLayer;
      const names = first.groupNames();
      for (const d of daemons) expect(d.core.core.groupsLayer.groupNames(), d.ip).toEqual(names);
      for (const g of GROUPS) this.checkGroup(daemons, g, names.includes(g));
    }
  }

  private checkGroup(daemons: readonly SimDaemon[], g: string, present: boolean): void {
    const byDaemon = daemons.map((d) => this.live(d).filter((c) => this.joined.get(c)!.has(g)).map((c) => c.privateGroup).sort());
    const expected = byDaemon.flat();
    const first = daemons[0]!.core.core.groupsLayer;
    expect(first.members(g), g).toEqual(expected);
    expect(present).toBe(expected.length > 0);
    for (const d of daemons) expect(d.core.core.groupsLayer.members(g)).toEqual(expected);
    if (expected.length === 0) return;
    const id = first.groupId(g)!;
    daemons.forEach((d, k) => {
      expect(d.core.core.groupsLayer.groupId(g)).toEqual(id);
      expect(d.core.core.groupsLayer.localMembers(g).slice().sort()).toEqual(byDaemon[k]);
      for (const c of this.live(d).filter((x) => this.joined.get(x)!.has(g))) {
        const last = c.received.filter((f) => f.header.name === g && (f.header.type & ServiceType.MEMBERSHIP_MESS) !== 0).at(-1);
        expect(last, `${c.privateGroup} in ${g}`).toBeDefined();
        expect(last!.header.type & ServiceType.REG_MEMB_MESS).toBeTruthy();
        expect(last!.groups).toEqual(expected);
        const body = decodeMembershipBody(last!.data, 0, last!.data.length, true).value;
        expect(body.groupId).toEqual({ procId: id.ringId.procId, time: id.ringId.time, index: id.index });
        if (last!.header.type & ServiceType.CAUSED_BY_NETWORK) {
          expect(body.vsSets[body.myVsSet]).toContain(c.privateGroup);
          expect(body.vsSets.flat().sort()).toEqual([...expected].sort());
        }
      }
    });
  }
}

describe('the groups layer in whole daemons', () => {
  it.each([1, 2, 3])('random clients, partitions, crashes and restarts (seed %i): the daemons agree', (seed) => {
    const w = new World(seed);
    for (let k = 0; k < 40; k++) {
      w.step();
      w.check();
    }
    expect(checkEvs(w.sim)).toEqual([]);
    expect(w.sim.violations).toEqual([]);
  });
});
