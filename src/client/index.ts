/**
 * spread-ts client: the public API (package entry ".").
 * See src/client/README.md for a guide.
 *
 * @module spread-ts
 */
export { connect, AUTH_METHODS, DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_QUEUED_EVENTS } from './connect.js';
export type { AuthMethod, ConnectOptions } from './connect.js';
export { DEFAULT_RECONNECT } from './reconnect.js';
export type { ConnectionStatus, ReconnectOptions, ReconnectPolicy } from './reconnect.js';
export { Subscription } from './subscription.js';
export type { SubscribeOptions, SubscriptionEvent } from './subscription.js';
export { SpreadConnection } from './connection.js';
export type {
  ConnectionStats,
  DaemonVersion,
  MessageHandlerOptions,
  MulticastOptions,
  SignalOption,
  SlowConsumerInfo,
} from './connection.js';
export { parseSpreadAddress, formatSpreadAddress, UNIX_SOCKET_DIR } from './address.js';
export type { SpreadAddress, SpreadTarget } from './address.js';
export { equalGroupIds } from './events.js';
export type { GroupId, MembershipMessage, MembershipReason, ReconnectInfo, RejectMessage, SpreadEvent, SpreadMessage } from './events.js';
export {
  DEFAULT_SERVICE,
  SERVICES,
  SERVICE_BITS,
  SERVICE_TYPE_OF,
  isAgreed,
  isCausal,
  isCausedByDisconnect,
  isCausedByJoin,
  isCausedByLeave,
  isCausedByNetwork,
  isFifo,
  isMembership,
  isRegMemb,
  isRegular,
  isReject,
  isReliable,
  isSafe,
  isSelfDiscard,
  isSelfLeave,
  isService,
  isTransition,
  isUnreliable,
  serviceOf,
} from './service.js';
export type { Service } from './service.js';
export {
  AbortError,
  BufferTooShortError,
  ConnectionClosedError,
  CouldNotConnectError,
  GroupsTooShortError,
  IllegalGroupError,
  IllegalMessageError,
  IllegalServiceError,
  IllegalSessionError,
  IllegalSpreadError,
  MessageTooLongError,
  NetErrorOnSessionError,
  RejectAuthError,
  RejectIllegalNameError,
  RejectNoNameError,
  RejectNotUniqueError,
  RejectQuotaError,
  RejectVersionError,
  SpBugError,
  SpreadError,
  TimeoutError,
  isSpreadError,
  spreadErrorFromCode,
} from './errors.js';
export type { LibraryErrorCode, SpreadErrorCode, SpreadErrorOptions } from './errors.js';
/** The C API's service-type bits, error codes and limits. */
export { ServiceType, ErrorCode, Limits } from '../wire/client/constants.js';
export type { ErrorCodeName } from '../wire/client/constants.js';
