/**
 * Malformed datagrams: typed ProtocolErrors with exact messages; safeDecode never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDatagram, safeDecode, type Channel } from '../../src/wire/daemon/index.js';
import { ProtocolError } from '../../src/wire/errors.js';
import { fromHex, vectors } from './support.js';

function find(name: string, pred: (b: Uint8Array, kind: string) => boolean): { bytes: Uint8Array; channel: Channel } {
  for (const v of vectors(name)) {
    const d = decodeDatagram(v.bytes, v.channel);
    if (pred(v.bytes, d.kind)) return { bytes: v.bytes, channel: v.channel };
  }
  throw new Error('no such vector');
}

const JOIN = find('ring-lo-acc', (b, k) => k === 'join' && b.length === 68);
const ALIVE = find('ring-ns-acc', (_b, k) => k === 'alive');
const PACKED = find('ring-ns-acc-bulk', (b, k) => k === 'data' && b.length === 40 + 548);
const FRAG1 = find('ring-ns-acc-bulk', (b, k) => k === 'data' && b[36] === 1 && b[37] === 0);
const FORM1 = find('ring-lo-acc', (_b, k) => k === 'form1');
const FORM2 = find('ring-lo-acc', (_b, k) => k === 'form2');
const STATUS_REQ = find('ring-ns-unspec', (_b, k) => k === 'status-request');
const HURRY = find('ring-lo-acc', (_b, k) => k === 'hurry');
const TOKEN = fromHex('80001580 0200007f 0200007f 0200007f 0d6a086b 00000000 00000000 0200007f 0000 0000 73793622');
/** A token with one retransmission record asking for seqs 4 and 15. */
const RTR_TOKEN = fromHex(
  '80000d80 0100007f 0100007f 0100007f a6a5076b 2a000000 03000000 0200007f 1400 1800 2b4b22b0' +
    '0100007f a6a5076b 0200007f 0100 0200 04000000 0f000000',
);

function edit(b: Uint8Array, f: (dv: DataView, b: Uint8Array) => void): Uint8Array {
  const c = new Uint8Array(b);
  f(new DataView(c.buffer), c);
  return c;
}

type Case = [what: string, bytes: Uint8Array, channel: Channel, message: string, opts?: { confHash: number }];

const CASES: Case[] = [
  ['empty datagram', new Uint8Array(0), 'data', 'packet_header.type at offset 0: truncated: expected 40, got 0'],
  ['39 bytes', JOIN.bytes.subarray(0, 39), 'data', 'packet_header.type at offset 0: truncated: expected 40, got 39'],
  ['39-byte token', TOKEN.subarray(0, 39), 'token', 'token_header.type at offset 0: truncated: expected 40, got 39'],
  ['half a marker', edit(JOIN.bytes, (_d, b) => { b[3] = 0; }), 'data',
    'packet_header.type at offset 0: illegal value: expected endian marker 0x80000080 set or clear, got 0x80020000'],
  ['datagram longer than 40 + data_len', new Uint8Array([...JOIN.bytes, 0]), 'data',
    'packet_header.data_len at offset 32: illegal value: expected 29 (datagram length 69 - 40), got 28'],
  ['datagram shorter than 40 + data_len', JOIN.bytes.subarray(0, 67), 'data',
    'packet_header.data_len at offset 32: illegal value: expected 27 (datagram length 67 - 40), got 28'],
  ['negative data_len', edit(JOIN.bytes, (d) => d.setInt16(32, -4, true)), 'data', 'packet_header.data_len at offset 32: illegal value: expected >= 0, got -4'],
  ['data_len over 1432', edit(JOIN.bytes, (d) => d.setInt16(32, 1433, true)), 'data', 'packet_header.data_len at offset 32: over limit: expected <= 1432, got 1433'],
  ['another configuration (data)', JOIN.bytes, 'data', 'packet_header.conf_hash at offset 28: illegal value: expected 1 or 1100, got 407896669', { confHash: 1 }],
  ['another configuration (token)', TOKEN, 'token', 'token_header.conf_hash at offset 36: illegal value: expected 1, got 573995379', { confHash: 1 }],
  ['monitor hash on a token', edit(TOKEN, (d) => d.setUint32(36, 1100, true)), 'token', 'token_header.conf_hash at offset 36: illegal value: expected 573995379, got 1100', { confHash: 573995379 }],
  ['no known type', edit(HURRY.bytes, (d) => d.setUint32(0, 0x80001080, true)), 'data', 'packet_header.type at offset 0: illegal value: expected a data-channel packet type, got 0x1000'],
  ['JOIN num_members 129', edit(JOIN.bytes, (d) => d.setInt16(40, 129, true)), 'data', 'join.num_members at offset 40: over limit: expected 0..128, got 129'],
  ['JOIN num_members -1', edit(JOIN.bytes, (d) => d.setInt16(40, -1, true)), 'data', 'join.num_members at offset 40: illegal value: expected 0..128, got -1'],
  ['JOIN reps past data_len', edit(JOIN.bytes, (d) => d.setInt16(48, 3, true)), 'data', 'join.reps at offset 52: truncated: expected 24, got 16'],
  ['JOIN num_reps 26', edit(JOIN.bytes, (d) => d.setInt16(48, 26, true)), 'data', 'join.num_reps at offset 48: over limit: expected 0..25, got 26'],
  ['JOIN one rep short of data_len', edit(JOIN.bytes, (d) => d.setInt16(48, 1, true)), 'data', 'join.data_len at offset 32: illegal value: expected 20, got 28'],
  ['ALIVE members past data_len', edit(ALIVE.bytes, (d) => d.setInt16(40, 2, true)), 'data', 'alive.members at offset 44: truncated: expected 8, got 4'],
  ['REFER/HURRY with a body', new Uint8Array([...edit(HURRY.bytes, (d) => d.setInt16(32, 4, true)), 0, 0, 0, 0]), 'data', 'hurry.data_len at offset 32: illegal value: expected 0, got 4'],
  ['fragment index 0', edit(PACKED.bytes, (d) => d.setInt16(36, 0, true)), 'data', 'packet_header.first_frag_header.fragment_index at offset 36: illegal value: expected non-zero, got 0'],
  ['first fragment longer than data_len', edit(PACKED.bytes, (d) => d.setInt16(38, 549, true)), 'data',
    'packet_header.first_frag_header.fragment_len at offset 38: illegal value: expected 0..548, got 549'],
  ['in-body fragment index not -1', edit(PACKED.bytes, (d) => d.setInt16(220, 2, true)), 'data', 'fragment_header.fragment_index at offset 220: illegal value: expected -1, got 2'],
  ['in-body fragment past data_len', edit(PACKED.bytes, (d) => d.setInt16(222, 400, true)), 'data', 'fragment_header.fragment_len at offset 222: illegal value: expected 0..364, got 400'],
  ['fragment header cut by data_len', edit(PACKED.bytes, (d) => d.setInt16(406, 178, true)), 'data', 'fragment_header.fragment_index at offset 588: truncated: expected 4, got 0'],
  ['more after a non-last fragment', edit(PACKED.bytes, (d) => d.setInt16(36, 1, true)), 'data',
    'data_packet.fragments at offset 220: illegal value: expected no fragment after a non-last fragment, got 368 more bytes'],
  ['message header with negative data_len', edit(PACKED.bytes, (d) => d.setInt32(40 + 44, -1, true)), 'data', 'message_header.data_len at offset 84: illegal value: expected >= 0, got -1'],
  ['token rtr_len mismatch', edit(TOKEN, (d) => d.setInt16(34, 4, true)), 'token', 'token_header.rtr_len at offset 34: illegal value: expected 0 (datagram length 40 - 40), got 4'],
  ['token negative rtr_len', edit(TOKEN, (d) => d.setInt16(34, -1, true)), 'token', 'token_header.rtr_len at offset 34: illegal value: expected >= 0, got -1'],
  ['rtr record cut', RTR_TOKEN.subarray(0, 60), 'token', 'token_header.rtr_len at offset 34: illegal value: expected 20 (datagram length 60 - 40), got 24'],
  ['rtr seqs past rtr_len', edit(RTR_TOKEN, (d) => d.setInt16(54, 3, true)), 'token', 'ring_rtr.seqs at offset 56: truncated: expected 12, got 8'],
  ['rtr negative num_seq', edit(RTR_TOKEN, (d) => d.setInt16(54, -2, true)), 'token', 'ring_rtr.num_seq at offset 54: illegal value: expected >= 0, got -2'],
  ['rtr record header cut', edit(RTR_TOKEN.subarray(0, 52), (d) => d.setInt16(34, 12, true)), 'token', 'ring_rtr.memb_id at offset 40: truncated: expected 16, got 12'],
  ['FORM1 body too short', edit(TOKEN, (d) => d.setUint32(0, 0x80001080, true)), 'token', 'form1.rtr_len at offset 34: truncated: expected 724, got 0'],
  ['FORM1 members over 128', edit(FORM1.bytes, (d) => d.setInt16(42, 128, true)), 'token', 'members_info.num_members+num_pending at offset 40: over limit: expected 0..128, got 129'],
  ['FORM1 num_reps 26', edit(FORM1.bytes, (d) => d.setInt16(556, 26, true)), 'token', 'reps_info.num_reps at offset 556: over limit: expected 0..25, got 26'],
  ['FORM1 21 rings', edit(FORM1.bytes, (d) => d.setInt32(760, 21, true)), 'token', 'form_token.num_rings at offset 760: over limit: expected 0..20, got 21'],
  ['FORM1 ring cut', edit(FORM1.bytes, (d) => d.setInt32(760, 2, true)), 'token', 'ring_info.memb_id at offset 796: truncated: expected 28, got 0'],
  ['FORM1 trans > commit', edit(FORM1.bytes, (d) => d.setInt16(790, 2, true)), 'token', 'ring_info.num_trans at offset 790: over limit: expected 0..1, got 2'],
  ['FORM1 holes over 1600', edit(FORM1.bytes, (d) => d.setInt32(784, 1601, true)), 'token', 'ring_info.num_holes at offset 784: over limit: expected 0..1600, got 1601'],
  ['FORM1 holes past the body', edit(FORM1.bytes, (d) => d.setInt32(784, 2, true)), 'token', 'ring_info.holes/commit at offset 792: truncated: expected 12, got 4'],
  ['FORM1 trailing bytes', edit(new Uint8Array([...FORM1.bytes, 0, 0, 0, 0]), (d) => d.setInt16(34, 760, true)), 'token',
    'form_token.rtr_len at offset 796: illegal value: expected body ends after the last ring, got 4 trailing bytes'],
  ['FORM2 body too short', edit(FORM2.bytes.subarray(0, 567), (d) => d.setInt16(34, 527, true)), 'token', 'form2.rtr_len at offset 34: truncated: expected 528, got 527'],
  ['STATUS with an odd body', new Uint8Array([...edit(STATUS_REQ.bytes, (d) => d.setInt16(32, 4, true)), 1, 2, 3, 4]), 'data', 'status.data_len at offset 32: illegal value: expected 96, got 4'],
  ['PARTITION with 200 bytes', new Uint8Array([...edit(STATUS_REQ.bytes, (d) => { d.setUint32(0, 0x82000080, true); d.setInt16(32, 200, true); }), ...new Uint8Array(200)]), 'data',
    'partition.data_len at offset 32: illegal value: expected 256, got 200'],
  ['FC with 256 bytes', new Uint8Array([...edit(STATUS_REQ.bytes, (d) => { d.setUint32(0, 0x84000080, true); d.setInt16(32, 256, true); }), ...new Uint8Array(256)]), 'data',
    'fc.data_len at offset 32: illegal value: expected 512, got 256'],
  ['RELOAD with a body', new Uint8Array([...edit(STATUS_REQ.bytes, (d) => { d.setUint32(0, 0x88000080, true); d.setInt16(32, 2, true); }), 0, 0]), 'data',
    'reload.data_len at offset 32: illegal value: expected 0, got 2'],
];

describe('malformed datagrams', () => {
  for (const [what, bytes, channel, message, opts] of CASES) {
    it(what, () => {
      let err: unknown;
      try {
        decodeDatagram(bytes, channel, opts ?? {});
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).message).toBe(message);
      const r = safeDecode(bytes, channel, opts ?? {});
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).toBe((err as ProtocolError).message);
    });
  }

  it('a message start shorter than 48 bytes is a truncated message header', () => {
    const b = edit(FRAG1.bytes, (d) => { d.setInt16(36, -1, true); });
    const c = edit(new Uint8Array([...b.subarray(0, 40), ...b.subarray(40, 40 + 47)]), (d) => { d.setInt16(32, 47, true); d.setInt16(38, 47, true); });
    expect(() => decodeDatagram(c, 'data')).toThrow('message_header.type at offset 40: truncated: expected 48, got 47');
  });

  it('errors carry code, structure, field, offset, expected and actual', () => {
    const r = safeDecode(JOIN.bytes.subarray(0, 12), 'data');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ name: 'ProtocolError', code: 'TRUNCATED', structure: 'packet_header', field: 'type', offset: 0, expected: 40, actual: 12 });
  });

  it('safeDecode never throws on arbitrary bytes and reports only ProtocolErrors of the codec', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), fc.constantFrom<Channel>('data', 'token'), (bytes, channel) => {
        const r = safeDecode(bytes, channel);
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(ProtocolError);
          expect(r.error.field).not.toBe('decode'); // the "codec bug" fallback
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('safeDecode never throws on mutated real datagrams', () => {
    const seeds = [JOIN, ALIVE, PACKED, FRAG1, FORM1, FORM2, STATUS_REQ, HURRY, { bytes: RTR_TOKEN, channel: 'token' as Channel }];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (i, muts) => {
        const s = seeds[i]!;
        const b = new Uint8Array(s.bytes);
        for (const [pos, val] of muts) b[pos % b.length] = val;
        const r = safeDecode(b, s.channel);
        if (!r.ok) expect(r.error.field).not.toBe('decode');
      }),
      { numRuns: 3000 },
    );
  });
});
