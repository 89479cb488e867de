/**
 * The core's Ordering and GroupsControl over the token ring and membership (the reference's
 * protocol.c as the session and groups layers see it; SPEC.md Part VIII §1).
 *
 *   client message  → submit()        → engine.submit(frame, packetTypeOf(type), 'normal' queue)
 *   GROUPS message  → submitGroups()  → engine.submit(frame, RELIABLE | AGREED, 'groups' queue)
 *   groups layer    → setDownQueue / setDeliveryLevel → engine.setDownQueue / setDeliveryThreshold
 *   engine & membership deliveries, transitional and regular configurations (pushed by the
 *   node, in the order membership and the engine produce them) → poll()
 *
 * Configuration barrier: the reference delivers a regular configuration to the groups layer
 * inside the token visit that completes EVS, so the groups layer can switch to the GROUPS queue
 * before the ring takes the next client message. Here the core sees the configuration a little
 * later (when it polls), so from the moment a regular configuration is pushed until the core
 * has polled it the engine takes messages from the (empty unless the groups layer already
 * uses it) GROUPS queue; at the poll the queue the groups layer last chose is restored and the
 * groups layer's own actions follow.
 */
import { HEADER_SIZE, ServiceType } from '../../wire/client/index.js';
import { peekTypeWord } from '../../wire/bytes.js';
import type { RingMessage } from '../core/frames.js';
import { ringMessageFromFrame } from '../core/frames.js';
import { Fifo } from '../core/ordering.js';
import type { DeliveryLevel, DownQueueName, GroupsControl, Ordering, OrderingEvent } from '../core/ordering.js';
import type { RingId } from '../../wire/daemon/header.js';
import type { CoreLog } from '../core/daemon-core.js';
import { silentLog } from '../core/daemon-core.js';
import type { DeliverAction } from '../ring/actions.js';
import { DeliveryThreshold, packetTypeOf } from '../ring/constants.js';
import type { RingEngine } from '../ring/engine.js';
import { RingSubmitError } from '../ring/errors.js';

export interface RingOrderingOptions {
  readonly engine: RingEngine;
  readonly log?: CoreLog;
}

export interface RingOrderingStats {
  /** Messages handed up (client and GROUPS). */
  delivered: number;
  /** Regular (application) messages handed up (GlobalStatus.message_delivered). */
  regularDelivered: number;
  /** Delivered messages that were not valid frames (dropped). */
  malformed: number;
  /** Submitted messages the ring cannot carry (dropped). */
  refused: number;
}

export class RingOrdering implements Ordering, GroupsControl {
  private readonly engine: RingEngine;
  private readonly log: CoreLog;
  private readonly events = new Fifo<OrderingEvent>();
  private current: RingId | null = null;
  /** The down queue the groups layer chose last. */
  private wantedQueue: DownQueueName = 'normal';
  /** Regular configurations pushed and not yet polled (the configuration barrier). */
  private unpolledRegular = 0;
  private pushedCount = 0;
  readonly stats: RingOrderingStats = { delivered: 0, regularDelivered: 0, malformed: 0, refused: 0 };

  constructor(options: RingOrderingOptions) {
    this.engine = options.engine;
    this.log = options.log ?? silentLog;
  }

  // ------------------------------------------------------------------------------------------
  // Ordering (the core's side)

  get ringId(): RingId | null {
    return this.current;
  }

  get backlog(): number {
    return this.engine.queuedMessages;
  }

  get backlogBytes(): number {
    return this.engine.queuedBytes;
  }

  /** Events waiting for the core. */
  get pending(): number {
    return this.events.length;
  }

  /** Events pushed since the ordering was created (the node signals the core when it grows). */
  get pushed(): number {
    return this.pushedCount;
  }

  submit(message: RingMessage, now: number): void {
    this.toEngine(message, 'normal', now);
  }

  submitGroups(message: RingMessage, now: number): void {
    this.toEngine(message, 'groups', now);
  }

  setDownQueue(queue: DownQueueName, now: number): void {
    this.wantedQueue = queue;
    if (this.unpolledRegular === 0) this.engine.setDownQueue(queue, now);
  }

  setDeliveryLevel(level: DeliveryLevel): void {
    this.engine.setDeliveryThreshold(level === 'all' ? DeliveryThreshold.ALL : DeliveryThreshold.AGREED);
  }

  poll(now: number): OrderingEvent | null {
    const ev = this.events.shift() ?? null;
    if (ev !== null && ev.kind === 'regular' && --this.unpolledRegular === 0) {
      this.engine.setDownQueue(this.wantedQueue, now);
    }
    return ev;
  }

  // ------------------------------------------------------------------------------------------
  // The node's side: what the engine and membership produced, in order

  /** A whole message the ring delivered (DeliverAction.message, originator's byte order). */
  delivered(a: DeliverAction): void {
    const raw = a.message;
    const type = raw.length >= HEADER_SIZE ? peekTypeWord(raw, 0) : null;
    if (type !== null) {
      if (type & ServiceType.GROUPS_MESS) {
        this.stats.delivered++;
        this.push({ kind: 'groups', raw });
        return;
      }
    }
    let message: RingMessage;
    try {
      message = ringMessageFromFrame(raw);
    } catch (err) {
      this.stats.malformed++;
      this.log.warn({ sender: a.sender, seq: a.seq, length: raw.length }, `delivered message dropped: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.stats.delivered++;
    if (message.type & ServiceType.REGULAR_MESS) this.stats.regularDelivered++;
    this.push({ kind: 'message', message });
  }

  transitional(members: readonly number[], transId: RingId): void {
    this.push({ kind: 'transitional', transId: { procId: transId.procId | 0, time: transId.time | 0 }, members: [...members] });
  }

  regular(members: readonly number[], ringId: RingId, now: number): void {
    const id = { procId: ringId.procId | 0, time: ringId.time | 0 };
    this.current = id;
    this.unpolledRegular++;
    this.engine.setDownQueue('groups', now);
    this.push({ kind: 'regular', ringId: id, members: [...members] });
  }

  private push(ev: OrderingEvent): void {
    this.pushedCount++;
    this.events.push(ev);
  }

  private toEngine(message: RingMessage, queue: DownQueueName, now: number): void {
    const type = packetTypeOf(message.type);
    if (type === null) {
      this.stats.refused++;
      this.log.warn({ type: message.type, sender: message.sender }, 'message without a service type dropped');
      return;
    }
    try {
      this.engine.submit(message.frame, type, now, queue, message.packetRoom);
    } catch (err) {
      if (!(err instanceof RingSubmitError)) throw err;
      this.stats.refused++;
      this.log.warn({ code: err.code, sender: message.sender }, `message dropped: ${err.message}`);
    }
  }
}
