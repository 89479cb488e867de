/**
 * Per-group subscriptions (README "Subscriptions"): `conn.subscribe(group)` gives an async
 * iterable of that group's messages and memberships with its own bounded queue. The router sends
 * each event to the subscriptions of the groups it concerns; events no subscription claims go to
 * the connection's own queue.
 */
import { abortReason } from './errors.js';
import type { SpreadError } from './errors.js';
import type { MembershipMessage, SpreadEvent, SpreadMessage } from './events.js';
import { EventChannel } from './queue.js';
import type { QueueLimits } from './queue.js';

/** What a subscription yields: its group's messages and memberships (reconnect notices included). */
export type SubscriptionEvent = SpreadMessage | MembershipMessage;

export interface SubscribeOptions {
  /** Join the group if the connection has not joined it (and leave it on unsubscribe). Default true. */
  join?: boolean | undefined;
  /** Queue bound in events. Default 10,000. */
  maxQueuedEvents?: number | undefined;
  /** Queue bound in frame bytes. Default 32 MiB. */
  maxQueuedBytes?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Unsubscribed: the iterator ends. */
const DONE = Symbol('unsubscribed');

export class Subscription implements AsyncIterable<SubscriptionEvent> {
  /** @internal */
  readonly channel: EventChannel<SubscriptionEvent>;
  /** @internal Whether subscribe() joined the group (unsubscribe() then leaves it). */
  joined = false;
  private closedByUser = false;

  /** @internal */
  constructor(
    readonly group: string,
    limits: QueueLimits,
    onConsume: () => void,
    private readonly release: (sub: Subscription) => Promise<void>,
  ) {
    this.channel = new EventChannel(limits, onConsume);
  }

  /** Events waiting in this subscription's queue. */
  get pending(): number {
    return this.channel.length;
  }

  /** The next event; after the connection failed, the queued events and then its error. */
  receive(opts?: { signal?: AbortSignal | undefined }): Promise<SubscriptionEvent> {
    return this.channel.receive(opts?.signal, abortReason);
  }

  /**
   * Events until unsubscribe() or disconnect() (the iteration then ends) or until the
   * connection fails (it then throws the error, after the queued events).
   */
  [Symbol.asyncIterator](): AsyncGenerator<SubscriptionEvent, void, undefined> {
    return this.channel.iterate((e) => e === DONE);
  }

  /** Stops routing events here, discards the queue, ends the iterators, leaves the group if subscribe() joined it. */
  async unsubscribe(): Promise<void> {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.channel.clear();
    this.channel.end(DONE);
    await this.release(this);
  }

  /** @internal The connection is over: end with `err` (DONE after disconnect()). */
  close(err: SpreadError | undefined): void {
    if (err === undefined) {
      this.channel.clear();
      this.channel.end(DONE);
    } else {
      this.channel.end(err);
    }
  }
}

/** Which subscriptions an event goes to. */
export class SubscriptionRouter {
  private readonly byGroup = new Map<string, Set<Subscription>>();
  /** Groups left by unsubscribe(): their self-leave notice is for no one. */
  private readonly leaving = new Map<string, number>();

  /** Whether route() can claim anything (a subscription, or a self-leave to swallow). */
  get active(): boolean {
    return this.byGroup.size > 0 || this.leaving.size > 0;
  }

  add(sub: Subscription): void {
    let set = this.byGroup.get(sub.group);
    if (set === undefined) this.byGroup.set(sub.group, (set = new Set()));
    set.add(sub);
  }

  /** Removes `sub`; true when it was the group's last subscription. */
  remove(sub: Subscription): boolean {
    const set = this.byGroup.get(sub.group);
    if (set === undefined || !set.delete(sub)) return false;
    if (set.size > 0) return false;
    this.byGroup.delete(sub.group);
    return true;
  }

  /** The next self-leave notice for `group` is swallowed. */
  expectSelfLeave(group: string): void {
    this.leaving.set(group, (this.leaving.get(group) ?? 0) + 1);
  }

  /** Hands `ev` to the subscriptions it concerns; false when none claims it. */
  route(ev: SpreadEvent, size: number): boolean {
    if (ev.kind === 'membership') {
      if (ev.selfLeave && this.swallow(ev.group)) return true;
      const set = this.byGroup.get(ev.group);
      if (set === undefined) return false;
      for (const s of set) s.channel.push(ev, size);
      return true;
    }
    if (ev.kind !== 'message' || this.byGroup.size === 0) return false;
    let claimed = false;
    // A subscription is reached twice only when a group is named twice: no set for one group.
    const seen = ev.groups.length > 1 ? new Set<Subscription>() : undefined;
    for (const g of ev.groups) {
      const set = this.byGroup.get(g);
      if (set === undefined) continue;
      for (const s of set) {
        if (seen !== undefined) {
          if (seen.has(s)) continue;
          seen.add(s);
        }
        s.channel.push(ev, size);
        claimed = true;
      }
    }
    return claimed;
  }

  private swallow(group: string): boolean {
    const n = this.leaving.get(group);
    if (n === undefined) return false;
    if (n <= 1) this.leaving.delete(group);
    else this.leaving.set(group, n - 1);
    return true;
  }

  anyFull(): boolean {
    for (const set of this.byGroup.values()) for (const s of set) if (s.channel.full) return true;
    return false;
  }

  allBelowLowWater(): boolean {
    for (const set of this.byGroup.values()) for (const s of set) if (!s.channel.belowLowWater) return false;
    return true;
  }

  /** The connection is over. */
  closeAll(err: SpreadError | undefined): void {
    for (const set of this.byGroup.values()) for (const s of set) s.close(err);
    this.byGroup.clear();
  }
}
