/**
 * The fault sweep's runs (SPEC.md Part V §13.2): a schedule (fault-schedule.ts) played on whole
 * daemons (daemons.ts) with clients on every daemon, then everything heals, restarts and
 * resumes, and the run must show
 *   - one ring of every daemon within 120 s of virtual time (the time it took is reported; over
 *     10 s counts as slow, not as a failure);
 *   - extended virtual synchrony on the daemons' logs (evs.ts) and at the clients (client-evs.ts);
 *   - no ring protocol violation.
 * A failing schedule is shrunk (steps dropped one at a time while it still fails) and printed
 * as JSON that `--schedule` replays.
 */
import { ServiceType } from '../wire/client/constants.js';
import type { SimClient } from './client.js';
import { checkClients, type ClientRecord } from './client-evs.js';
import { segmentedSim } from './daemon-scenario.js';
import type { DaemonSim } from './daemons.js';
import { checkEvs, oneRing, settle } from './evs.js';
import { CLIENT_SLOTS, GROUPS, type FaultSchedule, type FaultStep } from './fault-schedule.js';

export interface FaultRunResult {
  readonly ok: boolean;
  readonly failures: readonly string[];
  /** Virtual ms from the final heal to one ring of every daemon (null: never within 120 s). */
  readonly convergeMs: number | null;
  readonly deliveries: number;
  readonly datagrams: number;
  readonly dropped: number;
}

const STATES = { GATHER: 4, FORM: 5, EVS: 6 } as const;
/**
 * One ring must form this long after the final heal: four LAN lookup periods. A merge can fail
 * the way the reference's does (SPEC.md Part V §13.2: a JOIN delayed past FORM2 is token loss in
 * EVS) and each failure waits for the next lookup (30 s).
 */
const CONVERGE_BOUND = 120_000;

class FaultWorld {
  readonly sim: DaemonSim;
  readonly all: string[];
  readonly records: ClientRecord[] = [];
  private readonly slots: (ClientRecord | null)[];
  private names = 0;
  private texts = 0;

  constructor(readonly s: FaultSchedule) {
    const { sim, all } = segmentedSim(s);
    this.sim = sim;
    this.all = all;
    this.slots = new Array<ClientRecord | null>(this.all.length * CLIENT_SLOTS).fill(null);
  }

  /** A live client in `slot` (connected now if needed) and when it can send (after its handshake). */
  private client(slot: number): { rec: ClientRecord; ready: number } | null {
    const rec = this.slots[slot] ?? null;
    if (rec !== null && rec.client.state !== 'closed') return { rec, ready: this.sim.now };
    const d = this.sim.daemon(Math.floor(slot / CLIENT_SLOTS) % this.all.length);
    if (!d.alive) return null;
    const fresh: ClientRecord = { client: this.sim.connect(d.index, `c${++this.names}`), sent: [], joined: new Set() };
    this.records.push(fresh);
    this.slots[slot] = fresh;
    return { rec: fresh, ready: this.sim.now + 2 };
  }

  private later(t: number, rec: ClientRecord, act: (c: SimClient) => void): void {
    this.sim.at(t, () => {
      if (rec.client.state === 'op') act(rec.client);
    });
  }

  clientStep(step: Extract<FaultStep, { slot: number }>): void {
    if (step.kind === 'disconnect') {
      const rec = this.slots[step.slot];
      if (rec !== null && rec !== undefined) this.sim.disconnect(rec.client);
      return;
    }
    const got = this.client(step.slot);
    if (got === null) return;
    const { rec, ready } = got;
    const g = GROUPS[step.g]!;
    if (step.kind === 'join') {
      return this.later(ready, rec, (c) => {
        c.join(g);
        rec.joined.add(g);
      });
    }
    if (step.kind === 'leave') return this.later(ready, rec, (c) => (c.leave(g), rec.joined.delete(g)));
    if (step.kind === 'send') this.send(rec, ready, g, step.service, step.count);
  }

  private send(rec: ClientRecord, from: number, g: string, service: number, count: number): void {
    for (let k = 0; k < count; k++) {
      this.later(from + k * 7, rec, (c) => {
        const text = `${c.privateGroup}:${++this.texts}`;
        rec.sent.push({ text, service, group: g, member: rec.joined.has(g) && inView(c, g) });
        c.multicast(service, [g], text);
      });
    }
  }

  faultStep(step: FaultStep): void {
    const sim = this.sim;
    switch (step.kind) {
      case 'crash':
        return sim.crash(step.d);
      case 'start':
        if (!sim.daemon(step.d).alive) sim.start(step.d);
        return;
      case 'restart-in':
        return this.aim(step.d, STATES[step.state], sim.now + 3000, step.after);
      case 'partition':
        return sim.partition(groupsOf(this.all, step.comps));
      case 'heal':
        return sim.partition(null);
      case 'pause':
        return sim.pause(step.d, step.ms);
      case 'spike':
        sim.network.extraDelay = step.ms;
        return sim.at(sim.now + step.dur, () => void (sim.network.extraDelay = 0));
      case 'burst':
        sim.network.extraLoss = step.loss;
        return sim.at(sim.now + step.dur, () => void (sim.network.extraLoss = 0));
      default:
        return this.clientStep(step);
    }
  }

  /** Crashes daemon `d` when it enters membership state `state` (polled every ms until `until`), restarts it `after` ms later. */
  private aim(d: number, state: number, until: number, after: number): void {
    const x = this.sim.daemon(d);
    if (!x.alive || this.sim.now > until) return;
    if (x.pausedUntil <= this.sim.now && x.node.membership.status().state === state) {
      this.sim.crash(d);
      this.sim.start(d, this.sim.now + after);
      return;
    }
    this.sim.at(this.sim.now + 1, () => this.aim(d, state, until, after));
  }

  /** Heals everything at `t`; returns the ms until one ring of every daemon (null: not within the bound). */
  healAll(t: number): number | null {
    const sim = this.sim;
    sim.run(t);
    sim.partition(null);
    sim.network.extraDelay = 0;
    sim.network.extraLoss = 0;
    for (const d of sim.daemons) {
      d.pausedUntil = Math.min(d.pausedUntil, t);
      if (!d.alive) sim.start(d.index);
    }
    return oneRing(sim, this.all.length, t + CONVERGE_BOUND) === null ? sim.now - t : null;
  }

  /** Every surviving client sends SAFE messages to the groups it is in; then the run goes quiet. */
  finalTraffic(): void {
    for (const rec of this.records) {
      if (rec.client.state !== 'op') continue;
      for (const g of rec.joined) this.send(rec, this.sim.now, g, ServiceType.SAFE_MESS, 3);
    }
    this.sim.run(this.sim.now + 10_000);
  }
}

/** Whether the client's last notice for group `g` is a view it is in (its join took effect). */
function inView(c: SimClient, g: string): boolean {
  for (let i = c.received.length - 1; i >= 0; i--) {
    const f = c.received[i]!;
    if (f.header.name !== g || (f.header.type & ServiceType.MEMBERSHIP_MESS) === 0 || (f.header.type & ServiceType.REJECT_MESS) !== 0) continue;
    if ((f.header.type & ServiceType.TRANSITION_MESS) !== 0) continue;
    return (f.header.type & ServiceType.REG_MEMB_MESS) !== 0;
  }
  return false;
}

function groupsOf(all: readonly string[], comps: readonly number[]): string[][] {
  const out: string[][] = [];
  all.forEach((ip, i) => (out[comps[i] ?? 0] ??= []).push(ip));
  return out.filter((c) => c !== undefined);
}

/** Plays a schedule; `inspect` sees the simulator and the clients' records before the checks. */
export function runFaultSchedule(s: FaultSchedule, inspect?: (sim: DaemonSim, records: ClientRecord[]) => void): FaultRunResult {
  const w = new FaultWorld(s);
  const sim = w.sim;
  const r = sim.prng.fork();
  w.all.forEach((ip) => sim.start(ip, r.float() * 1000));
  for (const step of s.steps) sim.at(step.t, () => w.faultStep(step));
  const end = (s.steps.at(-1)?.t ?? 0) + 4000;
  const convergeMs = w.healAll(end);
  const failures: string[] = [];
  if (convergeMs === null) failures.push(`no single ring of all daemons ${CONVERGE_BOUND} ms after the final heal: ${JSON.stringify(settle(sim, sim.now))}`);
  else w.finalTraffic();
  inspect?.(sim, w.records);
  failures.push(...checkEvs(sim), ...sim.violations, ...checkClients(w.records, convergeMs !== null));
  const deliveries = w.records.reduce((n, c) => n + c.client.received.length, 0);
  return { ok: failures.length === 0, failures, convergeMs, deliveries, datagrams: sim.datagrams, dropped: sim.dropped };
}

/**
 * Drops steps one at a time (latest first) while the run still fails, at most `budget` runs;
 * returns the smallest failing schedule found.
 */
export function shrinkSchedule(s: FaultSchedule, budget = 300, fails = (x: FaultSchedule) => !runFaultSchedule(x).ok): FaultSchedule {
  let cur = s;
  let runs = 0;
  for (let progress = true; progress && runs < budget;) {
    progress = false;
    for (let i = cur.steps.length - 1; i >= 0 && runs < budget; i--) {
      const cand = { ...cur, steps: cur.steps.filter((_, k) => k !== i) };
      runs++;
      if (fails(cand)) {
        cur = cand;
        progress = true;
      }
    }
  }
  return cur;
}
