/**
 * The frames a daemon writes itself (wire/client/notices.ts): each decodes with the client
 * codec to what SPEC.md Part I §6.2–§6.3 says, names are copied whole (32 bytes, no NUL), and
 * a relayed client frame is normalised to our order.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeMembershipBody,
  decodeMessage,
  encodeKillFrame,
  encodeLightweightMembership,
  encodeMessage,
  encodeNetworkMembership,
  encodeSelfLeave,
  encodeTransition,
  makeHint,
  MessageFramer,
  normaliseClientFrameInto,
  normaliseFrame,
  ServiceType as T,
  viewFrame,
  withMyVsSetOffset,
} from '../../src/wire/client/index.js';
import { toHex } from '../vectors/captures.js';

const GID = { procId: 0x7f000001, time: 0x6b086865, index: 2 };

function decoded(frame: Uint8Array): ReturnType<typeof decodeMessage>['value'] {
  return decodeMessage(frame, 0, frame.length).value;
}

describe('daemon notices', () => {
  it('lightweight join: every member listed, one vs_set naming the joiner, data_len 56, marker-only hint', () => {
    const f = encodeLightweightMembership('grpA', ['#alice#d1', '#bob#d1'], GID, T.CAUSED_BY_JOIN, '#bob#d1');
    const m = decoded(f);
    expect(m.header).toEqual({ type: T.REG_MEMB_MESS | T.CAUSED_BY_JOIN, name: 'grpA', numGroups: 2, hint: 0x80000080, dataLen: 56 });
    expect(m.groups).toEqual(['#alice#d1', '#bob#d1']);
    expect(decodeMembershipBody(m.data, 0, m.data.length, true).value).toEqual({ groupId: GID, vsSets: [['#bob#d1']], myVsSet: 0 });
  });

  it('network: vs_sets with my_vs_set_offset in bytes; a copy with another offset changes only that word', () => {
    const sets = [['#alice#d1'], ['#bob#d2']];
    const f = encodeNetworkMembership('grpA', ['#alice#d1', '#bob#d2'], GID, sets, 36);
    const body = decodeMembershipBody(decoded(f).data, 0, decoded(f).data.length, true).value;
    expect(body).toEqual({ groupId: GID, vsSets: sets, myVsSet: 1 });
    const copy = withMyVsSetOffset(f, 2, 0);
    const diff = [...f].flatMap((b, i) => (b !== copy[i] ? [i] : []));
    expect(diff).toEqual([48 + 64 + 12 + 4]);
  });

  it('transition, self-leave and kill headers', () => {
    expect(decoded(encodeTransition('grpA', GID)).header).toMatchObject({ type: T.TRANSITION_MESS, numGroups: 0, dataLen: 12 });
    expect(toHex(encodeSelfLeave('grpA').subarray(0, 4))).toBe('80020080');
    expect(toHex(encodeKillFrame('#a#d').subarray(0, 4))).toBe('a0000480');
  });

  it('copies a full 32-byte name whole, without a NUL', () => {
    const name = '#abcdefghij#' + 'd'.repeat(20);
    const f = encodeSelfLeave(name);
    expect(f.subarray(4, 36).every((b) => b !== 0)).toBe(true);
    expect(viewFrame(f).sender).toBe(name);
  });

  it('normalises a big-endian client frame: type/num_groups/data_len in our order, name byte 31 NUL, hint kept', () => {
    const le = encodeMessage({ header: { type: T.AGREED_MESS, name: '#alice#d1', numGroups: 1, hint: makeHint(5), dataLen: 3 }, oldType: 0, groups: ['g'], data: new Uint8Array([1, 2, 3]) });
    const be = Uint8Array.from(le);
    for (const o of [0, 36, 44]) be.subarray(o, o + 4).reverse();
    be[0]! &= 0x7f;
    be[3]! &= 0x7f; // a big-endian writer: type 00 00 00 08, marker clear
    be[35] = 0x41;
    const f = new MessageFramer({ maxGroups: 100, maxDataLen: 1000 });
    f.push(be);
    const raw = f.nextRaw()!;
    expect(raw.littleEndian).toBe(false);
    const out = normaliseClientFrameInto(raw.bytes, raw.header, new Uint8Array(raw.bytes.length));
    expect(toHex(out)).toBe(toHex(le));
    expect(toHex(normaliseFrame(out))).toBe(toHex(le)); // already ours: returned as is
  });
});
