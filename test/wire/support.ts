/**
 * Shared helpers for the client wire tests: exact ProtocolError assertions, an independent
 * little-endian reader for captured bytes, and a seeded PRNG for sampled split points.
 */
import { expect } from 'vitest';
import { ProtocolError } from '../../src/wire/errors.js';
import type { WireMessage } from '../../src/wire/client/message.js';
import { toHex } from '../vectors/captures.js';

export interface ExpectedError {
  code: string;
  structure: string;
  field: string;
  offset: number;
  expected?: number | string;
  actual?: number | string;
  message: string;
}

/** Runs `fn` and asserts it throws exactly this ProtocolError (class, name, every field, message). */
export function expectProtocolError(fn: () => unknown, want: ExpectedError): void {
  let thrown: unknown = undefined;
  let threw = false;
  try {
    fn();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  expect(threw, 'expected a ProtocolError to be thrown').toBe(true);
  expect(thrown).toBeInstanceOf(ProtocolError);
  const err = thrown as ProtocolError;
  expect(err.name).toBe('ProtocolError');
  const got: ExpectedError = { code: err.code, structure: err.structure, field: err.field, offset: err.offset, message: err.message };
  const want2: ExpectedError = { code: want.code, structure: want.structure, field: want.field, offset: want.offset, message: want.message };
  if (want.expected !== undefined) {
    got.expected = err.expected;
    want2.expected = want.expected;
  }
  if (want.actual !== undefined) {
    got.actual = err.actual;
    want2.actual = want.actual;
  }
  expect(got).toEqual(want2);
}

/** Little-endian reads, written here so captured values are checked without src/wire/bytes. */
export function u32le(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o, true);
}
export function i32le(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(o, true);
}
/** A NUL-terminated latin1 string inside a fixed-width field. */
export function cstr(b: Uint8Array, o: number, width: number): string {
  const field = b.subarray(o, o + width);
  const nul = field.indexOf(0);
  return Buffer.from(nul < 0 ? field : field.subarray(0, nul)).toString('latin1');
}

/** A plain, comparable view of a decoded message (data as hex). */
export function plain(m: WireMessage): { header: WireMessage['header']; oldType: number; groups: string[]; data: string } {
  return { header: { ...m.header }, oldType: m.oldType, groups: [...m.groups], data: toHex(m.data) };
}

/** Small deterministic PRNG (mulberry32) for sampling split points reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Split points for a frame of `len` bytes: all of them for small frames; for big ones every
 * point in the first and last 64 bytes, every header and group-name field boundary, and a
 * seeded sample of the rest.
 */
export function splitPoints(len: number, fieldBoundaries: readonly number[], maxAll = 600, samples = 256): number[] {
  if (len <= maxAll) return Array.from({ length: len - 1 }, (_, i) => i + 1);
  const pts = new Set<number>();
  for (let i = 1; i < Math.min(64, len); i++) pts.add(i);
  for (let i = Math.max(1, len - 64); i < len; i++) pts.add(i);
  for (const b of fieldBoundaries) if (b > 0 && b < len) pts.add(b);
  const rnd = prng(len);
  for (let i = 0; i < samples; i++) pts.add(1 + Math.floor(rnd() * (len - 1)));
  return [...pts].sort((a, b) => a - b);
}

/** Compares two byte arrays as hex, ignoring positions where mask[i] is 1. */
export function expectBytesMasked(actual: Uint8Array, expected: Uint8Array, mask: Uint8Array | null): void {
  expect(actual.length).toBe(expected.length);
  if (mask === null) {
    expect(toHex(actual)).toBe(toHex(expected));
    return;
  }
  const a = Uint8Array.from(actual, (v, i) => (mask[i] ? 0 : v));
  const e = Uint8Array.from(expected, (v, i) => (mask[i] ? 0 : v));
  expect(toHex(a)).toBe(toHex(e));
}
