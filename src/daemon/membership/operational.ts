/**
 * What ALIVE, JOIN, REFER and foreign data packets do in each state, and the ring leader's
 * lookup (SPEC.md Part VI §7: the OP paragraph, and the ALIVE / JOIN / REFER rules of SEG,
 * REPRESENTED, GATHER and EVS). The state changes they lead to are gather.ts's and
 * token-loss.ts's.
 */
import { MONITOR_HASH, PacketType, RepType, Size } from '../../wire/daemon/constants.js';
import { encodeDatagram } from '../../wire/daemon/datagram.js';
import { peekPacketHeader, repackedPacket } from '../../wire/daemon/header.js';
import type { AlivePacket, JoinPacket, ReferPacket } from '../../wire/daemon/membership.js';
import { MembershipTimer } from './actions.js';
import { joinPacket, scastAlive, shiftToGather, shiftToRepresented } from './gather.js';
import { insertMember, insertRep, smallestRep } from './reps.js';
import { MembState, sameId, type MembershipState } from './state.js';
import { memberTokenLoss } from './token-loss.js';

export function onAlive(s: MembershipState, p: AlivePacket, now: number): void {
  const from = p.header.procId;
  if (s.state === MembState.SEG || (s.state === MembState.GATHER && !s.tokenAlive)) {
    insertMember(s.fMembers, from);
  } else if (s.state === MembState.REPRESENTED) {
    s.timers.arm(MembershipTimer.REP, now + s.timeouts.rep);
  } else if (s.state !== MembState.FORM) {
    // OP, GATHER with my ring alive, EVS.
    heardFromMember(s, from, now);
  }
}

export function onJoin(s: MembershipState, p: JoinPacket, now: number): void {
  switch (s.state) {
    case MembState.OP:
      joinInOp(s, p, now);
      break;
    case MembState.SEG:
    case MembState.REPRESENTED:
      joinWhileRepresentable(s, p, now);
      break;
    case MembState.GATHER:
      joinInGather(s, p, now);
      break;
    case MembState.FORM:
      break;
    case MembState.EVS:
      heardFromMember(s, p.header.procId, now);
      break;
  }
}

/**
 * An ALIVE (or in EVS a JOIN) from a member of my ring, or of the ring being installed: that
 * ring is gone ⇒ token loss, and the sender goes into the new F_members.
 */
function heardFromMember(s: MembershipState, from: number, now: number): void {
  const ring = s.state === MembState.EVS ? s.futureMembership : s.membership;
  if (!ring.includes(from)) return;
  memberTokenLoss(s, now);
  insertMember(s.fMembers, from);
}

function joinInOp(s: MembershipState, p: JoinPacket, now: number): void {
  const from = p.header.procId;
  const rep0 = p.reps[0];
  if (s.membership.includes(from)) {
    // A member gathers: my ring is gone. (One segment: the leader's lookup probe, ignored.)
    if (s.conf.numSegments > 1) memberTokenLoss(s, now);
  } else if (rep0 === undefined) {
    return;
  } else if (s.membership[0] === s.myId) {
    // Ring leader: gather with the ring still running.
    s.potentialReps = [{ ...rep0 }];
    s.fMembers = [];
    s.fMembersPending = 0;
    shiftToGather(s, now);
  } else if (rep0.segIndex !== s.conf.me.segIndex || s.leadsSegmentIn(s.membership)) {
    refer(s, from, s.membership[0]!, RepType.RING_REP);
  }
}

/** SEG / REPRESENTED: a SEG_REP of my segment represents me; in REPRESENTED others are referred to it. */
function joinWhileRepresentable(s: MembershipState, p: JoinPacket, now: number): void {
  const from = p.header.procId;
  const sp = s.conf.proc(from);
  const rep0 = p.reps[0];
  const mySegRep = sp !== undefined && rep0 !== undefined && sp.segIndex === s.conf.me.segIndex && rep0.type === RepType.SEG_REP;
  if (s.state === MembState.SEG) {
    if (!mySegRep) return;
    s.mySegRep = from;
    shiftToRepresented(s, now);
    scastAlive(s, now, false);
  } else if (mySegRep) {
    if (from !== s.mySegRep) s.log('info', `representative shifts: old ${s.mySegRep >>> 0}, new ${from >>> 0}`);
    s.mySegRep = from;
    s.timers.arm(MembershipTimer.REP, now + s.timeouts.rep);
    scastAlive(s, now, false);
  } else if (s.mySegRep !== -1) {
    refer(s, from, s.mySegRep, RepType.SEG_REP);
  }
}

/** GATHER: reps[0] into F_reps, all reps into Potential_reps; the Gather timer restarts for my smallest rep. */
function joinInGather(s: MembershipState, p: JoinPacket, now: number): void {
  const rep0 = p.reps[0];
  if (rep0 === undefined) return;
  insertRep(s.fReps, { ...rep0 }, s.conf);
  for (const r of p.reps) insertRep(s.potentialReps, { ...r }, s.conf);
  if (s.fReps[smallestRep(s.fReps, s.conf)]!.procId === rep0.procId) {
    s.timers.arm(MembershipTimer.GATHER, now + s.timeouts.gather);
  }
}

/** REFER(referred, type) unicast to `to`. */
function refer(s: MembershipState, to: number, referred: number, type: number): void {
  const p: ReferPacket = {
    kind: 'refer', littleEndian: true, header: s.packetHeader(PacketType.REFER, { procId: referred, time: type }),
  };
  s.ucast('data', to, encodeDatagram(p));
}

export function onRefer(s: MembershipState, p: ReferPacket): void {
  if (s.state !== MembState.GATHER) return;
  const referred = s.conf.proc(p.header.membId.procId);
  if (referred === undefined) {
    s.log('warning', `refer to unknown daemon ${p.header.membId.procId >>> 0}`);
    return;
  }
  insertRep(s.potentialReps, { procId: referred.id, type: p.header.membId.time, segIndex: referred.segIndex }, s.conf);
}

/** A data packet on the data channel: foreign unless it carries my ring id. */
export function onDataPacket(s: MembershipState, bytes: Uint8Array, now: number): void {
  const peeked = peekPacketHeader(bytes);
  if (peeked === null) return;
  const h = peeked.header;
  if (h.transmitterId === s.myId || sameId(h.membId, s.membershipId)) return;
  if (h.confHash !== s.confHash && h.confHash !== MONITOR_HASH) return;
  if (bytes.length !== Size.PACKET_HEADER + h.dataLen) return;
  if (s.state !== MembState.OP) return;
  if (s.conf.proc(h.procId) === undefined) {
    s.log('warning', `foreign packet from unknown daemon ${h.procId >>> 0}`);
    return;
  }
  const leader = s.membership[0]!;
  if (leader === s.myId) {
    lookupNewMembers(s, now);
  } else if (s.leadsSegmentIn(s.membership) && !s.foreignFound) {
    // Segment leader: show the ring leader one foreign packet (twice).
    s.foreignFound = true;
    const fwd = repackedPacket(bytes, { ...h, type: h.type & ~PacketType.ROUTED, transmitterId: s.myId, confHash: s.confHash }, peeked.le);
    s.ucast('data', leader, fwd);
    s.ucast('data', leader, fwd);
  }
}

/** Memb_lookup_new_members: the ring leader probes for configured daemons outside its ring. */
export function lookupNewMembers(s: MembershipState, now: number): void {
  if (s.state !== MembState.OP) return;
  s.potentialReps = [];
  s.fReps = [{ procId: s.myId, type: RepType.RING_REP, segIndex: s.conf.me.segIndex }];
  s.fMembers = [];
  s.fMembersPending = 0;
  const bytes = joinPacket(s);
  let missing = 0;
  if (s.conf.numSegments === 1) {
    // One segment: a broadcast; current members ignore it.
    s.scast(bytes);
    missing++;
  } else {
    for (const p of s.conf.procs) {
      if (s.regMembership.includes(p.id)) continue;
      s.ucast('data', p.id, bytes);
      missing++;
    }
  }
  if (missing > 0) shiftToGather(s, now);
}
