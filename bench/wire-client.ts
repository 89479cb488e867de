/**
 * Client wire codec benchmarks: 48-byte header decode/encode, membership body decode, and the
 * stream framer's throughput for 100 B and 1000 B messages. Header and membership decoding run
 * side by side with an independent binary-parser decoder (the baseline; ratio = ours / theirs).
 *
 * Inputs come from our encoder: benchmarks need realistic shapes, not golden bytes (those are
 * the tests' job). Before timing, both decoders are checked to agree on the input.
 */
import { deepStrictEqual } from 'node:assert/strict';
import {
  DAEMON_TO_CLIENT_LIMITS,
  decodeHeader,
  decodeMembershipBody,
  encodeHeaderInto,
  encodeMembershipBody,
  encodeMessage,
  makeHint,
  MessageFramer,
  ServiceType,
} from '../src/wire/client/index.js';
import type { MembershipBody, MessageHeader } from '../src/wire/client/index.js';
import { Parser } from './binary-parser.js';
import { measure } from './measure.js';
import type { BenchModule, BenchOptions, BenchRow } from './run.js';

const MARKER = 0x80000080;
const GROUP = 'wire/client';

// --- the binary-parser baseline (declarative, with explicit length checks) ---------------

const headerLE = new Parser().endianness('little').uint32('type').buffer('name', { length: 32 }).int32('numGroups').uint32le('hint').int32('dataLen');
const headerBE = new Parser().endianness('big').uint32('type').buffer('name', { length: 32 }).int32('numGroups').uint32le('hint').int32('dataLen');

function cstr(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return Buffer.from(b.buffer, b.byteOffset, nul < 0 ? b.length : nul).toString('latin1');
}

function bpHeader(buf: Uint8Array): MessageHeader {
  if (buf.length < 48) throw new Error(`header needs 48 bytes, got ${buf.length}`);
  const le = (buf[0]! & 0x80) !== 0 && (buf[3]! & 0x80) !== 0;
  const r = (le ? headerLE : headerBE).parse(buf) as { type: number; name: Uint8Array; numGroups: number; hint: number; dataLen: number };
  if (r.numGroups < 0 || r.dataLen < 0) throw new Error('negative count');
  return { type: (r.type & ~MARKER) >>> 0, name: cstr(r.name), numGroups: r.numGroups, hint: r.hint, dataLen: r.dataLen };
}

const vsSet = new Parser().endianness('little').uint32('count').array('names', { type: new Parser().buffer('name', { length: 32 }), length: 'count' });
const membership = new Parser()
  .endianness('little')
  .int32('procId')
  .int32('time')
  .int32('index')
  .uint32('numVsSets')
  .uint32('myOffset')
  .array('vsSets', { type: vsSet, length: 'numVsSets' });

function bpMembership(buf: Uint8Array): MembershipBody {
  if (buf.length < 20) throw new Error(`membership body needs 20 bytes, got ${buf.length}`);
  const r = membership.parse(buf) as {
    procId: number; time: number; index: number; myOffset: number; vsSets: { names: { name: Uint8Array }[] }[];
  };
  const vsSets = r.vsSets.map((s) => s.names.map((n) => cstr(n.name)));
  let off = 0;
  let myVsSet = -1;
  vsSets.forEach((s, i) => {
    if (off === r.myOffset) myVsSet = i;
    off += 4 + 32 * s.length;
  });
  if (20 + off > buf.length) throw new Error('membership body truncated');
  return { groupId: { procId: r.procId, time: r.time, index: r.index }, vsSets, myVsSet };
}

// --- inputs ------------------------------------------------------------------------------

const HEADER: MessageHeader = { type: ServiceType.SAFE_MESS, name: '#alice#localhost', numGroups: 1, hint: makeHint(1), dataLen: 17 };

function frame(dataLen: number, i: number): Uint8Array {
  return encodeMessage({
    header: { type: ServiceType.AGREED_MESS, name: '#alice#sp1', numGroups: 1, hint: makeHint(i & 0x7fff), dataLen },
    oldType: 0,
    groups: ['grpB'],
    data: new Uint8Array(dataLen).fill(0x61),
  });
}

/** About `bytes` of back-to-back frames, cut into `chunk`-byte pieces as a socket delivers them. */
function stream(dataLen: number, bytes: number, chunk: number): { chunks: Uint8Array[]; frames: number; bytes: number } {
  const one = frame(dataLen, 0);
  const frames = Math.max(1, Math.floor(bytes / one.length));
  const all = new Uint8Array(frames * one.length);
  for (let i = 0; i < frames; i++) all.set(one, i * one.length);
  const chunks: Uint8Array[] = [];
  for (let o = 0; o < all.length; o += chunk) chunks.push(all.slice(o, o + chunk));
  return { chunks, frames, bytes: all.length };
}

function framerRows(name: string, dataLen: number, chunk: number, opts: BenchOptions): BenchRow[] {
  const s = stream(dataLen, 1 << 20, chunk);
  const run = (): number => {
    const f = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);
    let n = 0;
    for (const c of s.chunks) {
      f.push(c);
      while (f.next() !== null) n++;
    }
    if (n !== s.frames) throw new Error(`framer returned ${n} of ${s.frames} frames`);
    return n;
  };
  run();
  const m = measure(run, opts.durationMs);
  return [
    { group: GROUP, name, unit: 'MB/s', value: (m.opsPerSec * s.bytes) / 1e6, note: `${chunk} B chunks` },
    { group: GROUP, name, unit: 'msgs/s', value: m.opsPerSec * s.frames, note: `${chunk} B chunks` },
  ];
}

export const benchmark: BenchModule = {
  name: 'wire-client',
  description: 'client wire codecs: header decode/encode, membership body, framer throughput (baseline: binary-parser)',
  run(opts) {
    const rows: BenchRow[] = [];

    // Header decode: ours vs binary-parser, on the same 48 bytes.
    const hbuf = new Uint8Array(48);
    encodeHeaderInto(HEADER, hbuf, 0);
    deepStrictEqual(decodeHeader(hbuf, 0, 48).value, bpHeader(hbuf));
    deepStrictEqual(bpHeader(hbuf), HEADER);
    const oursDecode = measure(() => decodeHeader(hbuf, 0, 48), opts.durationMs);
    const bpDecode = measure(() => bpHeader(hbuf), opts.durationMs);
    rows.push({ group: GROUP, name: 'header decode (48 B)', unit: 'ops/s', value: oursDecode.opsPerSec, baseline: { label: 'binary-parser', value: bpDecode.opsPerSec } });

    // Header encode (binary-parser cannot encode: no baseline).
    const out = new Uint8Array(48);
    const oursEncode = measure(() => encodeHeaderInto(HEADER, out, 0), opts.durationMs);
    rows.push({ group: GROUP, name: 'header encode (48 B)', unit: 'ops/s', value: oursEncode.opsPerSec });

    // Membership body (heavyweight shape: 2 vs_sets of 3 members).
    const body: MembershipBody = {
      groupId: { procId: 0x7f000001, time: 0x6b086a2c, index: 1 },
      vsSets: [['#alice#d1', '#carol#d1', '#dave#d1'], ['#bob#d2', '#erin#d2', '#frank#d2']],
      myVsSet: 1,
    };
    const bbuf = encodeMembershipBody(body);
    deepStrictEqual(decodeMembershipBody(bbuf, 0, bbuf.length, true).value, bpMembership(bbuf));
    const oursMemb = measure(() => decodeMembershipBody(bbuf, 0, bbuf.length, true), opts.durationMs);
    const bpMemb = measure(() => bpMembership(bbuf), opts.durationMs);
    rows.push({ group: GROUP, name: `membership body decode (${bbuf.length} B)`, unit: 'ops/s', value: oursMemb.opsPerSec, baseline: { label: 'binary-parser', value: bpMemb.opsPerSec } });

    // Framer throughput.
    // Framer throughput: payload 100 B / 1000 B, one group, so frames are 180 B / 1080 B.
    rows.push(...framerRows('framer, 100 B payload', 100, 65536, opts));
    rows.push(...framerRows('framer, 1000 B payload', 1000, 65536, opts));
    rows.push(...framerRows('framer, 1000 B payload', 1000, 1460, opts));
    return rows;
  },
};
