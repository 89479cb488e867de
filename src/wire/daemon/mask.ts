/**
 * Bytes the reference sends without giving them a value (SPEC.md Part IV §13).
 *
 * The decoder keeps such bytes (header fields it never sets, alignment pads, stale array
 * slots) so that re-encoding is exact. For comparisons between our own "clean" encoding
 * (zeros there) and the reference's bytes, `uninitialisedRanges` lists exactly those ranges
 * and `semanticDatagram` produces the clean value.
 *
 *   data packet        34..36 packet_header.padding; every alignment pad in the body
 *   ALIVE, JOIN, HURRY 12..28 memb_id, seq, token_round; 34..40 padding, first_frag_header
 *   REFER              20..28 seq, token_round; 34..40 padding, first_frag_header
 *   FORM1              members_info slots past num_members+num_pending; reps_info slots past num_reps
 *   FORM2              members_info unused slots; new_ring_id while num_members = 0
 *   tokens, monitor packets, status replies: none
 */
import type { Datagram } from './datagram.js';
import { dataPadRanges } from './data.js';
import { formStaleRanges } from './form.js';
import type { PacketHeader } from './header.js';

export interface ByteRange {
  /** Offset from the start of the datagram. */
  start: number;
  /** Exclusive end. */
  end: number;
  what: string;
}

const HEADER_PADDING: ByteRange = { start: 34, end: 40, what: 'packet_header.padding, first_frag_header' };

export function uninitialisedRanges(d: Datagram): ByteRange[] {
  switch (d.kind) {
    case 'data': {
      const out: ByteRange[] = [{ start: 34, end: 36, what: 'packet_header.padding' }];
      for (const [start, end] of dataPadRanges(d.fragments)) out.push({ start, end, what: 'fragment alignment pad' });
      return out;
    }
    case 'alive':
    case 'join':
    case 'hurry':
      return [{ start: 12, end: 28, what: 'packet_header.memb_id, seq, token_round' }, HEADER_PADDING];
    case 'refer':
      return [{ start: 20, end: 28, what: 'packet_header.seq, token_round' }, HEADER_PADDING];
    case 'form1':
    case 'form2':
      return formStaleRanges(d).map(([start, end, what]) => ({ start, end, what }));
    default:
      return [];
  }
}

export function maskedByteCount(ranges: readonly ByteRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.start;
  return n;
}

/** A copy of `bytes` with every range zeroed. */
export function maskBytes(bytes: Uint8Array, ranges: readonly ByteRange[]): Uint8Array {
  const out = new Uint8Array(bytes); // a copy, also for a Node Buffer
  for (const r of ranges) out.fill(0, r.start, Math.min(r.end, out.length));
  return out;
}

/** Offset of the first difference between `a` and `b` outside `ranges`, or −1. */
export function firstDifferenceOutside(a: Uint8Array, b: Uint8Array, ranges: readonly ByteRange[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i] && i < a.length && i < b.length) continue;
    let masked = false;
    for (const r of ranges) if (i >= r.start && i < r.end) masked = true;
    if (!masked) return i;
  }
  return -1;
}

function cleanHeader(h: PacketHeader, zeroMembId: boolean): PacketHeader {
  return {
    ...h,
    membId: zeroMembId ? { procId: 0, time: 0 } : { ...h.membId },
    seq: 0,
    tokenRound: 0,
    padding: 0,
    fragIndex: 0,
    fragLen: 0,
  };
}

/** The value with every uninitialised byte given a clean (zero) value. */
export function semanticDatagram(d: Datagram): Datagram {
  switch (d.kind) {
    case 'data':
      return {
        ...d,
        header: { ...d.header, padding: 0 },
        fragments: d.fragments.map((f) => {
          const { pad: _pad, ...rest } = f;
          return rest;
        }),
      };
    case 'alive':
    case 'join':
    case 'hurry':
      return { ...d, header: cleanHeader(d.header, true) };
    case 'refer':
      return { ...d, header: cleanHeader(d.header, false) };
    case 'form1': {
      const { stale: _m, ...members } = d.members;
      const { stale: _r, ...reps } = d.reps;
      return { ...d, members, reps };
    }
    case 'form2': {
      const { stale: _m, ...members } = d.members;
      return { ...d, members, newRingId: members.numMembers === 0 ? { procId: 0, time: 0 } : { ...d.newRingId } };
    }
    default:
      return d;
  }
}

