/**
 * Daemon wire codec benchmarks: decode and encode of datagrams the reference sent (data
 * packets and tokens from a captured ring), in packets/s. The 40-byte packet header decode
 * runs side by side with an independent binary-parser decoder (baseline; ratio = ours/theirs).
 *
 * Inputs: the reference's bulk capture (test/vectors/reference/captures/ring-ns-acc-bulk.pcap,
 * 1000-byte AGREED messages), else our capture test/wire-daemon/captures/ring-lo3-mixed.pcap.
 */
import { deepStrictEqual } from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  decodeDatagram,
  decodePacketHeader,
  encodeDatagramInto,
  readerFor,
  safeDecode,
  type Channel,
  type Datagram,
  type PacketHeader,
} from '../src/wire/daemon/index.js';
import { readCapture } from '../src/wire/pcap/index.js';
import { Parser } from './binary-parser.js';
import { measure } from './measure.js';
import type { BenchModule, BenchRow } from './run.js';

const GROUP = 'wire/daemon';

/** A committed capture (bench/ under tsx, dist/bench/ when built: look upwards). */
function committed(path: string): string {
  for (const up of ['../', '../../']) {
    const p = fileURLToPath(new URL(`${up}${path}`, import.meta.url));
    if (existsSync(p)) return p;
  }
  return '';
}

interface Input {
  source: string;
  all: Array<{ bytes: Uint8Array; channel: Channel }>;
  data: Uint8Array[];
  tokens: Uint8Array[];
}

function loadInput(): Input {
  const bulk = committed('test/vectors/reference/captures/ring-ns-acc-bulk.pcap');
  const file = bulk !== '' ? bulk : committed('test/wire-daemon/captures/ring-lo3-mixed.pcap');
  const cap = readCapture(readFileSync(file));
  // Channel by port: N data, N+1 token, for the segment ports that carry tokens (N+1 odd here).
  const all: Input['all'] = [];
  const data: Uint8Array[] = [];
  const tokens: Uint8Array[] = [];
  for (const u of cap.udp) {
    const channel: Channel = u.dst.port % 10 === 4 ? 'token' : 'data';
    const r = safeDecode(u.payload, channel);
    if (!r.ok) continue;
    const bytes = new Uint8Array(u.payload);
    all.push({ bytes, channel });
    if (r.value.kind === 'data') data.push(bytes);
    if (r.value.kind === 'token') tokens.push(bytes);
  }
  return { source: file.replace(/^.*\//, ''), all, data, tokens };
}

// --- binary-parser baseline for the packet header ---------------------------------------------

const headerLE = new Parser()
  .endianness('little')
  .uint32('type').int32('transmitterId').int32('procId').int32('membProc').int32('membTime').int32('seq')
  .int32('tokenRound').uint32('confHash').int16('dataLen').uint16('padding').int16('fragIndex').int16('fragLen');

function bpHeader(buf: Uint8Array): PacketHeader {
  if (buf.length < 40) throw new Error(`packet_header needs 40 bytes, got ${buf.length}`);
  const r = headerLE.parse(buf) as Record<string, number>;
  return {
    type: (r.type! & ~0x80000080) >>> 0, transmitterId: r.transmitterId!, procId: r.procId!,
    membId: { procId: r.membProc!, time: r.membTime! }, seq: r.seq!, tokenRound: r.tokenRound!, confHash: r.confHash!,
    dataLen: r.dataLen!, padding: r.padding!, fragIndex: r.fragIndex!, fragLen: r.fragLen!,
  };
}

function oursHeader(buf: Uint8Array): PacketHeader {
  return decodePacketHeader(readerFor(buf, 0, buf.length, 'packet_header'), 0).value;
}

/** Rate of `fn` over the items, one item per call, in items/s. */
function perItem<T>(items: readonly T[], fn: (x: T) => unknown, durationMs: number): number {
  let i = 0;
  const m = measure(() => {
    const r = fn(items[i]!);
    i = i + 1 === items.length ? 0 : i + 1;
    return r;
  }, durationMs);
  return m.opsPerSec;
}

function avg(list: readonly Uint8Array[]): number {
  return Math.round(list.reduce((n, b) => n + b.length, 0) / Math.max(1, list.length));
}

export const benchmark: BenchModule = {
  name: 'wire-daemon',
  description: 'daemon wire codecs: decode/encode of captured data packets and tokens (baseline: binary-parser header)',
  available() {
    return committed('test/vectors/reference/captures/ring-ns-acc-bulk.pcap') !== '' || committed('test/wire-daemon/captures/ring-lo3-mixed.pcap') !== '' ? null : 'no captured ring traffic found';
  },
  run(opts) {
    const input = loadInput();
    const rows: BenchRow[] = [];
    const note = `from ${input.source}`;

    deepStrictEqual(oursHeader(input.data[0]!), bpHeader(input.data[0]!));
    const oursH = perItem(input.data, oursHeader, opts.durationMs);
    const bpH = perItem(input.data, bpHeader, opts.durationMs);
    rows.push({ group: GROUP, name: 'packet_header decode (40 B)', unit: 'packets/s', value: oursH, baseline: { label: 'binary-parser', value: bpH }, note });

    const decodedData = input.data.map((b) => decodeDatagram(b, 'data'));
    const decodedTokens = input.tokens.map((b) => decodeDatagram(b, 'token'));
    const out = new Uint8Array(65536);
    const enc = (d: Datagram): number => encodeDatagramInto(d, out, 0);

    const dd = perItem(input.data, (b) => decodeDatagram(b, 'data'), opts.durationMs);
    rows.push({ group: GROUP, name: `data packet decode (avg ${avg(input.data)} B)`, unit: 'packets/s', value: dd, note });
    rows.push({ group: GROUP, name: `data packet decode (avg ${avg(input.data)} B)`, unit: 'MB/s', value: (dd * avg(input.data)) / 1e6, note });
    rows.push({ group: GROUP, name: `data packet encode (avg ${avg(input.data)} B)`, unit: 'packets/s', value: perItem(decodedData, enc, opts.durationMs), note });
    rows.push({ group: GROUP, name: `token decode (avg ${avg(input.tokens)} B)`, unit: 'packets/s', value: perItem(input.tokens, (b) => decodeDatagram(b, 'token'), opts.durationMs), note });
    rows.push({ group: GROUP, name: `token encode (avg ${avg(input.tokens)} B)`, unit: 'packets/s', value: perItem(decodedTokens, enc, opts.durationMs), note });
    rows.push({
      group: GROUP, name: `safeDecode, captured mix (${input.all.length} datagrams)`, unit: 'packets/s',
      value: perItem(input.all, (x) => safeDecode(x.bytes, x.channel), opts.durationMs), note,
    });
    return rows;
  },
};
