/**
 * Differential test: a second, independent decoder of the 48-byte message header (and of the
 * membership body), written declaratively with binary-parser, must agree with ours on every
 * captured frame and on generated big-endian frames.
 *
 * binary-parser is used with explicit length checks around it: it returns `any`, and a string
 * field with both `length` and `zeroTerminated` stops its offset at the NUL instead of the
 * field's end, so names are read as fixed 32-byte buffers and cut at the NUL here.
 */
import { Parser } from './binary-parser.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHeader, decodeMembershipBody, encodeMessage, makeHint, ServiceType } from '../../src/wire/client/index.js';
import type { MessageHeader } from '../../src/wire/client/index.js';
import { allFrames } from '../vectors/captures.js';

const MARKER = 0x80000080;

const headerLE = new Parser()
  .endianness('little')
  .uint32('type')
  .buffer('name', { length: 32 })
  .int32('numGroups')
  .uint32le('hint')
  .int32('dataLen');
const headerBE = new Parser()
  .endianness('big')
  .uint32('type')
  .buffer('name', { length: 32 })
  .int32('numGroups')
  .uint32le('hint') // hint keeps the original client's bytes; we report their LE reading
  .int32('dataLen');

interface Raw {
  type: number;
  name: Uint8Array;
  numGroups: number;
  hint: number;
  dataLen: number;
}

function cut(name: Uint8Array): string {
  const nul = name.indexOf(0);
  return Buffer.from(nul < 0 ? name : name.subarray(0, nul)).toString('latin1');
}

/** The independent header decoder. */
function parseHeader(buf: Uint8Array): { header: MessageHeader; littleEndian: boolean } {
  if (buf.length < 48) throw new Error(`header needs 48 bytes, got ${buf.length}`);
  const head = buf.subarray(0, 48);
  const littleEndian = (head[0]! & 0x80) !== 0 && (head[3]! & 0x80) !== 0;
  const raw = (littleEndian ? headerLE : headerBE).parse(head) as Raw;
  return {
    littleEndian,
    header: { type: (raw.type & ~MARKER) >>> 0, name: cut(raw.name), numGroups: raw.numGroups, hint: raw.hint, dataLen: raw.dataLen },
  };
}

const nameParser = new Parser().buffer('name', { length: 32 });
const vsSetParser = new Parser().endianness('little').uint32('count').array('names', { type: nameParser, length: 'count' });
const membershipLE = new Parser()
  .endianness('little')
  .int32('procId')
  .int32('time')
  .int32('index')
  .uint32('numVsSets')
  .uint32('myOffset')
  .array('vsSets', { type: vsSetParser, length: 'numVsSets' });

/** The independent membership body decoder (little-endian, as captured). */
function parseMembership(data: Uint8Array): { groupId: { procId: number; time: number; index: number }; vsSets: string[][]; myOffset: number; size: number } {
  if (data.length < 20) throw new Error(`membership body needs 20 bytes, got ${data.length}`);
  const r = membershipLE.parse(data) as {
    procId: number; time: number; index: number; numVsSets: number; myOffset: number; vsSets: { count: number; names: { name: Uint8Array }[] }[];
  };
  const vsSets = r.vsSets.map((s) => s.names.map((n) => cut(n.name)));
  const size = 20 + vsSets.reduce((n, s) => n + 4 + 32 * s.length, 0);
  if (size > data.length) throw new Error(`membership body needs ${size} bytes, got ${data.length}`);
  return { groupId: { procId: r.procId, time: r.time, index: r.index }, vsSets, myOffset: r.myOffset, size };
}

describe('binary-parser differential: captured headers', () => {
  const frames = allFrames();

  it.each(frames.map((p) => [p.id, p] as const))('%s', (_id, p) => {
    const ours = decodeHeader(p.bytes, 0, p.bytes.length);
    const theirs = parseHeader(p.bytes);
    expect(ours.value).toEqual(theirs.header);
    expect(ours.littleEndian).toBe(theirs.littleEndian);
    if (p.direction === 'to_client' && ours.value.type & ServiceType.REG_MEMB_MESS) {
      const data = p.bytes.subarray(p.bytes.length - ours.value.dataLen);
      const m = parseMembership(data);
      const mine = decodeMembershipBody(data, 0, data.length, true);
      expect(mine.offset).toBe(m.size);
      expect(mine.value.groupId).toEqual(m.groupId);
      expect(mine.value.vsSets).toEqual(m.vsSets);
      expect(m.myOffset).toBe(0);
      expect(mine.value.myVsSet).toBe(0);
    }
  });

  it('the independent decoder refuses a short header instead of reading past it', () => {
    expect(() => parseHeader(frames[0]!.bytes.subarray(0, 47))).toThrow(/48 bytes, got 47/);
  });
});

describe('binary-parser differential: generated headers in both byte orders', () => {
  it('agrees on arbitrary headers written little- or big-endian', () => {
    const nameChar = fc.integer({ min: 0x24, max: 0x7e }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }).map((t) => (t & ~MARKER) >>> 0),
        fc.string({ unit: nameChar, maxLength: 31 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 144000 }),
        fc.integer({ min: -32768, max: 32767 }),
        fc.boolean(),
        (type, name, numGroups, dataLen, mt, bigEndian) => {
          const le = encodeMessage({
            header: { type: type & ~ServiceType.REJECT_MESS, name, numGroups: 0, hint: makeHint(mt), dataLen: 0 },
            oldType: 0,
            groups: [],
            data: new Uint8Array(0),
          }).subarray(0, 48);
          const dv = new DataView(le.buffer, le.byteOffset, 48);
          dv.setInt32(36, numGroups, true);
          dv.setInt32(44, dataLen, true);
          if (bigEndian) {
            dv.setUint32(0, (type & ~ServiceType.REJECT_MESS) >>> 0, false);
            dv.setInt32(36, numGroups, false);
            dv.setInt32(44, dataLen, false);
          }
          const ours = decodeHeader(le, 0, 48);
          const theirs = parseHeader(le);
          expect(ours.value).toEqual(theirs.header);
          expect(ours.littleEndian).toBe(!bigEndian);
        },
      ),
      { numRuns: 200 },
    );
  });
});
