/**
 * The ordering layer seen from the sessions and groups: messages go in with submit() and come
 * back, in the one agreed order every daemon of the ring sees, from poll(). Ring membership
 * changes come back through poll() too, in order with the messages.
 *
 * Two implementations: the single-daemon LocalRing below (unit tests and tools), and the
 * token ring with membership (src/daemon/node/ring-ordering.ts), which adds the groups layer's
 * controls (GROUPS messages, down queue, delivery threshold) and its own inputs on the side.
 */
import type { RingMessage } from './frames.js';
import type { DeliveryLevel } from './groups.js';
import type { RingId } from '../../wire/daemon/header.js';

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
  /** Queues a message from a local session, or a KILL the daemon makes, for ordering. */
  submit(message: RingMessage): void;
  /** The next ordered event, or null when there is none right now. */
  poll(): OrderingEvent | null;
  /** The groups layer's GROUPS message, on the GROUPS down queue (rings with membership only). */
  submitGroups?(message: RingMessage): void;
  /** Prot_set_down_queue: which queue the ring takes new messages from. */
  setDownQueue?(queue: 'normal' | 'groups'): void;
  /** Prot_set_delivery_threshold as the groups layer sets it. */
  setDeliveryLevel?(level: DeliveryLevel): void;
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
 * whatever its service (UNRELIABLE … SAFE are all delivered in that single order).
 */
export class LocalRing implements Ordering {
  private readonly queue = new Fifo<RingMessage>();
  private current: RingId | null = null;
  private announce: OrderingEvent | null = null;

  constructor(private readonly options: LocalRingOptions) {}

  get ringId(): RingId | null {
    return this.current;
  }

  get backlog(): number {
    return this.queue.length;
  }

  /** Forms the ring: the next event poll() returns is its regular configuration. */
  start(): void {
    if (this.current !== null) return;
    this.current = { procId: this.options.procId | 0, time: this.options.formationTime | 0 };
    this.announce = { kind: 'regular', ringId: this.current, members: [this.options.procId | 0] };
  }

  submit(message: RingMessage): void {
    this.queue.push(message);
  }

  poll(): OrderingEvent | null {
    // Messages submitted before start() wait for the ring, as with the reference.
    if (this.current === null) return null;
    if (this.announce !== null) {
      const ev = this.announce;
      this.announce = null;
      return ev;
    }
    const message = this.queue.shift();
    return message === undefined ? null : { kind: 'message', message };
  }
}
