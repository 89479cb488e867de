/**
 * connect(): open a session with a daemon, as SP_connect_timeout does.
 *
 *   client → connect message, in ONE write (the daemon reads it with non-blocking recvs)
 *   daemon → auth list ("NULL ") or one negative reject byte
 *   client → 90-byte auth choice (only after the list: the daemon wants it in one recv)
 *   daemon → accept (1, version, private group; written as several small sends) or a reject byte
 */
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { Limits, versionNumber } from '../wire/client/constants.js';
import { connectFlags, decodeAccept, decodeAuthList, encodeAuthReply, encodeConnect } from '../wire/client/handshake.js';
import type { Accept } from '../wire/client/handshake.js';
import type { Decoded } from '../wire/client/message.js';
import { isLegalPrivateName } from '../wire/client/names.js';
import { ProtocolError } from '../wire/errors.js';
import { formatSpreadAddress, parseSpreadAddress } from './address.js';
import type { SpreadAddress, SpreadTarget } from './address.js';
import { SpreadConnection } from './connection.js';
import type { Established, Redialer, SlowConsumerInfo } from './connection.js';
import { positiveOr } from './queue.js';
import { reconnectPolicy } from './reconnect.js';
import type { ReconnectOptions } from './reconnect.js';
import {
  abortReason,
  ConnectionClosedError,
  CouldNotConnectError,
  IllegalSpreadError,
  RejectAuthError,
  RejectIllegalNameError,
  RejectVersionError,
  SpreadError,
  spreadErrorFromCode,
  throwIfAborted,
} from './errors.js';

/** Authentication methods this client implements (neither exchanges bytes with the daemon). */
export const AUTH_METHODS = ['NULL', 'IP'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export interface ConnectOptions {
  /**
   * The daemon: "4803" (unix socket /tmp/4803), "4803@host" (TCP), `{ host, port }` or
   * `{ path }`; or a list of them, tried in order (and in turn when reconnecting). Default "4803".
   */
  spread?: SpreadTarget | readonly SpreadTarget[] | undefined;
  /** Private name, 0..10 bytes of '$'..'~'. Empty or omitted: the daemon generates one. */
  name?: string | undefined;
  /** Receive membership notifications. Default true. */
  membership?: boolean | undefined;
  /** 0 or 1 (stored by the daemon, unused by 4.4). Default 0. */
  priority?: number | undefined;
  /** Deadline for the whole connect (socket + handshake), ms. Default: none, like SP_connect. */
  timeoutMs?: number | undefined;
  /** Methods to request, in order (at most 3). Default ['NULL']. */
  authMethods?: readonly AuthMethod[] | undefined;
  signal?: AbortSignal | undefined;
  /** Receive queue bound in events. Default 10,000. */
  maxQueuedEvents?: number | undefined;
  /** Receive queue bound in bytes of frames. Default 32 MiB. */
  maxQueuedBytes?: number | undefined;
  /** Called each time the receive queue fills up and reading pauses. */
  onSlowConsumer?: ((info: SlowConsumerInfo) => void) | undefined;
  /**
   * Reconnect when the session is lost: `true` (the default) with the default policy, `false`
   * for the C library's behaviour (the connection ends with ConnectionClosedError), or a policy.
   */
  reconnect?: boolean | ReconnectOptions | undefined;
}

export const DEFAULT_MAX_QUEUED_EVENTS = 10_000;
export const DEFAULT_MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/** What one handshake asks for. */
interface SessionRequest {
  name: string;
  membership: boolean;
  priority: number;
  methods: readonly AuthMethod[];
}

/**
 * Connects and completes the handshake, with the daemons of `spread` in order until one accepts
 * (the error of the last one otherwise). Rejects with a SpreadError subclass:
 * IllegalSpreadError (bad address / unknown host), CouldNotConnectError (socket failure or the
 * deadline passed before the socket connected), RejectIllegalNameError (bad name, checked before
 * connecting, or the daemon's 0xfb), RejectNotUniqueError, RejectQuotaError, RejectVersionError,
 * RejectAuthError (method not offered by the daemon, or the daemon's 0xf7), ConnectionClosedError
 * (EOF, socket error or deadline during the handshake), AbortError / TimeoutError (`signal`).
 * The first connect is not retried; reconnection applies to the session once it is open.
 */
export async function connect(options: ConnectOptions = {}): Promise<SpreadConnection> {
  const targets = parseTargets(options.spread);
  const req = sessionRequest(options);
  const signal = options.signal;
  throwIfAborted(signal);
  let last: unknown;
  for (let i = 0; i < targets.length; i++) {
    try {
      const established = await handshake(targets[i]!, req, options.timeoutMs, signal);
      return new SpreadConnection({
        established,
        membership: req.membership,
        maxQueuedEvents: positiveOr(options.maxQueuedEvents, DEFAULT_MAX_QUEUED_EVENTS),
        maxQueuedBytes: positiveOr(options.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES),
        onSlowConsumer: options.onSlowConsumer,
        reconnect: reconnector(options, targets, i, req),
      });
    } catch (e) {
      last = e;
      if (signal?.aborted === true || !(e instanceof CouldNotConnectError || e instanceof ConnectionClosedError)) break;
    }
  }
  throw last;
}

function parseTargets(spread: ConnectOptions['spread']): SpreadAddress[] {
  if (Array.isArray(spread)) {
    if (spread.length === 0) throw new IllegalSpreadError('empty list of daemons');
    return (spread as readonly SpreadTarget[]).map((t) => parseSpreadAddress(t));
  }
  return [parseSpreadAddress(spread as SpreadTarget | undefined)];
}

function sessionRequest(options: ConnectOptions): SessionRequest {
  const name = options.name ?? '';
  if (typeof name !== 'string' || !isLegalPrivateName(name)) {
    throw new RejectIllegalNameError(
      `illegal private name ${JSON.stringify(name)}: at most ${Limits.MAX_PRIVATE_NAME} characters in '$'..'~'`,
    );
  }
  const priority = Math.max(0, Math.min(1, Math.trunc(options.priority ?? 0)));
  const methods = options.authMethods ?? ['NULL'];
  if (methods.length === 0 || methods.length > Limits.MAX_AUTH_METHODS) {
    throw new RejectAuthError(`between 1 and ${Limits.MAX_AUTH_METHODS} authentication methods are needed, got ${methods.length}`);
  }
  for (const m of methods) {
    if (!(AUTH_METHODS as readonly string[]).includes(m)) throw new RejectAuthError(`unsupported authentication method ${JSON.stringify(m)}`);
  }
  return { name, membership: options.membership ?? true, priority, methods };
}

/** How the connection dials again, or undefined when reconnection is off. */
function reconnector(options: ConnectOptions, targets: SpreadAddress[], index: number, req: SessionRequest): Redialer | undefined {
  const policy = reconnectPolicy(options.reconnect);
  if (policy === undefined) return undefined;
  return {
    policy,
    targets,
    index,
    dial: (target, privateName, timeoutMs, signal) =>
      handshake(target, { ...req, name: policy.privateName === 'keep' ? privateName : req.name }, timeoutMs, signal),
  };
}

/** One socket connect and handshake with one daemon. */
async function handshake(address: SpreadAddress, req: SessionRequest, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<Established> {
  const session = new Handshake(address, timeoutMs, signal);
  try {
    await session.open();
    const socket = session.socket;
    // The connect message in one write.
    socket.write(encodeConnect({ ...Limits.VERSION, flags: connectFlags(req.membership, req.priority), name: req.name }));

    const list = await session.read(decodeAuthList, 'auth list');
    if (list.kind === 'reject') throw spreadErrorFromCode(list.code, rejectText(list.code, 'before authentication'));
    for (const m of req.methods) {
      if (!list.methods.includes(m)) {
        throw new RejectAuthError(`authentication method ${m} is not offered by the daemon (offered: ${list.methods.join(' ') || 'none'})`);
      }
    }
    socket.write(encodeAuthReply(req.methods));

    const acc = await session.read((b, o, e) => decodeAccept(b, o, e, true), 'accept');
    if (acc.kind === 'reject') throw spreadErrorFromCode(acc.code, rejectText(acc.code, 'after authentication'));
    checkDaemonVersion(acc.accept, req.priority);

    const leftover = session.detach();
    return {
      socket,
      address,
      privateGroup: acc.accept.privateGroup,
      daemonVersion: { major: acc.accept.major, minor: acc.accept.minor, patch: acc.accept.patch },
      leftover,
    };
  } catch (e) {
    session.destroy();
    throw e;
  }
}


function rejectText(code: number, when: string): string {
  const e = spreadErrorFromCode(code);
  return `daemon rejected the session ${when}: ${e.code} (${code})`;
}

function checkDaemonVersion(a: Accept, priority: number): void {
  const v = versionNumber(a.major, a.minor, a.patch);
  if (v < 30100) throw new RejectVersionError(`daemon version ${a.major}.${a.minor}.${a.patch} is older than 3.1.0`);
  if (v < 30800 && priority > 0) {
    throw new RejectVersionError(`daemon version ${a.major}.${a.minor}.${a.patch} does not support priority ${priority}`);
  }
}

/** The socket and the byte buffer of one connect attempt. */
class Handshake {
  socket!: Socket;
  private buf: Uint8Array = new Uint8Array(0);
  private connected = false;
  private ended: Error | null | undefined; // undefined: open; null: EOF; Error: socket error
  private wake: (() => void) | undefined;
  private failure: SpreadError | Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort = (): void => this.abort(abortReason(this.signal!));

  constructor(
    private readonly address: SpreadAddress,
    timeoutMs: number | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (timeoutMs !== undefined && timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      this.timer = setTimeout(() => {
        const where = formatSpreadAddress(this.address);
        this.abort(
          this.connected
            ? new ConnectionClosedError(`connect to ${where} timed out after ${timeoutMs} ms during the handshake`)
            : new CouldNotConnectError(`connect to ${where} timed out after ${timeoutMs} ms`),
        );
      }, timeoutMs);
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  open(): Promise<void> {
    const a = this.address;
    const s = a.kind === 'unix' ? createConnection({ path: a.path }) : createConnection({ host: a.host, port: a.port });
    this.socket = s;
    s.on('data', (chunk: Buffer) => {
      const merged = new Uint8Array(this.buf.length + chunk.length);
      merged.set(this.buf, 0);
      merged.set(chunk, this.buf.length);
      this.buf = merged;
      this.poke();
    });
    s.on('end', () => {
      this.ended ??= null;
      this.poke();
    });
    s.on('error', (err) => {
      if (this.ended === undefined || this.ended === null) this.ended = err;
      this.poke();
    });
    s.on('close', () => {
      this.ended ??= null;
      this.poke();
    });
    return new Promise<void>((resolve, reject) => {
      const check = (): boolean => {
        if (this.failure !== undefined) {
          reject(this.failure);
          return true;
        }
        if (this.connected) {
          resolve();
          return true;
        }
        if (this.ended !== undefined) {
          reject(connectError(this.ended, a));
          return true;
        }
        return false;
      };
      this.wake = () => {
        if (check()) this.wake = undefined;
      };
      this.poke();
      s.once('connect', () => {
        this.connected = true;
        if (a.kind === 'tcp') {
          s.setNoDelay(true);
          s.setKeepAlive(true);
        }
        this.poke();
      });
    });
  }

  /** Waits until `decode` can decode a value from the buffered bytes, then consumes them. */
  read<T>(decode: (buf: Uint8Array, offset: number, end: number) => Decoded<T> | null, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        if (this.failure !== undefined) {
          reject(this.failure);
          return true;
        }
        let d: Decoded<T> | null;
        try {
          d = decode(this.buf, 0, this.buf.length);
        } catch (e) {
          reject(
            e instanceof ProtocolError
              ? new ConnectionClosedError(`malformed ${what} from the daemon: ${e.message}`, { cause: e })
              : e,
          );
          return true;
        }
        if (d !== null) {
          this.buf = this.buf.subarray(d.offset);
          resolve(d.value);
          return true;
        }
        if (this.ended !== undefined) {
          const cause = this.ended;
          reject(
            new ConnectionClosedError(
              `connection closed by the daemon while reading the ${what}${cause ? `: ${cause.message}` : ''}`,
              cause ? { cause } : undefined,
            ),
          );
          return true;
        }
        return false;
      };
      if (check()) return;
      this.wake = () => {
        if (check()) this.wake = undefined;
      };
    });
  }

  private poke(): void {
    this.wake?.();
  }

  private abort(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err as SpreadError | Error;
    this.poke();
  }

  private cleanup(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Hands the socket over: stops listening, returns the bytes read beyond the handshake. */
  detach(): Uint8Array {
    this.cleanup();
    const s = this.socket;
    s.pause();
    s.removeAllListeners('data');
    s.removeAllListeners('end');
    s.removeAllListeners('error');
    s.removeAllListeners('close');
    return this.buf;
  }

  destroy(): void {
    this.cleanup();
    this.socket?.destroy();
  }
}

function connectError(err: Error | null, a: SpreadAddress): SpreadError {
  const where = formatSpreadAddress(a);
  if (err === null) return new CouldNotConnectError(`could not connect to ${where}: connection closed`);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
    return new IllegalSpreadError(`cannot resolve host in ${where}: ${err.message}`, { cause: err });
  }
  return new CouldNotConnectError(`could not connect to ${where}: ${err.message}`, { cause: err });
}
