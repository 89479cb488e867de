/**
 * Reconnection policy and status reports (README "Reconnection"): the options, the backoff with
 * jitter and limits, the loop that dials the daemons of the list until one accepts, and the
 * `status()` fan-out. The connection decides when to reconnect and what to do after.
 */
import { formatSpreadAddress } from './address.js';
import type { SpreadAddress } from './address.js';
import { ConnectionClosedError, SpreadError } from './errors.js';

export interface ReconnectOptions {
  /** Give up after this many failed attempts. Default: unlimited. */
  maxAttempts?: number | undefined;
  /** Give up when this long has passed since the connection was lost, ms. Default: unlimited. */
  maxTimeMs?: number | undefined;
  /** Delay before the first attempt, ms. Default 100. */
  initialDelayMs?: number | undefined;
  /** Upper bound of the delay between attempts, ms. Default 5000. */
  maxDelayMs?: number | undefined;
  /** Each delay is the previous one times this. Default 2. */
  multiplier?: number | undefined;
  /** Fraction of each delay drawn at random (0: none, 1: full jitter). Default 0.5. */
  jitter?: number | undefined;
  /** Deadline of one attempt (socket + handshake), ms. Default 5000. */
  attemptTimeoutMs?: number | undefined;
  /**
   * 'keep' (default): ask for the same private name again (the daemon-generated one too);
   * 'new': ask for the name given to connect(), or let the daemon generate a fresh one.
   */
  privateName?: 'keep' | 'new' | undefined;
}

/** A ReconnectOptions with every default filled in. */
export type ReconnectPolicy = Required<{ [K in keyof ReconnectOptions]: Exclude<ReconnectOptions[K], undefined> }>;

export const DEFAULT_RECONNECT: ReconnectPolicy = {
  maxAttempts: Infinity,
  maxTimeMs: Infinity,
  initialDelayMs: 100,
  maxDelayMs: 5000,
  multiplier: 2,
  jitter: 0.5,
  attemptTimeoutMs: 5000,
  privateName: 'keep',
};

/** The policy for connect()'s `reconnect` option; undefined when reconnection is off. */
export function reconnectPolicy(opt: boolean | ReconnectOptions | undefined): ReconnectPolicy | undefined {
  if (opt === false) return undefined;
  const o = opt === true || opt === undefined ? {} : opt;
  const num = (v: number | undefined, d: number, min: number): number => (typeof v === 'number' && !Number.isNaN(v) && v >= min ? v : d);
  return {
    maxAttempts: num(o.maxAttempts, DEFAULT_RECONNECT.maxAttempts, 1),
    maxTimeMs: num(o.maxTimeMs, DEFAULT_RECONNECT.maxTimeMs, 0),
    initialDelayMs: num(o.initialDelayMs, DEFAULT_RECONNECT.initialDelayMs, 0),
    maxDelayMs: num(o.maxDelayMs, DEFAULT_RECONNECT.maxDelayMs, 0),
    multiplier: num(o.multiplier, DEFAULT_RECONNECT.multiplier, 1),
    jitter: Math.min(1, num(o.jitter, DEFAULT_RECONNECT.jitter, 0)),
    attemptTimeoutMs: num(o.attemptTimeoutMs, DEFAULT_RECONNECT.attemptTimeoutMs, 1),
    privateName: o.privateName === 'new' ? 'new' : 'keep',
  };
}

/**
 * Delay before attempt `attempt` (1-based): initialDelay · multiplier^(attempt−1), capped at
 * maxDelay, of which the fraction `jitter` is scaled by `random` (0..1).
 */
export function backoffDelay(p: ReconnectPolicy, attempt: number, random: number = Math.random()): number {
  const base = Math.min(p.maxDelayMs, p.initialDelayMs * p.multiplier ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - p.jitter) + base * p.jitter * random);
}

/** What `status()` reports. */
export type ConnectionStatus =
  /** The session with `daemon` ended (`error` says why); reconnection starts. */
  | { type: 'disconnect'; daemon: string; error: SpreadError }
  /** Attempt number `attempt` will dial `daemon` after `delayMs`. */
  | { type: 'reconnecting'; attempt: number; daemon: string; delayMs: number }
  /** A new session is open (its private group may differ from the previous one). */
  | { type: 'reconnected'; attempt: number; daemon: string; privateGroup: string; previousPrivateGroup: string; downtimeMs: number }
  /** The joins of `groups` were written on the new session. */
  | { type: 'rejoined'; groups: string[] }
  /** An attempt failed (`final` false), or reconnection gave up and the connection is closed (`final` true). */
  | { type: 'error'; error: SpreadError; final: boolean };

const STATUS_BUFFER = 1024;

/** Fans status reports out to every `status()` iterator (each from the moment it was created). */
export class StatusHub {
  private readonly listeners = new Set<{ items: ConnectionStatus[]; wake: (() => void) | undefined }>();
  private ended = false;

  emit(s: ConnectionStatus): void {
    for (const l of this.listeners) {
      if (l.items.length >= STATUS_BUFFER) l.items.shift();
      l.items.push(s);
      l.wake?.();
    }
  }

  /** Ends every iterator (after what it holds). */
  end(): void {
    this.ended = true;
    for (const l of this.listeners) l.wake?.();
  }

  /** An iterator of the reports from now on (registered at once, not at the first next()). */
  iterate(signal?: AbortSignal): AsyncGenerator<ConnectionStatus, void, undefined> {
    const l = { items: [] as ConnectionStatus[], wake: undefined as (() => void) | undefined };
    this.listeners.add(l);
    return this.drain(l, signal);
  }

  private async *drain(
    l: { items: ConnectionStatus[]; wake: (() => void) | undefined },
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ConnectionStatus, void, undefined> {
    const onAbort = (): void => l.wake?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const s = l.items.shift();
        if (s !== undefined) {
          yield s;
          continue;
        }
        if (this.ended || signal?.aborted === true) return;
        await new Promise<void>((resolve) => {
          l.wake = resolve;
        });
        l.wake = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.listeners.delete(l);
    }
  }
}

/**
 * Dials the daemons of `targets` in turn, starting with `start` (the one just lost), with the
 * policy's backoff, until `dial` succeeds; rejects with ConnectionClosedError when the limits are
 * reached or `stop` aborts. Reports each attempt and failure to `hub`.
 */
export async function redial<T>(
  policy: ReconnectPolicy,
  targets: readonly SpreadAddress[],
  start: number,
  dial: (target: SpreadAddress, timeoutMs: number) => Promise<T>,
  hub: StatusHub,
  stop: AbortSignal,
): Promise<{ value: T; index: number; attempt: number }> {
  const began = Date.now();
  let last: unknown;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    const index = (start + attempt - 1) % targets.length;
    const target = targets[index]!;
    const delayMs = backoffDelay(policy, attempt);
    const left = policy.maxTimeMs - (Date.now() - began);
    if (delayMs >= left) break;
    hub.emit({ type: 'reconnecting', attempt, daemon: formatSpreadAddress(target), delayMs });
    await sleep(delayMs, stop);
    if (stop.aborted) throw new ConnectionClosedError('reconnection stopped');
    try {
      const value = await dial(target, Math.min(policy.attemptTimeoutMs, Math.max(1, left - delayMs)));
      return { value, index, attempt };
    } catch (e) {
      last = e;
      if (stop.aborted) throw new ConnectionClosedError('reconnection stopped');
      const error = e instanceof SpreadError ? e : new ConnectionClosedError(String(e), { cause: e });
      hub.emit({ type: 'error', error, final: false });
    }
  }
  const why = `gave up reconnecting after ${Date.now() - began} ms`;
  throw new ConnectionClosedError(last instanceof Error ? `${why}: ${last.message}` : why, last === undefined ? undefined : { cause: last });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
