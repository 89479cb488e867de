/**
 * Flush layer, the view-synchrony machine (SPEC.md "Flush layer", §FL.3–§FL.5), sans-I/O.
 *
 * It takes what the Spread client received (`receive(event)`) and what the application asks
 * (`flush`, `prepareSend`, `leaving`), and leaves its actions in two outboxes the I/O edge drains
 * in order: `deliveries` (events for the application) and `sends` (FLUSH_OK / FLUSH_RECV
 * messages to multicast, FIFO, to the group).
 */
import { equalGroupIds, IllegalGroupError, IllegalServiceError, ServiceType } from '../index.js';
import type { MembershipMessage, SpreadEvent, SpreadMessage } from '../index.js';
import { ProtocolError } from '../../wire/errors.js';
import type { FlushEvent, FlushMessage, FlushView } from './events.js';
import { FlushError } from './errors.js';
import { decodeTrailers, encodeControlBody, encodeWithTrailers, FL_MIN_LEGAL_MESS_TYPE, FlushMessType, FlushServiceType, groupIdKey } from './wire.js';
import type { Change, GroupState } from './views.js';
import { FLOK_AGE_LIMIT, fillView, isPrivateGroupName, isVulnerableSend, leaversOf, NETWORK_MEMB, newChange, newGroup, vsSetOf } from './views.js';

/** A control message the edge must multicast (FIFO) to `group`. */
export interface ControlSend {
  group: string;
  messType: typeof FlushMessType.FLUSH_OK | typeof FlushMessType.FLUSH_RECV;
  body: Uint8Array;
}

/** A checked application send, ready for the Spread client. */
export interface PreparedSend {
  serviceType: number;
  groups: string[];
  messType: number;
  body: Uint8Array;
}

const ILLEGAL_SEND_BITS = (FlushServiceType.FLUSH_REQ_MESS | ServiceType.MEMBERSHIP_MESS | 0x80000080 | 0x003fc000) >>> 0;

export class FlushMachine {
  readonly deliveries: FlushEvent[] = [];
  readonly sends: ControlSend[] = [];
  /** Received messages the machine could not use (malformed trailers, unknown groups, non-members). */
  dropped = 0;
  private readonly groups = new Map<string, GroupState>();

  constructor(readonly privateGroup: string) {}

  /** The group's state, for inspection (undefined before its first membership). */
  group(name: string): Readonly<GroupState> | undefined {
    return this.groups.get(name);
  }

  // ---------------------------------------------------------------------------------------
  // Application commands

  /** FL_join's check: not already involved with the group. */
  checkJoin(group: string): void {
    if (this.groups.has(group)) throw new IllegalGroupError(`already a member of (or joining) group "${group}"`);
  }

  /** FL_leave's check and state change: only a joined member may leave, once. */
  leaving(group: string): void {
    const g = this.groups.get(group);
    if (g === undefined || g.member !== 'joined') throw new IllegalGroupError(`not a joined member of group "${group}"`);
    g.member = 'leaving';
  }

  /** FL_flush: answers the pending flush request of `group` (queues its FLUSH_OK). */
  flush(group: string): void {
    const g = this.groups.get(group);
    if (g === undefined || g.member === 'leaving') throw new IllegalGroupError(`not a member of group "${group}"`);
    if (g.state !== 'authorize') throw new FlushError('ILLEGAL_STATE', `no flush request pending in group "${group}" (state ${g.state})`);
    this.sendFlushOk(g);
  }

  /**
   * FL_multicast / FL_subgroupcast's checks and trailers. `receivers` (subgroup cast) must all
   * be members of our current view (for a private `group`: all equal to it).
   */
  prepareSend(group: string, serviceType: number, messType: number, data: Uint8Array, receivers?: readonly string[]): PreparedSend {
    if ((serviceType & ILLEGAL_SEND_BITS) !== 0) throw new IllegalServiceError(`service type 0x${(serviceType >>> 0).toString(16)} uses bits the flush layer reserves`);
    if (!Number.isInteger(messType) || messType < FL_MIN_LEGAL_MESS_TYPE || messType > 32767) {
      throw new FlushError('ILLEGAL_MESSAGE_TYPE', `message type ${messType} is outside ${FL_MIN_LEGAL_MESS_TYPE}..32767`);
    }
    const priv = isPrivateGroupName(group);
    const g = this.groups.get(group);
    if (!priv && (g === undefined || g.member !== 'joined')) throw new IllegalGroupError(`not a joined member of group "${group}"`);
    if (!priv && g!.state === 'agree') throw new FlushError('ILLEGAL_STATE', `group "${group}" is flushed: no sends until the next view`);
    const vulnerable = !priv && isVulnerableSend(g!, serviceType) ? { messType, viewId: g!.flushView.gid } : undefined;
    if (receivers === undefined) {
      const body = vulnerable ? encodeWithTrailers(data, { vulnerable }) : data;
      return { serviceType, groups: [group], messType: vulnerable ? FlushMessType.VULNERABLE : messType, body };
    }
    const ok = priv ? receivers.every((r) => r === group) : receivers.every((r) => g!.flushView.members.includes(r));
    if (!ok) throw new FlushError('ILLEGAL_RECEIVERS', `receivers must be members of the current view of "${group}"`);
    return {
      serviceType: (serviceType | FlushServiceType.SUBGROUP_CAST) >>> 0,
      groups: [...receivers],
      messType: vulnerable ? FlushMessType.VULNERABLE : messType,
      body: encodeWithTrailers(data, { vulnerable, subgroup: group }),
    };
  }

  // ---------------------------------------------------------------------------------------
  // Events from the Spread client

  receive(ev: SpreadEvent): void {
    if (ev.kind === 'message') this.onMessage(ev);
    else if (ev.kind === 'membership') this.onMembership(ev);
    else this.dropped++;
  }

  private onMessage(ev: SpreadMessage): void {
    let t;
    try {
      t = decodeTrailers(ev.data, ev.serviceType, ev.messType, !ev.endianMismatch);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.dropped++;
      return;
    }
    const dst = t.subgroup ?? ev.groups[0] ?? '';
    const g = this.groups.get(dst);
    if (g !== undefined && ev.messType === FlushMessType.FLUSH_OK) {
      this.onFlushOk(g, ev.sender, t.viewId!);
      return;
    }
    if (g !== undefined && ev.messType === FlushMessType.FLUSH_RECV) {
      this.onFlushRecv(g, t.viewId!);
      return;
    }
    const msg: FlushMessage = {
      ...ev,
      groups: t.subgroup !== undefined ? [...ev.groups, t.subgroup] : ev.groups,
      messType: t.messType,
      data: t.data,
      group: isPrivateGroupName(dst) ? undefined : dst,
      subgroup: t.subgroup !== undefined,
    };
    if (g !== undefined) this.onData(g, msg, t.vulnerable ? t.viewId : undefined);
    else if (dst === this.privateGroup) this.deliveries.push(msg);
    else this.dropped++;
  }

  private onMembership(ev: MembershipMessage): void {
    const g = this.groups.get(ev.group);
    if (ev.reason === 'self-leave') {
      if (g !== undefined) this.groups.delete(ev.group);
      this.deliveries.push({ kind: 'self-leave', serviceType: ev.serviceType, group: ev.group });
    } else if (ev.reason === 'transition') {
      if (g === undefined) return;
      g.spreadView.inTransition = true;
      this.transitionSignal(g);
    } else if (ev.groupId !== undefined && (ev.serviceType & ServiceType.REG_MEMB_MESS) !== 0) {
      this.onRegMemb(g ?? this.addGroup(ev.group), ev);
    } else {
      this.dropped++;
    }
  }

  private addGroup(name: string): GroupState {
    const g = newGroup(name, this.privateGroup);
    this.groups.set(name, g);
    return g;
  }

  // ---------------------------------------------------------------------------------------
  // Handlers

  private onData(g: GroupState, msg: FlushMessage, viewId: FlushView['groupId'] | undefined): void {
    if (g.state === 'agree' && viewId !== undefined && equalGroupIds(viewId, g.current!.gid)) {
      // Sent in the view we are about to install: hold it until then.
      if (g.current!.view.current.has(msg.sender)) g.held.push(msg);
      else this.dropped++;
      return;
    }
    if (g.flushView.current.has(msg.sender)) this.deliveries.push(msg);
    else this.dropped++;
  }

  private onFlushOk(g: GroupState, sender: string, gid: FlushView['groupId']): void {
    const c = pendingChange(g, gid);
    c.floks.add(sender);
    if (g.state === 'agree' && c === g.current && c.floks.size === c.view.members.length) this.install(g);
  }

  private onFlushRecv(g: GroupState, gid: FlushView['groupId']): void {
    if (g.state === 'verify' && equalGroupIds(gid, g.flushView.gid)) {
      if (++g.flushRecvs === g.flushView.members.length) g.state = 'steady';
    } else if (g.state === 'agree' && equalGroupIds(gid, g.current!.gid)) {
      g.flushRecvs++;
    }
  }

  private onRegMemb(g: GroupState, ev: MembershipMessage): void {
    const c = pendingChange(g, ev.groupId!);
    c.announced = true;
    const { leavers, delta } = leaversOf(g.spreadView, ev);
    c.delta = delta;
    fillView(c.view, ev.serviceType, ev.members, ev.messType);
    let shrunk = false;
    for (const l of leavers) if (g.flushView.current.delete(l)) shrunk = true;
    this.ageUnannounced(g);
    const head = this.collapse(g, leavers, c);
    g.changes.push(c);
    g.spreadView = c.view;
    if (g.current !== head) {
      g.held = []; // sent by members that are partitioned away
      this.nextChange(g);
    }
    if (shrunk) this.transitionSignal(g);
  }

  /** Drops one FLUSH_OK-only record older than FLOK_AGE_LIMIT memberships (its view went by without us). */
  private ageUnannounced(g: GroupState): void {
    for (const [key, c] of g.pending) {
      if (!c.announced && ++c.age > FLOK_AGE_LIMIT) {
        g.pending.delete(key);
        return;
      }
    }
  }

  /**
   * Leavers invalidate every queued change they had not flushed for; the change after a run of
   * invalidated ones (or `latest`) is then reported as CAUSED_BY_NETWORK. Returns the change to
   * work on next.
   */
  private collapse(g: GroupState, leavers: ReadonlySet<string>, latest: Change): Change {
    if (g.changes.length > 0 && leavers.size > 0) {
      let invalidating = false;
      const kept: Change[] = [];
      for (const c of g.changes) {
        let invalid = false;
        for (const l of leavers) {
          if (!c.view.current.has(l)) continue;
          if (!c.floks.has(l)) {
            invalid = true;
            break;
          }
          c.view.current.delete(l);
        }
        if (invalid) {
          invalidating = true;
          g.pending.delete(groupIdKey(c.gid));
          continue;
        }
        if (invalidating) c.view.membType = NETWORK_MEMB;
        invalidating = false;
        kept.push(c);
      }
      g.changes = kept;
      if (invalidating) latest.view.membType = NETWORK_MEMB;
    }
    return g.changes[0] ?? latest;
  }

  private nextChange(g: GroupState): void {
    g.current = g.changes[0]!;
    g.flushRecvs = 0;
    if (g.state === 'steady' || g.state === 'verify') {
      g.state = 'authorize';
      this.deliveries.push({ kind: 'flush-request', serviceType: FlushServiceType.FLUSH_REQ_MESS, group: g.name });
    } else if (g.state === 'agree') {
      g.state = 'authorize';
      if (g.member !== 'leaving') this.sendFlushOk(g);
    }
  }

  private sendFlushOk(g: GroupState): void {
    g.state = 'agree';
    this.sends.push({ group: g.name, messType: FlushMessType.FLUSH_OK, body: encodeControlBody(g.current!.gid) });
  }

  /** Every member flushed for the current change: deliver its view and move on. */
  private install(g: GroupState): void {
    const c = g.current!;
    const last = g.flushView;
    this.deliveries.push(viewEvent(g.name, c, last));
    g.state = 'verify';
    if (g.member === 'joining') g.member = 'joined';
    g.flushView = c.view;
    g.changes.shift();
    g.pending.delete(groupIdKey(c.gid));
    g.current = undefined;
    if (g.changes.length === 0) {
      this.sends.push({ group: g.name, messType: FlushMessType.FLUSH_RECV, body: encodeControlBody(g.flushView.gid) });
    } else {
      this.nextChange(g);
    }
    if (g.flushView.current.size < g.flushView.members.length) this.transitionSignal(g);
    this.deliveries.push(...g.held);
    g.held = [];
  }

  private transitionSignal(g: GroupState): void {
    if (g.flushView.inTransition) return;
    g.flushView.inTransition = true;
    this.deliveries.push({ kind: 'transition', serviceType: ServiceType.TRANSITION_MESS, group: g.name });
  }
}

/** The change recorded for view `gid` (FLUSH_OKs may arrive before its membership), created if new. */
function pendingChange(g: GroupState, gid: FlushView['groupId']): Change {
  const key = groupIdKey(gid);
  let c = g.pending.get(key);
  if (c === undefined) {
    c = newChange(gid);
    g.pending.set(key, c);
  }
  return c;
}

function viewEvent(group: string, c: Change, last: GroupState['flushView']): FlushView {
  const v = c.view;
  const vsSet = vsSetOf(v, last, c.delta);
  const t = v.membType;
  const reason = t & ServiceType.CAUSED_BY_JOIN ? 'join' : t & ServiceType.CAUSED_BY_LEAVE ? 'leave' : t & ServiceType.CAUSED_BY_DISCONNECT ? 'disconnect' : 'network';
  return {
    kind: 'view',
    serviceType: t,
    group,
    reason,
    members: [...v.members],
    myIndex: v.myIndex,
    groupId: v.gid,
    vsSet,
    changedMember: reason === 'network' ? undefined : vsSet[0],
  };
}
