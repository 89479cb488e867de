/**
 * readName (src/wire/bytes.ts): NUL-padded 32-byte name fields decode byte for byte to latin1,
 * whatever its cache of recently decoded names holds (same bytes elsewhere, colliding slots,
 * a prefix of a cached name, a full field without NUL, bytes above 0x7f).
 */
import { describe, expect, it } from 'vitest';
import { latin1, latin1Chunks, latin1Range, readName, writeNameField } from '../../src/wire/bytes.js';

const plain = (buf: Uint8Array, at: number, width: number): string => {
  let s = '';
  for (let i = at; i < at + width && buf[i] !== 0; i++) s += String.fromCharCode(buf[i]!);
  return s;
};

function field(name: string, width = 32): Uint8Array {
  const b = new Uint8Array(width + 8).fill(0x55); // bytes beyond the field must not count
  writeNameField(b, 4, width, name);
  return b;
}

describe('readName', () => {
  it('matches a plain decode for thousands of names, repeated and interleaved', () => {
    let seed = 7;
    const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const names: string[] = ['', 'a', 'ab', 'abc', '#user#host', '#user#hos', 'x'.repeat(31), 'y'.repeat(32), '\u00e9t\u00e9\u00ff'];
    for (let i = 0; i < 3000; i++) {
      const len = rnd(33);
      names.push(Array.from({ length: len }, () => String.fromCharCode(1 + rnd(255))).join(''));
    }
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i * 7919 + round) % names.length]!;
        const b = field(name);
        expect(readName(b, 4, 32)).toBe(plain(b, 4, 32));
        expect(readName(b, 4, 32)).toBe(name.slice(0, 32));
      }
    }
  });

  it('reads only within the field width (a name of the full width has no NUL)', () => {
    const b = field('z'.repeat(32));
    expect(readName(b, 4, 32)).toBe('z'.repeat(32));
    expect(readName(b, 4, 10)).toBe('z'.repeat(10));
    expect(readName(field('q'.repeat(40), 40), 4, 40)).toBe('q'.repeat(40));
  });
});

describe('latin1Range', () => {
  it('decodes every byte value, across its 1024-byte chunks, and only the range asked for', () => {
    const buf = new Uint8Array(3000);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7 + 3) & 0xff;
    const slow = (from: number, to: number): string => Array.from(buf.subarray(from, to), (b) => String.fromCharCode(b)).join('');
    for (const [from, to] of [[0, 0], [5, 6], [0, 1024], [1, 1025], [17, 2999], [0, 3000]] as const) {
      expect(latin1Range(buf, from, to)).toBe(slow(from, to));
    }
    expect(latin1(buf.subarray(100, 200))).toBe(slow(100, 200));
  });

  it('reads a view at its own offset, and answers as the fallback decoder does for every range', () => {
    const backing = new Uint8Array(4000);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 13 + 1) & 0xff;
    const view = backing.subarray(500, 3500);
    for (const [from, to] of [[0, 0], [3, 2], [0, 1], [1023, 1025], [9, 3000], [0, 3000]] as const) {
      expect(latin1Range(view, from, to)).toBe(latin1Chunks(view, from, to));
    }
    expect(latin1Range(view, 0, 4)).toBe(String.fromCharCode(...backing.subarray(500, 504)));
  });

  it('past the end of the bytes, reads what the fallback reads instead of throwing', () => {
    const buf = Uint8Array.of(0x41, 0x42);
    expect(latin1Range(buf, 0, 4)).toBe(latin1Chunks(buf, 0, 4));
    expect(latin1Range(buf, 0, 4)).toBe('AB\u0000\u0000');
    expect(latin1Range(buf, -1, 1)).toBe(latin1Chunks(buf, -1, 1));
  });
});
