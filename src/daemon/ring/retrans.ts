/**
 * Retransmission requests, the token body (SPEC.md Part V §7): answering the records of my
 * ring (Answer_retrans), carrying other rings' records forward, and appending my own request
 * for the holes below the limit.
 */
import { clearRoutedFlag, patchTransmitter } from '../../wire/daemon/header.js';
import { Size } from '../../wire/daemon/constants.js';
import { rtrListLength, type RtrRecord } from '../../wire/daemon/token.js';
import { PACKET_MASK, TOKEN_BODY } from './constants.js';
import { bcast, copyOf, scast, sendTo, violation } from './output.js';
import { sameRingId } from '../../wire/daemon/header.js';
import { type RingState } from './state.js';

/**
 * Answer_retrans: resend what my ring's records ask for; other rings' records go to
 * `st.carried` for the next token. Returns how many packets were resent.
 */
export function answerRetrans(st: RingState, rtr: RtrRecord[]): number {
  const topo = st.topo!;
  let num = 0;
  st.rtrProcId = topo.myId;
  st.rtrSegIndex = topo.mySeg;
  const carried = st.carried;
  carried.length = 0;
  for (let k = 0; k < rtr.length; k++) {
    const rec = rtr[k]!;
    if (!sameRingId(rec.membId, st.dataRingId)) {
      carried.push(rec);
      continue;
    }
    const seqs = rec.seqs;
    for (let i = 0; i < seqs.length; i++) {
      const s = seqs[i]!;
      if (s < st.aru) {
        violation(st, 'RTR_BELOW_ARU', `retransmission of ${s} requested while Aru is ${st.aru}`);
        continue;
      }
      if (st.packets.hasBytes(s)) {
        retransmit(st, s & PACKET_MASK, rec.procId, rec.segIndex);
        num++;
      } else if (!st.packets.holds(s)) {
        st.rtrProcId = -1;
        if (rec.segIndex !== topo.mySeg) st.rtrSegIndex = -1;
      }
    }
  }
  return num;
}

/** The stored packet in `slot` again, from me, ROUTED cleared: to a daemon, a segment or everyone. */
function retransmit(st: RingState, slot: number, procId: number, segIndex: number): void {
  const topo = st.topo!;
  if (procId !== -1 && topo.procIndex(procId) < 0) return;
  const b = copyOf(st, st.packets.bytes[slot]!);
  clearRoutedFlag(b, true);
  patchTransmitter(b, true, topo.myId);
  if (procId !== -1) {
    st.stats.retransUnicast++;
    sendTo(st, 'data', procId, b);
  } else if (segIndex !== -1) {
    st.stats.retransSegment++;
    scast(st, segIndex, b);
  } else {
    st.stats.retransBroadcast++;
    bcast(st, b);
  }
}

/**
 * My own request: every missing seq in My_aru+1..`limit`, as one record after the carried
 * ones, if at least two seqs fit in the token body.
 */
export function requestRetrans(st: RingState, limit: number): void {
  if (st.myAru >= limit) return;
  const records = st.carried;
  let allowedSeqs = Math.trunc((TOKEN_BODY - rtrListLength(records) - Size.RING_RTR) / 4);
  if (allowedSeqs <= 1) return;
  const seqs: number[] = [];
  for (let i = st.myAru + 1; i <= limit && allowedSeqs > 0; i++) {
    if (!st.packets.holds(i)) {
      seqs.push(i);
      allowedSeqs--;
    }
  }
  st.stats.rtrRequested += seqs.length;
  records.push({ membId: st.dataRingId, procId: st.rtrProcId, segIndex: st.rtrSegIndex, seqs });
}
