/**
 * Client⇄daemon protocol constants (SPEC.md Part I). Values are the 4.4 reference's.
 */
import { bitCount } from '../bytes.js';

/** Service-type and message-type bits of the 32-bit `type` word (SPEC.md Part I §4). */
export const ServiceType = {
  UNRELIABLE_MESS: 0x00000001,
  RELIABLE_MESS: 0x00000002,
  FIFO_MESS: 0x00000004,
  CAUSAL_MESS: 0x00000008,
  AGREED_MESS: 0x00000010,
  SAFE_MESS: 0x00000020,
  /** The mask of the six service bits above (what the daemon counts when it validates a header). */
  REGULAR_MESS: 0x0000003f,
  SELF_DISCARD: 0x00000040,
  ENDIAN_RESERVED: 0x80000080,
  CAUSED_BY_JOIN: 0x00000100,
  CAUSED_BY_LEAVE: 0x00000200,
  CAUSED_BY_DISCONNECT: 0x00000400,
  CAUSED_BY_NETWORK: 0x00000800,
  REG_MEMB_MESS: 0x00001000,
  TRANSITION_MESS: 0x00002000,
  MEMBERSHIP_MESS: 0x00003f00,
  JOIN_MESS: 0x00010000,
  LEAVE_MESS: 0x00020000,
  KILL_MESS: 0x00040000,
  GROUPS_MESS: 0x00080000,
  REJECT_MESS: 0x00400000,
  /** Receive flag of the C API (never on the wire). */
  DROP_RECV: 0x01000000,
} as const;

/** Connect results and error codes of the C API (SPEC.md Part I §8). */
export const ErrorCode = {
  ACCEPT_SESSION: 1,
  ILLEGAL_SPREAD: -1,
  COULD_NOT_CONNECT: -2,
  REJECT_QUOTA: -3,
  REJECT_NO_NAME: -4,
  REJECT_ILLEGAL_NAME: -5,
  REJECT_NOT_UNIQUE: -6,
  REJECT_VERSION: -7,
  CONNECTION_CLOSED: -8,
  REJECT_AUTH: -9,
  ILLEGAL_SESSION: -11,
  ILLEGAL_SERVICE: -12,
  ILLEGAL_MESSAGE: -13,
  ILLEGAL_GROUP: -14,
  BUFFER_TOO_SHORT: -15,
  GROUPS_TOO_SHORT: -16,
  MESSAGE_TOO_LONG: -17,
  NET_ERROR_ON_SESSION: -18,
  SP_BUG: -19,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

export function errorCodeName(code: number): ErrorCodeName | undefined {
  for (const k of Object.keys(ErrorCode) as ErrorCodeName[]) if (ErrorCode[k] === code) return k;
  return undefined;
}

export const Limits = {
  /** Library version we speak. */
  VERSION: { major: 4, minor: 4, patch: 0 },
  MAX_PRIVATE_NAME: 10,
  /** Daemon name including NUL. */
  MAX_PROC_NAME: 20,
  /** Group name field width including NUL (31 usable bytes). */
  MAX_GROUP_NAME: 32,
  MAX_GROUPS_PER_MESSAGE: 100,
  MESSAGE_HEADER_SIZE: 48,
  /** Library-side bound on data_len + 32 * num_groups. */
  MAX_MESSAGE_BODY_LEN: 144000,
  /**
   * The largest data_len + 32 * num_groups that fits the reference's 100 fragments of
   * 1432 bytes after the 48-byte header (SPEC.md Part I §9); above it the reference aborts.
   */
  MAX_DELIVERABLE_BODY: 143152,
  MAX_AUTH_NAME: 30,
  MAX_AUTH_METHODS: 3,
  AUTH_REPLY_SIZE: 90,
  MAX_SESSIONS: 997,
  DEFAULT_MAX_SESSION_MESSAGES: 1000,
  DEFAULT_PORT: 4803,
} as const;

/** Lowest and highest byte allowed in private names and joined group names ('$'..'~'). */
export const NAME_CHAR_MIN = 0x24;
export const NAME_CHAR_MAX = 0x7e;

/** Version number as the reference compares them: major*10000 + minor*100 + patch. */
export function versionNumber(major: number, minor: number, patch: number): number {
  return major * 10000 + minor * 100 + patch;
}

/*
 * The C API's message-type predicates, with the reference's exact semantics
 * (Is_regular_mess, Is_membership_mess, Is_self_leave, ...).
 */
const T = ServiceType;

/** Number of the six service bits (REGULAR_MESS, 0x3f) set in `type`. */
export function serviceBitCount(type: number): number {
  return bitCount(type & T.REGULAR_MESS);
}
export const isUnreliable = (type: number): boolean => (type & T.UNRELIABLE_MESS) !== 0;
export const isReliable = (type: number): boolean => (type & T.RELIABLE_MESS) !== 0;
export const isFifo = (type: number): boolean => (type & T.FIFO_MESS) !== 0;
export const isCausal = (type: number): boolean => (type & T.CAUSAL_MESS) !== 0;
export const isAgreed = (type: number): boolean => (type & T.AGREED_MESS) !== 0;
export const isSafe = (type: number): boolean => (type & T.SAFE_MESS) !== 0;
/** Is_regular_mess: a service bit and not a reject. */
export const isRegular = (type: number): boolean => (type & T.REGULAR_MESS) !== 0 && (type & T.REJECT_MESS) === 0;
export const isSelfDiscard = (type: number): boolean => (type & T.SELF_DISCARD) !== 0;
/** Is_membership_mess: a membership bit (0x3f00) and not a reject. */
export const isMembership = (type: number): boolean => (type & T.MEMBERSHIP_MESS) !== 0 && (type & T.REJECT_MESS) === 0;
export const isRegMemb = (type: number): boolean => (type & T.REG_MEMB_MESS) !== 0;
export const isTransition = (type: number): boolean => (type & T.TRANSITION_MESS) !== 0;
export const isCausedByJoin = (type: number): boolean => (type & T.CAUSED_BY_JOIN) !== 0;
export const isCausedByLeave = (type: number): boolean => (type & T.CAUSED_BY_LEAVE) !== 0;
export const isCausedByDisconnect = (type: number): boolean => (type & T.CAUSED_BY_DISCONNECT) !== 0;
export const isCausedByNetwork = (type: number): boolean => (type & T.CAUSED_BY_NETWORK) !== 0;
export const isReject = (type: number): boolean => (type & T.REJECT_MESS) !== 0;
/** Is_self_leave: CAUSED_BY_LEAVE without REG_MEMB_MESS or TRANSITION_MESS. */
export const isSelfLeave = (type: number): boolean =>
  (type & T.CAUSED_BY_LEAVE) !== 0 && (type & (T.REG_MEMB_MESS | T.TRANSITION_MESS)) === 0;
