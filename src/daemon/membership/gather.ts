/**
 * The SEG, REPRESENTED and GATHER states (SPEC.md Part VI §7): ALIVE in SEG, who gathers and
 * who is represented at the Seg timeout, JOINs in GATHER, and Form_or_fail at the Gather
 * timeout. The lists they fill follow the rules of reps.ts (§5).
 */
import { encodeDatagram } from '../../wire/daemon/datagram.js';
import { PacketType, RepType } from '../../wire/daemon/constants.js';
import type { AlivePacket, JoinPacket } from '../../wire/daemon/membership.js';
import { MembershipTimer } from './actions.js';
import { createForm1 } from './form1.js';
import { insertRep, smallestMember, smallestRep } from './reps.js';
import { MembState, type MembershipState } from './state.js';

/** ⇒ SEG: F_members := {me}, ALIVE at once and every Alive timeout, Seg timer. */
export function shiftToSeg(s: MembershipState, now: number): void {
  s.state = MembState.SEG;
  s.fMembers = [s.myId];
  s.fMembersPending = 0;
  s.timers.arm(MembershipTimer.ALIVE, now);
  s.timers.arm(MembershipTimer.SEG, now + s.timeouts.seg);
}

/** Seg timeout: the smallest daemon heard in my segment gathers, the others are represented. */
export function gatherOrRepresented(s: MembershipState, now: number): void {
  s.mySegRep = -1;
  if (s.fMembers[smallestMember(s.fMembers, s.conf)] === s.myId) shiftToGather(s, now);
  else shiftToRepresented(s, now);
}

export function shiftToGather(s: MembershipState, now: number): void {
  s.state = MembState.GATHER;
  s.fReps = [{ procId: s.myId, type: s.tokenAlive ? RepType.RING_REP : RepType.SEG_REP, segIndex: s.conf.me.segIndex }];
  s.timers.cancel(MembershipTimer.ALIVE);
  s.timers.cancel(MembershipTimer.LOOKUP);
  s.timers.arm(MembershipTimer.JOIN, now);
  s.timers.arm(MembershipTimer.GATHER, now + s.timeouts.gather);
}

export function shiftToRepresented(s: MembershipState, now: number): void {
  s.state = MembState.REPRESENTED;
  s.timers.cancel(MembershipTimer.ALIVE);
  s.timers.cancel(MembershipTimer.SEG);
  s.timers.arm(MembershipTimer.REP, now + s.timeouts.rep);
}

/** Gather timeout (Form_or_fail). */
export function formOrFail(s: MembershipState, now: number): void {
  if (s.fReps[smallestRep(s.fReps, s.conf)]!.procId === s.myId) {
    // A ring leader that found nobody goes back to its ring.
    if (s.tokenAlive && s.fReps.length === 1) backToRing(s, now);
    else createForm1(s, now);
  } else if (s.tokenAlive) {
    s.log('info', 'form or fail: not the smallest representative, back to OP');
    backToRing(s, now);
  } else {
    s.log('info', 'form or fail: failed to gather, gathering again');
    s.fMembers = [s.myId];
    s.fMembersPending = 0;
    potentialsFromMyReps(s);
    shiftToGather(s, now);
  }
}

/** A gather with my ring still running ends: back to OP, lookup later. */
function backToRing(s: MembershipState, now: number): void {
  s.timers.cancel(MembershipTimer.JOIN);
  s.timers.arm(MembershipTimer.LOOKUP, now + s.timeouts.lookup);
  s.shiftToOp(now);
}

/** Potential_reps := F_reps[1…] (the reps that answered me, me excluded). */
export function potentialsFromMyReps(s: MembershipState): void {
  s.potentialReps = [];
  for (let i = 1; i < s.fReps.length; i++) insertRep(s.potentialReps, { ...s.fReps[i]! }, s.conf);
}

/** Scast_alive: ALIVE to my segment (a real send only if it has other daemons); `again` re-arms. */
export function scastAlive(s: MembershipState, now: number, again: boolean): void {
  const p: AlivePacket = {
    kind: 'alive', littleEndian: true, header: s.packetHeader(PacketType.ALIVE),
    members: s.fMembers.slice(), numPending: s.fMembersPending,
  };
  s.scast(encodeDatagram(p));
  if (again) s.timers.arm(MembershipTimer.ALIVE, now + s.timeouts.alive);
}

/** My JOIN: F_members and F_reps as they are. */
export function joinPacket(s: MembershipState): Uint8Array {
  const p: JoinPacket = {
    kind: 'join', littleEndian: true, header: s.packetHeader(PacketType.JOIN),
    members: s.fMembers.slice(), numPending: s.fMembersPending,
    reps: s.fReps.map((r) => ({ ...r })), repIndex: s.fRepIndex,
  };
  return encodeDatagram(p);
}

/** Send_join: to my segment unless I hold a live ring, and to every potential rep; re-armed. */
export function sendJoin(s: MembershipState, now: number): void {
  const bytes = joinPacket(s);
  if (!s.tokenAlive) s.scast(bytes);
  for (const r of s.potentialReps) s.ucast('data', r.procId, bytes);
  s.timers.arm(MembershipTimer.JOIN, now + s.timeouts.join);
}
