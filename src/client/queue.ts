/**
 * A FIFO of received events bounded by count and by bytes. It only keeps books: the connection
 * decides what to do when it is full (stop reading the socket, signal the slow consumer).
 */
export interface QueueLimits {
  /** Full at this many events. */
  maxEvents: number;
  /** Full at this many frame bytes. */
  maxBytes: number;
}

/** A limit the caller gave (a whole number ≥ 1, rounded down), else `dflt`. */
export function positiveOr(v: number | undefined, dflt: number): number {
  return v !== undefined && Number.isFinite(v) && v >= 1 ? Math.floor(v) : dflt;
}

export class EventQueue<T> {
  private items: (T | undefined)[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytesHeld = 0;

  constructor(readonly limits: QueueLimits) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  get full(): boolean {
    return this.length >= this.limits.maxEvents || this.bytesHeld >= this.limits.maxBytes;
  }

  /** At or below half of both bounds: the point where a paused reader resumes. */
  get belowLowWater(): boolean {
    return this.length <= this.limits.maxEvents >>> 1 && this.bytesHeld <= this.limits.maxBytes / 2;
  }

  push(item: T, size: number): void {
    this.items.push(item);
    this.sizes.push(size);
    this.bytesHeld += size;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined;
    this.bytesHeld -= this.sizes[this.head]!;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.sizes = [];
    this.head = 0;
    this.bytesHeld = 0;
  }
}

interface Waiter<T> {
  resolve(item: T): void;
  reject(err: unknown): void;
}

/**
 * A bounded EventQueue with its readers: `push` hands an item to a waiting `receive()` or queues
 * it; `end(err)` lets readers take what is queued, then rejects them with `err`. Used for the
 * connection's queue and each subscription's.
 */
export class EventChannel<T> {
  private readonly queue: EventQueue<T>;
  private readonly waiters: Waiter<T>[] = [];
  private endError: { err: unknown } | undefined;

  /** `onConsume` runs after each item a reader takes from the queue (to resume a paused socket). */
  constructor(limits: QueueLimits, private readonly onConsume: () => void) {
    this.queue = new EventQueue(limits);
  }

  get length(): number {
    return this.queue.length;
  }

  get bytes(): number {
    return this.queue.bytes;
  }

  get full(): boolean {
    return this.queue.full;
  }

  get belowLowWater(): boolean {
    return this.queue.belowLowWater;
  }

  get ended(): boolean {
    return this.endError !== undefined;
  }

  push(item: T, size: number): void {
    const w = this.waiters.shift();
    if (w !== undefined) w.resolve(item);
    else this.queue.push(item, size);
  }

  /**
   * The next item; after end(err), queued items and then `err`. Aborting `signal` rejects with
   * the library's AbortError / TimeoutError (see `abortReason`) and loses no item.
   */
  receive(signal: AbortSignal | undefined, abortReason: (s: AbortSignal) => unknown): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    const item = this.queue.shift();
    if (item !== undefined) {
      this.onConsume();
      return Promise.resolve(item);
    }
    if (this.endError !== undefined) return Promise.reject(this.endError.err);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      const waiter: Waiter<T> = {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** The items in order; ends quietly when the end error satisfies `quiet`, else throws it. */
  async *iterate(quiet: (err: unknown) => boolean): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item: T;
      try {
        item = await this.receive(undefined, () => undefined);
      } catch (e) {
        if (quiet(e)) return;
        throw e;
      }
      yield item;
    }
  }

  /** No more items: waiting readers reject with `err` now, later ones after the queue. */
  end(err: unknown): void {
    if (this.endError !== undefined) return;
    this.endError = { err };
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  clear(): void {
    this.queue.clear();
  }
}
