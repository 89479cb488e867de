/**
 * Flush layer, per-group state (SPEC.md "Flush layer", §FL.3): views, pending membership
 * changes and the group record the machine keeps for each group it is involved with.
 */
import { ServiceType } from '../index.js';
import type { GroupId, MembershipMessage } from '../index.js';
import type { FlushMessage } from './events.js';

/** JOINING until our first view is installed, JOINED, LEAVING after leave(). */
export type MemberState = 'joining' | 'joined' | 'leaving';
/**
 * steady: normal; authorize: a change is pending, the application must flush;
 * agree: we flushed, collecting the others' FLUSH_OKs; verify: a new view is installed,
 * waiting for every member's FLUSH_RECV (until then FIFO-or-weaker sends are marked vulnerable).
 */
export type ViewState = 'steady' | 'authorize' | 'agree' | 'verify';

export interface View {
  gid: GroupId;
  /** The REG_MEMB service type the view was announced with (its cause). */
  membType: number;
  /** A transition signal was already delivered for this view. */
  inTransition: boolean;
  /** Members as announced, in order. */
  members: string[];
  /** Members still present (members less those seen leaving since). */
  current: Set<string>;
  myIndex: number;
}

/** A Spread membership not yet installed as a flush view, or FLUSH_OKs for a view not yet announced to us. */
export interface Change {
  gid: GroupId;
  view: View;
  /** The Spread membership for gid has arrived (view is filled). */
  announced: boolean;
  /** Memberships seen since this record was made while !announced. */
  age: number;
  /** join / leave / disconnect: the member concerned. */
  delta: string | undefined;
  /** Members whose FLUSH_OK for gid has arrived. */
  floks: Set<string>;
}

export interface GroupState {
  name: string;
  member: MemberState;
  state: ViewState;
  /** The change being agreed on (head of `changes`), if any. */
  current: Change | undefined;
  /** The latest Spread view: flushView, or the view of the newest change. */
  spreadView: View;
  /** The installed flush view. */
  flushView: View;
  flushRecvs: number;
  /** Vulnerable messages for the next view, held until it is installed. */
  held: FlushMessage[];
  /** Announced changes, oldest first. */
  changes: Change[];
  /** Every change record by group id key (announced or not). */
  pending: Map<string, Change>;
}

/** How many memberships a FLUSH_OK-only record may wait for its Spread membership. */
export const FLOK_AGE_LIMIT = 200;
export const NETWORK_MEMB = ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_NETWORK;

export function emptyView(gid: GroupId): View {
  return { gid, membType: 0, inTransition: false, members: [], current: new Set(), myIndex: -1 };
}

export function fillView(v: View, membType: number, members: readonly string[], myIndex: number): void {
  v.membType = membType;
  v.members = [...members];
  v.current = new Set(members);
  v.myIndex = myIndex;
}

export function newChange(gid: GroupId): Change {
  return { gid, view: emptyView(gid), announced: false, age: 0, delta: undefined, floks: new Set() };
}

/**
 * A group record as made on the first Spread membership: joining, in `agree` (so the first
 * change is flushed automatically), with a one-member flush view holding just us, already
 * "in transition" so no transition signal is given before we are a member.
 */
export function newGroup(name: string, privateGroup: string): GroupState {
  const v = emptyView({ procId: 0, time: 0, index: 0 });
  fillView(v, 0, [privateGroup], 0);
  v.inTransition = true;
  return {
    name,
    member: 'joining',
    state: 'agree',
    current: undefined,
    spreadView: v,
    flushView: v,
    flushRecvs: 0,
    held: [],
    changes: [],
    pending: new Map(),
  };
}

/**
 * Who left since the last Spread view, and the member a join / leave / disconnect concerns.
 * Network: the last Spread view's members that did not come with us.
 */
export function leaversOf(last: View, ev: MembershipMessage): { leavers: Set<string>; delta: string | undefined } {
  if (ev.reason !== 'network') {
    const delta = ev.changedMember ?? '';
    return { leavers: ev.reason === 'join' ? new Set() : new Set([delta]), delta };
  }
  const leavers = new Set(last.members);
  for (const m of ev.myVsSetMembers) leavers.delete(m);
  return { leavers, delta: undefined };
}

/** The vs set a new flush view reports: the delta member, or the old view's survivors in its order. */
export function vsSetOf(next: View, last: View, delta: string | undefined): string[] {
  if ((next.membType & ServiceType.CAUSED_BY_NETWORK) === 0) return [delta ?? ''];
  return last.members.filter((m) => last.current.has(m));
}

/** FIFO, RELIABLE and UNRELIABLE sends while a view is changing may outrun FLUSH_OKs: they are marked. */
export function isVulnerableSend(g: GroupState, serviceType: number): boolean {
  const weak = ServiceType.UNRELIABLE_MESS | ServiceType.RELIABLE_MESS | ServiceType.FIFO_MESS;
  return (g.state === 'authorize' || g.state === 'verify') && (serviceType & weak) !== 0;
}

/** `#name#daemon`: a private group name (the flush library lets anyone send to one). */
export function isPrivateGroupName(name: string): boolean {
  return name.includes('#');
}
