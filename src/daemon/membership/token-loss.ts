/**
 * Token loss, Memb_token_loss (SPEC.md Part VI §6): where the representatives to gather with
 * come from in each state, the ring told to lose its token, ⇒ SEG.
 */
import { RepType } from '../../wire/daemon/constants.js';
import { MembershipTimer } from './actions.js';
import { checkCommit } from './evs.js';
import { potentialsFromMyReps, shiftToSeg } from './gather.js';
import { insertRep } from './reps.js';
import { MembState, membStateName, type MembershipState } from './state.js';

/** Memb_token_loss. */
export function memberTokenLoss(s: MembershipState, now: number, level: 'info' | 'warning' = 'warning'): void {
  switch (s.state) {
    case MembState.OP:
      s.potentialReps = [];
      addSegmentPotentials(s, s.membership);
      break;
    case MembState.SEG:
    case MembState.REPRESENTED:
      s.log('error', `token loss in state ${membStateName(s.state)} (a bug in the reference too)`);
      return;
    case MembState.GATHER:
      if (!s.tokenAlive) s.log('error', 'token loss in GATHER without a live token');
      // The reps I gathered first (they matter more), then my ring's segments.
      potentialsFromMyReps(s);
      addSegmentPotentials(s, s.membership);
      break;
    case MembState.FORM:
      // Potential_reps already follow the FORM token.
      break;
    case MembState.EVS:
      checkCommit(s);
      s.port.backoff();
      s.potentialReps = [];
      addSegmentPotentials(s, s.futureMembership);
      break;
  }
  s.tokenAlive = false;
  s.port.loseToken();
  s.timers.cancel(MembershipTimer.FORM);
  s.timers.cancel(MembershipTimer.JOIN);
  s.timers.cancel(MembershipTimer.GATHER);
  s.timers.cancel(MembershipTimer.LOOKUP);
  s.membership = [s.myId];
  s.log(level, `lost my token, state was ${membStateName(s.state)}`);
  shiftToSeg(s, now);
}

/** For every other segment: its first member in `members`, else its first configured daemon, as POTENTIAL. */
function addSegmentPotentials(s: MembershipState, members: readonly number[]): void {
  for (let seg = 0; seg < s.conf.numSegments; seg++) {
    if (seg === s.conf.me.segIndex) continue;
    const id = s.conf.firstInSegment(members, seg) ?? s.conf.segLeader(seg);
    if (id === undefined) continue;
    insertRep(s.potentialReps, { procId: id, type: RepType.POTENTIAL_REP, segIndex: seg }, s.conf);
  }
}
