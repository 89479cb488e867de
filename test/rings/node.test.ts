/**
 * DaemonNode (ring engine + membership + ordering) with its DaemonCore, on the simulator's
 * whole-daemon mode (src/sim/daemons.ts): start-up,
 * formation of one ring, one order, a crash, a restart and merge, the configuration barrier,
 * the status reply, and that draining without news produces no work.
 */
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/wire/client/constants.js';
import { MONITOR_HASH, MONITOR_MAGIC, PacketType } from '../../src/wire/daemon/constants.js';
import { decodeDatagram, encodeDatagram } from '../../src/wire/daemon/datagram.js';
import { clientMessage, DaemonSim, simConfig, type LogEntry, type SimDaemon } from '../../src/sim/daemons.js';

/** A daemon's log as lines: `transitional|regular PROCID:TIME [members]`, `message SENDER TEXT`. */
function lines(d: SimDaemon): string[] {
  const text = (e: LogEntry): string =>
    e.kind === 'deliver' ? `message ${e.sender} ${e.text}` : `${e.kind} ${e.ringId.procId}:${e.ringId.time} [${e.members.join(',')}]`;
  return d.log.map(text);
}

function regulars(log: readonly string[]): string[] {
  return log.filter((l) => l.startsWith('regular'));
}

function messages(log: readonly string[]): string[] {
  return log.filter((l) => l.startsWith('message'));
}

describe('DaemonNode', () => {
  it('alone: a singleton ring Seg + Gather timeouts after start, announced once', () => {
    const sim = new DaemonSim(simConfig(1), { seed: 1, epoch: 1_800_000_000 });
    sim.start(0);
    sim.run(1700);
    expect(lines(sim.daemons[0]!)).toEqual([]);
    sim.run(2000);
    const d = sim.daemons[0]!;
    expect(lines(d)).toEqual([`transitional ${d.id}:1800000002 [${d.id}]`, `regular ${d.id}:1800000003 [${d.id}]`]);
    const conf = d.reports.filter((a) => a.kind === 'configuration');
    expect(conf).toHaveLength(1);
    expect(conf[0]).toMatchObject({ kind: 'configuration', first: true, members: [d.id] });
    // Nothing new: draining again yields no work (no spinning on pending ordering events).
    d.node.drain(sim.now);
    expect(d.node.takeActions()).toEqual([]);
  });

  it('three daemons started together form one ring, and deliver one order', () => {
    const sim = new DaemonSim(simConfig(3));
    for (let i = 0; i < 3; i++) sim.start(i);
    expect(sim.runUntilTrue(() => sim.daemons.every((d) => regulars(lines(d)).some((r) => r.endsWith(`[${sim.daemons.map((x) => x.id).join(',')}]`))), 5000)).toBe(true);
    const rings = sim.daemons.map((d) => regulars(lines(d)).at(-1));
    expect(new Set(rings).size).toBe(1);
    for (let k = 0; k < 30; k++) {
      for (let i = 0; i < 3; i++) sim.submit(i, clientMessage(`#c${i}#n${i}`, `m${i}.${k}`, k % 3 === 2 ? ServiceType.SAFE_MESS : ServiceType.AGREED_MESS));
    }
    expect(sim.runUntilTrue(() => sim.daemons.every((d) => messages(lines(d)).length === 90), 5000)).toBe(true);
    const order = messages(lines(sim.daemons[0]!));
    for (const d of sim.daemons) expect(messages(lines(d))).toEqual(order);
    // FIFO per sender.
    for (let i = 0; i < 3; i++) {
      const mine = order.filter((l) => l.includes(`#c${i}#n${i}`)).map((l) => Number(l.split('.').at(-1)));
      expect(mine).toEqual(Array.from({ length: 30 }, (_, k) => k));
    }
  });

  it.each([1, 2, 3])('5 % datagram loss (seed %i): every message everywhere, one order of the AGREED and SAFE ones', (seed) => {
    const sim = new DaemonSim(simConfig(3), { seed, network: { loss: 0.05 } });
    for (let i = 0; i < 3; i++) sim.start(i);
    const ids = sim.daemons.map((d) => d.id);
    expect(sim.runUntilTrue(() => sim.daemons.every((d) => regulars(lines(d)).at(-1)?.endsWith(`[${ids.join(',')}]`) === true), 20_000)).toBe(true);
    const service = (k: number): number => (k % 3 === 0 ? ServiceType.RELIABLE_MESS : k % 3 === 1 ? ServiceType.AGREED_MESS : ServiceType.SAFE_MESS);
    for (let k = 0; k < 200; k++) for (let i = 0; i < 3; i++) sim.submit(i, clientMessage(`#c${i}#n${i}`, `m${i}.${k}.${service(k)}`, service(k)));
    expect(sim.runUntilTrue(() => sim.daemons.every((d) => messages(lines(d)).length === 600), 60_000)).toBe(true);
    expect(sim.dropped).toBeGreaterThan(0);
    const ordered = (log: readonly string[]): string[] => messages(log).filter((l) => !l.endsWith(`.${ServiceType.RELIABLE_MESS}`));
    const first = ordered(lines(sim.daemons[0]!));
    for (const d of sim.daemons) {
      expect(new Set(messages(lines(d))).size).toBe(600);
      expect(ordered(lines(d))).toEqual(first);
    }
  });

  it('a crash: the others install a ring without it after a transitional configuration; a restart merges back', () => {
    const sim = new DaemonSim(simConfig(3));
    for (let i = 0; i < 3; i++) sim.start(i);
    const ids = sim.daemons.map((d) => d.id);
    expect(sim.runUntilTrue(() => sim.daemons.every((d) => regulars(lines(d)).at(-1)?.endsWith(`[${ids.join(',')}]`) === true), 5000)).toBe(true);
    const before = sim.daemons.map((d) => lines(d).length);
    sim.crash(1);
    const two = `[${ids[0]},${ids[2]}]`;
    expect(sim.runUntilTrue(() => [0, 2].every((i) => regulars(lines(sim.daemons[i]!)).at(-1)?.endsWith(two) === true), 10_000)).toBe(true);
    const after0 = lines(sim.daemons[0]!).slice(before[0]);
    const after2 = lines(sim.daemons[2]!).slice(before[2]);
    expect(after0).toEqual(after2);
    expect(after0[0]).toMatch(new RegExp(`^transitional .* ${two.replace(/[[\]]/g, '\\$&')}$`));
    sim.restart(1);
    expect(sim.runUntilTrue(() => sim.daemons.every((d) => regulars(lines(d)).at(-1)?.endsWith(`[${ids.join(',')}]`) === true), 10_000)).toBe(true);
    expect(new Set(sim.daemons.map((d) => regulars(lines(d)).at(-1))).size).toBe(1);
  });

  it('configuration barrier: client messages wait in the engine until the regular configuration is polled', () => {
    const sim = new DaemonSim(simConfig(1));
    const d = sim.daemons[0]!;
    d.alive = true;
    d.node.start(0);
    // Drive the node without polling its ordering (the core is "busy").
    const actions = (): void => {
      for (const a of d.node.takeActions()) {
        if (a.kind === 'timer' && a.at !== null) {
          const at = a.at;
          sim.at(at, () => {
            d.node.timer(a.timer, sim.now);
            actions();
          });
        } else if (a.kind === 'send' && a.to === 'proc' && a.target === d.id) {
          const bytes = a.bytes.slice();
          sim.at(sim.now + 0.1, () => {
            d.node.datagram(a.channel, bytes, sim.now);
            actions();
          });
        }
      }
    };
    actions();
    sim.run(2000);
    expect(d.node.ordering.ringId).not.toBeNull();
    expect(d.node.engine.downQueue).toBe('groups');
    d.node.ordering.submit(clientMessage('#c#n0', 'early'), sim.now);
    expect(d.node.engine.queuedMessages).toBe(1);
    expect(d.node.engine.queueLength).toBe(0);
    const polled: string[] = [];
    for (let ev = d.node.ordering.poll(sim.now); ev !== null; ev = d.node.ordering.poll(sim.now)) polled.push(ev.kind);
    expect(polled).toEqual(['transitional', 'regular']);
    expect(d.node.engine.downQueue).toBe('normal');
    expect(d.node.engine.queueLength).toBe(1);
  });

  it('answers a monitor\'s STATUS request with the 96-byte status, to the monitor\'s port', () => {
    const sim = new DaemonSim(simConfig(2));
    sim.start(0);
    sim.start(1);
    sim.run(3000);
    const d = sim.daemons[0]!;
    const req = encodeDatagram({
      kind: 'status-request', littleEndian: true,
      header: {
        type: PacketType.STATUS, transmitterId: 0, procId: sim.daemons[1]!.id, membId: { procId: MONITOR_MAGIC, time: 0 }, seq: 26543,
        tokenRound: 0, confHash: MONITOR_HASH, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0,
      },
    });
    d.node.datagram('data', req, sim.now);
    const raw = d.node.takeActions().filter((a) => a.kind === 'send-raw');
    expect(raw).toHaveLength(1);
    const r = raw[0]!;
    if (r.kind !== 'send-raw') throw new Error('not a raw send');
    expect([r.address, r.port, r.bytes.length]).toEqual([sim.daemons[1]!.id, 26543, 136]);
    const reply = decodeDatagram(r.bytes, 'data');
    expect(reply.kind).toBe('status-reply');
    if (reply.kind !== 'status-reply') return;
    expect(reply.header).toMatchObject({ procId: d.id, transmitterId: 0, confHash: 0 });
    expect(reply.status).toMatchObject({
      state: 1, myId: d.id, leaderId: d.id, numProcs: 2, numSegments: 2, membershipChanges: 1,
      window: 160, personalWindow: 20, acceleratedWindow: 15, acceleratedRing: 0, majorVersion: 4, minorVersion: 4, patchVersion: 0,
    });
    // Not from a monitor (no magic): ignored.
    const bad = req.slice();
    bad[12] = 0;
    d.node.datagram('data', bad, sim.now);
    expect(d.node.takeActions().filter((a) => a.kind === 'send-raw')).toEqual([]);
  });
});
