/**
 * spread-ts flush layer: the public API (package entry "./flush"), the C flush library's view
 * synchrony (FL_*) over the client. See src/client/README.md "Flush layer" and SPEC.md "Flush layer".
 */
export { flushConnect, FlushConnection } from './connection.js';
export type { FlushConnectOptions, FlushSendOptions } from './connection.js';
export type { FlushEvent, FlushMessage, FlushRequest, FlushSelfLeave, FlushTransition, FlushView } from './events.js';
export { FlushError } from './errors.js';
export type { FlushErrorCodeName } from './errors.js';
export { FlushMachine } from './machine.js';
export type { ControlSend, PreparedSend } from './machine.js';
export type { GroupState, MemberState, View, ViewState } from './views.js';
export { FL_MIN_LEGAL_MESS_TYPE, FlushErrorCode, FlushMessType, FlushServiceType } from './wire.js';
