/**
 * Service names and the C API's service-type predicates (sp.h `Is_*_mess` macros), defined on
 * the raw 32-bit service type as received (endian marker cleared). Each predicate tests exactly
 * what the C macro tests, so code ported from C behaves the same.
 */
import { ServiceType } from '../wire/client/constants.js';

/** The six delivery services, weakest first. */
export const SERVICES = ['unreliable', 'reliable', 'fifo', 'causal', 'agreed', 'safe'] as const;
export type Service = (typeof SERVICES)[number];

/** Service name → its bit in the type word. */
export const SERVICE_BITS = {
  unreliable: ServiceType.UNRELIABLE_MESS,
  reliable: ServiceType.RELIABLE_MESS,
  fifo: ServiceType.FIFO_MESS,
  causal: ServiceType.CAUSAL_MESS,
  agreed: ServiceType.AGREED_MESS,
  safe: ServiceType.SAFE_MESS,
} as const satisfies Record<Service, number>;

/** The service multicast() uses when none is given: AGREED (total order, no stability wait). */
export const DEFAULT_SERVICE: Service = 'agreed';

export function isService(s: unknown): s is Service {
  return typeof s === 'string' && (SERVICES as readonly string[]).includes(s);
}

/**
 * The name of the service bit in `type`; when several are set (only possible for raw sends) the
 * strongest. undefined when no service bit is set.
 */
export function serviceOf(type: number): Service | undefined {
  for (let i = SERVICES.length - 1; i >= 0; i--) {
    const s = SERVICES[i]!;
    if ((type & SERVICE_BITS[s]) !== 0) return s;
  }
  return undefined;
}

/** Number of service bits (0x3f) set in `type`. */
export function serviceBitCount(type: number): number {
  let n = 0;
  for (let b = type & ServiceType.REGULAR_MESS; b !== 0; b &= b - 1) n++;
  return n;
}

const T = ServiceType;
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
