/**
 * The membership timers (SPEC.md Part VI §3, §3.1): deadlines kept here, every change reported
 * to the edge once per input, and what is due (zero timeouts included) picked in deadline order,
 * ties in arming order — how the reference's event loop runs them.
 */
import { MembershipTimer, type MembershipTimerAction } from './actions.js';

const TIMER_NAMES = Object.values(MembershipTimer);

export class MembershipTimers {
  private readonly deadline = new Map<MembershipTimer, number>();
  private readonly armedAt = new Map<MembershipTimer, number>();
  private readonly dirty = new Set<MembershipTimer>();
  private armCounter = 0;

  /** Deadline of an armed timer, or null. */
  deadlineOf(t: MembershipTimer): number | null {
    return this.deadline.get(t) ?? null;
  }

  arm(t: MembershipTimer, at: number): void {
    this.deadline.set(t, at);
    this.armedAt.set(t, ++this.armCounter);
    this.dirty.add(t);
  }

  cancel(t: MembershipTimer): void {
    if (!this.deadline.has(t)) return;
    this.deadline.delete(t);
    this.dirty.add(t);
  }

  /** The timer is firing: no longer armed (a change the edge hears about). */
  disarm(t: MembershipTimer): void {
    this.deadline.delete(t);
    this.dirty.add(t);
  }

  /** The armed timer due at `now` with the earliest deadline (then the earliest arming), or null. */
  nextDue(now: number): MembershipTimer | null {
    let best: MembershipTimer | null = null;
    let bestAt = 0;
    for (const t of TIMER_NAMES) {
      const at = this.deadline.get(t);
      if (at === undefined || at > now) continue;
      if (best === null || at < bestAt || (at === bestAt && this.armedAt.get(t)! < this.armedAt.get(best)!)) {
        best = t;
        bestAt = at;
      }
    }
    return best;
  }

  /** A `timer` action for every timer armed, cancelled or fired since the last call. */
  changes(): MembershipTimerAction[] {
    const out: MembershipTimerAction[] = [];
    for (const t of this.dirty) out.push({ kind: 'timer', timer: t, at: this.deadlineOf(t) });
    this.dirty.clear();
    return out;
  }
}
