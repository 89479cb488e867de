/**
 * Every datagram the reference sent in the shared captures decodes, re-encodes to the same
 * bytes, and re-encodes "semantically" (uninitialised bytes zeroed) to the same bytes outside
 * the masked ranges. Also checks the annotated lines of ring-*.decoded.txt field by field.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeDatagram,
  decodeDatagramAt,
  encodeDatagram,
  encodeDatagramInto,
  firstDifferenceOutside,
  getArq,
  getRetrans,
  ipString,
  maskBytes,
  maskedByteCount,
  packetTypeNames,
  safeDecode,
  semanticDatagram,
  uninitialisedRanges,
  type Datagram,
} from '../../src/wire/daemon/index.js';
import { ProtocolError } from '../../src/wire/errors.js';
import { hex, RING_CAPTURES, SHARED, vectors } from './support.js';

const EXPECTED: Record<(typeof RING_CAPTURES)[number], { total: number; kinds: Record<string, number>; masked: number; hash: number }> = {
  'ring-lo-acc': { total: 527, masked: 12880, hash: 407896669, kinds: { join: 110, form2: 12, token: 357, form1: 6, data: 30, refer: 10, hurry: 2 } },
  'ring-ns-acc': { total: 448, masked: 10492, hash: 2547294122, kinds: { alive: 23, join: 56, form1: 6, form2: 9, token: 335, data: 17, hurry: 2 } },
  'ring-ns-orig': { total: 441, masked: 10558, hash: 2838217304, kinds: { alive: 24, join: 58, form1: 6, form2: 9, token: 325, data: 17, hurry: 2 } },
  'ring-ns-unspec': {
    total: 438, masked: 10426, hash: 2838217304,
    kinds: { alive: 19, join: 57, form1: 6, form2: 9, token: 322, data: 17, hurry: 2, 'status-request': 4, 'status-reply': 2 },
  },
  'ring-ns-acc-bulk': { total: 2565, masked: 4190, hash: 2547294122, kinds: { token: 510, hurry: 4, data: 2051 } },
};

describe('shared ring captures', () => {
  let grand = 0;
  for (const name of RING_CAPTURES) {
    it(`${name}: every datagram decodes and re-encodes byte-exact`, () => {
      const vs = vectors(name);
      const kinds: Record<string, number> = {};
      let exact = 0;
      let semantic = 0;
      let masked = 0;
      for (const v of vs) {
        const d = decodeDatagram(v.bytes, v.channel);
        kinds[d.kind] = (kinds[d.kind] ?? 0) + 1;
        if (hex(encodeDatagram(d)) === hex(v.bytes)) exact++;
        const ranges = uninitialisedRanges(d);
        masked += maskedByteCount(ranges);
        const sem = encodeDatagram(semanticDatagram(d));
        if (firstDifferenceOutside(sem, v.bytes, ranges) === -1) semantic++;
      }
      const want = EXPECTED[name];
      expect(vs.length).toBe(want.total);
      expect(exact).toBe(want.total);
      expect(semantic).toBe(want.total);
      expect(masked).toBe(want.masked);
      expect(kinds).toEqual(want.kinds);
      grand += vs.length;
    });
  }
  it('counts 4419 datagrams in all', () => {
    expect(grand).toBe(4419);
  });

  it('masked semantic encodings equal masked captures byte for byte', () => {
    for (const v of vectors('ring-lo-acc')) {
      const d = decodeDatagram(v.bytes, v.channel);
      const ranges = uninitialisedRanges(d);
      expect(hex(maskBytes(encodeDatagram(semanticDatagram(d)), ranges))).toBe(hex(maskBytes(v.bytes, ranges)));
    }
  });

  it('some masked ranges really hold non-zero bytes in the captures', () => {
    const nonZero = (name: (typeof RING_CAPTURES)[number]): Record<string, number> => {
      const c: Record<string, number> = {};
      for (const v of vectors(name)) {
        const d = decodeDatagram(v.bytes, v.channel);
        for (const r of uninitialisedRanges(d)) {
          if (v.bytes.subarray(r.start, r.end).some((x) => x !== 0)) c[`${d.kind}: ${r.what}`] = (c[`${d.kind}: ${r.what}`] ?? 0) + 1;
        }
      }
      return c;
    };
    expect(nonZero('ring-lo-acc')).toEqual({ 'form2: form2 new ring id not yet set': 6 });
    expect(nonZero('ring-ns-acc')).toEqual({ 'form2: form2 new ring id not yet set': 3, 'form1: reps_info unused slots': 1 });
    expect(nonZero('ring-ns-acc-bulk')).toEqual({});
  });

  it('with the configuration hash given, accepts own and monitor datagrams only', () => {
    for (const name of ['ring-lo-acc', 'ring-ns-acc', 'ring-ns-orig'] as const) {
      for (const v of vectors(name)) {
        expect(safeDecode(v.bytes, v.channel, { confHash: EXPECTED[name].hash }).ok).toBe(true);
        const r = safeDecode(v.bytes, v.channel, { confHash: 12345 });
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.field).toBe('conf_hash');
      }
    }
    // Status replies carry hash 0 and requests the monitor hash 1100.
    const unspec = vectors('ring-ns-unspec').map((v) => ({ v, d: decodeDatagram(v.bytes, v.channel) }));
    const own = EXPECTED['ring-ns-unspec'].hash;
    for (const { v, d } of unspec) {
      expect(safeDecode(v.bytes, v.channel, { confHash: own }).ok).toBe(d.kind !== 'status-reply');
    }
  });

  it('decodes at an offset inside a larger buffer and encodes at an offset', () => {
    const seen = new Set<string>();
    for (const name of RING_CAPTURES.slice(0, 4)) {
      for (const v of vectors(name)) {
        const d = decodeDatagram(v.bytes, v.channel);
        if (seen.has(d.kind)) continue;
        seen.add(d.kind);
        const big = new Uint8Array(v.bytes.length + 17).fill(0xee);
        big.set(v.bytes, 7);
        const at = decodeDatagramAt(big, 7, 7 + v.bytes.length, v.channel);
        expect(at.offset).toBe(7 + v.bytes.length);
        expect(hex(encodeDatagram(at.value))).toBe(hex(v.bytes));
        const out = new Uint8Array(v.bytes.length + 9);
        expect(encodeDatagramInto(d, out, 5)).toBe(5 + v.bytes.length);
        expect(hex(out.subarray(5, 5 + v.bytes.length))).toBe(hex(v.bytes));
      }
    }
    expect([...seen].sort()).toEqual(['alive', 'data', 'form1', 'form2', 'hurry', 'join', 'refer', 'status-reply', 'status-request', 'token']);
  });

  it('every truncation of one vector per kind is a ProtocolError, never a RangeError', () => {
    const seen = new Set<string>();
    for (const name of RING_CAPTURES.slice(0, 4)) {
      for (const v of vectors(name)) {
        const d = decodeDatagram(v.bytes, v.channel);
        const key = `${d.kind}/${v.bytes.length}`;
        if (seen.has(d.kind) && !(d.kind === 'token' && v.bytes.length > 40 && !seen.has(key))) continue;
        seen.add(d.kind);
        seen.add(key);
        for (let n = 0; n < v.bytes.length; n++) {
          expect(() => decodeDatagram(v.bytes.subarray(0, n), v.channel)).toThrow(ProtocolError);
          expect(safeDecode(v.bytes.subarray(0, n), v.channel).ok).toBe(false);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// ring-*.decoded.txt: one annotated line per datagram, written independently of this codec.

function membStr(m: { procId: number; time: number }): string {
  return `(${ipString(m.procId)},${m.time})`;
}

/** The annotation in decoded.txt's format (after "time  src -> dst  "). */
function annotate(d: Datagram, len: number): string {
  if (d.kind === 'token' || d.kind === 'form1' || d.kind === 'form2') {
    const h = d.header;
    const name = d.kind === 'token' ? 'TOKEN' : d.kind === 'form1' ? 'TOKEN/FORM1' : 'TOKEN/FORM2';
    return `${name} seq=${h.seq} aru=${h.aru} aru_last=${ipString(h.aruLastId)} fc=${h.flowControl} rtr_len=${h.rtrLen} memb=${membStr(h.membId)} hash=${h.confHash} arq=${getArq(h.type)} rtrs=${getRetrans(h.type)} len=${len}`;
  }
  const h = d.header;
  const name = d.kind === 'status-request' || d.kind === 'status-reply' ? 'STATUS' : packetTypeNames(h.type);
  return `${name} seq=${h.seq} round=${h.tokenRound} proc=${ipString(h.procId)} trans=${ipString(h.transmitterId)} memb=${membStr(h.membId)} hash=${h.confHash} data_len=${h.dataLen} len=${len}`;
}

describe('decoded.txt annotations', () => {
  for (const name of RING_CAPTURES) {
    it(`${name}: every annotated line matches a decoded datagram`, () => {
      const ours = new Map<string, number>();
      for (const v of vectors(name)) {
        const key = `${v.dst}  ${annotate(decodeDatagram(v.bytes, v.channel), v.bytes.length)}`;
        ours.set(key, (ours.get(key) ?? 0) + 1);
      }
      const lines = readFileSync(`${SHARED}${name}.decoded.txt`, 'utf8').split('\n').filter((l) => l.trim() !== '');
      let matched = 0;
      for (const line of lines) {
        const m = /^\s*[\d.]+\s+\S+ -> (\S+)\s+(.*)$/.exec(line);
        expect(m, line).not.toBeNull();
        const key = `${m![1]}  ${m![2]!.trim()}`;
        expect(ours.has(key), line).toBe(true);
        matched++;
      }
      expect(matched).toBe(lines.length);
      expect(matched).toBeGreaterThan(400);
    });
  }
});
