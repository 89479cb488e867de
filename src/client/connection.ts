/**
 * An operational session with a daemon (after the connect handshake): sending joins, leaves and
 * multicasts, and receiving events through a bounded queue.
 *
 * Receive side: socket chunks go through the wire MessageFramer; each frame becomes an event
 * and is handed to a waiting receive() or queued. When the queue reaches its bound the socket
 * is paused (TCP backpressure towards the daemon, which cuts a client that stays behind, as the
 * reference does) and the slow-consumer signal fires; reading resumes at half the bound.
 */
import type { Socket } from 'node:net';
import { ServiceType, Limits } from '../wire/client/constants.js';
import { MessageFramer } from '../wire/client/framer.js';
import { DAEMON_TO_CLIENT_LIMITS, encodeMessage, makeHint } from '../wire/client/message.js';
import { isLegalGroupName, parsePrivateGroup } from '../wire/client/names.js';
import { ENDIAN_MARKER } from '../wire/bytes.js';
import type { SpreadAddress } from './address.js';
import {
  ConnectionClosedError,
  IllegalGroupError,
  IllegalMessageError,
  IllegalServiceError,
  IllegalSessionError,
  MessageTooLongError,
  SpreadError,
} from './errors.js';
import { frameToEvent } from './events.js';
import type { SpreadEvent } from './events.js';
import { EventQueue } from './queue.js';
import { DEFAULT_SERVICE, isRegular, isService, SERVICE_TYPE_OF } from './service.js';
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

/** Internal construction parameters (see connect()). */
export interface ConnectionInit {
  socket: Socket;
  address: SpreadAddress;
  privateGroup: string;
  daemonVersion: DaemonVersion;
  membership: boolean;
  /** Bytes read past the accept message during the handshake. */
  leftover: Uint8Array;
  maxQueuedEvents: number;
  maxQueuedBytes: number;
  onSlowConsumer?: ((info: SlowConsumerInfo) => void) | undefined;
}

interface Waiter {
  resolve(ev: SpreadEvent): void;
  reject(err: unknown): void;
}

type State = 'open' | 'failed' | 'disconnected';

const textEncoder = new TextEncoder();

/** Closing after disconnect(): how long to wait for the daemon to close before destroying the socket. */
const DISCONNECT_LINGER_MS = 2000;

export class SpreadConnection implements AsyncIterable<SpreadEvent> {
  /** `#<private name>#<daemon name>`. */
  readonly privateGroup: string;
  /** The private name part of privateGroup (daemon-generated when none was asked for). */
  readonly privateName: string;
  /** The daemon's name part of privateGroup. */
  readonly daemonName: string;
  readonly daemonVersion: DaemonVersion;
  readonly address: SpreadAddress;
  /** Whether membership notifications were requested. */
  readonly membership: boolean;
  /**
   * Resolves (never rejects) once the session is over: to undefined after disconnect(), or to
   * the error that ended it (ConnectionClosedError on EOF / socket error, IllegalMessageError on
   * a malformed stream).
   */
  readonly closed: Promise<SpreadError | undefined>;

  private readonly socket: Socket;
  private readonly framer = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);
  private readonly queue: EventQueue<SpreadEvent>;
  private readonly waiters: Waiter[] = [];
  private readonly pendingWrites = new Set<(err: SpreadError) => void>();
  private readonly slowListeners = new Set<(info: SlowConsumerInfo) => void>();
  private resolveClosed!: (v: SpreadError | undefined) => void;
  private state: State = 'open';
  private closeError: SpreadError | undefined;
  private socketError: Error | undefined;
  private eof = false;
  private paused = false;
  private pumping = false;
  private corked = false;
  private statsEvents = 0;
  private statsBytes = 0;
  private slowCount = 0;

  constructor(init: ConnectionInit) {
    this.socket = init.socket;
    this.address = init.address;
    this.privateGroup = init.privateGroup;
    const parts = parsePrivateGroup(init.privateGroup);
    this.privateName = parts?.privateName ?? '';
    this.daemonName = parts?.daemonName ?? '';
    this.daemonVersion = init.daemonVersion;
    this.membership = init.membership;
    this.queue = new EventQueue({ maxEvents: init.maxQueuedEvents, maxBytes: init.maxQueuedBytes });
    if (init.onSlowConsumer !== undefined) this.slowListeners.add(init.onSlowConsumer);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });

    const s = this.socket;
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('end', () => {
      this.eof = true;
      this.pump();
    });
    s.on('error', (err: Error) => {
      this.socketError ??= err;
    });
    s.on('close', () => {
      this.eof = true;
      this.pump();
    });
    if (init.leftover.length > 0) this.onData(init.leftover);
    s.resume();
  }

  /** True once the session is over (disconnected or failed). */
  get isClosed(): boolean {
    return this.state !== 'open';
  }

  /** True while the queue is full and the socket is not being read. */
  get slowConsumer(): boolean {
    return this.paused;
  }

  /** Events waiting in the queue (the analogue of SP_poll, counted in events). */
  get pending(): number {
    return this.queue.length;
  }

  get stats(): ConnectionStats {
    return {
      eventsReceived: this.statsEvents,
      bytesReceived: this.statsBytes,
      queuedEvents: this.queue.length,
      queuedBytes: this.queue.bytes,
      slowConsumerCount: this.slowCount,
    };
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  /** SP_join. The name must be 1..31 bytes in '$'..'~' (else IllegalGroupError). */
  async join(group: string, opts?: SignalOption): Promise<void> {
    checkGroupName(group);
    await this.send(ServiceType.JOIN_MESS, [group], EMPTY, 0, opts?.signal);
  }

  /** SP_leave. Same name rule as join. */
  async leave(group: string, opts?: SignalOption): Promise<void> {
    checkGroupName(group);
    await this.send(ServiceType.LEAVE_MESS, [group], EMPTY, 0, opts?.signal);
  }

  /**
   * SP_multicast / SP_multigroup_multicast. `groups` may name ordinary groups (membership is
   * not needed to send) and private groups (`#name#daemon`, unicast). Names longer than 31
   * bytes are truncated as the C library does. A string `data` is sent as UTF-8.
   * Resolves to the number of data bytes once they are handed to the OS.
   */
  async multicast(groups: string | readonly string[], data: Uint8Array | string, opts?: MulticastOptions): Promise<number> {
    const service = opts?.service ?? DEFAULT_SERVICE;
    if (!isService(service)) throw new IllegalServiceError(`illegal service ${JSON.stringify(service)}`);
    const type = SERVICE_TYPE_OF[service] | (opts?.selfDiscard === true ? ServiceType.SELF_DISCARD : 0);
    return this.multicastChecked(type, groups, data, opts?.messType ?? 0, opts?.signal);
  }

  /**
   * Sends a regular message with exactly the given service-type bits (marker added). Applies
   * the C library's checks only: some service bit set and REJECT_MESS clear (ILLEGAL_SERVICE),
   * at most 100 groups, data + 32 × groups ≤ 144000 (MESSAGE_TOO_LONG). Note that a daemon kills
   * a session that sets more than one service bit.
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
    const bytes = typeof data === 'string' ? textEncoder.encode(data) : data;
    if (!(bytes instanceof Uint8Array)) throw new IllegalMessageError('data must be a Uint8Array or a string');
    const total = bytes.length + Limits.MAX_GROUP_NAME * list.length;
    if (total > Limits.MAX_MESSAGE_BODY_LEN) {
      throw new MessageTooLongError(`message too long: ${bytes.length} data bytes + ${list.length} groups × 32 = ${total} > ${Limits.MAX_MESSAGE_BODY_LEN}`);
    }
    await this.send(serviceType, list, bytes, messType, signal);
    return bytes.length;
  }

  private async send(type: number, groups: readonly string[], data: Uint8Array, messType: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    this.assertOpen();
    const frame = encodeMessage({
      header: {
        type: type >>> 0,
        name: this.privateGroup,
        numGroups: groups.length,
        hint: makeHint(messType),
        dataLen: data.length,
      },
      oldType: 0,
      groups: [...groups],
      data,
    });
    await this.write(frame);
  }

  private write(frame: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (err: SpreadError): void => {
        this.pendingWrites.delete(fail);
        reject(err);
      };
      this.pendingWrites.add(fail);
      this.corkForThisTick();
      this.socket.write(frame, (err) => {
        if (!this.pendingWrites.delete(fail)) return;
        if (err) reject(this.closeError ?? new ConnectionClosedError(`write failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  /**
   * Frames written in the same turn of the event loop leave in one write (writev): the socket
   * is corked at the first and uncorked once the current tick's microtasks have run.
   */
  private corkForThisTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private assertOpen(): void {
    if (this.state === 'disconnected') throw new IllegalSessionError();
    if (this.state === 'failed') throw this.closeError!;
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  /**
   * The next event. Queued events are returned even after the daemon closed the connection;
   * then it rejects with the error that closed it (ConnectionClosedError). After disconnect()
   * it rejects with IllegalSessionError. Aborting `signal` rejects with the signal's reason and
   * loses no event.
   */
  receive(opts?: SignalOption): Promise<SpreadEvent> {
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ev = this.queue.shift();
    if (ev !== undefined) {
      this.afterConsume();
      return Promise.resolve(ev);
    }
    if (this.state === 'disconnected') return Promise.reject(new IllegalSessionError());
    if (this.state === 'failed') return Promise.reject(this.closeError);
    return new Promise<SpreadEvent>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        resolve: (e) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(e);
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

  /**
   * Events until disconnect() (the iteration then ends) or until the daemon closes the
   * connection (the iteration then throws ConnectionClosedError after the queued events).
   * Leaving the loop early does not disconnect. Several iterators share one queue.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<SpreadEvent, void, undefined> {
    for (;;) {
      let ev: SpreadEvent;
      try {
        ev = await this.receive();
      } catch (e) {
        if (this.state === 'disconnected') return;
        throw e;
      }
      yield ev;
    }
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

  /** Registers a slow-consumer listener (called each time the queue fills up). Returns an unsubscribe function. */
  onSlowConsumer(listener: (info: SlowConsumerInfo) => void): () => void {
    this.slowListeners.add(listener);
    return () => this.slowListeners.delete(listener);
  }

  private onData(chunk: Uint8Array): void {
    if (this.state !== 'open') return;
    try {
      this.framer.push(chunk);
    } catch (e) {
      this.fail(new IllegalMessageError(`malformed stream from the daemon: ${(e as Error).message}`, { cause: e }));
      return;
    }
    this.pump();
  }

  /** Moves complete frames from the framer to waiters or the queue, as long as the queue has room. */
  private pump(): void {
    if (this.pumping || this.state !== 'open') return;
    this.pumping = true;
    try {
      while (this.state === 'open') {
        if (this.queue.full) {
          this.pauseReading();
          return;
        }
        let ev: SpreadEvent;
        let length: number;
        try {
          const frame = this.framer.next();
          if (frame === null) break;
          length = frame.length;
          ev = frameToEvent(frame, this.privateGroup);
        } catch (e) {
          this.fail(
            e instanceof SpreadError ? e : new IllegalMessageError(`malformed message from the daemon: ${(e as Error).message}`, { cause: e }),
          );
          return;
        }
        this.statsEvents++;
        this.statsBytes += length;
        const w = this.waiters.shift();
        if (w !== undefined) w.resolve(ev);
        else this.queue.push(ev, length);
      }
      if (this.eof) {
        const partial = this.framer.buffered > 0 ? ` (${this.framer.buffered} bytes of an incomplete message)` : '';
        const cause = this.socketError;
        this.fail(
          new ConnectionClosedError(
            cause !== undefined ? `connection to the daemon failed: ${cause.message}${partial}` : `connection closed by the daemon${partial}`,
            cause !== undefined ? { cause } : undefined,
          ),
        );
      }
    } finally {
      this.pumping = false;
    }
  }

  private pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.slowCount++;
    this.socket.pause();
    const info = { queuedEvents: this.queue.length, queuedBytes: this.queue.bytes };
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
    if (!this.paused || !this.queue.belowLowWater) return;
    this.paused = false;
    this.pump();
    if (!this.paused && this.state === 'open') this.socket.resume();
  }

  // ---------------------------------------------------------------------------------------
  // Closing

  private fail(err: SpreadError): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.closeError = err;
    this.paused = false;
    for (const w of this.waiters.splice(0)) w.reject(err);
    for (const f of [...this.pendingWrites]) f(err);
    this.socket.destroy();
    this.resolveClosed(err);
  }

  /**
   * SP_disconnect: sends KILL_MESS naming our private group, then closes the socket. Queued
   * events are discarded; later calls reject with IllegalSessionError; iterators end; `closed`
   * resolves to undefined. Safe to call more than once and after a failure.
   */
  async disconnect(): Promise<void> {
    if (this.state === 'disconnected') return;
    const wasOpen = this.state === 'open';
    this.state = 'disconnected';
    this.paused = false;
    this.queue.clear();
    const err = new IllegalSessionError();
    for (const w of this.waiters.splice(0)) w.reject(err);
    if (wasOpen) {
      const kill = encodeMessage({
        header: { type: ServiceType.KILL_MESS, name: this.privateGroup, numGroups: 1, hint: ENDIAN_MARKER, dataLen: 0 },
        oldType: 0,
        groups: [this.privateGroup],
        data: EMPTY,
      });
      const s = this.socket;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => s.destroy(), DISCONNECT_LINGER_MS);
        timer.unref?.();
        s.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (s.destroyed) {
          clearTimeout(timer);
          resolve();
          return;
        }
        s.resume(); // let EOF arrive even if reading was paused
        s.end(kill);
      });
      for (const f of [...this.pendingWrites]) f(err);
      this.resolveClosed(undefined);
    } else {
      this.socket.destroy();
    }
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
