/**
 * Exact-message error table for the client codecs: every malformed input names its structure,
 * field, offset, expectation and finding, and never leaks a RangeError or a short subarray.
 * Inputs are captured golden bytes (or their documented shape) with one field broken.
 */
import { describe, expect, it } from 'vitest';
import {
  CLIENT_TO_DAEMON_LIMITS,
  DAEMON_TO_CLIENT_LIMITS,
  decodeAccept,
  decodeAuthList,
  decodeAuthReply,
  decodeConnect,
  decodeGroupId,
  decodeHeader,
  decodeMembershipBody,
  decodeMessage,
  encodeAuthList,
  encodeAuthReply,
  encodeHeaderInto,
  encodeMembershipBodyInto,
  encodeMessage,
  encodeMessageInto,
  MessageFramer,
} from '../../src/wire/client/index.js';
import type { WireMessage } from '../../src/wire/client/index.js';
import { fromHex, pieceById } from '../vectors/captures.js';
import { expectProtocolError } from './support.js';
import type { ExpectedError } from './support.js';

/** The captured SAFE "hello from alice\n" to grpA (97 bytes), copied so rows can break it. */
const SAFE = (): Uint8Array => Uint8Array.from(pieceById('client-single/alice/to_server/1 SAFE').bytes);
/** The captured lightweight join body (56 bytes) from client-two. */
const MEMB_BODY = (): Uint8Array => Uint8Array.from(pieceById('client-two/alice/to_client/1 REG_MEMB|CAUSED_BY_JOIN').bytes.subarray(112));

function withI32(b: Uint8Array, at: number, v: number): Uint8Array {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setInt32(at, v, true);
  return b;
}
function embedAt(b: Uint8Array, at: number, tail = 0): Uint8Array {
  const out = new Uint8Array(at + b.length + tail).fill(0xee);
  out.set(b, at);
  return out;
}
const msg = (groups: string[], data: Uint8Array, numGroups = groups.length, dataLen = data.length): WireMessage => ({
  header: { type: 0x10, name: '#alice#localhost', numGroups, hint: 0x80000080, dataLen },
  oldType: 0,
  groups,
  data,
});

interface Row extends ExpectedError {
  name: string;
  run: () => unknown;
}

const rows: Row[] = [
  // --- message header ---------------------------------------------------------------
  {
    name: 'truncated header (47 of 48 bytes)',
    run: () => decodeHeader(SAFE(), 0, 47),
    code: 'TRUNCATED', structure: 'message_header', field: 'type', offset: 0, expected: 48, actual: 47,
    message: 'message_header.type at offset 0: truncated: expected 48, got 47',
  },
  {
    name: 'truncated header at offset 10 of a larger buffer (end cuts it)',
    run: () => decodeHeader(embedAt(SAFE(), 10), 10, 10 + 20),
    code: 'TRUNCATED', structure: 'message_header', field: 'type', offset: 10, expected: 48, actual: 20,
    message: 'message_header.type at offset 10: truncated: expected 48, got 20',
  },
  {
    name: 'empty input',
    run: () => decodeMessage(new Uint8Array(0), 0, 0),
    code: 'TRUNCATED', structure: 'message_header', field: 'type', offset: 0, expected: 48, actual: 0,
    message: 'message_header.type at offset 0: truncated: expected 48, got 0',
  },
  {
    name: 'negative num_groups',
    run: () => decodeHeader(withI32(SAFE(), 36, -1), 0, 97),
    code: 'BAD_VALUE', structure: 'message_header', field: 'num_groups', offset: 36, expected: '>= 0', actual: -1,
    message: 'message_header.num_groups at offset 36: illegal value: expected >= 0, got -1',
  },
  {
    name: 'negative num_groups at offset 5',
    run: () => decodeMessage(embedAt(withI32(SAFE(), 36, -2147483648), 5), 5, 102),
    code: 'BAD_VALUE', structure: 'message_header', field: 'num_groups', offset: 41, expected: '>= 0', actual: -2147483648,
    message: 'message_header.num_groups at offset 41: illegal value: expected >= 0, got -2147483648',
  },
  {
    name: 'negative data_len',
    run: () => decodeHeader(withI32(SAFE(), 44, -17), 0, 97),
    code: 'BAD_VALUE', structure: 'message_header', field: 'data_len', offset: 44, expected: '>= 0', actual: -17,
    message: 'message_header.data_len at offset 44: illegal value: expected >= 0, got -17',
  },
  {
    name: 'oversize data_len from a client (144001 > 144000)',
    run: () => decodeHeader(withI32(SAFE(), 44, 144001), 0, 97, CLIENT_TO_DAEMON_LIMITS),
    code: 'TOO_LARGE', structure: 'message_header', field: 'data_len', offset: 44, expected: '<= 144000', actual: 144001,
    message: 'message_header.data_len at offset 44: over limit: expected <= 144000, got 144001',
  },
  {
    name: 'oversize data_len from a daemon (8 MiB + 1)',
    run: () => decodeHeader(withI32(SAFE(), 44, 8 * 1024 * 1024 + 1), 0, 97, DAEMON_TO_CLIENT_LIMITS),
    code: 'TOO_LARGE', structure: 'message_header', field: 'data_len', offset: 44, expected: '<= 8388608', actual: 8388609,
    message: 'message_header.data_len at offset 44: over limit: expected <= 8388608, got 8388609',
  },
  {
    name: 'oversize num_groups from a client (101 > 100)',
    run: () => decodeHeader(withI32(SAFE(), 36, 101), 0, 97, CLIENT_TO_DAEMON_LIMITS),
    code: 'TOO_LARGE', structure: 'message_header', field: 'num_groups', offset: 36, expected: '<= 100', actual: 101,
    message: 'message_header.num_groups at offset 36: over limit: expected <= 100, got 101',
  },
  {
    name: 'oversize num_groups from a daemon (128 x 997 + 1)',
    run: () => decodeHeader(withI32(SAFE(), 36, 127617), 0, 97),
    code: 'TOO_LARGE', structure: 'message_header', field: 'num_groups', offset: 36, expected: '<= 127616', actual: 127617,
    message: 'message_header.num_groups at offset 36: over limit: expected <= 127616, got 127617',
  },
  {
    name: 'num_groups is checked before data_len',
    run: () => decodeHeader(withI32(withI32(SAFE(), 36, -1), 44, -1), 0, 97),
    code: 'BAD_VALUE', structure: 'message_header', field: 'num_groups', offset: 36,
    message: 'message_header.num_groups at offset 36: illegal value: expected >= 0, got -1',
  },
  {
    name: 'body shorter than num_groups and data_len announce',
    run: () => decodeMessage(SAFE(), 0, 96),
    code: 'TRUNCATED', structure: 'message', field: 'body', offset: 48, expected: 49, actual: 48,
    message: 'message.body at offset 48: truncated: expected 49, got 48',
  },
  {
    name: 'REJECT_MESS body needs its 4-byte old_type too',
    run: () => {
      const b = SAFE();
      b[2] = 0x40; // type |= REJECT_MESS (0x00400000)
      return decodeMessage(b, 0, 97);
    },
    code: 'TRUNCATED', structure: 'message', field: 'body', offset: 48, expected: 53, actual: 49,
    message: 'message.body at offset 48: truncated: expected 53, got 49',
  },
  // --- connect ----------------------------------------------------------------------
  {
    name: 'connect name_len 11',
    run: () => decodeConnect(fromHex('040400010b6162636465666768696a6b'), 0, 16),
    code: 'BAD_VALUE', structure: 'connect', field: 'name_len', offset: 4, expected: '0..10', actual: 11,
    message: 'connect.name_len at offset 4: illegal value: expected 0..10, got 11',
  },
  {
    name: 'connect name_len -1 (0xff, a signed char)',
    run: () => decodeConnect(fromHex('04040001ff'), 0, 5),
    code: 'BAD_VALUE', structure: 'connect', field: 'name_len', offset: 4, expected: '0..10', actual: -1,
    message: 'connect.name_len at offset 4: illegal value: expected 0..10, got -1',
  },
  {
    name: 'connect name_len 11 from a 3.14 library (no patch byte)',
    run: () => decodeConnect(fromHex('030e010b'), 0, 4),
    code: 'BAD_VALUE', structure: 'connect', field: 'name_len', offset: 3, expected: '0..10', actual: 11,
    message: 'connect.name_len at offset 3: illegal value: expected 0..10, got 11',
  },
  {
    name: 'connect name_len 11 at offset 9',
    run: () => decodeConnect(embedAt(fromHex('040400010b'), 9), 9, 14),
    code: 'BAD_VALUE', structure: 'connect', field: 'name_len', offset: 13, expected: '0..10', actual: 11,
    message: 'connect.name_len at offset 13: illegal value: expected 0..10, got 11',
  },
  // --- authentication -------------------------------------------------------------------
  {
    name: 'auth list len 91 (> 90)',
    run: () => decodeAuthList(fromHex('5b4e554c4c20'), 0, 6),
    code: 'TOO_LARGE', structure: 'auth_list', field: 'len', offset: 0, expected: '<= 90', actual: 91,
    message: 'auth_list.len at offset 0: over limit: expected <= 90, got 91',
  },
  {
    name: 'auth list len 127 at offset 3',
    run: () => decodeAuthList(fromHex('0000007f'), 3, 4),
    code: 'TOO_LARGE', structure: 'auth_list', field: 'len', offset: 3, expected: '<= 90', actual: 127,
    message: 'auth_list.len at offset 3: over limit: expected <= 90, got 127',
  },
  {
    name: 'auth reply shorter than 90 bytes',
    run: () => decodeAuthReply(new Uint8Array(89), 0, 89),
    code: 'TRUNCATED', structure: 'auth_reply', field: 'slots', offset: 0, expected: 90, actual: 89,
    message: 'auth_reply.slots at offset 0: truncated: expected 90, got 89',
  },
  {
    name: 'encodeAuthList over 90 bytes',
    run: () => encodeAuthList(['A'.repeat(30), 'B'.repeat(30), 'C'.repeat(30)]),
    code: 'TOO_LARGE', structure: 'auth_list', field: 'len', offset: 0, expected: '<= 90', actual: 93,
    message: 'auth_list.len at offset 0: over limit: expected <= 90, got 93',
  },
  {
    name: 'encodeAuthReply with 4 methods',
    run: () => encodeAuthReply(['NULL', 'IP', 'PWORD', 'X']),
    code: 'TOO_LARGE', structure: 'auth_reply', field: 'methods', offset: 0, expected: '<= 3', actual: 4,
    message: 'auth_reply.methods at offset 0: over limit: expected <= 3, got 4',
  },
  // --- accept -------------------------------------------------------------------------
  {
    name: 'accept name too long (32 > 31)',
    run: () => decodeAccept(fromHex(`0104040020${'41'.repeat(32)}`), 0, 37, true),
    code: 'TOO_LARGE', structure: 'accept', field: 'len', offset: 4, expected: '<= 31', actual: 32,
    message: 'accept.len at offset 4: over limit: expected <= 31, got 32',
  },
  {
    name: 'accept name length byte 0xff (the C library would read it as -1)',
    run: () => decodeAccept(fromHex('01040400ff'), 0, 5, true),
    code: 'TOO_LARGE', structure: 'accept', field: 'len', offset: 4, expected: '<= 31', actual: 255,
    message: 'accept.len at offset 4: over limit: expected <= 31, got 255',
  },
  {
    name: 'accept name too long, no patch byte, at offset 2',
    run: () => decodeAccept(fromHex('0000010404ff'), 2, 6, false),
    code: 'TOO_LARGE', structure: 'accept', field: 'len', offset: 5, expected: '<= 31', actual: 255,
    message: 'accept.len at offset 5: over limit: expected <= 31, got 255',
  },
  // --- membership bodies ----------------------------------------------------------------
  {
    name: 'group_id truncated',
    run: () => decodeGroupId(MEMB_BODY(), 0, 11, true),
    code: 'TRUNCATED', structure: 'group_id', field: 'fields', offset: 0, expected: 12, actual: 11,
    message: 'group_id.fields at offset 0: truncated: expected 12, got 11',
  },
  {
    name: 'membership body cut before num_vs_sets/my_vs_set_offset',
    run: () => decodeMembershipBody(MEMB_BODY(), 0, 16, true),
    code: 'TRUNCATED', structure: 'membership_body', field: 'num_vs_sets', offset: 12, expected: 8, actual: 4,
    message: 'membership_body.num_vs_sets at offset 12: truncated: expected 8, got 4',
  },
  {
    name: 'num_vs_sets too large for the body (2 sets, room for 1 count)',
    run: () => decodeMembershipBody(withI32(MEMB_BODY(), 12, 2), 0, 24, true),
    code: 'BAD_VALUE', structure: 'membership_body', field: 'num_vs_sets', offset: 12, expected: '<= 1', actual: 2,
    message: 'membership_body.num_vs_sets at offset 12: illegal value: expected <= 1, got 2',
  },
  {
    name: 'num_vs_sets 0xffffffff (read unsigned)',
    run: () => decodeMembershipBody(withI32(MEMB_BODY(), 12, -1), 0, 56, true),
    code: 'BAD_VALUE', structure: 'membership_body', field: 'num_vs_sets', offset: 12, expected: '<= 9', actual: 4294967295,
    message: 'membership_body.num_vs_sets at offset 12: illegal value: expected <= 9, got 4294967295',
  },
  {
    name: 'truncated vs_set (count 2, one name present)',
    run: () => decodeMembershipBody(withI32(MEMB_BODY(), 20, 2), 0, 56, true),
    code: 'TRUNCATED', structure: 'vs_set', field: 'members', offset: 24, expected: 64, actual: 32,
    message: 'vs_set.members at offset 24: truncated: expected 64, got 32',
  },
  {
    name: 'truncated vs_set at offset 100 of a larger buffer',
    run: () => decodeMembershipBody(embedAt(MEMB_BODY(), 100), 100, 100 + 55, true),
    code: 'TRUNCATED', structure: 'vs_set', field: 'members', offset: 124, expected: 32, actual: 31,
    message: 'vs_set.members at offset 124: truncated: expected 32, got 31',
  },
  // --- encoders -------------------------------------------------------------------------
  {
    name: 'encodeMessage with num_groups not matching groups',
    run: () => encodeMessage(msg(['grp'], fromHex('68656c6c6f'), 2)),
    code: 'BAD_VALUE', structure: 'message', field: 'num_groups/data_len', offset: 0, expected: '1/5', actual: '2/5',
    message: 'message.num_groups/data_len at offset 0: illegal value: expected 1/5, got 2/5',
  },
  {
    name: 'encodeMessage with data_len not matching data',
    run: () => encodeMessage(msg(['grp'], fromHex('68656c6c6f'), 1, 4)),
    code: 'BAD_VALUE', structure: 'message', field: 'num_groups/data_len', offset: 0, expected: '1/5', actual: '1/4',
    message: 'message.num_groups/data_len at offset 0: illegal value: expected 1/5, got 1/4',
  },
  {
    name: 'encodeMessageInto with mismatched counts at offset 7',
    run: () => encodeMessageInto(msg([], new Uint8Array(0), 1), new Uint8Array(200), 7),
    code: 'BAD_VALUE', structure: 'message', field: 'num_groups/data_len', offset: 7, expected: '0/0', actual: '1/0',
    message: 'message.num_groups/data_len at offset 7: illegal value: expected 0/0, got 1/0',
  },
  {
    name: 'encodeMessageInto an output too small',
    run: () => encodeMessageInto(msg(['grp'], fromHex('68656c6c6f')), new Uint8Array(100), 20),
    code: 'TRUNCATED', structure: 'message', field: 'output', offset: 20, expected: 85, actual: 80,
    message: 'message.output at offset 20: truncated: expected 85, got 80',
  },
  {
    name: 'encodeHeaderInto an output too small',
    run: () => encodeHeaderInto(msg([], new Uint8Array(0)).header, new Uint8Array(47), 0),
    code: 'TRUNCATED', structure: 'message_header', field: 'output', offset: 0, expected: 48, actual: 47,
    message: 'message_header.output at offset 0: truncated: expected 48, got 47',
  },
  {
    name: 'encodeMembershipBodyInto an output too small',
    run: () => encodeMembershipBodyInto({ groupId: { procId: 1, time: 2, index: 3 }, vsSets: [['#a#b']], myVsSet: 0 }, new Uint8Array(60), 5),
    code: 'TRUNCATED', structure: 'membership_body', field: 'output', offset: 5, expected: 56, actual: 55,
    message: 'membership_body.output at offset 5: truncated: expected 56, got 55',
  },
  // --- framer ---------------------------------------------------------------------------
  {
    name: 'framer: negative data_len surfaces from next()',
    run: () => {
      const f = new MessageFramer(CLIENT_TO_DAEMON_LIMITS);
      f.push(withI32(SAFE(), 44, -1));
      return f.next();
    },
    code: 'BAD_VALUE', structure: 'message_header', field: 'data_len', offset: 44,
    message: 'message_header.data_len at offset 44: illegal value: expected >= 0, got -1',
  },
  {
    name: 'framer: a bad second header reports its own offset in the held bytes',
    run: () => {
      const f = new MessageFramer(CLIENT_TO_DAEMON_LIMITS);
      const two = new Uint8Array(194);
      two.set(SAFE(), 0);
      two.set(withI32(SAFE(), 36, 101), 97);
      f.push(two);
      f.next();
      return f.next();
    },
    code: 'TOO_LARGE', structure: 'message_header', field: 'num_groups', offset: 97 + 36,
    message: 'message_header.num_groups at offset 133: over limit: expected <= 100, got 101',
  },
  {
    name: 'framer: frame longer than maxBuffered',
    run: () => {
      const f = new MessageFramer({ ...CLIENT_TO_DAEMON_LIMITS, maxBuffered: 96 });
      f.push(SAFE());
      return f.next();
    },
    code: 'TOO_LARGE', structure: 'stream', field: 'frame_length', offset: 0, expected: '<= 96', actual: 97,
    message: 'stream.frame_length at offset 0: over limit: expected <= 96, got 97',
  },
  {
    name: 'framer: caller keeps pushing without draining',
    run: () => {
      const f = new MessageFramer({ ...CLIENT_TO_DAEMON_LIMITS, maxBuffered: 100 });
      f.push(SAFE());
      f.push(SAFE());
      f.push(SAFE());
    },
    code: 'TOO_LARGE', structure: 'stream', field: 'buffered', offset: 0, expected: '<= 100', actual: 291,
    message: 'stream.buffered at offset 0: over limit: expected <= 100, got 291',
  },
];

describe('client codec error table', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    expectProtocolError(row.run, row);
  });

  it('never lets a RangeError escape on any truncation of captured frames', () => {
    const b = SAFE();
    for (let end = 0; end < b.length; end++) {
      let err: unknown = null;
      try {
        decodeMessage(b, 0, end, CLIENT_TO_DAEMON_LIMITS);
      } catch (e) {
        err = e;
      }
      expect(err, `end ${end}`).toMatchObject({ name: 'ProtocolError', code: 'TRUNCATED' });
    }
  });
});
