/**
 * Typed errors for spread.conf. Every rejection the 4.4 daemon makes while loading its
 * configuration has a stable code here; the message always starts with `file:line:column:`.
 */
export const ConfigErrorCode = {
  /** The file could not be read. */
  Unreadable: 'UNREADABLE',
  /** A token that the grammar does not allow at this point. */
  Syntax: 'SYNTAX',
  /** An address with an octet above 255. */
  InvalidIp: 'INVALID_IP',
  /** A daemon name of 20 bytes or more. */
  NameTooLong: 'NAME_TOO_LONG',
  /** Two daemons with the same name. */
  DuplicateName: 'DUPLICATE_NAME',
  /** More than 20 segments. */
  TooManySegments: 'TOO_MANY_SEGMENTS',
  /** More than 128 daemons. */
  TooManyDaemons: 'TOO_MANY_DAEMONS',
  /** More than 10 interfaces in one daemon's block. */
  TooManyInterfaces: 'TOO_MANY_INTERFACES',
  /** A daemon with `{ }` and no interface in it. */
  EmptyInterfaceBlock: 'EMPTY_INTERFACE_BLOCK',
  /** A daemon without an address whose name does not resolve (or no resolver was given). */
  UnknownHost: 'UNKNOWN_HOST',
  /** AccessControlPolicy names a policy that is not built in. */
  UnknownAccessPolicy: 'UNKNOWN_ACCESS_POLICY',
  /** Window, PersonalWindow or a timeout set to 0. */
  NonPositive: 'NON_POSITIVE',
  /** DaemonUser/DaemonGroup over 32 bytes, RuntimeDir over 4096. */
  ValueTooLong: 'VALUE_TOO_LONG',
  /** A RouteMatrix row with fewer entries than segments defined so far. */
  RouteMatrix: 'ROUTE_MATRIX',
  /** Loopback (127.x) segments together with other segments. */
  LocalhostMix: 'LOCALHOST_MIX',
  /** PersonalWindow greater than Window. */
  PersonalWindowTooBig: 'PERSONAL_WINDOW_TOO_BIG',
  /** AcceleratedRing = true and AcceleratedWindow greater than PersonalWindow. */
  AcceleratedWindowTooBig: 'ACCELERATED_WINDOW_TOO_BIG',
  /** Some but not all of the nine membership timeouts. */
  PartialTimeouts: 'PARTIAL_TIMEOUTS',
  /** The canonical configuration string would exceed 20000 characters. */
  ConfigTooLong: 'CONFIG_TOO_LONG',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/** A place in a configuration file; line and column are 1-based, column counts bytes. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The message without the `file:line:column: ` prefix. */
  readonly reason: string;

  constructor(code: ConfigErrorCode, file: string, at: SourcePosition, reason: string, options?: { cause?: unknown }) {
    super(`${file}:${at.line}:${at.column}: ${reason}`, options);
    this.code = code;
    this.file = file;
    this.line = at.line;
    this.column = at.column;
    this.reason = reason;
  }
}

export const DaemonSelectionErrorCode = {
  /** `-n NAME` names no daemon of the configuration. */
  NotFound: 'DAEMON_NOT_FOUND',
  /** No local address is an interface address of any configured daemon. */
  NoLocalMatch: 'NO_LOCAL_DAEMON',
  /** `-n NAME` of 20 bytes or more. */
  NameTooLong: 'NAME_TOO_LONG',
} as const;
export type DaemonSelectionErrorCode = (typeof DaemonSelectionErrorCode)[keyof typeof DaemonSelectionErrorCode];

/** The daemon could not find its own entry in the configuration. */
export class DaemonSelectionError extends Error {
  override readonly name = 'DaemonSelectionError';
  constructor(
    readonly code: DaemonSelectionErrorCode,
    message: string,
  ) {
    super(message);
  }
}
