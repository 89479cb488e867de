/**
 * The ordering layer seen from the sessions and groups (SPEC.md Part VIII §1): messages go in
 * with submit() and come back, in the one agreed order every daemon of the ring sees, from
 * poll(). Ring membership changes come back through poll() too, in order with the messages.
 * Like the other machines, it takes the time with every input that may act on it.
 *
 * Two interfaces: Ordering (messages in and ordered events out) and GroupsControl (the groups
 * layer's controls: GROUPS messages on their own down queue, which queue the ring takes new
 * messages from, the delivery threshold). The core needs both; two implementations have both:
 * the single-daemon LocalRing below (unit tests and tools), and the token ring with membership
 * (src/daemon/node/ring-ordering.ts).
 */
import type { RingId } from '../../wire/daemon/header.js';
import type { RingMessage } from './frames.js';

export type OrderingEvent =
  /**
   * The transitional configuration of the ring being left (Memb_transitional): the daemons that
   * go on together, configuration order, and the transitional membership id. The messages that
   * follow it up to the next `regular` belong to the old ring.
   */
  | { readonly kind: 'transitional'; readonly transId: RingId; readonly members: readonly number[] }
  /** A regular ring configuration was installed. `members` are proc ids in ring order. */
  | { readonly kind: 'regular'; readonly ringId: RingId; readonly members: readonly number[] }
  /** A message, in agreed order. */
  | { readonly kind: 'message'; readonly message: RingMessage }
  /** A GROUPS message (the groups layer's state exchange): the whole message in its sender's byte order. */
  | { readonly kind: 'groups'; readonly raw: Uint8Array };

export interface Ordering {
  /** The current regular ring id; null until the first ring is formed. */
  readonly ringId: RingId | null;
  /** Messages submitted here and not yet ordered (the reference's down queue). */
  readonly backlog: number;
  /** Their bytes. */
  readonly backlogBytes: number;
  /** Queues a message from a local session, or a KILL the daemon makes, for ordering. */
  submit(message: RingMessage, now: number): void;
  /** The next ordered event, or null when there is none right now. */
  poll(now: number): OrderingEvent | null;
}

/**
 * What the groups layer lets the ordering deliver (the reference's delivery threshold as far as
 * the groups layer sets it): 'all' in GOP/GTRANS, 'agreed' while gathering (no RELIABLE fast
 * path: every message in ring order). Membership blocks delivery on its own during ring
 * changes; the groups layer never sets 'block'.
 */
export type DeliveryLevel = 'all' | 'agreed';

/** The down queues: client messages, and the groups layer's GROUPS messages. */
export type DownQueueName = 'normal' | 'groups';

/** The groups layer's controls over the ordering (the reference's Prot_* calls from groups.c). */
export interface GroupsControl {
  /** The groups layer's GROUPS message, on the GROUPS down queue. */
  submitGroups(message: RingMessage, now: number): void;
  /** Prot_set_down_queue: which queue the ring takes new messages from. */
  setDownQueue(queue: DownQueueName, now: number): void;
  /** Prot_set_delivery_threshold as the groups layer sets it. */
  setDeliveryLevel(level: DeliveryLevel): void;
}

/** A FIFO with O(1) push/shift that compacts itself. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export interface LocalRingOptions {
  /** This daemon's proc id. */
  readonly procId: number;
  /** Wall-clock seconds used as the ring's membership time (the caller reads the clock). */
  readonly formationTime: number;
}

/**
 * A ring of one daemon: it forms at once, and orders every message in submission order,
 * whatever its service (UNRELIABLE … SAFE are all delivered in that single order). It never
 * changes, so the groups layer never gathers on it; its controls still do what they say: the
 * GROUPS queue is a second queue, and poll() takes from the one set last. The delivery level
 * has nothing to hold back in a single order.
 */
export class LocalRing implements Ordering, GroupsControl {
  private readonly queues: Record<DownQueueName, Fifo<RingMessage>> = { normal: new Fifo(), groups: new Fifo() };
  private downQueue: DownQueueName = 'normal';
  private current: RingId | null = null;
  private announce: OrderingEvent | null = null;
  private queuedBytes = 0;

  constructor(private readonly options: LocalRingOptions) {}

  get ringId(): RingId | null {
    return this.current;
  }

  get backlog(): number {
    return this.queues.normal.length + this.queues.groups.length;
  }

  get backlogBytes(): number {
    return this.queuedBytes;
  }

  /** Forms the ring: the next event poll() returns is its regular configuration. */
  start(): void {
    if (this.current !== null) return;
    this.current = { procId: this.options.procId | 0, time: this.options.formationTime | 0 };
    this.announce = { kind: 'regular', ringId: this.current, members: [this.options.procId | 0] };
  }

  submit(message: RingMessage): void {
    this.queues.normal.push(message);
    this.queuedBytes += message.frame.length;
  }

  submitGroups(message: RingMessage): void {
    this.queues.groups.push(message);
    this.queuedBytes += message.frame.length;
  }

  setDownQueue(queue: DownQueueName): void {
    this.downQueue = queue;
  }

  /** One daemon, one order: no fast path to hold back, whatever the level. */
  setDeliveryLevel(_level: DeliveryLevel): void {}

  poll(): OrderingEvent | null {
    // Messages submitted before start() wait for the ring, as with the reference.
    if (this.current === null) return null;
    if (this.announce !== null) {
      const ev = this.announce;
      this.announce = null;
      return ev;
    }
    const message = this.queues[this.downQueue].shift();
    if (message === undefined) return null;
    this.queuedBytes -= message.frame.length;
    return this.downQueue === 'groups' ? { kind: 'groups', raw: message.frame } : { kind: 'message', message };
  }
}
