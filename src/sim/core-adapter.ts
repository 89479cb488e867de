/**
 * The client-facing DaemonCore of one simulated daemon (SPEC.md Part V §13, whole-daemon mode):
 * the one place the simulator speaks the core's API, so a change of that API touches this file
 * only.
 *
 * The core reads the node's ordering through a recording view: every event the core polls
 * (configurations and messages, in the order the core consumed them) is reported to `onEvent`,
 * which builds the daemon's log for the EVS checks. Client connections (client.ts) are the
 * core's: their output is pulled as the core asks, and a close it asks for is carried out at
 * once. Its ordering requests are carried out at once too (the simulator is never inside the
 * core when it asks); pausing and resuming the reading of clients is not modelled.
 */
import { DaemonCore, type CoreLog } from '../daemon/core/daemon-core.js';
import type { GroupsControl, Ordering, OrderingEvent } from '../daemon/core/ordering.js';
import type { DaemonRef } from '../daemon/core/types.js';
import type { RingOrdering } from '../daemon/node/ring-ordering.js';

export interface SimCoreOptions {
  readonly daemon: DaemonRef;
  readonly daemons: readonly DaemonRef[];
  readonly ordering: RingOrdering;
  readonly random: () => number;
  readonly log: CoreLog;
  readonly onEvent: (ev: OrderingEvent) => void;
  /** Bytes for a client connection. */
  readonly onOutput: (conn: number, bytes: Uint8Array) => void;
  /** The core closed a connection (after its last output). */
  readonly onClose: (conn: number) => void;
}

export class SimCore {
  readonly core: DaemonCore;

  constructor(private readonly o: SimCoreOptions) {
    const inner = o.ordering;
    const recorded: Ordering & GroupsControl = {
      get ringId() {
        return inner.ringId;
      },
      get backlog() {
        return inner.backlog;
      },
      get backlogBytes() {
        return inner.backlogBytes;
      },
      submit: (m, now) => inner.submit(m, now),
      poll: (now) => {
        const ev = inner.poll(now);
        if (ev !== null) o.onEvent(ev);
        return ev;
      },
      submitGroups: (m, now) => inner.submitGroups(m, now),
      setDownQueue: (q, now) => inner.setDownQueue(q, now),
      setDeliveryLevel: (l) => inner.setDeliveryLevel(l),
    };
    this.core = new DaemonCore({
      daemon: o.daemon, daemons: o.daemons, ordering: recorded, authPolicy: { allowed: ['NULL'], required: [], ipRules: null },
      random: o.random, log: o.log,
    });
  }

  /** The node's ordering has events. */
  orderingReady(): void {
    this.core.orderingReady();
  }

  /** Carries out what the core asked for, until it is quiet; returns whether it asked anything. */
  run(now: number): boolean {
    let any = false;
    for (let actions = this.core.takeActions(); actions.length > 0; actions = this.core.takeActions()) {
      any = true;
      for (const a of actions) {
        if (a.kind === 'ordering-ready') this.core.processOrdering(now);
        else if (a.kind === 'transmit') this.pull(a.conn);
        else if (a.kind === 'close') {
          if (a.flush) this.pull(a.conn);
          this.core.disconnected(a.conn, now, 'closed by daemon');
          this.o.onClose(a.conn);
        }
      }
    }
    return any;
  }

  /** A client connected over TCP from `address`. */
  connect(conn: number, address: number, now: number): void {
    this.core.connect(conn, { transport: 'tcp', address: address >>> 0 }, now);
  }

  /** Bytes from a client. */
  receive(conn: number, bytes: Uint8Array, now: number): void {
    this.core.receive(conn, bytes, now);
  }

  /** The client went away. */
  disconnected(conn: number, now: number): void {
    this.core.disconnected(conn, now, 'EOF');
  }

  private pull(conn: number): void {
    for (let b = this.core.pollTransmit(conn); b !== null; b = this.core.pollTransmit(conn)) this.o.onOutput(conn, b);
  }

  /** When the core next wants checkDeadlines() (null: never). */
  nextDeadline(): number | null {
    return this.core.nextDeadline();
  }

  checkDeadlines(now: number): void {
    this.core.checkDeadlines(now);
  }

  get groups(): number {
    return this.core.groupsLayer.size;
  }
}
