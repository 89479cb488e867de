/**
 * Big-endian peers: captured little-endian datagrams flipped to big-endian by hand (support.ts,
 * from the field layouts) decode to the same values, and re-encode to the original LE bytes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeDatagram, encodeDatagram, type Datagram } from '../../src/wire/daemon/index.js';
import { readCapture } from '../../src/wire/pcap/index.js';
import { hex, LOCAL, RING_CAPTURES, toBigEndian, vectors, type Vector } from './support.js';

function withoutOrder(d: Datagram): unknown {
  return { ...d, littleEndian: null };
}

function localVectors(): Vector[] {
  const cap = readCapture(readFileSync(`${LOCAL}ring-lo3-mixed.pcap`));
  return cap.udp.map((u) => ({
    t: u.time, src: `${u.src.ip}:${u.src.port}`, dst: `${u.dst.ip}:${u.dst.port}`, bytes: u.payload,
    channel: u.dst.port % 10 === 4 ? 'token' : 'data',
  }));
}

describe('big-endian datagrams', () => {
  const sets: Array<[string, Vector[]]> = [...RING_CAPTURES.map((n) => [n, vectors(n)] as [string, Vector[]]), ['ring-lo3-mixed', localVectors()]];
  for (const [name, vs] of sets) {
    it(`${name}: BE flips decode to the same values and re-encode to the LE original`, () => {
      let n = 0;
      for (const v of vs) {
        const le = decodeDatagram(v.bytes, v.channel);
        const beBytes = toBigEndian(v.bytes, v.channel);
        expect(hex(beBytes)).not.toBe(hex(v.bytes));
        const be = decodeDatagram(beBytes, v.channel);
        expect(le.littleEndian).toBe(true);
        expect(be.littleEndian).toBe(false);
        expect(withoutOrder(be)).toEqual(withoutOrder(le));
        expect(hex(encodeDatagram(be))).toBe(hex(v.bytes));
        n++;
      }
      expect(n).toBe(vs.length);
    });
  }

  it('messages written by a big-endian daemon inside data packets decode to the same headers', () => {
    let n = 0;
    for (const name of ['ring-lo-acc', 'ring-ns-acc-bulk'] as const) {
      for (const v of vectors(name)) {
        const le = decodeDatagram(v.bytes, v.channel);
        if (le.kind !== 'data') continue;
        const be = decodeDatagram(toBigEndian(v.bytes, v.channel, true), v.channel);
        if (be.kind !== 'data') throw new Error('kind changed');
        for (let i = 0; i < le.fragments.length; i++) {
          const a = le.fragments[i]!;
          const b = be.fragments[i]!;
          expect(b.index).toBe(a.index);
          expect(b.message).toEqual(a.message);
          if (a.message !== null) {
            expect(a.messageLittleEndian).toBe(true);
            expect(b.messageLittleEndian).toBe(false);
            n++;
          }
        }
      }
    }
    expect(n).toBeGreaterThan(2000);
  });
});
