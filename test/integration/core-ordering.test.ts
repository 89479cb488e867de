/**
 * DaemonCore over an ordering that, like the token ring, delivers on its own schedule: its
 * backlog (messages not yet sent) can be 0 while ordered events wait to be polled. A slow
 * reader's grace holds polling; when it ends the core must ask to be run again, or the waiting
 * events would stay there until something else happened (found under load in the daemon tests).
 */
import { describe, expect, it } from 'vitest';
import { DaemonCore, type CoreAction } from '../../src/daemon/core/daemon-core.js';
import { Fifo, LocalRing, type DeliveryLevel, type DownQueueName, type GroupsControl, type Ordering, type OrderingEvent } from '../../src/daemon/core/ordering.js';
import type { RingMessage } from '../../src/daemon/core/frames.js';
import { authReply, connectBytes, frame, LOCALHOST, T } from '../daemon/harness.js';

/** A LocalRing whose ordered events reach the core only at `deliver()`; backlog counts what was not delivered. */
class ScheduledOrdering implements Ordering, GroupsControl {
  private readonly ring = new LocalRing({ procId: LOCALHOST.procId, formationTime: 1 });
  private readonly events = new Fifo<OrderingEvent>();
  constructor() {
    this.ring.start();
    this.deliver();
  }
  get ringId(): LocalRing['ringId'] {
    return this.ring.ringId;
  }
  get backlog(): number {
    return this.ring.backlog;
  }
  get backlogBytes(): number {
    return this.ring.backlogBytes;
  }
  get pending(): number {
    return this.events.length;
  }
  submit(message: RingMessage): void {
    this.ring.submit(message);
  }
  submitGroups(message: RingMessage): void {
    this.ring.submitGroups(message);
  }
  setDownQueue(queue: DownQueueName): void {
    this.ring.setDownQueue(queue);
  }
  setDeliveryLevel(level: DeliveryLevel): void {
    this.ring.setDeliveryLevel(level);
  }
  deliver(): void {
    for (let ev = this.ring.poll(); ev !== null; ev = this.ring.poll()) this.events.push(ev);
  }
  poll(): OrderingEvent | null {
    return this.events.shift() ?? null;
  }
}

function login(core: DaemonCore, id: number, name: string): void {
  core.connect(id, { transport: 'tcp', address: 0x7f000001 }, 0);
  core.receive(id, connectBytes(name), 0);
  core.receive(id, authReply(), 0);
}

describe('DaemonCore over a ring-like ordering', () => {
  it('asks to run the ordering again when a slow reader\'s grace ends, even with an empty backlog', () => {
    let now = 0;
    const ordering = new ScheduledOrdering();
    const core = new DaemonCore({
      daemon: LOCALHOST, daemons: [LOCALHOST], ordering, maxSessionMessages: 20,
      authPolicy: { allowed: ['NULL'], required: [], ipRules: null },
    });
    core.processOrdering(now);
    login(core, 1, 'slow');
    login(core, 2, 'flood');
    core.receive(1, frame({ type: T.JOIN, sender: '#slow#localhost', groups: ['g'] }), now);
    ordering.deliver();
    core.processOrdering(now);
    core.setBlocked(1, true); // the slow client stopped reading
    for (let i = 0; i < 30; i++) core.receive(2, frame({ type: T.FIFO, sender: '#flood#localhost', groups: ['g'], data: `m${i}` }), now);
    ordering.deliver();
    core.takeActions();
    core.processOrdering(now);
    expect(core.stats.slowReaders).toBe(1);
    expect(ordering.backlog).toBe(0);
    expect(ordering.pending).toBeGreaterThan(0); // held back by the slow reader
    core.takeActions();
    now += 1001;
    core.checkDeadlines(now);
    const actions: readonly CoreAction[] = core.takeActions();
    expect(core.stats.slowReaders).toBe(0);
    expect(actions).toContainEqual({ kind: 'ordering-ready' });
    core.processOrdering(now);
    expect(ordering.pending).toBe(0);
  });
});
