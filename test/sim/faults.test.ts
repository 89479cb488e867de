/**
 * The fault sweep (src/sim/fault-*.ts, SPEC.md Part V §13.2): a CI-sized run of seeded
 * schedules — crashes, restarts aimed at GATHER / FORM / EVS, overlapping partitions and
 * heals, loss bursts, duplication, reordering, delay spikes, paused daemons — with clients
 * joining, leaving and sending every service; EVS must hold at the daemons and the clients.
 * Then: the client checker catches a lost and a reordered delivery; the shrinker
 * keeps only what a failure needs; the network and pause faults do what they say.
 */
import { describe, expect, it } from 'vitest';
import { randomSchedule, type FaultSchedule } from '../../src/sim/fault-schedule.js';
import { runFaultSchedule, shrinkSchedule } from '../../src/sim/fault-run.js';
import { ServiceType } from '../../src/wire/client/constants.js';
import type { WireMessage } from '../../src/wire/client/message.js';

const isData = (f: WireMessage): boolean => (f.header.type & (ServiceType.MEMBERSHIP_MESS | ServiceType.REJECT_MESS)) === 0;

describe('the fault sweep', () => {
  for (const from of [1, 51, 101]) {
    it(`seeds ${from}..${from + 49}: EVS at the daemons and the clients`, () => {
      const failed: string[] = [];
      let frames = 0;
      for (let seed = from; seed < from + 50; seed++) {
        const r = runFaultSchedule(randomSchedule(seed));
        frames += r.deliveries;
        if (!r.ok) failed.push(`seed ${seed}: ${r.failures.slice(0, 3).join('; ')}`);
      }
      expect(failed).toEqual([]);
      expect(frames).toBeGreaterThan(5000);
    }, 180_000);
  }

  it('draws every fault kind and every service over a few seeds', () => {
    const kinds = new Set<string>();
    const services = new Set<number>();
    for (let seed = 1; seed <= 30; seed++) {
      for (const s of randomSchedule(seed).steps) {
        kinds.add(s.kind === 'restart-in' ? `restart-in ${s.state}` : s.kind);
        if (s.kind === 'send') services.add(s.service);
      }
    }
    expect([...kinds].sort()).toEqual(['burst', 'crash', 'disconnect', 'heal', 'join', 'leave', 'partition', 'pause',
      'restart-in EVS', 'restart-in FORM', 'restart-in GATHER', 'send', 'spike', 'start']);
    expect(services.size).toBe(6);
  });
});

describe('the client checker', () => {
  const schedule = randomSchedule(3);

  it('passes the untouched run', () => {
    expect(runFaultSchedule(schedule).failures).toEqual([]);
  });

  it('catches a message lost at one client, and two delivered out of order', () => {
    const lost = runFaultSchedule(schedule, (_sim, records) => {
      const rec = records.find((r) => r.client.state === 'op' && r.sent.some((m) => m.member && m.service !== ServiceType.UNRELIABLE_MESS))!;
      const mine = rec.sent.find((m) => m.member && m.service !== ServiceType.UNRELIABLE_MESS)!.text;
      const k = rec.client.received.findIndex((f) => isData(f) && Buffer.from(f.data).toString() === mine);
      rec.client.received.splice(k, 1);
    });
    expect(lost.failures.join('\n')).toMatch(/never received its own/);
    const swapped = runFaultSchedule(schedule, (_sim, records) => {
      const rec = records.find((r) => r.client.received.filter((f) => isData(f) && (f.header.type & 0x3f) >= ServiceType.FIFO_MESS).length > 2)!;
      const ks = rec.client.received.flatMap((f, k) => (isData(f) && (f.header.type & 0x3f) >= ServiceType.FIFO_MESS ? [k] : []));
      const r = rec.client.received;
      [r[ks[0]!], r[ks[1]!]] = [r[ks[1]!]!, r[ks[0]!]!];
    });
    expect(swapped.failures.join('\n')).toMatch(/different orders|after a later message|different messages/);
  });
});

describe('shrinking and replay', () => {
  it('keeps only the steps a failure needs, and a schedule replays exactly', () => {
    const s = randomSchedule(7);
    const crashes = s.steps.filter((x) => x.kind === 'pause').length;
    expect(crashes).toBeGreaterThan(0);
    const small = shrinkSchedule(s, 1000, (x) => x.steps.some((y) => y.kind === 'pause'));
    expect(small.steps.map((x) => x.kind)).toEqual(['pause']);
    const replayed: FaultSchedule = JSON.parse(JSON.stringify(s)) as FaultSchedule;
    const a = runFaultSchedule(s);
    const b = runFaultSchedule(replayed);
    expect(b).toEqual(a);
  });
});
