/**
 * The header and FORM helpers the membership machine uses instead of reading or writing bytes
 * itself (src/wire/daemon/header.ts, form.ts; SPEC.md Part VI §9, §12).
 */
import { describe, expect, it } from 'vitest';
import { Limits, PacketType, Size } from '../../src/wire/daemon/constants.js';
import { decodeDatagram, encodeDatagram } from '../../src/wire/daemon/datagram.js';
import {
  appendFormMembers, form2FromForm1, removeFormMember, type Form1Token, type Form2Token,
} from '../../src/wire/daemon/form.js';
import { peekPacketHeader, peekSenderIds, peekType, repackedPacket, type PacketHeader } from '../../src/wire/daemon/header.js';

const header = (type: number): PacketHeader => ({
  type, transmitterId: 7, procId: 9, membId: { procId: 11, time: 13 }, seq: 1, tokenRound: 2,
  confHash: 0xdeadbeef, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0,
});

/** The same header as a big-endian writer sends it (type without the marker). */
function bigEndianHeader(h: PacketHeader, body: Uint8Array): Uint8Array {
  const b = new Uint8Array(Size.PACKET_HEADER + body.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, h.type);
  v.setInt32(4, h.transmitterId);
  v.setInt32(8, h.procId);
  v.setInt32(12, h.membId.procId);
  v.setInt32(16, h.membId.time);
  v.setInt32(20, h.seq);
  v.setInt32(24, h.tokenRound);
  v.setUint32(28, h.confHash);
  v.setInt16(32, body.length);
  b.set([0xaa, 0xbb, 0x00, 0x03, 0x00, 0x05], 34);
  b.set(body, Size.PACKET_HEADER);
  return b;
}

function form1(): Form1Token {
  return {
    kind: 'form1', littleEndian: true,
    header: { type: PacketType.FORM1, transmitterId: 1, procId: 1, membId: { procId: 1, time: 100 }, seq: 3333, aru: 0, aruLastId: 0, flowControl: 0, rtrLen: 0, confHash: 5 },
    members: { numMembers: 2, numPending: 1, members: [1, 2, 3] },
    reps: { repIndex: 2, reps: [{ procId: 1, type: 1, segIndex: 0 }, { procId: 4, type: 2, segIndex: 1 }] },
    rings: [],
  };
}

describe('header peeks', () => {
  it('peekType: the type word in either order, null when the marker bits disagree', () => {
    const le = encodeDatagram({ kind: 'refer', littleEndian: true, header: header(PacketType.REFER) });
    expect(peekType(le)).toBe(PacketType.REFER);
    expect(peekType(bigEndianHeader(header(PacketType.REFER), new Uint8Array(0)))).toBe(PacketType.REFER);
    const bad = le.slice();
    bad[3] = bad[3]! & 0x7f;
    expect(peekType(bad)).toBeNull();
    expect(peekType(le.subarray(0, 3))).toBeNull();
  });

  it('peekSenderIds reads transmitter and memb_id.proc_id in the writer\'s order', () => {
    const be = bigEndianHeader(header(PacketType.REFER), new Uint8Array(0));
    expect(peekSenderIds(be)).toEqual({ transmitterId: 7, membProcId: 11 });
  });

  it('repackedPacket re-writes the header little-endian, keeping a big-endian writer\'s bytes 34..39 and the body', () => {
    const body = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const be = bigEndianHeader(header(PacketType.RELIABLE), body);
    const peeked = peekPacketHeader(be)!;
    expect(peeked.le).toBe(false);
    const out = repackedPacket(be, { ...peeked.header, transmitterId: 42 }, peeked.le);
    expect(Array.from(out.subarray(34))).toEqual(Array.from(be.subarray(34)));
    const again = peekPacketHeader(out)!;
    expect(again.le).toBe(true);
    expect(again.header.transmitterId).toBe(42);
    expect(again.header.membId).toEqual({ procId: 11, time: 13 });
    expect(peekPacketHeader(be.subarray(0, 10))).toBeNull();
  });
});

describe('FORM member slots', () => {
  it('removeFormMember leaves the last id in the freed slot, as stale bytes', () => {
    const t = form1();
    removeFormMember(t.members, 0);
    expect(t.members).toMatchObject({ numMembers: 1, numPending: 1, members: [2, 3] });
    expect(t.members.stale!.length).toBe(4 * (Limits.MAX_PROCS_RING - 2));
    const bytes = encodeDatagram(t);
    const o = Size.TOKEN_HEADER + 4 + 8;
    expect(Array.from(bytes.subarray(o, o + 4))).toEqual([3, 0, 0, 0]);
  });

  it('appendFormMembers uses up stale slots', () => {
    const t = decodeDatagram(encodeDatagram(form1()), 'token', { copy: true }) as Form1Token;
    appendFormMembers(t.members, [8, 9]);
    t.members.numPending += 2;
    expect(t.members.stale!.length).toBe(4 * (Limits.MAX_PROCS_RING - 5));
    expect((decodeDatagram(encodeDatagram(t), 'token') as Form1Token).members.members).toEqual([1, 2, 3, 8, 9]);
  });

  it('form2FromForm1: new_ring_id holds the first 8 bytes of reps_info', () => {
    const t = form1();
    const f2 = form2FromForm1(t, [1, 2, 3]);
    expect(f2.header.type).toBe(PacketType.FORM2);
    expect(f2.members).toEqual({ numMembers: 0, numPending: 3, members: [1, 2, 3] });
    const f1Bytes = encodeDatagram(t);
    const f2Bytes = encodeDatagram(f2);
    const o = Size.TOKEN_HEADER + Size.MEMBERS_INFO;
    expect(Array.from(f2Bytes.subarray(o, o + 8))).toEqual(Array.from(f1Bytes.subarray(o, o + 8)));
    expect((decodeDatagram(f2Bytes, 'token') as Form2Token).newRingId).toEqual(f2.newRingId);
  });
});
