/**
 * A session with a daemon that outlives its socket (README "Sending", "Receiving",
 * "Reconnection", "Subscriptions", "Closing"): joins, leaves and multicasts; events through a
 * bounded queue (or per-group subscriptions); and, when the Link to the daemon ends, a new
 * session on the same or the next daemon, with every group joined again.
 *
 * Receive side: the Link frames the socket; each frame becomes an event for a subscription or
 * for the connection's queue. When a queue reaches its bound the Link pauses the socket (TCP
 * backpressure towards the daemon, which cuts a client that stays behind, as the reference
 * does) and the slow-consumer signal fires; reading resumes at half the bounds.
 */
import type { Socket } from 'node:net';
import { ServiceType, Limits } from '../wire/client/constants.js';
import type { Frame } from '../wire/client/framer.js';
import { encodeMessage, makeHint } from '../wire/client/message.js';
import { isLegalGroupName, parsePrivateGroup } from '../wire/client/names.js';
import { formatSpreadAddress } from './address.js';
import type { SpreadAddress } from './address.js';
import {
  abortReason,
  ConnectionClosedError,
  IllegalGroupError,
  IllegalMessageError,
  IllegalServiceError,
  IllegalSessionError,
  MessageTooLongError,
  SpreadError,
  throwIfAborted,
  untilAborted,
} from './errors.js';
import { frameToEvent, reconnectNotice } from './events.js';
import type { ReconnectInfo, SpreadEvent } from './events.js';
import { Link } from './link.js';
import { EventChannel, positiveOr } from './queue.js';
import { redial, StatusHub } from './reconnect.js';
import type { ConnectionStatus, ReconnectPolicy } from './reconnect.js';
import { Subscription, SubscriptionRouter } from './subscription.js';
import type { SubscribeOptions } from './subscription.js';
import { isRegular, sendServiceType } from './service.js';
import type { Service } from './service.js';

export interface SignalOption {
  signal?: AbortSignal | undefined;
}

export interface MulticastOptions extends SignalOption {
  /** Delivery service; default 'agreed'. */
  service?: Service | undefined;
  /** Do not deliver the message back to this session (SELF_DISCARD). */
  selfDiscard?: boolean | undefined;
  /** Application message type, an int16 (-32768..32767; 32768..65535 are taken as their 16 bits). Default 0. */
  messType?: number | undefined;
}

export interface DaemonVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface SlowConsumerInfo {
  queuedEvents: number;
  queuedBytes: number;
}

export interface ConnectionStats {
  /** Events decoded from the socket so far. */
  eventsReceived: number;
  /** Frame bytes decoded so far. */
  bytesReceived: number;
  /** Events waiting to be consumed. */
  queuedEvents: number;
  queuedBytes: number;
  /** How many times the queue filled up and reading was paused. */
  slowConsumerCount: number;
}

export interface MessageHandlerOptions {
  /** Receives errors thrown (or rejections) by the handler; without it they are re-thrown asynchronously. */
  onError?: ((err: unknown) => void) | undefined;
}

/** A session just opened by a handshake. */
export interface Established {
  socket: Socket;
  address: SpreadAddress;
  privateGroup: string;
  daemonVersion: DaemonVersion;
  /** Bytes read past the accept message during the handshake. */
  leftover: Uint8Array;
}

/** How to open a new session when the current one is lost (see connect()). */
export interface Redialer {
  policy: ReconnectPolicy;
  targets: readonly SpreadAddress[];
  /** Index in `targets` of the current daemon. */
  index: number;
  dial(target: SpreadAddress, privateName: string, timeoutMs: number, signal: AbortSignal): Promise<Established>;
}

/** Internal construction parameters (see connect()). */
export interface ConnectionInit {
  established: Established;
  membership: boolean;
  maxQueuedEvents: number;
  maxQueuedBytes: number;
  onSlowConsumer?: ((info: SlowConsumerInfo) => void) | undefined;
  /** Undefined: no reconnection (the C library's behaviour). */
  reconnect?: Redialer | undefined;
}

type State = 'open' | 'reconnecting' | 'failed' | 'disconnected';

const textEncoder = new TextEncoder();

/** A message's data as sent: a string as UTF-8, bytes as they are. */
export function messageBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? textEncoder.encode(data) : data;
}

export class SpreadConnection implements AsyncIterable<SpreadEvent> {
  /** Whether membership notifications were requested. */
  readonly membership: boolean;
  /**
   * Resolves (never rejects) once the connection is over: to undefined after disconnect(), or
   * to the error that ended it (ConnectionClosedError on EOF / socket error without
   * reconnection, or when reconnection gave up; IllegalMessageError on a malformed stream).
   */
  readonly closed: Promise<SpreadError | undefined>;

  private session: Established;
  private names: { privateName: string; daemonName: string };
  private link: Link;
  private readonly events: EventChannel<SpreadEvent>;
  private readonly router = new SubscriptionRouter();
  private readonly limits: { maxEvents: number; maxBytes: number };
  /** Groups joined through this connection: joined again after a reconnect. */
  private readonly groups = new Set<string>();
  private readonly hub = new StatusHub();
  private readonly redialer: Redialer | undefined;
  private readonly stopReconnect = new AbortController();
  private reconnecting: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private draining = false;
  private readonly slowListeners = new Set<(info: SlowConsumerInfo) => void>();
  private resolveClosed!: (v: SpreadError | undefined) => void;
  private state: State = 'open';
  private closeError: SpreadError | undefined;
  private statsEvents = 0;
  private statsBytes = 0;
  private slowCount = 0;

  /** @internal Use connect(). */
  constructor(init: ConnectionInit) {
    this.membership = init.membership;
    this.redialer = init.reconnect;
    this.limits = { maxEvents: init.maxQueuedEvents, maxBytes: init.maxQueuedBytes };
    this.events = new EventChannel(this.limits, () => this.afterConsume());
    if (init.onSlowConsumer !== undefined) this.slowListeners.add(init.onSlowConsumer);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.session = init.established;
    this.names = splitPrivateGroup(init.established.privateGroup);
    this.link = this.openLink(init.established);
  }

  /** `#<private name>#<daemon name>` (of the current session: it may change on a reconnect). */
  get privateGroup(): string {
    return this.session.privateGroup;
  }

  /** The private name part of privateGroup (daemon-generated when none was asked for). */
  get privateName(): string {
    return this.names.privateName;
  }

  /** The daemon's name part of privateGroup. */
  get daemonName(): string {
    return this.names.daemonName;
  }

  get daemonVersion(): DaemonVersion {
    return this.session.daemonVersion;
  }

  /** The daemon of the current session. */
  get address(): SpreadAddress {
    return this.session.address;
  }

  /** True once the connection is over (disconnected or failed); false while reconnecting. */
  get isClosed(): boolean {
    return this.state === 'failed' || this.state === 'disconnected';
  }

  /** True while a lost session is being replaced. */
  get isReconnecting(): boolean {
    return this.state === 'reconnecting';
  }

  /** True while the queue is full and the socket is not being read. */
  get slowConsumer(): boolean {
    return this.link.isPaused;
  }

  /** Events waiting in the queue (the analogue of SP_poll, counted in events). */
  get pending(): number {
    return this.events.length;
  }

  get stats(): ConnectionStats {
    return {
      eventsReceived: this.statsEvents,
      bytesReceived: this.statsBytes,
      queuedEvents: this.events.length,
      queuedBytes: this.events.bytes,
      slowConsumerCount: this.slowCount,
    };
  }

  /** The groups this connection has joined (and would join again after a reconnect). */
  get joinedGroups(): string[] {
    return [...this.groups];
  }

  /**
   * Status reports from now on: disconnect, reconnecting, reconnected, rejoined, error. Ends
   * when the connection is over (or `signal` aborts).
   */
  status(opts?: SignalOption): AsyncIterable<ConnectionStatus> {
    return { [Symbol.asyncIterator]: () => this.hub.iterate(opts?.signal) };
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  /** SP_join. The name must be 1..31 bytes in '$'..'~' (else IllegalGroupError). Joined again after a reconnect. */
  async join(group: string, opts?: SignalOption): Promise<void> {
    checkGroupName(group);
    await this.send(ServiceType.JOIN_MESS, [group], EMPTY, 0, opts?.signal);
    this.groups.add(group);
  }

  /** SP_leave. Same name rule as join. */
  async leave(group: string, opts?: SignalOption): Promise<void> {
    checkGroupName(group);
    this.groups.delete(group);
    await this.send(ServiceType.LEAVE_MESS, [group], EMPTY, 0, opts?.signal);
  }

  /**
   * SP_multicast / SP_multigroup_multicast. `groups` may name ordinary groups (membership is
   * not needed to send) and private groups (`#name#daemon`, unicast). Names longer than 31
   * bytes are truncated as the C library does. A string `data` is sent as UTF-8.
   * Resolves to the number of data bytes once they are handed to the OS. While reconnecting it
   * waits for the new session.
   */
  async multicast(groups: string | readonly string[], data: Uint8Array | string, opts?: MulticastOptions): Promise<number> {
    const type = sendServiceType(opts?.service, opts?.selfDiscard);
    return this.multicastChecked(type, groups, data, opts?.messType ?? 0, opts?.signal);
  }

  /**
   * Sends a regular message with exactly the given service-type bits (marker added). Applies
   * the C library's checks: some service bit set and REJECT_MESS clear (ILLEGAL_SERVICE), at
   * most 100 groups, and the daemon's: data + 32 × groups ≤ 143152 (MESSAGE_TOO_LONG). Note that
   * a daemon kills a session that sets more than one service bit.
   */
  async multicastRaw(
    serviceType: number,
    groups: string | readonly string[],
    data: Uint8Array | string,
    messType = 0,
    opts?: SignalOption,
  ): Promise<number> {
    return this.multicastChecked(serviceType, groups, data, messType, opts?.signal);
  }

  private async multicastChecked(
    serviceType: number,
    groups: string | readonly string[],
    data: Uint8Array | string,
    messType: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    if (!Number.isInteger(serviceType) || !isRegular(serviceType)) {
      throw new IllegalServiceError(`illegal service type 0x${(serviceType >>> 0).toString(16)}`);
    }
    if (!Number.isInteger(messType) || messType < -0x8000 || messType > 0xffff) {
      throw new IllegalMessageError(`message type ${messType} is not a 16-bit integer`);
    }
    const list = typeof groups === 'string' ? [groups] : groups;
    if (!Array.isArray(list) || list.some((g) => typeof g !== 'string')) {
      throw new IllegalGroupError('groups must be a string or an array of strings');
    }
    if (list.length > Limits.MAX_GROUPS_PER_MESSAGE) {
      throw new IllegalMessageError(`${list.length} groups: at most ${Limits.MAX_GROUPS_PER_MESSAGE} per message`);
    }
    const bytes = messageBytes(data);
    if (!(bytes instanceof Uint8Array)) throw new IllegalMessageError('data must be a Uint8Array or a string');
    checkBodyLength(bytes.length, list.length);
    await this.send(serviceType, list, bytes, messType, signal);
    return bytes.length;
  }

  private async send(type: number, groups: readonly string[], data: Uint8Array, messType: number, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    if (this.draining) throw new IllegalSessionError('the connection is draining');
    const p = this.sendWhenOpen(type, groups, data, messType, signal);
    this.inflight.add(p);
    try {
      await p;
    } finally {
      this.inflight.delete(p);
    }
  }

  private async sendWhenOpen(type: number, groups: readonly string[], data: Uint8Array, messType: number, signal: AbortSignal | undefined): Promise<void> {
    while (this.reconnecting !== undefined) await untilAborted(this.reconnecting, signal);
    this.assertOpen();
    await this.link.write(this.frame(type, groups, data, messType));
  }

  private frame(type: number, groups: readonly string[], data: Uint8Array, messType: number): Uint8Array {
    return encodeMessage({
      header: { type: type >>> 0, name: this.privateGroup, numGroups: groups.length, hint: makeHint(messType), dataLen: data.length },
      oldType: 0,
      groups: [...groups],
      data,
    });
  }

  private assertOpen(): void {
    if (this.state === 'disconnected') throw new IllegalSessionError();
    if (this.state === 'failed') throw this.closeError!;
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  /**
   * The next event. Queued events are returned even after the connection failed; then it
   * rejects with the error that ended it (ConnectionClosedError). After disconnect() it rejects
   * with IllegalSessionError. While reconnecting it waits. Aborting `signal` rejects with
   * AbortError (TimeoutError for `AbortSignal.timeout()`) and loses no event.
   */
  receive(opts?: SignalOption): Promise<SpreadEvent> {
    return this.events.receive(opts?.signal, abortReason);
  }

  /**
   * Events until disconnect() (the iteration then ends) or until the connection fails (the
   * iteration then throws ConnectionClosedError after the queued events). Leaving the loop
   * early does not disconnect. Several iterators share one queue.
   */
  [Symbol.asyncIterator](): AsyncGenerator<SpreadEvent, void, undefined> {
    return this.events.iterate(() => this.state === 'disconnected');
  }

  /**
   * Push-style consumption: calls `handler` for each event, in order, one at a time (a returned
   * promise is awaited before the next event, so a slow handler fills the queue and triggers the
   * slow-consumer signal). Returns a function that stops it. Do not mix with receive() or an
   * iterator on the same connection: they would share the events.
   */
  onMessage(handler: (ev: SpreadEvent) => void | Promise<void>, opts?: MessageHandlerOptions): () => void {
    const stop = new AbortController();
    const report = (err: unknown): void => {
      if (opts?.onError !== undefined) opts.onError(err);
      else queueMicrotask(() => {
        throw err;
      });
    };
    void (async () => {
      for (;;) {
        let ev: SpreadEvent;
        try {
          ev = await this.receive({ signal: stop.signal });
        } catch {
          return; // stopped, disconnected or closed: `closed` tells why
        }
        try {
          await handler(ev);
        } catch (err) {
          report(err);
        }
        if (stop.signal.aborted) return;
      }
    })();
    return () => stop.abort();
  }

  /**
   * A subscription to one group: its messages and membership notifications go to the
   * subscription's own bounded queue instead of the connection's (a message addressed to
   * several subscribed groups goes to each subscription once). Joins the group unless it is
   * joined already or `join` is false; unsubscribe() leaves it again.
   */
  async subscribe(group: string, opts?: SubscribeOptions): Promise<Subscription> {
    checkGroupName(group);
    throwIfAborted(opts?.signal);
    this.assertOpen();
    const limits = {
      maxEvents: positiveOr(opts?.maxQueuedEvents, this.limits.maxEvents),
      maxBytes: positiveOr(opts?.maxQueuedBytes, this.limits.maxBytes),
    };
    const sub = new Subscription(group, limits, () => this.afterConsume(), (s) => this.release(s));
    this.router.add(sub);
    if (opts?.join !== false && !this.groups.has(group)) {
      try {
        await this.join(group, opts);
      } catch (e) {
        this.router.remove(sub);
        throw e;
      }
      sub.joined = true;
    }
    return sub;
  }

  private async release(sub: Subscription): Promise<void> {
    this.router.remove(sub);
    this.afterConsume();
    if (!sub.joined || !this.groups.has(sub.group) || this.state === 'failed' || this.state === 'disconnected') return;
    if (this.membership) this.router.expectSelfLeave(sub.group);
    await this.leave(sub.group);
  }

  /** Registers a slow-consumer listener (called each time the queue fills up). Returns an unsubscribe function. */
  onSlowConsumer(listener: (info: SlowConsumerInfo) => void): () => void {
    this.slowListeners.add(listener);
    return () => this.slowListeners.delete(listener);
  }

  // ---------------------------------------------------------------------------------------
  // The Link and its events

  private openLink(e: Established): Link {
    const link: Link = new Link(e.socket, e.leftover, {
      full: () => this.events.full || this.router.anyFull(),
      deliver: (frame) => this.deliver(frame),
      paused: () => this.signalSlowConsumer(),
      ended: (err, malformed) => {
        if (link === this.link) this.linkEnded(err, malformed);
      },
    });
    return link;
  }

  private deliver(frame: Frame): void {
    const ev = frameToEvent(frame, this.privateGroup);
    this.statsEvents++;
    this.statsBytes += frame.length;
    this.deliverEvent(ev, frame.length);
  }

  private deliverEvent(ev: SpreadEvent, size: number): void {
    if (this.router.active && this.router.route(ev, size)) return;
    this.events.push(ev, size);
  }

  private signalSlowConsumer(): void {
    this.slowCount++;
    const info = { queuedEvents: this.events.length, queuedBytes: this.events.bytes };
    for (const l of this.slowListeners) {
      try {
        l(info);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private afterConsume(): void {
    if (!this.link.isPaused || !this.events.belowLowWater || !this.router.allBelowLowWater()) return;
    this.link.resume();
  }

  private linkEnded(err: SpreadError, malformed: boolean): void {
    if (this.state !== 'open') return;
    if (malformed || this.redialer === undefined) this.fail(err);
    else this.reconnect(err);
  }

  // ---------------------------------------------------------------------------------------
  // Reconnection

  private reconnect(err: SpreadError): void {
    const r = this.redialer!;
    this.state = 'reconnecting';
    const lostAt = Date.now();
    this.hub.emit({ type: 'disconnect', daemon: formatSpreadAddress(this.address), error: err });
    const stop = this.stopReconnect.signal;
    const running = (async () => {
      let next: { value: Established; index: number; attempt: number };
      try {
        next = await redial(r.policy, r.targets, r.index, (t, ms) => r.dial(t, this.privateName, ms, stop), this.hub, stop);
      } catch (e) {
        if (this.state !== 'reconnecting') return;
        const error = e instanceof SpreadError ? e : new ConnectionClosedError(String(e), { cause: e });
        this.hub.emit({ type: 'error', error, final: true });
        this.fail(error);
        return;
      }
      if (this.state !== 'reconnecting') {
        next.value.socket.destroy();
        return;
      }
      r.index = next.index;
      await this.resume(next.value, next.attempt, Date.now() - lostAt);
    })();
    this.reconnecting = running;
    // The new Link may end (and a new reconnection start) before this one's rejoins are written.
    void running.finally(() => {
      if (this.reconnecting === running) this.reconnecting = undefined;
    });
  }

  /** Adopts the new session: a reconnect notice per group, the rejoins, then the session's own events. */
  private async resume(e: Established, attempts: number, downtimeMs: number): Promise<void> {
    const previousPrivateGroup = this.privateGroup;
    this.session = e;
    this.names = splitPrivateGroup(e.privateGroup);
    this.state = 'open';
    const groups = [...this.groups];
    const daemon = formatSpreadAddress(e.address);
    const info: ReconnectInfo = { previousPrivateGroup, privateGroup: e.privateGroup, daemon, groups, downtimeMs, attempts };
    if (this.membership) for (const g of groups) this.deliverEvent(reconnectNotice(g, info), 0);
    this.link = this.openLink(e);
    const joins = groups.map((g) => this.link.write(this.frame(ServiceType.JOIN_MESS, [g], EMPTY, 0)));
    this.hub.emit({ type: 'reconnected', attempt: attempts, daemon, privateGroup: e.privateGroup, previousPrivateGroup, downtimeMs });
    try {
      await Promise.all(joins);
      this.hub.emit({ type: 'rejoined', groups });
    } catch {
      // The new Link ended already: it reported that (and reconnects again, or failed).
    }
  }

  // ---------------------------------------------------------------------------------------
  // Closing

  private fail(err: SpreadError): void {
    if (this.state === 'failed' || this.state === 'disconnected') return;
    this.state = 'failed';
    this.closeError = err;
    this.events.end(err);
    this.router.closeAll(err);
    this.link.destroy(err);
    this.hub.end();
    this.resolveClosed(err);
  }

  /**
   * SP_disconnect: sends KILL_MESS naming our private group, then closes the socket. Queued
   * events are discarded; later calls reject with IllegalSessionError; iterators and
   * subscriptions end; `closed` resolves to undefined. Stops a reconnection in progress. Safe to
   * call more than once and after a failure.
   */
  async disconnect(): Promise<void> {
    if (this.state === 'disconnected') return;
    const wasOpen = this.state === 'open';
    const failed = this.state === 'failed';
    this.state = 'disconnected';
    this.stopReconnect.abort();
    this.events.clear();
    const err = new IllegalSessionError();
    this.events.end(err);
    this.router.closeAll(undefined);
    this.hub.end();
    if (wasOpen) {
      await this.link.close(this.frame(ServiceType.KILL_MESS, [this.privateGroup], EMPTY, 0), err);
    } else {
      this.link.destroy(err);
    }
    if (!failed) this.resolveClosed(undefined);
  }

  /**
   * Finishes the sends already started (those waiting for a reconnection too), then
   * disconnect(). Sends started after drain() reject with IllegalSessionError.
   */
  async drain(): Promise<void> {
    this.draining = true;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    await this.disconnect();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }
}

const EMPTY = new Uint8Array(0);

function checkGroupName(group: string): void {
  if (typeof group !== 'string' || !isLegalGroupName(group)) {
    throw new IllegalGroupError(`illegal group name ${JSON.stringify(group)}: 1..31 characters in '$'..'~'`);
  }
}

/**
 * The daemon's limit (SPEC.md Part I §9): data + 32 × groups ≤ 143152, the most that fits the
 * ring's 100 fragments; a daemon kills the session that sends more.
 */
function checkBodyLength(dataLen: number, numGroups: number): void {
  const total = dataLen + Limits.MAX_GROUP_NAME * numGroups;
  if (total > Limits.MAX_DELIVERABLE_BODY) {
    throw new MessageTooLongError(
      `message too long: ${dataLen} data bytes + ${numGroups} groups × 32 = ${total} > ${Limits.MAX_DELIVERABLE_BODY}`,
    );
  }
}

function splitPrivateGroup(privateGroup: string): { privateName: string; daemonName: string } {
  const parts = parsePrivateGroup(privateGroup);
  return { privateName: parts?.privateName ?? '', daemonName: parts?.daemonName ?? '' };
}


