/**
 * DaemonCore over an ordering that, like the token ring, delivers on its own schedule: its
 * backlog (messages not yet sent) can be 0 while ordered events wait to be polled. A slow
 * reader's grace holds polling; when it ends the core must ask to be run again, or the waiting
 * events would stay there until something else happened (found under load in the daemon tests).
 */
import { describe, expect, it } from 'vitest';
import { DaemonCore, type CoreAction } from '../../src/daemon/core/daemon-core.js';
import { Fifo, type Ordering, type OrderingEvent } from '../../src/daemon/core/ordering.js';
import type { RingMessage } from '../../src/daemon/core/frames.js';
import { authReply, connectBytes, frame, LOCALHOST, T } from '../daemon/harness.js';

/** Holds submitted messages until `deliver()`; backlog counts only what was not delivered. */
class ScheduledOrdering implements Ordering {
  readonly ringId = { procId: LOCALHOST.procId, time: 1 };
  private readonly waiting: RingMessage[] = [];
  private readonly events = new Fifo<OrderingEvent>();
  constructor() {
    this.events.push({ kind: 'regular', ringId: this.ringId, members: [LOCALHOST.procId] });
  }
  get backlog(): number {
    return this.waiting.length;
  }
  get pending(): number {
    return this.events.length;
  }
  submit(message: RingMessage): void {
    this.waiting.push(message);
  }
  deliver(): void {
    for (const message of this.waiting.splice(0)) this.events.push({ kind: 'message', message });
  }
  poll(): OrderingEvent | null {
    return this.events.shift() ?? null;
  }
}

function login(core: DaemonCore, id: number, name: string): void {
  core.connect(id, { transport: 'tcp', address: 0x7f000001 });
  core.receive(id, connectBytes(name));
  core.receive(id, authReply());
}

describe('DaemonCore over a ring-like ordering', () => {
  it('asks to run the ordering again when a slow reader\'s grace ends, even with an empty backlog', () => {
    let now = 0;
    const ordering = new ScheduledOrdering();
    const core = new DaemonCore({
      daemon: LOCALHOST, daemons: [LOCALHOST], ordering, maxSessionMessages: 20, now: () => now,
      authPolicy: { allowed: ['NULL'], required: [], ipRules: null },
    });
    core.processOrdering();
    login(core, 1, 'slow');
    login(core, 2, 'flood');
    core.receive(1, frame({ type: T.JOIN, sender: '#slow#localhost', groups: ['g'] }));
    ordering.deliver();
    core.processOrdering();
    core.setBlocked(1, true); // the slow client stopped reading
    for (let i = 0; i < 30; i++) core.receive(2, frame({ type: T.FIFO, sender: '#flood#localhost', groups: ['g'], data: `m${i}` }));
    ordering.deliver();
    core.drainActions();
    core.processOrdering();
    expect(core.stats.slowReaders).toBe(1);
    expect(ordering.backlog).toBe(0);
    expect(ordering.pending).toBeGreaterThan(0); // held back by the slow reader
    core.drainActions();
    now += 1001;
    core.checkDeadlines();
    const actions: CoreAction[] = core.drainActions();
    expect(core.stats.slowReaders).toBe(0);
    expect(actions).toContainEqual({ type: 'ordering-ready' });
    core.processOrdering();
    expect(ordering.pending).toBe(0);
  });
});
