/**
 * Messages as they travel inside the daemon (SPEC.md Part III; the bytes are Part I §6, encoded
 * and read by wire/client/notices.ts).
 *
 * Every frame held here is normalised: in our (little-endian) order with the endian marker set
 * in `type`. A client message is normalised once when it is read; every delivery of the
 * message shares that one buffer. This file adds what only the daemon knows: the ordering
 * class of a service, and its own group id type mapped to the wire's.
 */
import {
  encodeKillFrame,
  normaliseFrame,
  ServiceType,
  viewFrame,
} from '../../wire/client/index.js';
import type { GroupId as WireGroupId } from '../../wire/client/index.js';

export { normaliseFrame } from '../../wire/client/index.js';
import type { GroupId } from './types.js';

/** How the ring orders a message (the reference's packet types, PROTOCOL-NOTES E.1). */
export const ServiceClass = {
  RELIABLE: 'reliable',
  FIFO: 'fifo',
  AGREED: 'agreed',
  SAFE: 'safe',
} as const;
export type ServiceClass = (typeof ServiceClass)[keyof typeof ServiceClass];

/** A message handed to the ordering layer and, once ordered, to the groups/session layers. */
export interface RingMessage {
  /** The normalised frame. Never written after creation; shared by every delivery. */
  readonly frame: Uint8Array;
  /** The type word without the endian marker. */
  readonly type: number;
  /** The header's name field up to its first NUL: the sender's private group. */
  readonly sender: string;
  /** The group fields, each up to its first NUL. */
  readonly groups: readonly string[];
  readonly dataLen: number;
  readonly service: ServiceClass;
  /**
   * Whether the `Size.PACKET_HEADER` bytes right before `frame` in its buffer are reserved for
   * it (Slab.allocWithRoom): the ring may write a packet header there and send a frame that
   * fills a packet alone without copying it (SPEC.md Part V §10).
   */
  readonly packetRoom: boolean;
}

/** Service → ring ordering class. JOIN/LEAVE/KILL are AGREED unless SAFE is also set. */
export function serviceClassOf(type: number): ServiceClass {
  if (type & (ServiceType.UNRELIABLE_MESS | ServiceType.RELIABLE_MESS)) return ServiceClass.RELIABLE;
  if (type & ServiceType.FIFO_MESS) return ServiceClass.FIFO;
  if (type & (ServiceType.CAUSAL_MESS | ServiceType.AGREED_MESS)) return ServiceClass.AGREED;
  if (type & ServiceType.SAFE_MESS) return ServiceClass.SAFE;
  return ServiceClass.AGREED;
}

/** The in-daemon view of a frame (one read back from the ring, say), normalising it first. */
export function ringMessageFromFrame(raw: Uint8Array): RingMessage {
  return ringMessageOfNormalised(normaliseFrame(raw));
}

/** The in-daemon view of a frame already in our order (a client's, just normalised by its reader). */
export function ringMessageOfNormalised(frame: Uint8Array, packetRoom = false): RingMessage {
  const view = viewFrame(frame);
  return { frame, type: view.type, sender: view.sender, groups: view.groups, dataLen: view.dataLen, service: serviceClassOf(view.type), packetRoom };
}

/**
 * The KILL the daemon sends round the ring when it drops a session itself (EOF, read error,
 * bad header, slow reader): KILL_MESS | SAFE_MESS, no groups, no data, ordered as SAFE.
 */
export function buildKill(privateGroup: string): RingMessage {
  const type = ServiceType.KILL_MESS | ServiceType.SAFE_MESS;
  return { frame: encodeKillFrame(privateGroup), type, sender: privateGroup, groups: [], dataLen: 0, service: ServiceClass.SAFE, packetRoom: false };
}

/** A group id as the client wire carries it. */
export function wireGroupId(id: GroupId): WireGroupId {
  return { procId: id.ringId.procId, time: id.ringId.time, index: id.index };
}

