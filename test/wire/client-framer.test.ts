/**
 * Framer behaviour beyond single captured frames: buffered-byte limits against realistic
 * socket chunk sizes, hand-over of unread bytes, and copy/alias rules.
 */
import { describe, expect, it } from 'vitest';
import { CLIENT_TO_DAEMON_LIMITS, DAEMON_TO_CLIENT_LIMITS, encodeMessage, makeHint, MessageFramer } from '../../src/wire/client/index.js';
import { allFrames, loadSessions, toHex } from '../vectors/captures.js';

const frameOf = (dataLen: number, fill = 0x41): Uint8Array =>
  encodeMessage({
    header: { type: 0x10, name: '#alice#localhost', numGroups: 1, hint: makeHint(7), dataLen },
    oldType: 0,
    groups: ['grpA'],
    data: new Uint8Array(dataLen).fill(fill),
  });

function drain(f: MessageFramer): number[] {
  const lens: number[] = [];
  for (let fr = f.next(); fr !== null; fr = f.next()) lens.push(fr.length);
  return lens;
}

describe('MessageFramer', () => {
  it('validate hook: sees each header before its body, a refusal is final', () => {
    const fr = frameOf(10);
    const seen: string[] = [];
    const f = new MessageFramer({
      ...CLIENT_TO_DAEMON_LIMITS,
      validate: (h) => {
        seen.push(h.name);
        if (seen.length >= 2) throw new Error('refused');
      },
    });
    f.push(fr);
    f.push(fr.subarray(0, 48)); // the second header alone: refused before any body byte
    expect(f.next()?.length).toBe(fr.length);
    expect(() => f.next()).toThrow('refused');
    f.push(fr);
    expect(() => f.next()).toThrow('refused'); // the same header again
    expect(seen).toHaveLength(3);
  });

  it('nextRaw returns the whole frame bytes with its decoded header', () => {
    const fr = frameOf(300, 0x42);
    const f = new MessageFramer(CLIENT_TO_DAEMON_LIMITS);
    f.push(fr.subarray(0, 30));
    expect(f.nextRaw()).toBeNull();
    f.push(fr.subarray(30, 200));
    expect(f.nextRaw()).toBeNull();
    f.push(fr.subarray(200));
    const raw = f.nextRaw()!;
    expect(toHex(raw.bytes)).toBe(toHex(fr));
    expect(raw.header).toMatchObject({ name: '#alice#localhost', numGroups: 1, dataLen: 300 });
    expect(raw.littleEndian).toBe(true);
    expect(raw.owned).toBe(true); // gathered from two chunks
    expect(f.buffered).toBe(0);
    f.push(Uint8Array.from([...fr, ...fr]));
    const a = f.nextRaw()!;
    const b = f.nextRaw()!;
    expect([a.owned, b.owned, toHex(b.bytes) === toHex(fr), f.nextRaw()]).toEqual([false, false, true, null]);
  });

  it('accepts a max-size client frame followed by small ones in 64 KiB socket chunks', () => {
    // Regression: the framer used to refuse any push whose held + chunk bytes exceeded the
    // largest frame (147 252 bytes here), though the chunk completed the frame.
    const big = frameOf(144000 - 32);
    const small = frameOf(100);
    const stream = new Uint8Array(big.length + 700 * small.length);
    stream.set(big, 0);
    for (let i = 0; i < 700; i++) stream.set(small, big.length + i * small.length);
    const f = new MessageFramer(CLIENT_TO_DAEMON_LIMITS);
    const lens: number[] = [];
    for (let o = 0; o < stream.length; o += 65536) {
      f.push(stream.subarray(o, o + 65536));
      lens.push(...drain(f));
    }
    expect(lens).toEqual([big.length, ...Array<number>(700).fill(small.length)]);
    expect(f.buffered).toBe(0);
  });

  it('accepts one chunk far larger than maxBuffered when it holds whole frames', () => {
    const small = frameOf(100);
    const stream = new Uint8Array(small.length * 50);
    for (let i = 0; i < 50; i++) stream.set(small, i * small.length);
    const f = new MessageFramer({ ...CLIENT_TO_DAEMON_LIMITS, maxBuffered: 1000 });
    f.push(stream.subarray(0, 7));
    f.push(stream.subarray(7));
    expect(drain(f)).toHaveLength(50);
  });

  it('counts a decoded-but-incomplete frame header as buffered and hands it over', () => {
    const fr = frameOf(500);
    const f = new MessageFramer(CLIENT_TO_DAEMON_LIMITS);
    f.push(fr.subarray(0, 100));
    expect(f.next()).toBeNull(); // header decoded, body incomplete
    expect(f.buffered).toBe(100);
    const rest = f.takeRemaining();
    expect(toHex(rest)).toBe(toHex(fr.subarray(0, 100)));
    expect(f.buffered).toBe(0);
    // The framer starts clean: the old pending header must not leak into the next frame.
    const other = frameOf(3, 0x42);
    f.push(other);
    const got = f.next();
    expect(got?.length).toBe(other.length);
    expect(toHex(got!.message.data)).toBe('424242');
  });

  it('hands over unread bytes across several chunks, and nothing when empty', () => {
    const f = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);
    expect(f.takeRemaining()).toHaveLength(0);
    const fr = frameOf(10);
    f.push(fr.subarray(0, 20));
    f.push(fr.subarray(20, 30));
    expect(f.next()).toBeNull();
    expect(toHex(f.takeRemaining())).toBe(toHex(fr.subarray(0, 30)));
  });

  it('ignores empty chunks', () => {
    const f = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);
    f.push(new Uint8Array(0));
    expect(f.buffered).toBe(0);
    expect(f.next()).toBeNull();
  });

  it('copies frames it had to join, so later writes to the pushed chunks cannot change them', () => {
    const fr = frameOf(64);
    const a = Uint8Array.from(fr.subarray(0, 60));
    const b = Uint8Array.from(fr.subarray(60));
    const f = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);
    f.push(a);
    f.push(b);
    const got = f.next()!;
    a.fill(0);
    b.fill(0);
    expect(toHex(got.message.data)).toBe('41'.repeat(64));
    expect(got.message.groups).toEqual(['grpA']);
  });

  it('returns the frames of a captured stream in order however the stream is chunked (3-byte chunks)', () => {
    const s = loadSessions('client-two').find((x) => x.session === 'bob')!;
    const bytes = s.streams.to_client.bytes.subarray(s.streams.to_client.framesStart);
    const f = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);
    const lens: number[] = [];
    for (let o = 0; o < bytes.length; o += 3) {
      f.push(bytes.subarray(o, o + 3));
      lens.push(...drain(f));
    }
    expect(lens).toEqual(allFrames().filter((p) => p.id.startsWith('client-two/bob/to_client/')).map((p) => p.bytes.length));
  });

  it('copies each byte a bounded number of times when a big frame arrives in many small segments', () => {
    // 143 KB in 1460-byte segments: merging on every push copied ~7 MB per frame (quadratic).
    const fr = frameOf(143000);
    const f = new MessageFramer(CLIENT_TO_DAEMON_LIMITS);
    const realSet = Uint8Array.prototype.set;
    let copied = 0;
    Uint8Array.prototype.set = function (this: Uint8Array, src: ArrayLike<number>, offset?: number): void {
      copied += src.length;
      realSet.call(this, src, offset);
    };
    try {
      for (let o = 0; o < fr.length; o += 1460) {
        f.push(fr.subarray(o, o + 1460));
        f.next();
      }
    } finally {
      Uint8Array.prototype.set = realSet;
    }
    expect(f.buffered).toBe(0);
    expect(copied).toBeGreaterThan(0);
    expect(copied).toBeLessThanOrEqual(2 * fr.length);
  });
  it('detach: after it the pushed chunk may be overwritten (a reused socket read buffer)', () => {
    const frames = [frameOf(1000, 0x41), frameOf(30, 0x42), frameOf(2500, 0x43), frameOf(0)];
    const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    frames.reduce((o, f) => (stream.set(f, o), o + f.length), 0);
    const readBuffer = new Uint8Array(700); // one buffer for every read, as the daemon's client edge
    const f = new MessageFramer({ ...CLIENT_TO_DAEMON_LIMITS });
    const got: string[] = [];
    for (let o = 0; o < stream.length; o += readBuffer.length) {
      const n = Math.min(readBuffer.length, stream.length - o);
      readBuffer.set(stream.subarray(o, o + n));
      f.push(readBuffer.subarray(0, n));
      for (let raw = f.nextRaw(); raw !== null; raw = f.nextRaw()) got.push(toHex(raw.bytes.slice()));
      f.detach();
      readBuffer.fill(0xee); // the next read overwrites it
    }
    expect(got).toEqual(frames.map(toHex));
    expect(f.buffered).toBe(0);
  });
});
