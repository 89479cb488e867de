/**
 * Client errors: one class per condition of the C API, each with a stable `code` (the C
 * constant's name, e.g. 'CONNECTION_CLOSED') and `errno` (its numeric value, e.g. -8), so users
 * of the C library recognise them. `cause` chains the underlying socket or protocol error.
 */
import { ErrorCode } from '../wire/client/constants.js';
import type { ErrorCodeName } from '../wire/client/constants.js';

/** Error code names a SpreadError can carry (ACCEPT_SESSION is a success, not an error). */
export type SpreadErrorCode = Exclude<ErrorCodeName, 'ACCEPT_SESSION'> | 'UNKNOWN' | LibraryErrorCode;

/** Conditions of this library with no C counterpart (their `errno` is 0). */
export type LibraryErrorCode = 'ABORTED' | 'TIMEOUT';

export interface SpreadErrorOptions {
  cause?: unknown;
}

/** Base class of every error the client raises for a Spread condition. */
export class SpreadError extends Error {
  override name = 'SpreadError';
  /** The C constant's name, e.g. `REJECT_NOT_UNIQUE`. */
  readonly code: SpreadErrorCode;
  /** The C constant's value, e.g. -6. For `UNKNOWN` the raw value the daemon sent. */
  readonly errno: number;

  constructor(code: SpreadErrorCode, errno: number, message: string, options?: SpreadErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = errno;
  }
}

function define<C extends Exclude<SpreadErrorCode, 'UNKNOWN' | LibraryErrorCode>>(code: C, name: string, text: string) {
  return class extends SpreadError {
    override name = name;
    declare readonly code: C;
    constructor(message: string = text, options?: SpreadErrorOptions) {
      super(code, ErrorCode[code], message, options);
    }
  };
}

/** Bad `spread` address string, or its host could not be resolved (ILLEGAL_SPREAD, -1). */
export class IllegalSpreadError extends define('ILLEGAL_SPREAD', 'IllegalSpreadError', 'illegal spread address') {}
/** Socket could not be created or connected, or the connect timed out (COULD_NOT_CONNECT, -2). */
export class CouldNotConnectError extends define('COULD_NOT_CONNECT', 'CouldNotConnectError', 'could not connect to the daemon') {}
/** The daemon has no room for another session (REJECT_QUOTA, -3). */
export class RejectQuotaError extends define('REJECT_QUOTA', 'RejectQuotaError', 'daemon rejected the session: too many sessions') {}
/** Defined by the C API, never sent by a 4.4 daemon (REJECT_NO_NAME, -4). */
export class RejectNoNameError extends define('REJECT_NO_NAME', 'RejectNoNameError', 'daemon rejected the session: no name') {}
/** Private name too long or with a byte outside '$'..'~' (REJECT_ILLEGAL_NAME, -5). */
export class RejectIllegalNameError extends define('REJECT_ILLEGAL_NAME', 'RejectIllegalNameError', 'illegal private name') {}
/** Another session on this daemon already uses the private name (REJECT_NOT_UNIQUE, -6). */
export class RejectNotUniqueError extends define('REJECT_NOT_UNIQUE', 'RejectNotUniqueError', 'private name is not unique on this daemon') {}
/** Daemon and library versions are incompatible (REJECT_VERSION, -7). */
export class RejectVersionError extends define('REJECT_VERSION', 'RejectVersionError', 'incompatible daemon or library version') {}
/** The connection ended (EOF or socket error) (CONNECTION_CLOSED, -8). */
export class ConnectionClosedError extends define('CONNECTION_CLOSED', 'ConnectionClosedError', 'connection to the daemon closed') {}
/** Authentication refused by the library (method not offered) or by the daemon (REJECT_AUTH, -9). */
export class RejectAuthError extends define('REJECT_AUTH', 'RejectAuthError', 'authentication rejected') {}
/** The session was disconnected by the application (ILLEGAL_SESSION, -11). */
export class IllegalSessionError extends define('ILLEGAL_SESSION', 'IllegalSessionError', 'session is disconnected') {}
/** Not exactly one legal service (ILLEGAL_SERVICE, -12). */
export class IllegalServiceError extends define('ILLEGAL_SERVICE', 'IllegalServiceError', 'illegal service type') {}
/** A malformed message from the daemon, or an argument the message format cannot carry (ILLEGAL_MESSAGE, -13). */
export class IllegalMessageError extends define('ILLEGAL_MESSAGE', 'IllegalMessageError', 'illegal message') {}
/** Join/leave group name not 1..31 bytes of '$'..'~' (ILLEGAL_GROUP, -14). */
export class IllegalGroupError extends define('ILLEGAL_GROUP', 'IllegalGroupError', 'illegal group name') {}
/** Defined for completeness: this client never truncates a message (BUFFER_TOO_SHORT, -15). */
export class BufferTooShortError extends define('BUFFER_TOO_SHORT', 'BufferTooShortError', 'buffer too short') {}
/** Defined for completeness: this client never truncates a group list (GROUPS_TOO_SHORT, -16). */
export class GroupsTooShortError extends define('GROUPS_TOO_SHORT', 'GroupsTooShortError', 'groups array too short') {}
/** data + 32 × groups exceeds 143152 bytes, the most a daemon delivers (MESSAGE_TOO_LONG, -17). */
export class MessageTooLongError extends define('MESSAGE_TOO_LONG', 'MessageTooLongError', 'message too long') {}
/** The session failed earlier (NET_ERROR_ON_SESSION, -18). */
export class NetErrorOnSessionError extends define('NET_ERROR_ON_SESSION', 'NetErrorOnSessionError', 'session failed earlier') {}
/** Internal inconsistency (SP_BUG, -19). */
export class SpBugError extends define('SP_BUG', 'SpBugError', 'internal error') {}

/** A call was aborted through its `signal` (code ABORTED, errno 0); `cause` is the signal's reason. */
export class AbortError extends SpreadError {
  override name = 'AbortError';
  declare readonly code: 'ABORTED';
  constructor(message = 'the operation was aborted', options?: SpreadErrorOptions) {
    super('ABORTED', 0, message, options);
  }
}

/** A call's deadline passed: its signal came from `AbortSignal.timeout()` (code TIMEOUT, errno 0). */
export class TimeoutError extends SpreadError {
  override name = 'TimeoutError';
  declare readonly code: 'TIMEOUT';
  constructor(message = 'the operation timed out', options?: SpreadErrorOptions) {
    super('TIMEOUT', 0, message, options);
  }
}

/**
 * The library's error for an aborted signal: its reason itself when that is a SpreadError,
 * TimeoutError when the reason is a timeout (`AbortSignal.timeout()`), else AbortError, with the
 * reason as `cause` (and an Error reason's message appended to the message).
 */
export function abortReason(signal: AbortSignal): SpreadError {
  const reason: unknown = signal.reason;
  if (reason instanceof SpreadError) return reason;
  const name = (reason as { name?: unknown } | undefined)?.name;
  if (name === 'TimeoutError') return new TimeoutError(undefined, { cause: reason });
  // An application's own reason: its message is kept in ours.
  const own = reason instanceof Error && name !== 'AbortError' ? `: ${reason.message}` : '';
  return new AbortError(`the operation was aborted${own}`, { cause: reason });
}

/** `p`, or the library's abort error when `signal` aborts first. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Throws abortReason(signal) if the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortReason(signal);
}

const BY_ERRNO = new Map<number, new (message?: string, options?: SpreadErrorOptions) => SpreadError>([
  [ErrorCode.ILLEGAL_SPREAD, IllegalSpreadError],
  [ErrorCode.COULD_NOT_CONNECT, CouldNotConnectError],
  [ErrorCode.REJECT_QUOTA, RejectQuotaError],
  [ErrorCode.REJECT_NO_NAME, RejectNoNameError],
  [ErrorCode.REJECT_ILLEGAL_NAME, RejectIllegalNameError],
  [ErrorCode.REJECT_NOT_UNIQUE, RejectNotUniqueError],
  [ErrorCode.REJECT_VERSION, RejectVersionError],
  [ErrorCode.CONNECTION_CLOSED, ConnectionClosedError],
  [ErrorCode.REJECT_AUTH, RejectAuthError],
  [ErrorCode.ILLEGAL_SESSION, IllegalSessionError],
  [ErrorCode.ILLEGAL_SERVICE, IllegalServiceError],
  [ErrorCode.ILLEGAL_MESSAGE, IllegalMessageError],
  [ErrorCode.ILLEGAL_GROUP, IllegalGroupError],
  [ErrorCode.BUFFER_TOO_SHORT, BufferTooShortError],
  [ErrorCode.GROUPS_TOO_SHORT, GroupsTooShortError],
  [ErrorCode.MESSAGE_TOO_LONG, MessageTooLongError],
  [ErrorCode.NET_ERROR_ON_SESSION, NetErrorOnSessionError],
  [ErrorCode.SP_BUG, SpBugError],
]);

/**
 * The error for a numeric C code, e.g. the single reject byte a daemon sends during connect
 * (0xfa = -6 ⇒ RejectNotUniqueError). Unknown values give a plain SpreadError with code UNKNOWN.
 */
export function spreadErrorFromCode(errno: number, message?: string, options?: SpreadErrorOptions): SpreadError {
  const Ctor = BY_ERRNO.get(errno);
  if (Ctor !== undefined) return message === undefined ? new Ctor(undefined, options) : new Ctor(message, options);
  return new SpreadError('UNKNOWN', errno, message ?? `unexpected code ${errno} from the daemon`, options);
}

export function isSpreadError(e: unknown): e is SpreadError {
  return e instanceof SpreadError;
}
