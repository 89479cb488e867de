/**
 * Flush layer, the I/O edge (SPEC.md "Flush layer", §FL.6): FL_connect / FL_join / FL_leave /
 * FL_flush / FL_multicast / FL_subgroupcast / FL_receive over a client SpreadConnection.
 * Like FL_receive, all protocol work happens while the application receives: each Spread event
 * pulled from the connection goes through the FlushMachine, whose control messages are written
 * at once and whose deliveries are returned in order.
 */
import { connect, IllegalSessionError, ServiceType } from '../index.js';
import type { ConnectOptions, Service, SignalOption, SpreadConnection, SpreadError } from '../index.js';
import { messageBytes } from '../connection.js';
import { untilAborted } from '../errors.js';
import { sendServiceType } from '../service.js';
import type { FlushEvent } from './events.js';
import { FlushMachine } from './machine.js';
import type { PreparedSend } from './machine.js';

const noop = (): void => undefined;

/** FL_connect's options: the client's, except that membership notices are always on. */
export type FlushConnectOptions = Omit<ConnectOptions, 'membership' | 'reconnect'>;

export interface FlushSendOptions extends SignalOption {
  /** Default: the client's default ('agreed'). FIFO and weaker sent during a view change are marked vulnerable. */
  service?: Service | undefined;
  /** int16 ≥ -32765 (the lowest three values are the flush layer's). Default 0. */
  messType?: number | undefined;
  selfDiscard?: boolean | undefined;
}

/**
 * FL_connect: connects with membership notices on and returns a flush connection over it.
 * Without reconnection: view synchrony does not carry over to a new session.
 */
export async function flushConnect(options: FlushConnectOptions = {}): Promise<FlushConnection> {
  return new FlushConnection(await connect({ ...options, membership: true, reconnect: false }));
}

export class FlushConnection implements AsyncIterable<FlushEvent> {
  /** The state machine (inspect `machine.group(name)` for a group's view and state). */
  readonly machine: FlushMachine;
  private reading: Promise<void> | undefined;
  private disconnected = false;

  /** Wraps a connection made with membership notices on; the flush layer must see all its events. */
  constructor(readonly connection: SpreadConnection) {
    this.machine = new FlushMachine(connection.privateGroup);
  }

  get privateGroup(): string {
    return this.connection.privateGroup;
  }

  /** Resolves (never rejects) when the session is over, as SpreadConnection.closed. */
  get closed(): Promise<SpreadError | undefined> {
    return this.connection.closed;
  }

  /** FL_more_msgs: events ready to return without reading from the daemon. */
  get pending(): number {
    return this.machine.deliveries.length;
  }

  /** FL_join: IllegalGroupError if already involved with the group. Our first view of it arrives as a 'view' event. */
  async join(group: string, opts?: SignalOption): Promise<void> {
    this.machine.checkJoin(group);
    await this.connection.join(group, opts);
  }

  /** FL_leave: only a joined member may leave, once (IllegalGroupError). A 'self-leave' event confirms it. */
  async leave(group: string, opts?: SignalOption): Promise<void> {
    this.machine.leaving(group);
    await this.connection.leave(group, opts);
  }

  /**
   * FL_flush: answers the flush request of `group`: we will send nothing more in the current
   * view. FlushError ILLEGAL_STATE when no request is pending.
   */
  async flush(group: string, opts?: SignalOption): Promise<void> {
    opts?.signal?.throwIfAborted();
    this.machine.flush(group);
    await this.writeControls();
  }

  /** FL_multicast to a group we are a joined member of (or to a private group). Resolves to the data length. */
  async multicast(group: string, data: Uint8Array | string, opts?: FlushSendOptions): Promise<number> {
    return this.send(group, data, opts, undefined);
  }

  /** FL_subgroupcast: to some members of our current view of `group`, delivered in that view. */
  async subgroupcast(group: string, receivers: readonly string[], data: Uint8Array | string, opts?: FlushSendOptions): Promise<number> {
    return this.send(group, data, opts, receivers);
  }

  /** FL_unicast: subgroupcast to one member. */
  async unicast(group: string, receiver: string, data: Uint8Array | string, opts?: FlushSendOptions): Promise<number> {
    return this.send(group, data, opts, [receiver]);
  }

  private async send(group: string, data: Uint8Array | string, opts: FlushSendOptions | undefined, receivers: readonly string[] | undefined): Promise<number> {
    const type = sendServiceType(opts?.service, opts?.selfDiscard);
    const bytes = messageBytes(data);
    const p: PreparedSend = this.machine.prepareSend(group, type, opts?.messType ?? 0, bytes, receivers);
    await this.connection.multicastRaw(p.serviceType, p.groups, p.body, p.messType, { signal: opts?.signal });
    return bytes.length;
  }

  /**
   * FL_receive: the next message, flush request, view, transition or self-leave. Rejects as
   * SpreadConnection.receive does (ConnectionClosedError, IllegalSessionError after disconnect,
   * the signal's reason on abort, losing nothing).
   */
  async receive(opts?: SignalOption): Promise<FlushEvent> {
    for (;;) {
      const ready = this.machine.deliveries.shift();
      if (ready !== undefined) return ready;
      if (this.reading !== undefined) {
        // Another receive is reading from the daemon: wait for it (or our abort), then look again.
        await untilAborted(this.reading.then(noop, noop), opts?.signal);
        continue;
      }
      const reading = this.pull(opts?.signal);
      this.reading = reading;
      try {
        await reading;
      } finally {
        this.reading = undefined;
      }
    }
  }

  private async pull(signal: AbortSignal | undefined): Promise<void> {
    const ev = await this.connection.receive(signal === undefined ? undefined : { signal });
    this.machine.receive(ev);
    await this.writeControls();
  }

  /** Writes the machine's queued FLUSH_OK / FLUSH_RECV messages, FIFO, in order. */
  private async writeControls(): Promise<void> {
    const writes = this.machine.sends.splice(0).map((s) => this.connection.multicastRaw(ServiceType.FIFO_MESS, s.group, s.body, s.messType));
    await Promise.all(writes);
  }

  /** Events until disconnect() (then the iteration ends) or until the connection fails (then it throws). */
  async *[Symbol.asyncIterator](): AsyncGenerator<FlushEvent, void, undefined> {
    for (;;) {
      let ev: FlushEvent;
      try {
        ev = await this.receive();
      } catch (e) {
        if (this.disconnected || e instanceof IllegalSessionError) return;
        throw e;
      }
      yield ev;
    }
  }

  /** FL_disconnect. */
  async disconnect(): Promise<void> {
    this.disconnected = true;
    this.machine.deliveries.length = 0;
    await this.connection.disconnect();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }
}
