/**
 * Message counters for the metrics (SPEC Part IX §4): an Ordering that passes every call to
 * the node's and counts, per service, the messages and bytes this daemon's sessions submit
 * (in) and the messages the ring delivers to it (out), and each regular configuration with its
 * cause. Put between the core and the node only when metrics or the activity log are on.
 */
import type { DeliveryLevel, DownQueueName, GroupsControl, Ordering, OrderingEvent } from '../core/ordering.js';
import type { RingMessage } from '../core/frames.js';
import type { RingId } from '../../wire/daemon/header.js';
import { ServiceType } from '../../wire/client/constants.js';

export const SERVICES = ['unreliable', 'reliable', 'fifo', 'causal', 'agreed', 'safe', 'join', 'leave', 'kill', 'other'] as const;
export type ServiceName = (typeof SERVICES)[number];

const NAMED_BITS: readonly [number, ServiceName][] = [
  [ServiceType.JOIN_MESS, 'join'],
  [ServiceType.LEAVE_MESS, 'leave'],
  [ServiceType.KILL_MESS, 'kill'],
  [ServiceType.SAFE_MESS, 'safe'],
  [ServiceType.AGREED_MESS, 'agreed'],
  [ServiceType.CAUSAL_MESS, 'causal'],
  [ServiceType.FIFO_MESS, 'fifo'],
  [ServiceType.RELIABLE_MESS, 'reliable'],
  [ServiceType.UNRELIABLE_MESS, 'unreliable'],
];

/** Each bit with its service's index in SERVICES, worked out once. */
const BITS: readonly [number, number][] = NAMED_BITS.map(([bit, name]) => [bit, SERVICES.indexOf(name)]);

export function serviceIndex(type: number): number {
  for (const [bit, index] of BITS) if (type & bit) return index;
  return SERVICES.length - 1;
}

/** Why the membership changed, from the member lists before and after. */
export type ChangeCause = 'start' | 'join' | 'leave' | 'join_and_leave' | 'same';

export function changeCause(before: readonly number[] | null, after: readonly number[]): ChangeCause {
  if (before === null) return 'start';
  const added = after.some((m) => !before.includes(m));
  const lost = before.some((m) => !after.includes(m));
  return added && lost ? 'join_and_leave' : added ? 'join' : lost ? 'leave' : 'same';
}

export class MessageCounters {
  readonly messagesIn = new Float64Array(SERVICES.length);
  readonly bytesIn = new Float64Array(SERVICES.length);
  readonly messagesOut = new Float64Array(SERVICES.length);
  readonly bytesOut = new Float64Array(SERVICES.length);
  readonly changes = new Map<ChangeCause, number>();
  private members: readonly number[] | null = null;

  /** `onRegular` hears every regular configuration (the activity log). */
  constructor(private readonly onRegular?: (ringId: RingId, members: readonly number[]) => void) {}

  /** The ordering the core should use: `inner`, counted. */
  wrap(inner: Ordering & GroupsControl): Ordering & GroupsControl {
    const saw = (ev: OrderingEvent): void => this.saw(ev);
    const counted = (message: RingMessage): void => {
      const i = serviceIndex(message.type);
      this.messagesIn[i]!++;
      this.bytesIn[i]! += message.dataLen;
    };
    return {
      get ringId() {
        return inner.ringId;
      },
      get backlog() {
        return inner.backlog;
      },
      get backlogBytes() {
        return inner.backlogBytes;
      },
      submit(message: RingMessage, now: number): void {
        counted(message);
        inner.submit(message, now);
      },
      poll(now: number): OrderingEvent | null {
        const ev = inner.poll(now);
        if (ev !== null) saw(ev);
        return ev;
      },
      submitGroups: (m: RingMessage, now: number) => inner.submitGroups(m, now),
      setDownQueue: (q: DownQueueName, now: number) => inner.setDownQueue(q, now),
      setDeliveryLevel: (l: DeliveryLevel) => inner.setDeliveryLevel(l),
    };
  }

  private saw(ev: OrderingEvent): void {
    if (ev.kind === 'message') {
      const i = serviceIndex(ev.message.type);
      this.messagesOut[i]!++;
      this.bytesOut[i]! += ev.message.dataLen;
    } else if (ev.kind === 'regular') {
      const cause = changeCause(this.members, ev.members);
      this.changes.set(cause, (this.changes.get(cause) ?? 0) + 1);
      this.members = [...ev.members];
      this.onRegular?.(ev.ringId, ev.members);
    }
  }
}
