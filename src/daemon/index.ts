/**
 * The daemon: start one with startDaemon(); the sans-I/O core is exported for tools, tests and
 * the ring engine that replaces the local ring.
 */
export { localIPv4Addresses, startDaemon } from './daemon.js';
export type { RunningDaemon, StartDaemonOptions } from './daemon.js';
export { deriveSettings, UNIX_SOCKET_DIR } from './settings.js';
export type { DaemonSettings } from './settings.js';
export { DaemonCore, silentLog } from './core/daemon-core.js';
export type { ConnId, CoreAction, CoreLog, CoreOptions, CoreStats, PeerInfo, Transport } from './core/daemon-core.js';
export { Fifo, LocalRing } from './core/ordering.js';
export type { LocalRingOptions, Ordering, OrderingEvent } from './core/ordering.js';
export { GroupsLayer } from './core/groups.js';
export type { Notification } from './core/groups.js';
export { buildKill, normaliseFrame, ringMessageFromFrame, ServiceClass, serviceClassOf } from './core/frames.js';
export type { RingMessage } from './core/frames.js';
export { SessionMachine } from './core/session.js';
export type { SessionEffect, SessionHost, SessionPhase } from './core/session.js';
export { ClientMessageReader, HeaderViolation, MAX_CLIENT_BODY, validateClientHeader } from './core/reader.js';
export { AUTH_METHODS, AccessFileError, authenticate, authenticateLegacy, ipAllowed, offeredMethods, parseAccessIp } from './core/auth.js';
export type { AuthPolicy, IpRule } from './core/auth.js';
export { clientAddressValue, ipToProcId, procIdToIp } from './core/types.js';
export type { DaemonRef, GroupId, RingId } from './core/types.js';
