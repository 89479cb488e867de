/**
 * The daemon's timers over Node's (SPEC.md Part VIII §2): one setTimeout per node timer, and
 * one for the core's next deadline.
 *
 * Deadlines move later all the time (every packet of my ring re-arms the token-loss timer), so
 * a later deadline keeps the pending setTimeout, which re-schedules itself when it finds the
 * deadline moved; only an earlier deadline or a cancel touches Node's timer queue. A firing is
 * passed on at no earlier than its deadline: Node's timer clock and `performance.now()` may
 * differ by a fraction of a millisecond, and an early firing the machines ignore would lose the
 * timer for good.
 */
import { nodeTimerKey, type NodeTimer } from '../node/node.js';

interface Pending {
  timer: NodeTimer;
  deadline: number;
  firesAt: number;
  handle: NodeJS.Timeout;
}

export class NodeTimers {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly clock: () => number,
    /** A timer is due: `at` is max(now, its deadline). */
    private readonly fire: (timer: NodeTimer, at: number) => void,
  ) {}

  /** Moves `timer` to `at` (ms on the clock), or cancels it (null). */
  arm(timer: NodeTimer, at: number | null): void {
    const key = nodeTimerKey(timer);
    const t = this.pending.get(key);
    if (at === null || this.closed) {
      if (t !== undefined) clearTimeout(t.handle);
      this.pending.delete(key);
      return;
    }
    if (t !== undefined && t.firesAt <= at) {
      t.deadline = at;
      return;
    }
    if (t !== undefined) clearTimeout(t.handle);
    this.schedule(key, timer, at);
  }

  close(): void {
    this.closed = true;
    for (const t of this.pending.values()) clearTimeout(t.handle);
    this.pending.clear();
  }

  private schedule(key: string, timer: NodeTimer, deadline: number): void {
    const delay = Math.max(0, Math.ceil(deadline - this.clock()));
    const entry: Pending = { timer, deadline, firesAt: deadline, handle: setTimeout(() => this.due(key, entry), delay) };
    this.pending.set(key, entry);
  }

  private due(key: string, entry: Pending): void {
    if (this.pending.get(key) !== entry || this.closed) return;
    const now = this.clock();
    // Not due yet (moved later meanwhile, or this clock is a fraction of a millisecond behind
    // Node's timer clock): look again at the deadline.
    if (entry.deadline > now + 1) {
      this.schedule(key, entry.timer, entry.deadline);
      return;
    }
    this.pending.delete(key);
    this.fire(entry.timer, Math.max(now, entry.deadline));
  }
}

/** The core's next deadline (connect timeouts, slow readers) as one setTimeout. */
export class CoreDeadline {
  private handle: NodeJS.Timeout | null = null;
  private at: number | null = null;

  constructor(
    private readonly clock: () => number,
    private readonly fire: () => void,
  ) {}

  /** Fires at `next` (null: nothing due); an earlier pending firing is kept. */
  arm(next: number | null): void {
    if (next === null) {
      this.close();
      return;
    }
    if (this.at !== null && this.at <= next) return;
    if (this.handle !== null) clearTimeout(this.handle);
    this.at = next;
    this.handle = setTimeout(() => {
      this.handle = null;
      this.at = null;
      this.fire();
    }, Math.max(0, next - this.clock()) + 1);
  }

  close(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
    this.at = null;
  }
}
