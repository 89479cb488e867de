/**
 * FORM1 (SPEC.md Part VI §9): Create_form1 by the smallest representative, Fill_form1 by every
 * daemon it visits (me, my members or my ring, my ring's record), and the hop that turns it into
 * the FORM2. Sending a FORM token and entering FORM are shared with evs.ts.
 */
import { Limits, PacketType, RepType } from '../../wire/daemon/constants.js';
import { encodeDatagram } from '../../wire/daemon/datagram.js';
import {
  appendFormMembers, form2FromForm1, removeFormMember, type Form1Token, type Form2Token, type FormMembers, type RingRecord,
} from '../../wire/daemon/form.js';
import type { TokenHeader } from '../../wire/daemon/header.js';
import { MembershipTimer } from './actions.js';
import { insertMember, insertRep, sortMembers, sortReps, type Rep } from './reps.js';
import { FORM_SEQ_MARGIN } from './settings.js';
import { MembState, copyId, membStateName, sameId, type MembershipState } from './state.js';

export function onForm1(s: MembershipState, t: Form1Token, now: number): void {
  switch (s.state) {
    case MembState.OP:
      if (s.membership[0] === s.myId) s.log('info', 'FORM1 in OP: ring leader swallows it');
      else fillForm1(s, t, now);
      break;
    case MembState.REPRESENTED:
    case MembState.GATHER:
      fillForm1(s, t, now);
      break;
    default:
      s.log('info', `FORM1 in ${membStateName(s.state)}: swallowed`);
      break;
  }
}

/** Create_form1: the smallest representative starts a FORM1 token. */
export function createForm1(s: MembershipState, now: number): void {
  const formId = { procId: s.myId, time: s.nextTime(now) };
  s.form1MembId = formId;
  const header: TokenHeader = {
    type: PacketType.FORM1, transmitterId: s.myId, procId: s.myId, membId: formId,
    seq: s.port.highestSeq + FORM_SEQ_MARGIN, aru: 0, aruLastId: 0, flowControl: 0, rtrLen: 0, confHash: s.confHash,
  };
  if (s.fReps[0]!.type === RepType.RING_REP) s.fMembers = s.membership.slice();
  // Daemons that are representatives in their own right are not my members.
  const valid = s.fMembers.filter((id) => id === s.myId || !s.fReps.some((r) => r.procId === id));
  s.fMembers = valid;
  s.fMembersPending = valid.length - 1;
  s.fReps = sortReps(s.fReps, s.conf);
  s.fRepIndex = 1;
  potentialsFromTokenReps(s, s.fReps);
  const members: FormMembers = { numMembers: 1, numPending: valid.length - 1, members: valid.slice() };
  const t: Form1Token = {
    kind: 'form1', littleEndian: true, header, members,
    reps: { repIndex: 1, reps: s.fReps.map((r) => ({ ...r })) }, rings: [freshRingRecord(s, s.port.myAru + 1)],
  };
  if (members.numPending > 0) {
    sendForm(s, members.members[1]!, t);
  } else if (s.fRepIndex < s.fReps.length) {
    sendForm(s, s.fReps[1]!.procId, t);
  } else {
    // Alone: the token is already a FORM2, sent to myself.
    s.fMembersPending = 1;
    sendForm(s, s.myId, form2FromForm1(t, valid.slice()));
  }
  s.timers.cancel(MembershipTimer.JOIN);
  enterForm(s, now);
}

/** Fill_form1: add myself (and my members or my ring) to a FORM1 and pass it on. */
function fillForm1(s: MembershipState, t: Form1Token, now: number): void {
  const h = t.header;
  h.procId = s.myId;
  if (h.seq < s.port.highestSeq + FORM_SEQ_MARGIN) h.seq = s.port.highestSeq + FORM_SEQ_MARGIN;
  const placed = s.state === MembState.OP || s.state === MembState.REPRESENTED ? takePendingSlot(s, t.members) : addMyMembers(s, t);
  if (!placed) return;
  s.form1MembId = copyId(h.membId);
  potentialsFromTokenReps(s, t.reps.reps);
  const rings = withMyRingRecord(s, t);
  if (rings === null) return;
  passForm1(s, { ...t, rings });
  s.timers.cancel(MembershipTimer.JOIN);
  s.timers.cancel(MembershipTimer.GATHER);
  s.timers.cancel(MembershipTimer.REP);
  enterForm(s, now);
}

/** OP / REPRESENTED: valid only if the next pending member is me; I move to the members. */
function takePendingSlot(s: MembershipState, m: FormMembers): boolean {
  if (m.numPending <= 0 || m.members[m.numMembers] !== s.myId) return false;
  m.numMembers++;
  m.numPending--;
  return true;
}

/**
 * GATHER: valid only if reps[rep_index] is me, of the type my Token_alive implies, and nothing
 * is pending. A SEG_REP appends its F_members (less those listed or representatives), a
 * RING_REP its whole ring.
 */
function addMyMembers(s: MembershipState, t: Form1Token): boolean {
  const m = t.members;
  const reps = t.reps;
  const rep = reps.reps[reps.repIndex];
  if (
    rep === undefined || rep.procId !== s.myId ||
    (s.tokenAlive && rep.type === RepType.SEG_REP) ||
    (!s.tokenAlive && rep.type === RepType.RING_REP) ||
    m.numPending !== 0
  ) return false;
  const listed = m.members.slice(0, m.numMembers);
  const isOtherRep = (id: number, list: readonly Rep[]): boolean => id !== s.myId && list.some((r) => r.procId === id);
  s.fMembers = s.fMembers.filter((id) => !listed.includes(id) && !isOtherRep(id, reps.reps) && !isOtherRep(id, s.fReps));
  let added: number[];
  if (rep.type === RepType.SEG_REP) added = s.fMembers;
  else if (rep.type === RepType.RING_REP) added = s.membership.slice();
  else return false;
  if (added.length === 0 || m.members.length + added.length > Limits.MAX_PROCS_RING) return false;
  appendFormMembers(m, added);
  m.numPending = added.length - 1;
  m.numMembers += 1;
  reps.repIndex++;
  return true;
}

/** Potential_reps := the token's reps outside my segment, as POTENTIAL. */
function potentialsFromTokenReps(s: MembershipState, reps: readonly Rep[]): void {
  s.potentialReps = [];
  for (const r of reps) {
    if (r.segIndex !== s.conf.me.segIndex) insertRep(s.potentialReps, { ...r, type: RepType.POTENTIAL_REP }, s.conf);
  }
}

/**
 * The token's ring records with mine at the end: merged if present, else fresh — or, when a
 * fresh one would not fit, none and me off the member list. Null: the token is to be ignored.
 */
function withMyRingRecord(s: MembershipState, t: Form1Token): RingRecord[] | null {
  const others: RingRecord[] = [];
  let mine: RingRecord | null = null;
  for (const g of t.rings) {
    if (sameId(g.membId, s.membershipId)) mine = g;
    else others.push(g);
  }
  if (mine !== null) {
    const merged = mergedRingRecord(s, mine);
    return merged === null ? null : [...others, merged];
  }
  if (others.length + 1 <= Limits.MAX_FORM_REPS) return [...others, freshRingRecord(s, s.port.lastDiscarded + 1)];
  // No room for my ring's record: take myself off the member list instead.
  s.log('warning', 'my ring record does not fit in the FORM token: leaving this attempt');
  const i = t.members.members.indexOf(s.myId);
  if (i >= 0 && i < t.members.numMembers) removeFormMember(t.members, i);
  return others;
}

/** My ring's record merged with what I have; null when it lists me as transitional already. */
function mergedRingRecord(s: MembershipState, rec: RingRecord): RingRecord | null {
  const holes = rec.holes.filter((seq) => lacks(s, seq));
  if (rec.highestSeq < s.port.highestSeq) holes.push(...missing(s, rec.highestSeq + 1, s.port.highestSeq));
  const trans: number[] = [];
  for (let i = 0; i < rec.numTrans; i++) insertMember(trans, rec.commit[i]!);
  insertMember(trans, s.myId);
  if (trans.length !== rec.numTrans + 1) {
    s.log('error', 'FORM1 lists me in my ring\'s transitional set already: ignored');
    return null;
  }
  const commit = trans.slice();
  for (let i = rec.numTrans; i < rec.commit.length; i++) insertMember(commit, rec.commit[i]!);
  for (const id of s.commitSet.members) insertMember(commit, id);
  return {
    membId: copyId(s.membershipId), transTime: 0,
    aru: Math.max(rec.aru, s.port.aru), highestSeq: Math.max(rec.highestSeq, s.port.highestSeq),
    holes, commit, numTrans: rec.numTrans + 1,
  };
}

/** My ring's record for a FORM1 I create or join with a ring the token does not list yet. */
function freshRingRecord(s: MembershipState, holesFrom: number): RingRecord {
  const commit = [s.myId];
  for (const id of s.commitSet.members) if (id !== s.myId) commit.push(id);
  return {
    membId: copyId(s.membershipId), transTime: 0, aru: s.port.aru, highestSeq: s.port.highestSeq,
    holes: missing(s, holesFrom, s.port.highestSeq), commit, numTrans: 1,
  };
}

/** Next pending member, else next rep, else the FORM2 to the first member of the new ring. */
function passForm1(s: MembershipState, t: Form1Token): void {
  const m = t.members;
  const reps = t.reps;
  if (m.numPending > 0) {
    sendForm(s, m.members[m.numMembers]!, t);
  } else if (reps.repIndex < reps.reps.length) {
    sendForm(s, reps.reps[reps.repIndex]!.procId, t);
  } else {
    const sorted = sortMembers(m.members.slice(0, m.numMembers), s.conf);
    sendForm(s, sorted[0]!, form2FromForm1(t, sorted));
  }
}

/** Packets[seq].exist == 0: freed (≤ Last_discarded) or never received. */
function lacks(s: MembershipState, seq: number): boolean {
  return seq <= s.port.lastDiscarded || !s.port.hasReceived(seq);
}

function missing(s: MembershipState, from: number, to: number): number[] {
  const out: number[] = [];
  for (let seq = from; seq <= to; seq++) if (lacks(s, seq)) out.push(seq);
  return out;
}

/** ⇒ FORM: FORM timer, the ring's token stopped. */
function enterForm(s: MembershipState, now: number): void {
  s.timers.arm(MembershipTimer.FORM, now + s.timeouts.form);
  s.tokenAlive = false;
  s.port.stopToken();
  s.state = MembState.FORM;
}

/** Net_ucast_token twice (every FORM hop is sent twice). */
export function sendForm(s: MembershipState, to: number, t: Form1Token | Form2Token): void {
  t.header.transmitterId = s.myId;
  t.header.confHash = s.confHash;
  const bytes = encodeDatagram(t);
  s.ucast('token', to, bytes);
  s.ucast('token', to, bytes);
}
