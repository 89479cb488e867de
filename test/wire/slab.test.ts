/** Byte regions carved from shared slabs (src/wire/slab.ts): fresh, zeroed, never overlapping. */
import { describe, expect, it } from 'vitest';
import { Slab } from '../../src/wire/slab.js';

/** [start, end) of a region in its buffer, room included. */
const span = (b: Uint8Array, room = 0): [ArrayBufferLike, number, number] => [b.buffer, b.byteOffset - room, b.byteOffset + b.length];

describe('Slab', () => {
  it('hands out zeroed regions, with any room reserved before them, that never overlap', () => {
    const slab = new Slab(1024);
    const taken: [ArrayBufferLike, number, number][] = [];
    for (let i = 0; i < 200; i++) {
      const n = 1 + ((i * 37) % 200);
      const room = i % 3 === 0 ? 40 : 0;
      const b = room === 0 ? slab.alloc(n) : slab.allocWithRoom(room, n);
      expect(b.length).toBe(n);
      expect(b.byteOffset).toBeGreaterThanOrEqual(room);
      expect(new Uint8Array(b.buffer, b.byteOffset - room, room + n).every((x) => x === 0)).toBe(true);
      const [buf, from, to] = span(b, room);
      for (const [ob, of, ot] of taken) if (ob === buf) expect(to <= of || from >= ot).toBe(true);
      taken.push([buf, from, to]);
      b.fill(0xff);
      new Uint8Array(b.buffer, b.byteOffset - room, room).fill(0xee);
    }
  });

  it('gives a region above a quarter slab, room included, a buffer of its own', () => {
    const slab = new Slab(1024);
    const small = slab.allocWithRoom(40, 200);
    const big = slab.allocWithRoom(40, 240);
    expect(big.buffer).not.toBe(small.buffer);
    expect(big.byteOffset).toBe(40);
    expect(big.buffer.byteLength).toBe(280);
    expect(slab.alloc(300).buffer.byteLength).toBe(300);
  });
});
