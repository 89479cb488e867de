/**
 * Property tests (fast-check) for the client codecs: arbitrary legal messages round-trip
 * through encode → framer under random chunking; big-endian input written by hand decodes to
 * the same values; membership bodies round-trip in both orders; hints report mess_type and
 * the sender's order; arbitrary bytes only ever produce a value or a ProtocolError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/wire/errors.js';
import {
  CLIENT_TO_DAEMON_LIMITS,
  DAEMON_TO_CLIENT_LIMITS,
  decodeAccept,
  decodeAuthList,
  decodeConnect,
  decodeGroupId,
  decodeHeader,
  decodeMembershipBody,
  decodeMessage,
  encodeConnect,
  encodeGroupIdInto,
  encodeHeaderInto,
  encodeMembershipBody,
  encodeMessage,
  hintEndianMismatch,
  hintMessType,
  makeHint,
  MessageFramer,
  sendsPatchByte,
  ServiceType,
} from '../../src/wire/client/index.js';
import type { MembershipBody, WireMessage } from '../../src/wire/client/index.js';
import { plain } from './support.js';

const MARKER = 0x80000080;
const RUNS = { numRuns: 150 } as const;

const nameChar = fc.integer({ min: 0x24, max: 0x7e }).map((c) => String.fromCharCode(c));
const legalName = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: nameChar, minLength: min, maxLength: max });
const privateGroup = fc.tuple(legalName(1, 10), legalName(1, 19)).map(([p, d]) => `#${p}#${d}`);
const int16 = fc.integer({ min: -32768, max: 32767 });
const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
/** Any type word: every bit but the marker's may be set. */
const typeWord = fc.integer({ min: 0, max: 0xffffffff }).map((t) => (t & ~MARKER) >>> 0);

/** The hint a big-endian client writes for `mt`, as our decoder keeps it (raw little-endian reading). */
function beClientHint(mt: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, (mt << 8) & 0x00ffff00, false);
  return new DataView(b.buffer).getUint32(0, true);
}

interface Gen {
  message: WireMessage;
  messType: number;
  beClient: boolean;
}

const message: fc.Arbitrary<Gen> = fc
  .record({
    type: typeWord,
    oldType: typeWord,
    name: privateGroup,
    groups: fc.array(legalName(1, 31), { maxLength: 100 }),
    data: fc.uint8Array({ maxLength: 3000 }),
    messType: int16,
    beClient: fc.boolean(),
  })
  .map(({ type, oldType, name, groups, data, messType, beClient }) => ({
    message: {
      header: { type, name, numGroups: groups.length, hint: beClient ? beClientHint(messType) : makeHint(messType), dataLen: data.length },
      oldType: type & ServiceType.REJECT_MESS ? oldType : 0,
      groups,
      data,
    },
    messType,
    beClient,
  }));

/** Cut points for a stream of `len` bytes from fractions in [0, 1). */
const cuts = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 12 });

function latin1Into(b: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
}

/** A message as a big-endian writer puts it on the wire, built by hand (no src/wire encoder). */
function bigEndianBytes(m: WireMessage): Uint8Array {
  const reject = (m.header.type & ServiceType.REJECT_MESS) !== 0;
  const groupsAt = 48 + (reject ? 4 : 0);
  const b = new Uint8Array(groupsAt + 32 * m.groups.length + m.data.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, m.header.type, false); // a big-endian writer sets no marker bits
  latin1Into(b, 4, m.header.name);
  dv.setInt32(36, m.header.numGroups, false);
  dv.setUint32(40, m.header.hint, true); // hint: the original client's bytes, never flipped
  dv.setInt32(44, m.header.dataLen, false);
  if (reject) dv.setUint32(48, m.oldType, false);
  m.groups.forEach((g, i) => latin1Into(b, groupsAt + 32 * i, g));
  b.set(m.data, groupsAt + 32 * m.groups.length);
  return b;
}

function feed(bytes: Uint8Array, fractions: number[], limits = DAEMON_TO_CLIENT_LIMITS): { frames: ReturnType<typeof plain>[]; le: boolean[] } {
  const points = [...new Set(fractions.map((x) => Math.floor(x * bytes.length)))].filter((p) => p > 0).sort((a, b) => a - b);
  const f = new MessageFramer(limits);
  const frames: ReturnType<typeof plain>[] = [];
  const le: boolean[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    f.push(bytes.subarray(prev, p));
    prev = p;
    for (let fr = f.next(); fr !== null; fr = f.next()) {
      frames.push(plain(fr.message));
      le.push(fr.littleEndian);
    }
  }
  expect(f.buffered).toBe(0);
  return { frames, le };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('client message properties', () => {
  it('legal messages round-trip through encode -> framer under random chunking', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), cuts, (gens, fr) => {
        const stream = concat(gens.map((g) => encodeMessage(g.message)));
        const got = feed(stream, fr);
        expect(got.frames).toEqual(gens.map((g) => plain(g.message)));
        expect(got.le.every((x) => x)).toBe(true);
        for (const [i, g] of gens.entries()) {
          expect(hintMessType(got.frames[i]!.header.hint)).toBe(g.messType);
          expect(hintEndianMismatch(got.frames[i]!.header.hint)).toBe(g.beClient);
        }
      }),
      RUNS,
    );
  });

  it('a big-endian writer\'s message decodes to the same values (hint kept raw)', () => {
    fc.assert(
      fc.property(message, cuts, (g, fr) => {
        const be = bigEndianBytes(g.message);
        const d = decodeMessage(be, 0, be.length);
        expect(d.littleEndian).toBe(false);
        expect(d.offset).toBe(be.length);
        expect(plain(d.value)).toEqual(plain(g.message));
        expect(hintMessType(d.value.header.hint)).toBe(g.messType);
        expect(hintEndianMismatch(d.value.header.hint)).toBe(g.beClient);
        // Re-encoding writes our (little-endian) order with the marker and leaves hint alone.
        expect(Buffer.from(encodeMessage(d.value)).equals(Buffer.from(encodeMessage(g.message)))).toBe(true);
        // And through the framer, in pieces.
        const got = feed(be, fr);
        expect(got.frames).toEqual([plain(g.message)]);
        expect(got.le).toEqual([false]);
      }),
      RUNS,
    );
  });

  it('a big-endian header written by hand decodes word by word', () => {
    // type AGREED (0x10), num_groups 1, data_len 5, hint from a big-endian client with mess_type 0x1234.
    const b = new Uint8Array(48);
    b.set([0x00, 0x00, 0x00, 0x10], 0);
    latin1Into(b, 4, '#bob#be');
    b.set([0x00, 0x00, 0x00, 0x01], 36);
    b.set([0x00, 0x12, 0x34, 0x00], 40);
    b.set([0x00, 0x00, 0x00, 0x05], 44);
    const h = decodeHeader(b, 0, 48);
    expect(h.littleEndian).toBe(false);
    expect(h.value).toEqual({ type: 0x10, name: '#bob#be', numGroups: 1, hint: 0x00341200, dataLen: 5 });
    expect(hintEndianMismatch(h.value.hint)).toBe(true);
    expect(hintMessType(h.value.hint)).toBe(0x1234);
  });

  it('headers round-trip for every count within the client limits; negative counts always fail', () => {
    fc.assert(
      fc.property(typeWord, privateGroup, fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 144000 }), fc.integer({ min: 0, max: 0xffffffff }), (type, name, numGroups, dataLen, hint) => {
        const b = new Uint8Array(48 + 9);
        expect(encodeHeaderInto({ type, name, numGroups, hint, dataLen }, b, 9)).toBe(57);
        const h = decodeHeader(b, 9, 57, CLIENT_TO_DAEMON_LIMITS);
        expect(h.value).toEqual({ type, name, numGroups, hint, dataLen });
        expect(h.littleEndian).toBe(true);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.integer({ min: -2147483648, max: -1 }), fc.boolean(), (neg, inGroups) => {
        const b = new Uint8Array(48);
        encodeHeaderInto({ type: 0x10, name: '#a#b', numGroups: inGroups ? neg : 0, hint: makeHint(0), dataLen: inGroups ? 0 : neg }, b, 0);
        expect(() => decodeHeader(b, 0, 48)).toThrow(ProtocolError);
        try {
          decodeHeader(b, 0, 48);
        } catch (e) {
          expect(e).toMatchObject({ code: 'BAD_VALUE', field: inGroups ? 'num_groups' : 'data_len', actual: neg });
        }
      }),
      RUNS,
    );
  });
});

describe('hint properties', () => {
  it('a little-endian client hint: no mismatch, mess_type as int16', () => {
    fc.assert(
      fc.property(int16, (mt) => {
        const h = makeHint(mt);
        expect((h & MARKER) >>> 0).toBe(MARKER);
        expect(hintEndianMismatch(h)).toBe(false);
        expect(hintMessType(h)).toBe(mt);
      }),
    );
  });

  it('a big-endian client hint: mismatch, same mess_type', () => {
    fc.assert(
      fc.property(int16, (mt) => {
        const h = beClientHint(mt);
        expect(hintEndianMismatch(h)).toBe(true);
        expect(hintMessType(h)).toBe(mt);
      }),
    );
  });

  it('matches the captured and noted hints', () => {
    expect(hintMessType(0x80000180)).toBe(1); // SAFE in client-single
    expect(hintMessType(0x80000280)).toBe(2); // FIFO in client-two
    expect(hintMessType(0x80123480)).toBe(0x1234); // notes A.6: 80 34 12 80
    expect(hintMessType(0x80fffe80)).toBe(-2); // notes A.5: 80 fe ff 80
    expect(hintEndianMismatch(0x80000080)).toBe(false);
  });
});

describe('membership body properties', () => {
  const body: fc.Arbitrary<MembershipBody> = fc
    .record({
      procId: int32,
      time: int32,
      index: int32,
      vsSets: fc.array(fc.array(legalName(0, 31), { maxLength: 6 }), { maxLength: 6 }),
      pick: fc.nat(),
    })
    .map(({ procId, time, index, vsSets, pick }) => ({
      groupId: { procId, time, index },
      vsSets,
      myVsSet: vsSets.length === 0 ? -1 : pick % vsSets.length,
    }));

  function bigEndianBody(b: MembershipBody): Uint8Array {
    const size = 20 + b.vsSets.reduce((n, s) => n + 4 + 32 * s.length, 0);
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    dv.setInt32(0, b.groupId.procId, false);
    dv.setInt32(4, b.groupId.time, false);
    dv.setInt32(8, b.groupId.index, false);
    dv.setUint32(12, b.vsSets.length, false);
    let myOffset = 0;
    for (let i = 0; i < b.myVsSet; i++) myOffset += 4 + 32 * b.vsSets[i]!.length;
    dv.setUint32(16, myOffset, false);
    let o = 20;
    for (const s of b.vsSets) {
      dv.setUint32(o, s.length, false);
      o += 4;
      for (const n of s) {
        latin1Into(out, o, n);
        o += 32;
      }
    }
    return out;
  }

  it('round-trips little-endian and decodes the hand-built big-endian form identically', () => {
    fc.assert(
      fc.property(body, (b) => {
        const le = encodeMembershipBody(b);
        const be = bigEndianBody(b);
        expect(le.length).toBe(be.length);
        expect(decodeMembershipBody(le, 0, le.length, true)).toEqual({ value: b, offset: le.length });
        expect(decodeMembershipBody(be, 0, be.length, false)).toEqual({ value: b, offset: be.length });
        // my_vs_set_offset counts bytes from the first vs_set.
        const dv = new DataView(le.buffer);
        expect(dv.getUint32(16, true)).toBe(new DataView(be.buffer).getUint32(16, false));
      }),
      RUNS,
    );
  });

  it('group ids (transitional bodies) round-trip in both orders', () => {
    fc.assert(
      fc.property(int32, int32, int32, (procId, time, index) => {
        const g = { procId, time, index };
        const b = new Uint8Array(12 + 3);
        expect(encodeGroupIdInto(g, b, 3)).toBe(15);
        expect(decodeGroupId(b, 3, 15, true)).toEqual({ value: g, offset: 15 });
        const be = new Uint8Array(12);
        const dv = new DataView(be.buffer);
        dv.setInt32(0, procId, false);
        dv.setInt32(4, time, false);
        dv.setInt32(8, index, false);
        expect(decodeGroupId(be, 0, 12, false).value).toEqual(g);
      }),
    );
  });
});

describe('handshake properties', () => {
  it('connect messages round-trip for every library version and legal name', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), legalName(0, 10), (major, minor, patch, flags, name) => {
        const withPatch = sendsPatchByte(major, minor);
        const req = { major, minor, patch: withPatch ? patch : 0, flags, name };
        const b = encodeConnect(req);
        expect(b.length).toBe((withPatch ? 5 : 4) + name.length);
        expect(decodeConnect(b, 0, b.length)).toEqual({ value: req, offset: b.length });
      }),
    );
  });
});

describe('robustness on arbitrary bytes', () => {
  function valueOrProtocolError(fn: () => unknown): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
    }
  }

  it('decoders return a value or throw ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), fc.boolean(), (bytes, cut, le) => {
        const start = bytes.length === 0 ? 0 : cut % bytes.length;
        valueOrProtocolError(() => decodeMessage(bytes, start, bytes.length));
        valueOrProtocolError(() => decodeMessage(bytes, start, bytes.length, CLIENT_TO_DAEMON_LIMITS));
        valueOrProtocolError(() => decodeMembershipBody(bytes, start, bytes.length, le));
        valueOrProtocolError(() => decodeConnect(bytes, start, bytes.length));
        valueOrProtocolError(() => decodeAuthList(bytes, start, bytes.length));
        valueOrProtocolError(() => decodeAccept(bytes, start, bytes.length, le));
        valueOrProtocolError(() => {
          const f = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);
          f.push(bytes);
          while (f.next() !== null);
        });
      }),
      { numRuns: 300 },
    );
  });
});
