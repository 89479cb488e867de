/**
 * Which membership notices a group change gives its local members (SPEC.md Part VII §6–§8):
 *
 *   lightweight   REG_MEMB_MESS | CAUSED_BY_JOIN / LEAVE / DISCONNECT: a join, leave or kill in
 *                 an unchanged group (every member listed, the one who changed named)
 *   network       REG_MEMB_MESS | CAUSED_BY_NETWORK with vs_sets: the group changed with the
 *                 ring; a local joiner of a changed group gets its own copy (its singleton set)
 *   transition    TRANSITION_MESS: the group's members are partitioned; a network notice follows
 *   self-leave    CAUSED_BY_LEAVE to the leaving member alone
 *
 * Recipients are private group names in the reference's mailbox order; the bytes are built by
 * the frame encoders (frames.ts, groups-frames.ts).
 */
import { encodeLightweightMembership, encodeNetworkMembership, encodeSelfLeave, encodeTransition, withMyVsSetOffset } from '../../wire/client/index.js';
import { wireGroupId } from './frames.js';
import { computeVsSets } from './groups-frames.js';
import { allMembers, type ConfOrder, type GroupRecord } from './groups-model.js';

/** A notice for local members; each recipient gets it only if its session wants membership messages. */
export interface Notification {
  /** Private group names of local members, in the reference's mailbox order. */
  readonly recipients: readonly string[];
  readonly frame: Uint8Array;
}

/** A join (`cause` CAUSED_BY_JOIN), leave or kill of `changed` in a group that did not change with the ring. */
export function lightweightNotice(g: GroupRecord, cause: number, changed: string): Notification {
  return { recipients: [...g.local], frame: encodeLightweightMembership(g.name, allMembers(g), wireGroupId(g.id), cause, changed) };
}

/** CAUSED_BY_NETWORK notices: to the local members, and (a local joiner) its own copy. */
export function networkNotices(
  g: GroupRecord,
  conf: ConfOrder,
  myProcId: number,
  joiner: string | null = null,
  joinerIsLocal = false,
): Notification[] {
  const members = allMembers(g);
  const vs = computeVsSets(g.daemons, conf, myProcId, joiner);
  const frame = encodeNetworkMembership(g.name, members, wireGroupId(g.id), vs.sets, vs.myOffset);
  if (joiner === null || !joinerIsLocal) return [{ recipients: [...g.local], frame }];
  return [
    { recipients: g.local.filter((m) => m !== joiner), frame },
    { recipients: [joiner], frame: withMyVsSetOffset(frame, members.length, vs.joinerOffset!) },
  ];
}

export function transitionNotice(g: GroupRecord): Notification {
  return { recipients: [...g.local], frame: encodeTransition(g.name, wireGroupId(g.id)) };
}

/** The leaving member's own notice. */
export function selfLeaveNotice(member: string, group: string): Notification {
  return { recipients: [member], frame: encodeSelfLeave(group) };
}
