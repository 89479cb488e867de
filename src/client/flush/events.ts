/**
 * Flush layer, what FL_receive hands the application (SPEC.md "Flush layer", §FL.4): messages
 * with the trailers removed, flush requests, and view-synchronous memberships.
 */
import type { GroupId, MembershipReason, SpreadMessage } from '../index.js';

/**
 * An application message. As FL_receive returns it: `messType` is the sender's own mess type,
 * `data` has the flush trailers removed; for a subgroup message (`subgroup` set, SUBGROUP_CAST in
 * `serviceType`) `groups` is the receivers followed by the flush group.
 */
export interface FlushMessage extends SpreadMessage {
  /** The flush group it was sent in (the first group, or the subgroup trailer's), or undefined for a private message. */
  group: string | undefined;
  /** Sent with FL_subgroupcast / FL_unicast. */
  subgroup: boolean;
}

/** FLUSH_REQ_MESS: the group's membership is changing; answer with `flush(group)` once done sending in this view. */
export interface FlushRequest {
  kind: 'flush-request';
  /** FLUSH_REQ_MESS. */
  serviceType: number;
  group: string;
}

/** A view-synchronous membership (REG_MEMB), delivered once every member of the new view has flushed. */
export interface FlushView {
  kind: 'view';
  /** REG_MEMB_MESS | CAUSED_BY_* (several changes collapsed into one are CAUSED_BY_NETWORK). */
  serviceType: number;
  group: string;
  reason: Exclude<MembershipReason, 'transition' | 'self-leave' | 'unknown'>;
  /** The new view's members, in the daemon's order. */
  members: string[];
  /** Our index in members (FL_receive's mess_type). */
  myIndex: number;
  groupId: GroupId;
  /**
   * The vs set, as FL_receive's body carries it: for join / leave / disconnect the one member
   * concerned; for network, the members of our previous view that came with us into this one.
   */
  vsSet: string[];
  /** join / leave / disconnect: vsSet[0]. */
  changedMember: string | undefined;
}

/** TRANSITION_MESS: members of the current view are going; messages until the next view may not reach them. */
export interface FlushTransition {
  kind: 'transition';
  serviceType: number;
  group: string;
}

/** The daemon's confirmation that we left `group` (CAUSED_BY_LEAVE without REG_MEMB). */
export interface FlushSelfLeave {
  kind: 'self-leave';
  serviceType: number;
  group: string;
}

export type FlushEvent = FlushMessage | FlushRequest | FlushView | FlushTransition | FlushSelfLeave;
