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
