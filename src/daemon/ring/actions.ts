/**
 * What the engine asks its edge to do. The engine never touches sockets or clocks: every call
 * into it queues actions, which the edge takes with `takeActions()` and carries out in order
 * (SPEC.md Part V §3).
 *
 * Byte arrays in actions belong to the edge once taken: the engine never writes to them again.
 */

export type Channel = 'data' | 'token';

export const RingTimer = {
  /** No token and no packet of my ring for TokenTimeout ⇒ token loss (membership's business). */
  TOKEN_LOSS: 'tokenLoss',
  /** Leader only: re-send the last token (RETRANS + 1). */
  HURRY: 'hurry',
} as const;
export type RingTimer = (typeof RingTimer)[keyof typeof RingTimer];

/**
 * Send `bytes` as one UDP datagram.
 * - `to: 'proc'`: unicast to daemon `target` (a proc id) at its segment's port (data) or port+1
 *   (token).
 * - `to: 'segment'`: to segment `target`'s broadcast/multicast address at its port (data only).
 */
export interface SendAction {
  readonly kind: 'send';
  readonly channel: Channel;
  readonly to: 'proc' | 'segment';
  readonly target: number;
  readonly bytes: Uint8Array;
}

/** Arm `timer` to fire at `at` (ms, the clock of the `now` arguments), replacing any earlier arming; `at` null cancels. */
export interface TimerAction {
  readonly kind: 'timer';
  readonly timer: RingTimer;
  readonly at: number | null;
}

/**
 * A message is ready for the session / groups layer, in this daemon's delivery order.
 * `message` is the whole ring message (48-byte header, groups, data) in its originator's order.
 */
export interface DeliverAction {
  readonly kind: 'deliver';
  readonly message: Uint8Array;
  /** Packet type of the packet that completed the message (RELIABLE/FIFO/AGREED/SAFE bit). */
  readonly packetType: number;
  /** Proc id of the originating daemon. */
  readonly sender: number;
  /** Ring sequence number of the packet that completed the message. */
  readonly seq: number;
}

/** The token-loss timer fired: the ring is gone; membership takes over (Memb_token_loss). */
export interface TokenLostAction {
  readonly kind: 'tokenLost';
}

/**
 * A datagram that is not the operational ring's business, handed up unchanged:
 * - `membership`: ALIVE / JOIN / REFER (data channel), FORM1 / FORM2 (token channel);
 * - `foreign`: a data packet of another ring id (membership's "foreign packet" evidence);
 * - `control`: STATUS / PARTITION / FC / RELOAD from a monitor.
 */
export interface UpwardAction {
  readonly kind: 'upward';
  readonly what: 'membership' | 'foreign' | 'control';
  readonly channel: Channel;
  readonly bytes: Uint8Array;
}

/** The down queue crossed WATER_MARK or WATER_MARK_BYTES: stop (true) or resume (false) reading client sockets. */
export interface BackpressureAction {
  readonly kind: 'backpressure';
  readonly blocked: boolean;
}

/**
 * Something the reference treats as fatal (it exits): a broken invariant of the protocol.
 * The engine reports it and carries on as best it can.
 */
export interface ViolationAction {
  readonly kind: 'violation';
  readonly code: ViolationCode;
  readonly message: string;
}

export type ViolationCode =
  | 'ARU_DECREASED'
  | 'RTR_BELOW_ARU'
  | 'DISCARD_MISSING'
  | 'AGREED_MISSING'
  | 'FRAGMENT_SEQUENCE'
  | 'SEQ_COLLISION';

export type RingAction =
  | SendAction
  | TimerAction
  | DeliverAction
  | TokenLostAction
  | UpwardAction
  | BackpressureAction
  | ViolationAction;
