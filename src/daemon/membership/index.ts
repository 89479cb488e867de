/**
 * The daemon membership protocol (SPEC.md Part VI): a sans-I/O state machine that
 * forms rings with the reference daemons, and the RingPort it needs from the ring engine.
 */
export { Membership, MembState, membStateName, type MembershipStatus } from './membership.js';
export { MembershipConf, type ProcInfo } from './conf.js';
export * from './actions.js';
export type { EvsDeliveries, EvsRing, RingPort } from './ring-port.js';
export {
  FORM_SEQ_MARGIN, INITIAL_RING_TIME, MAX_EVS_ROUNDS, PARTITION_TIMEOUT_MS, membershipSettingsFromConfig,
  type MembershipReload, type MembershipSettings,
} from './settings.js';
export { insertMember, insertRep, smallestMember, smallestRep, sortMembers, sortReps, type Rep } from './reps.js';
