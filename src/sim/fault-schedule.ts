/**
 * The fault sweep's schedules (SPEC.md Part V §13.2): everything a run does, as plain data
 * drawn from one seed, so that a failing run prints a schedule that replays it exactly and can
 * be shrunk step by step (fault-run.ts).
 *
 * A schedule names daemons by configuration index and clients by slot (CLIENT_SLOTS per
 * daemon): a step acts on whatever connection holds that slot when it runs, and a step that
 * finds nothing to act on (a dead daemon, a closed slot) does nothing, so any subset of a
 * schedule's steps is again a valid schedule.
 */
import { ServiceType } from '../wire/client/constants.js';
import { randomSegments } from './daemon-scenario.js';
import { Prng } from './prng.js';

export const CLIENT_SLOTS = 2;
export const GROUPS = ['g0', 'g1', 'g2'] as const;

/** Membership states a restart can be aimed at (the daemon crashes on entering it). */
export type AimState = 'GATHER' | 'FORM' | 'EVS';

export const SERVICES = [
  ServiceType.UNRELIABLE_MESS, ServiceType.RELIABLE_MESS, ServiceType.FIFO_MESS,
  ServiceType.CAUSAL_MESS, ServiceType.AGREED_MESS, ServiceType.SAFE_MESS,
] as const;

export type FaultStep =
  | { t: number; kind: 'crash'; d: number }
  | { t: number; kind: 'start'; d: number }
  /** Crash `d` the first time (within 3 s of t) it enters `state`, start it again `after` ms later. */
  | { t: number; kind: 'restart-in'; d: number; state: AimState; after: number }
  /** Component index per daemon (a new partition replaces, and so overlaps, the old one). */
  | { t: number; kind: 'partition'; comps: number[] }
  | { t: number; kind: 'heal' }
  | { t: number; kind: 'pause'; d: number; ms: number }
  | { t: number; kind: 'spike'; ms: number; dur: number }
  | { t: number; kind: 'burst'; loss: number; dur: number }
  | { t: number; kind: 'join' | 'leave'; slot: number; g: number }
  | { t: number; kind: 'send'; slot: number; g: number; service: number; count: number }
  | { t: number; kind: 'disconnect'; slot: number };

export interface FaultSchedule {
  readonly seed: number;
  /** Daemons per segment. */
  readonly segments: readonly number[];
  readonly loss: number;
  readonly dup: number;
  readonly reorder: number;
  /** Steps in time order; after the last one everything heals, restarts and resumes. */
  readonly steps: readonly FaultStep[];
}

/** Which fault kinds a sweep draws (`--faults all` or a comma list). */
export const FAULT_KINDS = ['crash', 'restart', 'partition', 'loss', 'pause', 'spike'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function parseFaultKinds(v: string): FaultKind[] {
  if (v === 'all') return [...FAULT_KINDS];
  const kinds = v.split(',');
  for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault kind ${k} (${FAULT_KINDS.join(', ')}, all)`);
  return kinds as FaultKind[];
}

/** A random schedule: 2–5 daemons, 4–14 faults among client traffic over ~20–60 s. */
export function randomSchedule(seed: number, kinds: readonly FaultKind[] = FAULT_KINDS): FaultSchedule {
  const r = new Prng(seed ^ 0xfa0175);
  const n = r.int(2, 5);
  const segments = randomSegments(r, n);
  const lossy = kinds.includes('loss');
  const loss = lossy ? r.pick([0, 0, 0.01, 0.03]) : 0;
  const dup = lossy ? r.pick([0, 0.01, 0.03]) : 0;
  const reorder = lossy ? r.pick([0, 0.02, 0.1]) : 0;
  const steps: FaultStep[] = [];
  const slots = n * CLIENT_SLOTS;
  for (let s = 0; s < slots; s++) steps.push({ t: 1500 + r.float() * 1500, kind: 'join', slot: s, g: r.int(0, GROUPS.length - 1) });
  let t = 3500;
  const faults = r.int(4, 14);
  for (let k = 0; k < faults; k++) {
    t += 300 + r.float() * 3500;
    if (kinds.length > 0) steps.push(faultStep(r, r.pick(kinds), n, t));
    for (let c = r.int(1, 4); c > 0; c--) steps.push(clientStep(r, slots, t + r.float() * 3000));
  }
  steps.sort((a, b) => a.t - b.t);
  return { seed, segments, loss, dup, reorder, steps: steps.map((s) => ({ ...s, t: Math.round(s.t) })) };
}

function faultStep(r: Prng, kind: FaultKind, n: number, t: number): FaultStep {
  const d = r.int(0, n - 1);
  switch (kind) {
    case 'crash':
      return r.chance(0.5) ? { t, kind: 'crash', d } : { t, kind: 'start', d };
    case 'restart':
      return { t, kind: 'restart-in', d, state: r.pick(['GATHER', 'FORM', 'EVS'] as const), after: r.int(0, 1500) };
    case 'partition':
      return r.chance(0.3) ? { t, kind: 'heal' } : { t, kind: 'partition', comps: Array.from({ length: n }, () => r.int(0, 2)) };
    case 'loss':
      return { t, kind: 'burst', loss: r.pick([0.05, 0.2, 0.5]), dur: r.int(200, 3000) };
    case 'pause':
      return { t, kind: 'pause', d, ms: r.pick([50, 300, 1500, 4000]) };
    case 'spike':
      return { t, kind: 'spike', ms: r.pick([5, 50, 400, 1500]), dur: r.int(100, 2000) };
  }
}

function clientStep(r: Prng, slots: number, t: number): FaultStep {
  const slot = r.int(0, slots - 1);
  const g = r.int(0, GROUPS.length - 1);
  const x = r.float();
  if (x < 0.2) return { t, kind: 'join', slot, g };
  if (x < 0.3) return { t, kind: 'leave', slot, g };
  if (x < 0.37) return { t, kind: 'disconnect', slot };
  return { t, kind: 'send', slot, g, service: r.pick(SERVICES), count: r.int(1, 20) };
}
