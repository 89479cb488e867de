/**
 * Receiving on the data channel (SPEC.md Part V §11, first bullet; Net_recv + Prot_handle_bcast):
 * a datagram is screened (hash, sender, length), relayed if ROUTED, handed up unless it is a
 * data packet of my ring, then validated (§10), stored little-endian and delivered as far as
 * it allows. Also the screening every datagram starts with, shared with the token channel.
 */
import { MONITOR_HASH, MONITOR_MAGIC, PacketType, Size } from '../../wire/daemon/constants.js';
import { toLittleEndianPacket, validDataBody } from '../../wire/daemon/data-inplace.js';
import { decodePacketHeader, type PacketHeader } from '../../wire/daemon/header.js';
import { readerFor, type Reader } from '../../wire/bytes.js';
import { PACKET_MASK } from './constants.js';
import { advanceMyAru, deliverAgreed, deliverReliable } from './delivery.js';
import { handleHurry } from './hurry.js';
import { arm, relay } from './output.js';
import { sameRingId } from '../../wire/daemon/header.js';
import type { RingState } from './state.js';
import { Exist } from './window.js';

const HEADER = Size.PACKET_HEADER;

/**
 * A reader for a datagram of at least `min` bytes whose type word carries a valid endian
 * marker; null (counted malformed) otherwise. A header of `min` bytes then decodes without error.
 */
export function openDatagram(st: RingState, bytes: Uint8Array, min: number, structure: string): Reader | null {
  if (bytes.length >= min) {
    try {
      return readerFor(bytes, 0, bytes.length, structure);
    } catch {
      // not a Spread type word
    }
  }
  st.stats.malformed++;
  return null;
}

/** One datagram from the data channel. */
export function onData(st: RingState, bytes: Uint8Array, now: number): void {
  const topo = st.topo;
  if (topo === null) return;
  const r = openDatagram(st, bytes, HEADER, 'packet_header');
  if (r === null) return;
  const h = decodePacketHeader(r, 0).value;
  const type = h.type;
  if (h.confHash !== st.settings.confHash && h.confHash !== MONITOR_HASH) {
    st.stats.wrongHash++;
    return;
  }
  if (type & PacketType.PARTITION) {
    st.out.push({ kind: 'upward', what: 'control', channel: 'data', bytes });
    return;
  }
  if (h.membId.procId !== MONITOR_MAGIC && topo.procIndex(h.transmitterId) < 0 && st.reloadedIds?.has(h.transmitterId) !== true) {
    st.stats.unknownSender++;
    return;
  }
  if (h.transmitterId === topo.myId) return; // my own broadcast, looped back
  if (bytes.length !== HEADER + h.dataLen) {
    st.stats.malformed++;
    return;
  }
  if (type & PacketType.ROUTED && topo.bcastNeeded) relay(st, bytes, r.le);

  if (type & PacketType.CONTROL) {
    st.out.push({ kind: 'upward', what: 'control', channel: 'data', bytes });
  } else if (type & PacketType.MEMBERSHIP) {
    st.out.push({ kind: 'upward', what: 'membership', channel: 'data', bytes });
  } else if (type & PacketType.HURRY) {
    st.stats.hurryReceived++;
    handleHurry(st, h.procId, now);
  } else if ((type & PacketType.REGULAR) === 0) {
    st.stats.malformed++;
  } else if (!sameRingId(h.membId, st.dataRingId)) {
    st.out.push({ kind: 'upward', what: 'foreign', channel: 'data', bytes });
  } else {
    receivePacket(st, r, h, now);
  }
}

/** Prot_handle_bcast for a data packet of my ring: store it once, then deliver what it completes. */
function receivePacket(st: RingState, r: Reader, h: PacketHeader, now: number): void {
  const topo = st.topo!;
  if (st.tokenAlive) {
    arm(st, 'tokenLoss', now + st.settings.tokenTimeout);
    if (topo.isLeader) arm(st, 'hurry', now + st.settings.hurryTimeout);
  }
  const seq = h.seq;
  if (seq <= st.lastDiscarded || st.packets.exist[seq & PACKET_MASK] !== Exist.ABSENT) {
    st.stats.packetsDuplicate++;
    return;
  }
  // In EVS no member originates old-ring packets: one above the Highest_seq installed from the
  // commit token comes from a stale member outside it (say, one resumed after a SIGSTOP). The
  // reference stores it and may deliver it before the transitional configuration at some
  // members only (an EVS violation the fault sweep found, SPEC.md Part V §13.2): dropped.
  if (st.mode === 'evs' && seq > st.highestSeq) {
    st.stats.evsStale++;
    return;
  }
  const procIndex = topo.procIndex(h.procId);
  if (procIndex < 0) {
    st.stats.unknownSender++;
    return;
  }
  if (!validDataBody(r, h.dataLen, h.fragIndex, h.fragLen)) {
    st.stats.malformed++;
    return;
  }
  const stored = r.le ? r.buf : toLittleEndianPacket(r, h);
  st.packets.put(seq, h.type & PacketType.REGULAR, procIndex, h.fragIndex, stored);
  st.stats.packetsReceived++;

  // Accelerated ring: a packet my predecessor sent after forwarding a token I have not seen
  // yet means every packet of the previous round is in: take the token first.
  if (st.accelerated && !st.tokenPriority && h.tokenRound > st.receivedTokenRounds && h.transmitterId === topo.predecessor) {
    st.tokenPriority = true;
  }

  if (st.highestSeq < seq) st.highestSeq = seq;
  if (seq === st.myAru + 1) {
    advanceMyAru(st);
    deliverAgreed(st);
  } else {
    deliverReliable(st, seq, 1);
  }
}
