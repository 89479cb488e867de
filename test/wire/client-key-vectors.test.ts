/**
 * Key vectors (test/vectors/client-key-vectors.json): our codecs must produce the values written
 * by hand from the protocol notes, and re-encode the reference bytes.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeAccept,
  decodeAuthList,
  decodeAuthReply,
  decodeConnect,
  decodeGroupId,
  decodeMembershipBody,
  decodeMessage,
  encodeAccept,
  encodeAuthList,
  encodeAuthReply,
  encodeConnect,
  encodeMembershipBody,
  encodeMessage,
  errorCodeName,
  hintEndianMismatch,
  hintMessType,
  isLegalPrivateName,
  isMembership,
  isRegMemb,
  isRegular,
  isSelfLeave,
  isTransition,
  parsePrivateGroup,
} from '../../src/wire/client/index.js';
import { fromHex, maskedHex, pieceById, toHex } from '../vectors/captures.js';
import { loadKeyVectors, num } from '../vectors/key-vectors.js';
import type { KeyVector } from '../vectors/key-vectors.js';
import { expectProtocolError } from './support.js';

const vectors = loadKeyVectors();

function bytesOf(v: KeyVector): Uint8Array {
  return v.hex !== undefined ? fromHex(v.hex) : pieceById(v.ref).bytes;
}

describe('client key vectors', () => {
  it.each(vectors.map((v) => [`${v.name} (${v.origin})`, v] as const))('%s', (_n, v) => {
    const b = bytesOf(v);
    switch (v.kind) {
      case 'frame': {
        const e = v.expect;
        const d = decodeMessage(b, 0, b.length);
        expect(d.offset).toBe(b.length);
        expect(d.littleEndian).toBe(e.littleEndian);
        const m = d.value;
        expect(m.header).toEqual({
          type: num(e.header.type),
          name: e.header.name,
          numGroups: e.header.numGroups,
          hint: num(e.header.hint),
          dataLen: e.header.dataLen,
        });
        expect(m.groups).toEqual(e.groups);
        if (e.dataHex !== undefined) expect(toHex(m.data)).toBe(e.dataHex);
        if (e.dataText !== undefined) {
          const pad = (e.dataZeroPaddedTo ?? e.dataText.length) - e.dataText.length;
          expect(toHex(m.data)).toBe(Buffer.from(e.dataText, 'latin1').toString('hex') + '00'.repeat(pad));
        }
        if (e.messType !== undefined) {
          expect(isRegular(m.header.type)).toBe(true);
          expect(hintMessType(m.header.hint)).toBe(e.messType);
        }
        if (e.endianMismatch !== undefined) expect(hintEndianMismatch(m.header.hint)).toBe(e.endianMismatch);
        if (e.membership !== undefined) {
          expect(isRegMemb(m.header.type)).toBe(true);
          const body = decodeMembershipBody(m.data, 0, m.data.length, d.littleEndian);
          expect(body.offset).toBe(m.data.length);
          expect(body.value).toEqual({
            groupId: { procId: num(e.membership.groupId.procId, true), time: num(e.membership.groupId.time, true), index: num(e.membership.groupId.index, true) },
            vsSets: e.membership.vsSets,
            myVsSet: e.membership.myVsSet,
          });
          expect(toHex(encodeMembershipBody(body.value))).toBe(toHex(m.data));
        }
        if (e.selfIndex !== undefined) {
          // The library's mess_type for a membership message: the receiver's index in the list.
          expect(m.groups.indexOf(e.selfIndex.privateGroup)).toBe(e.selfIndex.index);
        }
        if (e.selfLeave !== undefined) {
          expect(isSelfLeave(m.header.type)).toBe(e.selfLeave);
          expect(isRegMemb(m.header.type)).toBe(false);
        }
        if (e.transition !== undefined) {
          expect(isTransition(m.header.type)).toBe(true);
          expect(isMembership(m.header.type)).toBe(true);
          expect(decodeGroupId(m.data, 0, m.data.length, d.littleEndian)).toEqual({
            value: { procId: num(e.transition.procId, true), time: num(e.transition.time, true), index: num(e.transition.index, true) },
            offset: 12,
          });
        }
        const out = encodeMessage(m);
        if (e.reencodedHex !== undefined) {
          // Only the masked garbage differs from the reference bytes.
          expect(toHex(out)).toBe(e.reencodedHex);
          const mask = pieceById(v.ref).mask!;
          expect(mask.reduce((n, x) => n + x, 0)).toBe(e.maskedBytes);
          expect(maskedHex(out, mask)).toBe(maskedHex(b, mask));
          expect(toHex(out)).not.toBe(toHex(b));
        } else {
          expect(toHex(out)).toBe(toHex(b));
        }
        return;
      }
      case 'connect': {
        if (v.expectError !== undefined) {
          expectProtocolError(() => decodeConnect(b, 0, b.length), v.expectError);
          return;
        }
        const e = v.expect!;
        const d = decodeConnect(b, 0, b.length);
        expect(d).toEqual({ value: { major: e.major, minor: e.minor, patch: e.patch, flags: e.flags, name: e.name }, offset: b.length });
        expect((d!.value.flags & 1) === 1).toBe(e.membership);
        expect(d!.value.flags >> 4).toBe(e.priority);
        if (e.legalName !== undefined) expect(isLegalPrivateName(e.name)).toBe(e.legalName);
        expect(toHex(encodeConnect(d!.value))).toBe(toHex(b));
        return;
      }
      case 'auth_list': {
        expect(decodeAuthList(b, 0, b.length)).toEqual({ value: { kind: 'methods', methods: v.expect.methods }, offset: b.length });
        expect(toHex(encodeAuthList(v.expect.methods))).toBe(toHex(b));
        return;
      }
      case 'auth_reply': {
        expect(decodeAuthReply(b, 0, b.length)).toEqual({ value: v.expect.methods, offset: 90 });
        expect(toHex(encodeAuthReply(v.expect.methods))).toBe(toHex(b));
        return;
      }
      case 'accept': {
        const e = v.expect;
        const a = { major: e.major, minor: e.minor, patch: e.patch, privateGroup: e.privateGroup };
        expect(decodeAccept(b, 0, b.length, e.withPatch)).toEqual({ value: { kind: 'accept', accept: a }, offset: b.length });
        expect(toHex(encodeAccept(a, e.withPatch))).toBe(toHex(b));
        if (e.generatedName !== undefined) {
          const pg = parsePrivateGroup(e.privateGroup);
          expect(pg?.privateName).toBe(e.generatedName);
          // "r<0..9998>-<fd>", at most 9 characters.
          expect(pg?.privateName).toMatch(/^r\d{1,4}-\d+$/);
          expect(pg!.privateName.length).toBeLessThanOrEqual(9);
        }
        return;
      }
      case 'reject': {
        const e = v.expect;
        expect(b.length).toBe(1);
        const got = e.before === 'auth_list' ? decodeAuthList(b, 0, 1) : decodeAccept(b, 0, 1, true);
        expect(got).toEqual({ value: { kind: 'reject', code: e.code }, offset: 1 });
        expect(errorCodeName(e.code)).toBe(e.codeName);
        return;
      }
    }
  });
});
