/**
 * The client-facing DaemonCore of one simulated daemon (SPEC.md Part V §13, whole-daemon mode):
 * the one place the simulator speaks the core's API, so a change of that API touches this file
 * only.
 *
 * The core reads the node's ordering through a recording view: every event the core polls
 * (configurations and messages, in the order the core consumed them) is reported to `onEvent`,
 * which builds the daemon's log for the EVS checks. The simulated daemons have no client
 * connections, so the core's connection actions never occur; its ordering requests are
 * carried out at once (the simulator is never inside the core when it asks).
 */
import { DaemonCore, type CoreLog } from '../daemon/core/daemon-core.js';
import type { Ordering, OrderingEvent } from '../daemon/core/ordering.js';
import type { DaemonRef } from '../daemon/core/types.js';
import type { RingOrdering } from '../daemon/node/ring-ordering.js';

export interface SimCoreOptions {
  readonly daemon: DaemonRef;
  readonly daemons: readonly DaemonRef[];
  readonly ordering: RingOrdering;
  readonly now: () => number;
  readonly random: () => number;
  readonly log: CoreLog;
  readonly onEvent: (ev: OrderingEvent) => void;
}

export class SimCore {
  readonly core: DaemonCore;

  constructor(o: SimCoreOptions) {
    const inner = o.ordering;
    const recorded: Ordering = {
      get ringId() {
        return inner.ringId;
      },
      get backlog() {
        return inner.backlog;
      },
      submit: (m) => inner.submit(m),
      poll: () => {
        const ev = inner.poll();
        if (ev !== null) o.onEvent(ev);
        return ev;
      },
      submitGroups: (m) => inner.submitGroups(m),
      setDownQueue: (q) => inner.setDownQueue(q),
      setDeliveryLevel: (l) => inner.setDeliveryLevel(l),
    };
    this.core = new DaemonCore({
      daemon: o.daemon, daemons: o.daemons, ordering: recorded, authPolicy: { allowed: ['NULL'], required: [], ipRules: null },
      now: o.now, random: o.random, log: o.log,
    });
  }

  /** The node's ordering has events. */
  orderingReady(): void {
    this.core.orderingReady();
  }

  /** Carries out what the core asked for, until it is quiet; returns whether it asked anything. */
  run(): boolean {
    let any = false;
    for (let actions = this.core.drainActions(); actions.length > 0; actions = this.core.drainActions()) {
      any = true;
      for (const a of actions) if (a.type === 'ordering-ready') this.core.processOrdering();
    }
    return any;
  }

  /** When the core next wants checkDeadlines() (null: never). */
  nextDeadline(): number | null {
    return this.core.nextDeadline();
  }

  checkDeadlines(): void {
    this.core.checkDeadlines();
  }

  get groups(): number {
    return this.core.groupsLayer.size;
  }
}
