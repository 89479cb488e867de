/**
 * What the membership machine asks its edge to do (SPEC.md Part VI §10). Like the ring
 * engine, the machine never touches sockets or clocks: every input queues actions, taken with
 * `takeActions()` and carried out in order.
 *
 * `send` actions have exactly the ring engine's SendAction shape, so one edge serves both.
 * `deliver` actions are the ring engine's DeliverAction, handed back by the RingPort during
 * EVS so that they come out interleaved with the configuration changes in the reference's
 * order: old-ring messages, transitional configuration, the rest of the old ring's messages,
 * regular configuration.
 */
import type { RingId } from '../../wire/daemon/header.js';
import type { DeliverAction, SendAction } from '../ring/actions.js';

export type { DeliverAction, SendAction } from '../ring/actions.js';

/** The membership timers (the reference's E_queue events). Token and hurry timers are the ring engine's. */
export const MembershipTimer = {
  /** Scast_alive_event: resend ALIVE (SEG). */
  ALIVE: 'alive',
  /** Gather_or_represented_event: end of SEG. */
  SEG: 'seg',
  /** Shift_to_seg_event: a REPRESENTED daemon that stopped hearing its representative. */
  REP: 'rep',
  /** Send_join_event: resend JOIN (GATHER). */
  JOIN: 'join',
  /** Form_or_fail_event: end of GATHER. */
  GATHER: 'gather',
  /** Memb_token_loss_event while in FORM: the FORM tokens did not come back. */
  FORM: 'form',
  /** Memb_lookup_new_members_event: the ring leader probes for absent daemons. */
  LOOKUP: 'lookup',
  /** Clear_partition_cb: a monitor partition expires. */
  PARTITION: 'partition',
  /** Prot_initiate_conf_reload, queued with a zero timeout (RELOAD, or OP reached with one pending). */
  RELOAD: 'reload',
} as const;
export type MembershipTimer = (typeof MembershipTimer)[keyof typeof MembershipTimer];

/** Arm `timer` at `at` (ms, the clock of the `now` arguments) replacing any earlier arming; null cancels. */
export interface MembershipTimerAction {
  readonly kind: 'timer';
  readonly timer: MembershipTimer;
  readonly at: number | null;
}

/**
 * The transitional configuration of the old ring (Memb_transitional + Sess_deliver_trans_memb):
 * the members of my old ring that go through to the new ring together, in conf order, with
 * the transitional id. Delivered after the old ring's messages that precede it and before the
 * ones that follow it (which come only from `commit` after a hole).
 */
export interface TransitionalAction {
  readonly kind: 'transitional';
  readonly members: readonly number[];
  readonly id: RingId;
  /** Commit_membership: every daemon of the commit set, conf order. */
  readonly commit: readonly number[];
}

/** The new regular configuration (Memb_regular + Sess_deliver_reg_memb): members in ring order. */
export interface RegularAction {
  readonly kind: 'regular';
  readonly members: readonly number[];
  readonly ringId: RingId;
}

/**
 * A RELOAD reached OP: re-read spread.conf now (Conf_reload_initiate). With reloadByEdge the
 * edge answers Membership.reloadLoaded and the token loss follows it; else membership has
 * lost the token already, on the running configuration.
 */
export interface ReloadAction {
  readonly kind: 'reload';
}

/** A monitor PARTITION gave this daemon component −1: the reference exits. */
export interface ExitAction {
  readonly kind: 'exit';
  readonly reason: string;
}

/** Something the reference logs (Alarm MEMB / PRINT), for the daemon's log. */
export interface MembershipLogAction {
  readonly kind: 'log';
  readonly level: 'info' | 'warning' | 'error';
  readonly message: string;
}

export type MembershipAction =
  | SendAction
  | MembershipTimerAction
  | DeliverAction
  | TransitionalAction
  | RegularAction
  | ExitAction
  | ReloadAction
  | MembershipLogAction;
