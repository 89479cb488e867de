/**
 * Rule tables of the client protocol that no capture exercises at its boundary (versions
 * between 3.14 and 3.16, odd marker bits, name character limits, constants): each row is a
 * fact from the reference source as restated in SPEC.md Part I.
 */
import { describe, expect, it } from 'vitest';
import {
  acceptHasPatch,
  connectFlags,
  decodeAccept,
  decodeHeader,
  ErrorCode,
  errorCodeName,
  isLegalGroupName,
  isLegalPrivateName,
  isMembership,
  isRegMemb,
  isRegular,
  isReject,
  isSelfLeave,
  isTransition,
  Limits,
  parsePrivateGroup,
  sendsPatchByte,
  ServiceType,
  versionNumber,
} from '../../src/wire/client/index.js';

describe('version thresholds', () => {
  it.each([
    // major, minor, patch, connect has a patch byte (> 3.14), accept has a patch byte (>= 3.15.0)
    [3, 1, 0, false, false],
    [3, 14, 9, false, false],
    [3, 15, 0, true, true],
    [3, 15, 9, true, true],
    [3, 16, 0, true, true],
    [3, 17, 3, true, true],
    [4, 4, 0, true, true],
  ] as const)('library %i.%i.%i: connect patch byte %s, accept patch byte %s', (major, minor, patch, connect, accept) => {
    expect(sendsPatchByte(major, minor)).toBe(connect);
    // The daemon decides the accept's patch byte from the version it read (patch 0 when absent).
    expect(acceptHasPatch(major, minor, connect ? patch : 0)).toBe(accept);
  });

  it('computes version numbers as the reference compares them', () => {
    expect(versionNumber(3, 1, 0)).toBe(30100);
    expect(versionNumber(3, 17, 3)).toBe(31703);
    expect(versionNumber(4, 4, 0)).toBe(40400);
  });
});

describe('accept byte', () => {
  it.each([0x00, 0x02, 0x7f, 0xf7, 0x80])('any first byte but ACCEPT_SESSION (1) ends the connect with that value: %i', (byte) => {
    // The C library returns whatever it read (as a signed char) when it is not ACCEPT_SESSION.
    expect(decodeAccept(Uint8Array.of(byte, 4, 4, 0, 3), 0, 5, true)).toEqual({ value: { kind: 'reject', code: (byte << 24) >> 24 }, offset: 1 });
  });
});

describe('endian marker', () => {
  it('treats a type word with only one marker bit as foreign (big-endian) order, as Same_endian does', () => {
    // Byte 0 has bit 7, byte 3 has not: not the little-endian marker, so every word is read big-endian.
    const b = new Uint8Array(48);
    b.set([0x80, 0x10, 0x00, 0x00], 0);
    b.set([0x00, 0x00, 0x00, 0x01], 36);
    b.set([0x00, 0x00, 0x00, 0x05], 44);
    const h = decodeHeader(b, 0, 48);
    expect(h.littleEndian).toBe(false);
    expect(h.value).toMatchObject({ type: 0x00100000, numGroups: 1, dataLen: 5 });
    b.set([0x00, 0x10, 0x00, 0x80], 0);
    const g = decodeHeader(b, 0, 48);
    expect(g.littleEndian).toBe(false);
    expect(g.value.type).toBe(0x00100000);
  });
});

describe('connect flags', () => {
  it.each([
    [true, 0, 0x01],
    [false, 0, 0x00],
    [true, 1, 0x11],
    [false, 1, 0x10],
    [true, 7, 0x11], // the library clamps priority to 0..1
    [true, -3, 0x01],
  ] as const)('membership %s, priority %i -> flags %i', (memb, prio, byte) => {
    expect(connectFlags(memb, prio)).toBe(byte);
  });
});

describe('names', () => {
  it.each([
    ['alice', true],
    ['', true], // name_len 0: the daemon invents one
    ['abcdefghij', true],
    ['abcdefghijk', false], // 11 > MAX_PRIVATE_NAME
    ['a#b', false], // '#' (0x23) is below '$'
    ['$~', true],
    ['a b', false],
    ['a\x7fb', false],
    ['caf\xe9', false], // bytes >= 0x80 are negative chars to the daemon
  ] as const)('private name %j legal: %s', (name, legal) => {
    expect(isLegalPrivateName(name)).toBe(legal);
  });

  it.each([
    ['grpA', true],
    ['', false],
    ['g'.repeat(31), true],
    ['g'.repeat(32), false],
    ['#alice#localhost', false], // join/leave names: '#' is illegal, private groups cannot be joined
    ['with space', false],
  ] as const)('group name %j legal for join/leave: %s', (name, legal) => {
    expect(isLegalGroupName(name)).toBe(legal);
  });

  it('splits a private group at the second #', () => {
    expect(parsePrivateGroup('#alice#localhost')).toEqual({ privateName: 'alice', daemonName: 'localhost' });
    expect(parsePrivateGroup('#r5760-9#localhost')).toEqual({ privateName: 'r5760-9', daemonName: 'localhost' });
    expect(parsePrivateGroup('#a#b#c')).toEqual({ privateName: 'a', daemonName: 'b#c' });
    expect(parsePrivateGroup('grpA')).toBeNull();
    expect(parsePrivateGroup('#nohash')).toBeNull();
  });
});

describe('constants match the reference', () => {
  it('service-type and message-type bits', () => {
    expect(ServiceType).toMatchObject({
      UNRELIABLE_MESS: 0x1, RELIABLE_MESS: 0x2, FIFO_MESS: 0x4, CAUSAL_MESS: 0x8, AGREED_MESS: 0x10, SAFE_MESS: 0x20,
      REGULAR_MESS: 0x3f, SELF_DISCARD: 0x40, ENDIAN_RESERVED: 0x80000080,
      CAUSED_BY_JOIN: 0x100, CAUSED_BY_LEAVE: 0x200, CAUSED_BY_DISCONNECT: 0x400, CAUSED_BY_NETWORK: 0x800,
      REG_MEMB_MESS: 0x1000, TRANSITION_MESS: 0x2000, MEMBERSHIP_MESS: 0x3f00,
      JOIN_MESS: 0x10000, LEAVE_MESS: 0x20000, KILL_MESS: 0x40000, GROUPS_MESS: 0x80000, REJECT_MESS: 0x400000,
      DROP_RECV: 0x1000000,
    });
  });

  it('error codes, both ways', () => {
    expect(ErrorCode).toEqual({
      ACCEPT_SESSION: 1, ILLEGAL_SPREAD: -1, COULD_NOT_CONNECT: -2, REJECT_QUOTA: -3, REJECT_NO_NAME: -4,
      REJECT_ILLEGAL_NAME: -5, REJECT_NOT_UNIQUE: -6, REJECT_VERSION: -7, CONNECTION_CLOSED: -8, REJECT_AUTH: -9,
      ILLEGAL_SESSION: -11, ILLEGAL_SERVICE: -12, ILLEGAL_MESSAGE: -13, ILLEGAL_GROUP: -14, BUFFER_TOO_SHORT: -15,
      GROUPS_TOO_SHORT: -16, MESSAGE_TOO_LONG: -17, NET_ERROR_ON_SESSION: -18, SP_BUG: -19,
    });
    expect(errorCodeName(-6)).toBe('REJECT_NOT_UNIQUE');
    expect(errorCodeName(-10)).toBeUndefined();
    // The wire carries them as one signed byte.
    expect((0xfa << 24) >> 24).toBe(ErrorCode.REJECT_NOT_UNIQUE);
  });

  it('limits, including the 143152-byte safe maximum (100 fragments x 1432 bytes, less the 48-byte header)', () => {
    expect(Limits.MAX_PRIVATE_NAME).toBe(10);
    expect(Limits.MAX_PROC_NAME).toBe(20);
    expect(Limits.MAX_GROUP_NAME).toBe(32);
    expect(Limits.MAX_GROUP_NAME).toBe(1 + Limits.MAX_PRIVATE_NAME + 1 + Limits.MAX_PROC_NAME);
    expect(Limits.MAX_GROUPS_PER_MESSAGE).toBe(100);
    expect(Limits.MESSAGE_HEADER_SIZE).toBe(48);
    expect(Limits.MAX_MESSAGE_BODY_LEN).toBe(100 * (1472 - 32));
    expect(Limits.MAX_DELIVERABLE_BODY).toBe(100 * (1472 - 40) - 48);
    expect(Limits.AUTH_REPLY_SIZE).toBe(Limits.MAX_AUTH_NAME * Limits.MAX_AUTH_METHODS);
    expect(Limits.MAX_SESSIONS).toBe(Math.floor((2000 - 5) / 2));
  });
});

describe('type predicates', () => {
  // Expected values are the C API's macros (sp.h Is_*): only Is_regular_mess and
  // Is_membership_mess exclude rejects; Is_self_leave excludes REG_MEMB and TRANSITION.
  //          type      regular regMemb transition selfLeave reject membership
  it.each([
    [0x20, [true, false, false, false, false, false]],
    [0x60, [true, false, false, false, false, false]],
    [0x1100, [false, true, false, false, false, true]],
    [0x1800, [false, true, false, false, false, true]],
    [0x2000, [false, false, true, false, false, true]],
    [0x2200, [false, false, true, false, false, true]],
    [0x200, [false, false, false, true, false, true]],
    [0x400020, [false, false, false, false, true, false]],
    [0x401100, [false, true, false, false, true, false]],
  ] as const)('type %i', (type, [regular, regMemb, transition, selfLeave, reject, membership]) => {
    expect(isRegular(type)).toBe(regular);
    expect(isRegMemb(type)).toBe(regMemb);
    expect(isTransition(type)).toBe(transition);
    expect(isSelfLeave(type)).toBe(selfLeave);
    expect(isReject(type)).toBe(reject);
    expect(isMembership(type)).toBe(membership);
  });
});
