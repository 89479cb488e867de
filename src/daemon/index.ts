/**
 * The daemon: start one with startDaemon(). Below it, each layer is exported for the tools,
 * the simulator and the tests:
 *
 *   node/        DaemonNode: one daemon's ring side, sans I/O (ring engine + membership +
 *                RingOrdering, the core's ordering over both) and its monitor replies
 *   ring         the operational token ring (SPEC.md Part V), as the namespace `ring`
 *   membership   GATHER / FORM / EVS (SPEC.md Part VI), as the namespace `membership`
 *   core/        the client-facing half, sans I/O: sessions, the groups layer, DaemonCore, and
 *                LocalRing, a one-daemon ordering for the core's unit tests
 *   net/         the socket edges: UdpEdge (daemon ⇄ daemon) and ClientServer (TCP + unix)
 *   auth         NULL / IP authentication and spread.access_ip
 */
export { localIPv4Addresses, membershipLines, startDaemon } from './daemon.js';
export type { RunningDaemon, StartDaemonOptions } from './daemon.js';
export { deriveSettings, UNIX_SOCKET_DIR } from './settings.js';
export type { DaemonSettings } from './settings.js';

// The ring side
export * from './node/node.js';
export { RingOrdering } from './node/ring-ordering.js';
export type { RingOrderingOptions, RingOrderingStats } from './node/ring-ordering.js';
export * as ring from './ring/index.js';
export * as membership from './membership/index.js';

// The client-facing side
export { DaemonCore, silentLog } from './core/daemon-core.js';
export type { ConnId, CoreAction, CoreLog, CoreOptions, CoreStats, PeerInfo, Transport } from './core/daemon-core.js';
export { Fifo, LocalRing } from './core/ordering.js';
export type { DeliveryLevel, DownQueueName, GroupsControl, LocalRingOptions, Ordering, OrderingEvent } from './core/ordering.js';
export { GroupsLayer, GroupsState } from './core/groups.js';
export type { GroupsAction, GroupsOutput, GroupView, Notification } from './core/groups.js';
export { buildKill, normaliseFrame, ringMessageFromFrame, ServiceClass, serviceClassOf } from './core/frames.js';
export type { RingMessage } from './core/frames.js';
export { SessionMachine } from './core/session.js';
export type { SessionEffect, SessionHost, SessionPhase } from './core/session.js';
export { ClientMessageReader, HeaderViolation, MAX_CLIENT_BODY, validateClientHeader } from './core/reader.js';
export { AUTH_METHODS, AccessFileError, authenticate, authenticateLegacy, ipAllowed, offeredMethods, parseAccessIp } from './core/auth.js';
export type { AuthPolicy, IpRule } from './core/auth.js';
export { clientAddressValue, ipToProcId, procIdToIp } from './core/types.js';
export type { DaemonRef, GroupId } from './core/types.js';
export type { RingId } from '../wire/daemon/header.js';

// The socket edges
export { openUdpEdge, UdpDrop, UdpEdge, UdpEdgeError } from './net/udp.js';
export type { UdpEdgeErrorCode, UdpEdgeOptions, UdpStats } from './net/udp.js';
export { ClientServer } from './net/client-server.js';
export type { ClientServerOptions, ListenInfo } from './net/client-server.js';
