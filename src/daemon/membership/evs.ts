/**
 * FORM2, the first token, EVS (SPEC.md Part VI §10): Read_form2 installs the new ring in the
 * engine over the RingPort, the last member starts it with the first regular token; the commit
 * point; completion with the transitional and regular configurations.
 */
import { Limits } from '../../wire/daemon/constants.js';
import { encodeDatagram } from '../../wire/daemon/datagram.js';
import type { Form2Token, RingRecord } from '../../wire/daemon/form.js';
import { firstRegularToken } from '../../wire/daemon/token.js';
import { MembershipTimer } from './actions.js';
import { sendForm } from './form1.js';
import { endReloadSingleton } from './monitor.js';
import { MembState, copyId, membStateName, sameId, type MembershipState } from './state.js';

export function onForm2(s: MembershipState, t: Form2Token, now: number): void {
  if (s.state !== MembState.FORM) {
    s.log('info', `FORM2 in ${membStateName(s.state)}: swallowed`);
    return;
  }
  const mine = myRingRecord(s, t);
  if (mine !== null) readForm2(s, t, mine, now);
}

/** Read_form2's checks: the FORM2 of my attempt, me next, sane records; my ring's record, or null. */
function myRingRecord(s: MembershipState, t: Form2Token): RingRecord | null {
  const h = t.header;
  const m = t.members;
  if (s.form1MembId === null || !sameId(h.membId, s.form1MembId)) {
    s.log('warning', `FORM2 of attempt (${h.membId.procId >>> 0}, ${h.membId.time}) is not mine: dropped`);
    return null;
  }
  if (m.numPending <= 0 || m.numMembers + m.numPending >= Limits.MAX_PROCS_RING || m.members[m.numMembers] !== s.myId) {
    s.log('warning', 'malformed FORM2 members: dropped');
    return null;
  }
  let mine: RingRecord | null = null;
  for (const g of t.rings) {
    if (g.numTrans < 1 || g.numTrans > g.commit.length) {
      s.log('warning', 'malformed FORM2 ring record: dropped');
      return null;
    }
    if (sameId(g.membId, s.membershipId)) mine = g;
  }
  if (mine === null) s.log('warning', 'my ring is not on the FORM2 token: dropped');
  return mine;
}

/** Read_form2: learn the new ring, hand it to the engine, pass the token on (or start the ring). */
function readForm2(s: MembershipState, t: Form2Token, mine: RingRecord, now: number): void {
  const m = t.members;
  t.header.procId = s.myId;
  m.numMembers++;
  m.numPending--;
  s.lastSeq = t.header.seq;
  let membTime = 0;
  if (m.numMembers === 1) {
    // I am the new leader: my time for the transitional ids, one more for the ring id.
    membTime = s.nextTime(now);
    s.lastTimeUsed++;
    t.newRingId = { procId: s.myId, time: s.lastTimeUsed };
  }
  s.futureMembershipId = copyId(t.newRingId);
  s.futureMembership = s.conf.ringOrder(m.members);
  const last = s.futureMembership[s.futureMembership.length - 1] === s.myId;
  const delivered = s.port.installEvs({
    ringId: copyId(s.futureMembershipId),
    members: s.futureMembership.slice(),
    oldRingId: copyId(s.membershipId),
    highestSeq: mine.highestSeq,
    aru: mine.aru,
    holes: mine.holes.slice(),
    lastSeq: s.lastSeq,
    tokenRounds: last ? 1 : 0,
  }, now);
  s.push(...delivered);
  s.futureCommitSet = { members: mine.commit.slice(), numTrans: mine.numTrans };
  s.committed = false;
  if (mine.transTime === 0) mine.transTime = membTime === 0 ? s.nextTime(now) : membTime;
  s.fTransMembTime = mine.transTime;
  passForm2(s, t, last);
  s.tokenAlive = true;
  s.timers.cancel(MembershipTimer.FORM);
  s.state = MembState.EVS;
  s.log('info', `FORM2 read: ring (${s.futureMembershipId.procId >>> 0}, ${s.futureMembershipId.time}) of ${s.futureMembership.length}`);
}

/** The FORM2 twice to my successor, or, by the last member, the first regular token twice. */
function passForm2(s: MembershipState, t: Form2Token, last: boolean): void {
  const ring = s.futureMembership;
  const next = ring[(ring.indexOf(s.myId) + 1) % ring.length]!;
  if (!last) {
    sendForm(s, next, t);
    return;
  }
  const first = encodeDatagram(firstRegularToken(s.futureMembershipId, s.myId, s.confHash));
  s.ucast('token', next, first);
  s.ucast('token', next, first);
}

/** Memb_commit, noticed: the engine set My_aru to Last_seq (RingPort rule E5). */
export function checkCommit(s: MembershipState): void {
  if (!s.committed && s.port.myAru === s.lastSeq) {
    s.committed = true;
    s.commitSet = { members: s.futureCommitSet.members.slice(), numTrans: s.futureCommitSet.numTrans };
  }
}

/** Every member has committed (Aru reached Last_seq). */
export function evsComplete(s: MembershipState): boolean {
  return s.port.aru === s.lastSeq && s.port.aru > s.port.lastDiscarded;
}

/**
 * Discard_packets in EVS once Aru = Last_seq (ringProgress has just run checkCommit):
 * transitional configuration, then the regular one.
 */
export function completeEvs(s: MembershipState, now: number): void {
  // Memb_transitional: trans subset and whole commit set, in conf order.
  const transMembers = s.conf.ringOrder(s.commitSet.members.slice(0, s.commitSet.numTrans));
  const commitMembers = s.conf.ringOrder(s.commitSet.members);
  s.transMembId = { procId: transMembers[0] ?? s.myId, time: s.fTransMembTime };
  const d = s.port.completeEvs(commitMembers);
  s.push(...d.beforeTransitional);
  s.push({ kind: 'transitional', members: transMembers.slice(), id: copyId(s.transMembId), commit: commitMembers.slice() });
  s.push(...d.afterTransitional);
  // Memb_regular.
  s.membershipChanges++;
  s.membership = s.futureMembership.slice();
  s.membershipId = copyId(s.futureMembershipId);
  s.regMembership = s.membership.slice();
  s.commitSet = { members: [s.myId], numTrans: 1 };
  s.foreignFound = false;
  if (s.membership[0] === s.myId) s.timers.arm(MembershipTimer.LOOKUP, now + s.timeouts.lookup);
  s.shiftToOp(now);
  s.push({ kind: 'regular', members: s.membership.slice(), ringId: copyId(s.membershipId) });
  s.log('info', `membership id is (${s.membershipId.procId >>> 0}, ${s.membershipId.time}), ${s.membership.length} members`);
  endReloadSingleton(s, now);
}
