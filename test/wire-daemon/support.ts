/**
 * Shared helpers for the daemon-wire tests: the reference's captures, and a big-endian
 * converter written from the field layouts alone (independent of the codecs under test).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Channel } from '../../src/wire/daemon/index.js';
import { referenceCapturesDir } from '../vectors/reference.js';

export const SHARED = referenceCapturesDir();
export const LOCAL = fileURLToPath(new URL('./captures/', import.meta.url));

export const RING_CAPTURES = ['ring-lo-acc', 'ring-ns-acc', 'ring-ns-orig', 'ring-ns-unspec', 'ring-ns-acc-bulk'] as const;
export const CLIENT_CAPTURES = ['client-ns-bulk', 'client-reject', 'client-single', 'client-two'] as const;

export interface Vector {
  t: number;
  src: string;
  dst: string;
  bytes: Uint8Array;
  channel: Channel;
}

const cache = new Map<string, Vector[]>();

/** udp_datagrams of a shared capture JSON; token channel = destination port 4804. */
export function vectors(name: string): Vector[] {
  let v = cache.get(name);
  if (v === undefined) {
    const j = JSON.parse(readFileSync(`${SHARED}${name}.json`, 'utf8')) as {
      udp_datagrams: Array<{ t: number; src: string; dst: string; hex: string }>;
    };
    v = j.udp_datagrams.map((d) => ({
      t: d.t, src: d.src, dst: d.dst, bytes: new Uint8Array(Buffer.from(d.hex, 'hex')),
      channel: d.dst.endsWith(':4804') ? 'token' : 'data',
    }));
    cache.set(name, v);
  }
  return v;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
}

// ---------------------------------------------------------------------------------------------
// Little-endian → big-endian, by layout. Type words lose the marker (a BE writer never sets it).

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function le16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function s16(b: Uint8Array, o: number): number {
  return (le16(b, o) << 16) >> 16;
}
function sw32(b: Uint8Array, o: number): void {
  const v = le32(b, o);
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
function sw16(b: Uint8Array, o: number): void {
  const x = b[o]!;
  b[o] = b[o + 1]!;
  b[o + 1] = x;
}
function typeWord(b: Uint8Array, o: number): number {
  const v = (le32(b, o) & ~0x80000080) >>> 0;
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
  return v;
}

/** Flips a 48-byte client message header (type, num_groups, data_len; hint untouched). */
export function flipMessageHeader(b: Uint8Array, o: number): void {
  typeWord(b, o);
  sw32(b, o + 36);
  sw32(b, o + 44);
}

/**
 * A copy of the little-endian datagram `src` as a big-endian daemon would have written it.
 * Raw bytes (packet_header padding, alignment pads, stale FORM slots) stay as they are, like
 * the reference leaves them; message contents keep their own order unless `messages` is set.
 */
export function toBigEndian(src: Uint8Array, channel: Channel, messages = false): Uint8Array {
  const b = new Uint8Array(src); // a copy (Buffer#slice would be a view)
  if (channel === 'token') {
    const t = le32(b, 0);
    const rtrLen = s16(b, 34);
    typeWord(b, 0);
    for (const o of [4, 8, 12, 16, 20, 24, 28, 36]) sw32(b, o);
    sw16(b, 32);
    sw16(b, 34);
    let o = 40;
    const end = 40 + rtrLen;
    if (t & 0x3000) {
      const count = s16(b, o) + s16(b, o + 2);
      sw16(b, o);
      sw16(b, o + 2);
      for (let i = 0; i < count; i++) sw32(b, o + 4 + 4 * i);
      o += 516;
      if (t & 0x1000) {
        const n = s16(b, o);
        sw16(b, o);
        sw16(b, o + 2);
        for (let i = 0; i < n; i++) {
          sw32(b, o + 4 + 8 * i);
          sw16(b, o + 8 + 8 * i);
          sw16(b, o + 10 + 8 * i);
        }
        o += 204;
      } else {
        sw32(b, o);
        sw32(b, o + 4);
        o += 8;
      }
      const rings = le32(b, o);
      sw32(b, o);
      o += 4;
      for (let r = 0; r < rings; r++) {
        const holes = le32(b, o + 20);
        const commit = s16(b, o + 24);
        for (let i = 0; i < 6; i++) sw32(b, o + 4 * i);
        sw16(b, o + 24);
        sw16(b, o + 26);
        o += 28;
        for (let i = 0; i < holes + commit; i++, o += 4) sw32(b, o);
      }
    } else {
      while (o < end) {
        const n = s16(b, o + 14);
        for (const k of [0, 4, 8]) sw32(b, o + k);
        sw16(b, o + 12);
        sw16(b, o + 14);
        o += 16;
        for (let i = 0; i < n; i++, o += 4) sw32(b, o);
      }
    }
    return b;
  }
  const t = le32(b, 0);
  const dataLen = s16(b, 32);
  const fragLen = s16(b, 38);
  typeWord(b, 0);
  for (const o of [4, 8, 12, 16, 20, 24, 28]) sw32(b, o);
  sw16(b, 32);
  sw16(b, 36);
  sw16(b, 38);
  const body = 40;
  if (t & 0x02000000) {
    for (let i = 0; i < 128; i++) sw16(b, body + 2 * i);
  } else if (t & 0x01000000) {
    if (dataLen === 96) {
      for (let i = 0; i < 18; i++) sw32(b, body + 4 * i);
      for (let i = 0; i < 12; i++) sw16(b, body + 72 + 2 * i);
    }
  } else if (t & 0x04000000) {
    for (let i = 0; i < 256; i++) sw16(b, body + 2 * i);
  } else if (t & 0x08000000) {
    // no body
  } else if (t & 0x300) {
    let o = body;
    const m = s16(b, o);
    sw16(b, o);
    sw16(b, o + 2);
    o += 4;
    for (let i = 0; i < m; i++, o += 4) sw32(b, o);
    if (t & 0x200) {
      const r = s16(b, o);
      sw16(b, o);
      sw16(b, o + 2);
      o += 4;
      for (let i = 0; i < r; i++, o += 8) {
        sw32(b, o);
        sw16(b, o + 4);
        sw16(b, o + 6);
      }
    }
  } else if ((t & 0x440) === 0 && t & 0x1f) {
    const first = s16(src, 36);
    if (messages && (first === 1 || first === -1)) flipMessageHeader(b, body);
    let p = fragLen;
    while (p < dataLen) {
      p += (4 - (p % 4)) % 4;
      const len = s16(b, body + p + 2);
      sw16(b, body + p);
      sw16(b, body + p + 2);
      p += 4;
      if (messages) flipMessageHeader(b, body + p);
      p += len;
    }
  }
  return b;
}

function pad(s: string, n: number): string {
  return hex(new TextEncoder().encode(s)).padEnd(2 * n, '0');
}

/** I.3: the GROUPS message d1 sent during the merge of {alice@d1} and {bob@d2}. */
export const I3_GROUPS_DATAGRAM = fromHex(
  'a8000080 0100007f 0100007f 0100007f2c6a086b 01000000 02000000 73793622 9f00 0000 ffff9f00' +
    `90000880 ${pad('d1', 28)} 01000000 00000000 80000080 6f000000` +
    '0100007f2c6a086b 01 01000000 0100007f' +
    `${pad('grp', 32)} 0100007f0d6a086b01000000 0000 0100` +
    `0100007f 0100007f0d6a086b 0100 ${pad('#alice#d1', 32)}`,
);

