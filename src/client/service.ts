/**
 * Service names and the C API's service-type predicates (sp.h `Is_*_mess` macros), defined on
 * the raw 32-bit service type as received (endian marker cleared). Each predicate tests exactly
 * what the C macro tests, so code ported from C behaves the same.
 */
import { ServiceType } from '../wire/client/constants.js';
import { IllegalServiceError } from './errors.js';

/** The six delivery services, weakest first. */
export const SERVICES = ['unreliable', 'reliable', 'fifo', 'causal', 'agreed', 'safe'] as const;
export type Service = (typeof SERVICES)[number];

/** Service name → its bit in the type word (the bit `multicast()` sets for that service). */
export const SERVICE_TYPE_OF = {
  unreliable: ServiceType.UNRELIABLE_MESS,
  reliable: ServiceType.RELIABLE_MESS,
  fifo: ServiceType.FIFO_MESS,
  causal: ServiceType.CAUSAL_MESS,
  agreed: ServiceType.AGREED_MESS,
  safe: ServiceType.SAFE_MESS,
} as const satisfies Record<Service, number>;

/** @deprecated Renamed `SERVICE_TYPE_OF` (the daemon's 0x3f mask is `ServiceType.REGULAR_MESS`). */
export const SERVICE_BITS = SERVICE_TYPE_OF;

/** The service multicast() uses when none is given: AGREED (total order, no stability wait). */
export const DEFAULT_SERVICE: Service = 'agreed';

export function isService(s: unknown): s is Service {
  return typeof s === 'string' && (SERVICES as readonly string[]).includes(s);
}

/**
 * The service-type bits multicast() sends for `service` (default AGREED) and `selfDiscard`.
 * IllegalServiceError when `service` is none of SERVICES.
 */
export function sendServiceType(service: Service | undefined, selfDiscard: boolean | undefined): number {
  const s = service ?? DEFAULT_SERVICE;
  if (!isService(s)) throw new IllegalServiceError(`illegal service ${JSON.stringify(s)}`);
  return SERVICE_TYPE_OF[s] | (selfDiscard === true ? ServiceType.SELF_DISCARD : 0);
}

/**
 * The name of the service bit in `type`; when several are set (only possible for raw sends) the
 * strongest. undefined when no service bit is set.
 */
export function serviceOf(type: number): Service | undefined {
  for (let i = SERVICES.length - 1; i >= 0; i--) {
    const s = SERVICES[i]!;
    if ((type & SERVICE_TYPE_OF[s]) !== 0) return s;
  }
  return undefined;
}


export {
  isAgreed, isCausal, isCausedByDisconnect, isCausedByJoin, isCausedByLeave, isCausedByNetwork, isFifo,
  isMembership, isRegMemb, isRegular, isReject, isReliable, isSafe, isSelfDiscard, isSelfLeave, isTransition,
  isUnreliable,
} from '../wire/client/constants.js';
