/**
 * What a receive yields: regular messages, membership notifications and rejects, decoded from
 * wire frames the way the C library's SP_receive / SP_get_memb_info present them.
 */
import { ServiceType } from '../wire/client/constants.js';
import type { Frame } from '../wire/client/framer.js';
import { hintEndianMismatch, hintMessType } from '../wire/client/message.js';
import { decodeGroupId, decodeMembershipBody, GROUP_ID_SIZE } from '../wire/client/membership.js';
import type { GroupId } from '../wire/client/membership.js';
import { ProtocolError } from '../wire/errors.js';
import { IllegalMessageError } from './errors.js';
import { isCausedByDisconnect, isCausedByJoin, isCausedByLeave, isCausedByNetwork, isMembership, isReject, isRegMemb, isRegular, isSelfDiscard, isSelfLeave, isTransition, serviceOf } from './service.js';
import type { Service } from './service.js';

export type { GroupId };

/** A regular (application) message. */
export interface SpreadMessage {
  kind: 'message';
  /** The service type as received (endian marker cleared), e.g. 0x20 SAFE, 0x60 SAFE|SELF_DISCARD. */
  serviceType: number;
  /** The service bit as a name. */
  service: Service | undefined;
  /** Whether the sender set SELF_DISCARD (visible to other receivers). */
  selfDiscard: boolean;
  /** Private group of the sending session, e.g. `#alice#localhost`. */
  sender: string;
  /** The groups the sender addressed, verbatim. */
  groups: string[];
  /** The sender's 16-bit message type, signed. */
  messType: number;
  /** True when the sender's byte order differs from ours (the hint's marker). */
  endianMismatch: boolean;
  data: Uint8Array;
}

export type MembershipReason = 'join' | 'leave' | 'disconnect' | 'network' | 'transition' | 'self-leave' | 'unknown';

/** A membership notification for one group (only sent to sessions connected with membership). */
export interface MembershipMessage {
  kind: 'membership';
  serviceType: number;
  /** The group this notification is about. */
  group: string;
  reason: MembershipReason;
  /** REG_MEMB: all members, ordered by daemon then private group name. Empty for transitional / self-leave. */
  members: string[];
  /** Group id; undefined for a self-leave (no body). */
  groupId: GroupId | undefined;
  /** REG_MEMB: the virtual-synchrony sets. Empty otherwise. */
  vsSets: string[][];
  /** Index into vsSets of the set holding this daemon's members; -1 if none. */
  myVsSet: number;
  /** vsSets[myVsSet], or empty. */
  myVsSetMembers: string[];
  /** join / leave / disconnect: the member concerned (first name of the first vs set). */
  changedMember: string | undefined;
  transitional: boolean;
  selfLeave: boolean;
  /** As the C library computes it: index of our private group in members, -1 if absent (always -1 unless REG_MEMB). */
  messType: number;
  /** The raw body bytes. */
  data: Uint8Array;
  /** Set only on the notice a reconnection delivers (not from a daemon): what it did. */
  reconnect?: ReconnectInfo | undefined;
}

/** A message the daemon refused to forward (REJECT_MESS; unreachable with the stock PERMIT policy). */
export interface RejectMessage {
  kind: 'reject';
  /** oldType | REJECT_MESS, as the C library reports it. */
  serviceType: number;
  /** The rejected message's own type (marker cleared). */
  oldType: number;
  service: Service | undefined;
  selfDiscard: boolean;
  sender: string;
  /** The original groups followed by the sender's private group. */
  groups: string[];
  messType: number;
  endianMismatch: boolean;
  data: Uint8Array;
}

/**
 * What a reconnection did (README "Reconnection"); carried by the synthetic transitional
 * membership notice the connection delivers for each group it joins again.
 */
export interface ReconnectInfo {
  /** Our private group on the lost session. */
  previousPrivateGroup: string;
  /** Our private group now (differs when the name or the daemon changed). */
  privateGroup: string;
  /** The daemon of the new session, as "port@host" or a socket path. */
  daemon: string;
  /** The groups joined again, in the order the joins were sent. */
  groups: string[];
  /** From the loss of the old session to the accept of the new one, ms. */
  downtimeMs: number;
  /** Attempts it took (1 = the first). */
  attempts: number;
}

export type SpreadEvent = SpreadMessage | MembershipMessage | RejectMessage;

/**
 * The notice a reconnection delivers for `group` (not from a daemon): a transitional
 * membership with no members and no group id, with `reconnect` set. As after a daemon's
 * TRANSITION, messages of the old membership may be missing; the new membership follows.
 */
export function reconnectNotice(group: string, info: ReconnectInfo): MembershipMessage {
  return {
    kind: 'membership',
    serviceType: ServiceType.TRANSITION_MESS,
    group,
    reason: 'transition',
    members: [],
    groupId: undefined,
    vsSets: [],
    myVsSet: -1,
    myVsSetMembers: [],
    changedMember: undefined,
    transitional: true,
    selfLeave: false,
    messType: -1,
    data: new Uint8Array(0),
    reconnect: info,
  };
}

/**
 * Converts one framed message. `privateGroup` is the receiving session's own private group
 * (for the membership messType). Throws IllegalMessageError for a malformed membership body.
 */
export function frameToEvent(frame: Frame, privateGroup: string): SpreadEvent {
  const m = frame.message;
  const h = m.header;
  const type = h.type;
  if (isReject(type)) {
    const serviceType = (m.oldType | ServiceType.REJECT_MESS) >>> 0;
    return {
      kind: 'reject',
      serviceType,
      oldType: m.oldType,
      service: serviceOf(m.oldType),
      selfDiscard: isSelfDiscard(serviceType) || isSelfDiscard(type),
      sender: h.name,
      groups: m.groups,
      messType: hintMessType(h.hint),
      endianMismatch: hintEndianMismatch(h.hint),
      data: m.data,
    };
  }
  if (isRegular(type) || !isMembership(type)) {
    // Anything that is not a membership notification is presented as a regular message, the
    // way SP_receive treats it (mess_type and endian_mismatch come from the hint).
    return {
      kind: 'message',
      serviceType: type,
      service: serviceOf(type),
      selfDiscard: isSelfDiscard(type),
      sender: h.name,
      groups: m.groups,
      messType: hintMessType(h.hint),
      endianMismatch: hintEndianMismatch(h.hint),
      data: m.data,
    };
  }
  return membershipEvent(frame, privateGroup);
}

function membershipEvent(frame: Frame, privateGroup: string): MembershipMessage {
  const m = frame.message;
  const type = m.header.type;
  const data = m.data;
  const le = frame.littleEndian;
  let groupId: GroupId | undefined;
  let vsSets: string[][] = [];
  let myVsSet = -1;
  try {
    if (isRegMemb(type)) {
      const body = decodeMembershipBody(data, 0, data.length, le).value;
      groupId = body.groupId;
      vsSets = body.vsSets;
      myVsSet = body.myVsSet;
    } else if (data.length >= GROUP_ID_SIZE) {
      groupId = decodeGroupId(data, 0, data.length, le).value;
    }
  } catch (e) {
    if (e instanceof ProtocolError) {
      throw new IllegalMessageError(`malformed membership message for group "${m.header.name}": ${e.message}`, { cause: e });
    }
    throw e;
  }
  const selfLeave = isSelfLeave(type);
  const transitional = isTransition(type);
  let reason: MembershipReason = 'unknown';
  if (selfLeave) reason = 'self-leave';
  else if (transitional) reason = 'transition';
  else if (isRegMemb(type)) {
    if (isCausedByJoin(type)) reason = 'join';
    else if (isCausedByLeave(type)) reason = 'leave';
    else if (isCausedByDisconnect(type)) reason = 'disconnect';
    else if (isCausedByNetwork(type)) reason = 'network';
  }
  const lightweight = reason === 'join' || reason === 'leave' || reason === 'disconnect';
  return {
    kind: 'membership',
    serviceType: type,
    group: m.header.name,
    reason,
    members: m.groups,
    groupId,
    vsSets,
    myVsSet,
    myVsSetMembers: myVsSet >= 0 ? vsSets[myVsSet]! : [],
    changedMember: lightweight ? vsSets[0]?.[0] : undefined,
    transitional,
    selfLeave,
    messType: isRegMemb(type) ? m.groups.indexOf(privateGroup) : -1,
    data,
  };
}

/** SP_equal_group_ids. */
export function equalGroupIds(a: GroupId, b: GroupId): boolean {
  return a.procId === b.procId && a.time === b.time && a.index === b.index;
}
