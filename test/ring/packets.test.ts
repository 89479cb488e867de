/**
 * Data packets: fragmentation and packing (against the reference's own packets), the data
 * channel's filters, routing and relays, retransmission requests and their answers.
 */
import { describe, expect, it } from 'vitest';
import { PacketType, procIdOf } from '../../src/wire/daemon/constants.js';
import { decodeDatagram } from '../../src/wire/daemon/datagram.js';
import type { DataPacket } from '../../src/wire/daemon/data.js';
import { ServiceType } from '../../src/wire/client/constants.js';
import { RingSubmitError } from '../../src/daemon/ring/errors.js';
import { MAX_MESSAGE_BYTES, WATER_MARK, WATER_MARK_BYTES, packetTypeOf } from '../../src/daemon/ring/constants.js';
import { A, B, C, D, HASH, RING, data, dataOf, delivered, make, message, sends, token, tokenOf } from './helpers.js';
import { loadRingCapture } from './replay-harness.js';

/** The reference's data packets from daemon `ip` in ring-ns-acc-bulk, first copy of each seq. */
function capturedPackets(ip: string, seqs: number[]): Uint8Array[] {
  const me = procIdOf(ip);
  const out = new Map<number, Uint8Array>();
  for (const c of loadRingCapture('ring-ns-acc-bulk')) {
    if (c.dstPort !== 4803 || c.bytes.length <= 40) continue;
    const v = new DataView(c.bytes.buffer, c.bytes.byteOffset);
    if (v.getInt32(8, true) !== me || (v.getUint32(0, true) & 0x1f) === 0) continue;
    const seq = v.getInt32(20, true);
    if (seqs.includes(seq) && !out.has(seq)) out.set(seq, c.bytes);
  }
  return seqs.map((s) => out.get(s)!);
}

/** The messages inside packets (fragments joined). */
function messagesOf(packets: Uint8Array[]): { bytes: Uint8Array; type: number }[] {
  const out: { bytes: Uint8Array; type: number }[] = [];
  let parts: Uint8Array[] = [];
  for (const p of packets) {
    const d = decodeDatagram(p, 'data') as DataPacket;
    for (const f of d.fragments) {
      if (f.index === 1 || f.index === -1) parts = [];
      parts.push(f.data);
      if (f.index < 0) out.push({ bytes: Uint8Array.from(Buffer.concat(parts)), type: d.header.type & 0x1f });
    }
  }
  return out;
}

/** A copy of little-endian data packet `le` with its 40-byte header rewritten big-endian (the body as is). */
function bigEndianHeader(le: Uint8Array): Uint8Array {
  const be = Uint8Array.from(le);
  const v = new DataView(be.buffer);
  const lv = new DataView(le.buffer, le.byteOffset);
  v.setUint32(0, lv.getUint32(0, true) & ~0x80000080, false);
  for (const o of [4, 8, 12, 16, 20, 24, 28]) v.setInt32(o, lv.getInt32(o, true), false);
  for (const o of [32, 36, 38]) v.setInt16(o, lv.getInt16(o, true), false);
  return be;
}

/** Runs one token visit at leader A with `messages` queued; returns the data packets sent. */
function leaderSends(messages: { bytes: Uint8Array; type: number; room?: boolean }[], allowed = 20): Uint8Array[] {
  const { engine } = make(A, { personalWindow: allowed, window: Math.max(160, allowed) });
  for (const m of messages) engine.submit(m.bytes, m.type as never, 0, undefined, m.room ?? false);
  engine.takeActions();
  engine.handleDatagram('token', token({ from: C, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 1);
  return sends(engine.takeActions()).filter((a) => a.channel === 'data').map((a) => a.bytes);
}

describe('fragmentation and packing, against the reference', () => {
  it('5000-byte messages: fragments of 1432 with indexes 1, 2, 3, −4 (ring-ns-acc-bulk seq 6–13)', () => {
    const ref = capturedPackets('10.77.0.1', [6, 7, 8, 9, 10, 11, 12, 13]);
    const msgs = messagesOf(ref);
    expect(msgs.map((m) => m.bytes.length)).toEqual([5080, 5080]);
    const ours = leaderSends(msgs);
    expect(ours).toHaveLength(8);
    for (let i = 0; i < 8; i++) {
      // From data_len on (data_len, padding, first fragment header, body) every byte is the reference's.
      expect(Buffer.from(ours[i]!.subarray(32)).toString('hex')).toBe(Buffer.from(ref[i]!.subarray(32)).toString('hex'));
      expect(ours[i]![0]).toBe(ref[i]![0]); // FIFO
    }
    const idx = ours.map((p) => new DataView(p.buffer, p.byteOffset).getInt16(36, true));
    expect(idx).toEqual([1, 2, 3, -4, 1, 2, 3, -4]);
  });

  it('ten 100-byte messages: packed 7 + 3 with 4-byte fragment headers (seq 46, 47)', () => {
    const ref = capturedPackets('10.77.0.1', [46, 47]);
    const msgs = messagesOf(ref);
    expect(msgs).toHaveLength(10);
    const ours = leaderSends(msgs);
    expect(ours.map((p) => p.length)).toEqual([1324, 588]);
    for (let i = 0; i < 2; i++) expect(Buffer.from(ours[i]!.subarray(32)).toString('hex')).toBe(Buffer.from(ref[i]!.subarray(32)).toString('hex'));
  });

  it('pads each in-body fragment header to a multiple of 4 from the body start', () => {
    const ours = leaderSends([81, 83, 90].map((n) => ({ bytes: message(n), type: PacketType.AGREED })));
    expect(ours).toHaveLength(1);
    const d = dataOf({ kind: 'send', channel: 'data', to: 'segment', target: 0, bytes: ours[0]! });
    expect(d.fragments.map((f) => [f.index, f.data.length, f.pad?.length ?? 0])).toEqual([[-1, 81, 0], [-1, 83, 3], [-1, 90, 1]]);
    expect(d.header.dataLen).toBe(81 + 3 + 4 + 83 + 1 + 4 + 90);
  });

  it('packs FIFO with AGREED (CAUSAL), RELIABLE with UNRELIABLE; SAFE and RELIABLE only with their own kind', () => {
    const t = (s: number) => ({ bytes: message(100, s), type: packetTypeOf(s)! });
    const count = (...services: number[]): number[] =>
      leaderSends(services.map(t)).map((p) => decodeDatagram(p, 'data') as DataPacket).map((d) => d.fragments.length);
    const S = ServiceType;
    expect(count(S.FIFO_MESS, S.AGREED_MESS, S.FIFO_MESS, S.CAUSAL_MESS)).toEqual([4]);
    expect(count(S.UNRELIABLE_MESS, S.RELIABLE_MESS)).toEqual([2]);
    expect(count(S.AGREED_MESS, S.SAFE_MESS, S.SAFE_MESS)).toEqual([1, 2]);
    expect(count(S.RELIABLE_MESS, S.AGREED_MESS)).toEqual([1, 1]);
    const types = leaderSends([t(S.FIFO_MESS), t(S.AGREED_MESS)]).map((p) => p[0]! & 0x1f);
    expect(types).toEqual([PacketType.FIFO]); // a packet has its first fragment's type
  });

  it('appends only after a message\'s last fragment', () => {
    const ours = leaderSends([message(100), message(2000), message(100)].map((bytes) => ({ bytes, type: PacketType.AGREED })));
    const layout = ours.map((p) => (decodeDatagram(p, 'data') as DataPacket).fragments.map((f) => `${f.index}:${f.data.length}`).join(' '));
    expect(layout).toEqual(['-1:100', '1:1432', '-2:568 -1:100']);
  });

  it('an exact multiple of 1432 ends with a full fragment; the largest message takes 100', () => {
    const exact = leaderSends([{ bytes: message(2 * 1432), type: PacketType.AGREED }]);
    expect(exact.map((p) => p.length)).toEqual([1472, 1472]);
    const largest = leaderSends([{ bytes: message(MAX_MESSAGE_BYTES), type: PacketType.SAFE }], 100);
    expect(largest).toHaveLength(100);
    expect(new DataView(largest[99]!.buffer, largest[99]!.byteOffset).getInt16(36, true)).toBe(-100);
  });

  it('refuses what the ring cannot carry', () => {
    const { engine } = make(A);
    const code = (f: () => void): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof RingSubmitError ? e.code : String(e);
      }
      return undefined;
    };
    expect(code(() => engine.submit(new Uint8Array(47), PacketType.AGREED, 0))).toBe('MESSAGE_TOO_SHORT');
    expect(code(() => engine.submit(new Uint8Array(MAX_MESSAGE_BYTES + 1), PacketType.AGREED, 0))).toBe('MESSAGE_TOO_LONG');
    expect(code(() => engine.submit(message(100), 1 as never, 0))).toBe('BAD_PACKET_TYPE');
  });

  it('tells the edge to stop reading clients at WATER_MARK_BYTES queued bytes, however few messages, and to resume below', () => {
    const { engine } = make(A, { personalWindow: 100, window: 160 });
    const n = Math.ceil(WATER_MARK_BYTES / MAX_MESSAGE_BYTES);
    for (let i = 0; i < n - 1; i++) engine.submit(message(MAX_MESSAGE_BYTES), PacketType.AGREED, 0);
    expect(engine.takeActions().filter((a) => a.kind === 'backpressure')).toEqual([]);
    expect(engine.queuedBytes).toBe((n - 1) * MAX_MESSAGE_BYTES);
    engine.submit(message(MAX_MESSAGE_BYTES), PacketType.AGREED, 0);
    expect(engine.takeActions()).toContainEqual({ kind: 'backpressure', blocked: true });
    engine.handleDatagram('token', token({ from: C, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 1);
    expect(engine.takeActions()).toContainEqual({ kind: 'backpressure', blocked: false });
    expect(engine.queuedBytes).toBe((n - 1) * MAX_MESSAGE_BYTES);
  });

  it('tells the edge to stop reading clients at WATER_MARK queued messages, and to resume below it', () => {
    const { engine } = make(A);
    for (let i = 0; i < WATER_MARK - 1; i++) engine.submit(message(100), PacketType.AGREED, 0);
    expect(engine.takeActions().filter((a) => a.kind === 'backpressure')).toEqual([]);
    engine.submit(message(100), PacketType.AGREED, 0);
    expect(engine.takeActions()).toContainEqual({ kind: 'backpressure', blocked: true });
    engine.handleDatagram('token', token({ from: C, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 1);
    expect(engine.takeActions()).toContainEqual({ kind: 'backpressure', blocked: false });
  });
});

describe('a message that fills a packet alone is sent in place', () => {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  /** A copy of `bytes` with 40 zero bytes reserved before it in its buffer (Slab.allocWithRoom). */
  const withRoom = (bytes: Uint8Array): Uint8Array => {
    const buf = new Uint8Array(40 + bytes.length + 8);
    buf.set(bytes, 40);
    return buf.subarray(40, 40 + bytes.length);
  };
  const roomIsZero = (m: Uint8Array): boolean => new Uint8Array(m.buffer, m.byteOffset - 40, 40).every((x) => x === 0);

  it('its packet is the room and the message: byte for byte the packet a copy makes, the message untouched', () => {
    for (const size of [717, 1000, 1432]) {
      const m = message(size);
      const copied = leaderSends([{ bytes: m, type: PacketType.AGREED }]);
      const framed = withRoom(m);
      const inPlace = leaderSends([{ bytes: framed, type: PacketType.AGREED, room: true }]);
      expect(inPlace).toHaveLength(1);
      expect(hex(inPlace[0]!)).toBe(hex(copied[0]!));
      expect(inPlace[0]!.buffer).toBe(framed.buffer);
      expect(inPlace[0]!.byteOffset).toBe(framed.byteOffset - 40);
      expect(hex(framed)).toBe(hex(m));
    }
  });

  it('is copied when packed with another, cut into fragments, or submitted without 40 bytes before it', () => {
    const first = withRoom(message(800));
    const packed = leaderSends([{ bytes: first, type: PacketType.AGREED, room: true }, { bytes: message(100), type: PacketType.AGREED }]);
    expect(packed.map((p) => (decodeDatagram(p, 'data') as DataPacket).fragments.length)).toEqual([2]);
    expect(packed[0]!.buffer).not.toBe(first.buffer);
    expect(roomIsZero(first)).toBe(true);

    const big = withRoom(message(2000));
    const cut = leaderSends([{ bytes: big, type: PacketType.AGREED, room: true }]);
    expect(cut).toHaveLength(2);
    expect(cut.some((p) => p.buffer === big.buffer)).toBe(false);
    expect(roomIsZero(big)).toBe(true);

    const tight = message(1000);
    expect(tight.byteOffset).toBeLessThan(40);
    const sent = leaderSends([{ bytes: tight, type: PacketType.AGREED, room: true }]);
    expect(sent[0]!.buffer).not.toBe(tight.buffer);
    expect(hex(sent[0]!.subarray(40))).toBe(hex(tight));
  });
});

describe('the data channel', () => {
  it('drops my own echo, other configurations and unknown senders; counts malformed datagrams without throwing', () => {
    const { engine } = make(B);
    engine.handleDatagram('data', data({ from: B, seq: 1 }, message(100)), 1);
    engine.handleDatagram('data', data({ from: A, seq: 1, hash: HASH + 1 }, message(100)), 1);
    engine.handleDatagram('data', data({ from: (10 << 24) | 99, seq: 1 }, message(100)), 1);
    expect(engine.highestSeq).toBe(0);
    expect(engine.stats.wrongHash).toBe(1);
    expect(engine.stats.unknownSender).toBe(1);
    const good = data({ from: A, seq: 1 }, message(100), message(100));
    const bad: Uint8Array[] = [new Uint8Array(10), good.subarray(0, good.length - 1), Uint8Array.from(good)];
    bad[2]![40 + 100 + 0] = 7; // the in-body fragment header's index must be −1
    bad.push(Uint8Array.from([0x08, 0, 0, 0x80, ...good.subarray(4)])); // endian marker half set
    for (const b of bad) expect(() => engine.handleDatagram('data', b, 1)).not.toThrow();
    expect(engine.stats.malformed).toBe(4);
    expect(engine.highestSeq).toBe(0);
  });

  it('hands membership, monitor and foreign-ring datagrams up, unchanged', () => {
    const { engine } = make(B);
    const alive = data({ from: A, seq: 0, type: PacketType.ALIVE }, message(100));
    const foreign = data({ from: A, seq: 1, membId: { procId: A, time: 5 } }, message(100));
    const status = data({ from: A, seq: 0, type: PacketType.STATUS, hash: 1100 }, message(100));
    for (const b of [alive, foreign, status]) engine.handleDatagram('data', b, 1);
    const form = token({ from: A, arq: 0 });
    form[1] = 0x10; // FORM1
    engine.handleDatagram('token', form, 1);
    const up = engine.takeActions().filter((a) => a.kind === 'upward');
    expect(up.map((a) => (a.kind === 'upward' ? [a.what, a.channel] : []))).toEqual([
      ['membership', 'data'], ['foreign', 'data'], ['control', 'data'], ['membership', 'token'],
    ]);
    expect(up[1]!.kind === 'upward' && up[1]!.bytes).toBe(foreign);
  });

  it('keeps one copy of a packet and ignores what is already discarded', () => {
    const { engine } = make(B);
    const p = data({ from: A, seq: 1 }, message(100));
    engine.handleDatagram('data', p, 1);
    engine.handleDatagram('data', p, 1);
    expect(engine.stats.packetsDuplicate).toBe(1);
    expect(delivered(engine.takeActions())).toHaveLength(1);
  });

  it('a big-endian packet is read, stored and re-sent little-endian, its message untouched', () => {
    const m1 = message(101);
    const m2 = message(90);
    const le = data({ from: A, seq: 1 }, m1, m2);
    const be = bigEndianHeader(le);
    const v = new DataView(be.buffer);
    const inBody = 40 + 101 + 3; // first fragment 101 bytes, 3 pad bytes
    v.setInt16(inBody, -1, false);
    v.setInt16(inBody + 2, 90, false);
    const { engine } = make(B);
    engine.handleDatagram('data', be, 1);
    expect(delivered(engine.takeActions()).map((d) => d.message)).toEqual([m1, m2]);
    // C asks for it: B answers with the little-endian packet, itself as transmitter.
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: 1, aru: 0, aruLastId: C, rtr: [{ membId: RING, procId: C, segIndex: 0, seqs: [1] }] }), 2);
    const r = sends(engine.takeActions()).find((a) => a.channel === 'data')!;
    const want = Uint8Array.from(le);
    new DataView(want.buffer).setInt32(4, B, true);
    expect(Buffer.from(r.bytes).toString('hex')).toBe(Buffer.from(want).toString('hex'));
  });
});

describe('segments: routed unicasts and relays', () => {
  it('one daemon per segment: a packet goes as ROUTED unicasts to the other segments, in segment order', () => {
    const { engine } = make(B, {}, [A, B, C], [[A], [B], [C]]);
    engine.submit(message(100), PacketType.AGREED, 0);
    engine.handleDatagram('token', token({ from: A, arq: 1 }), 1);
    const s = sends(engine.takeActions()).filter((a) => a.channel === 'data');
    expect(s.map((a) => [a.to, a.target, a.bytes[0]])).toEqual([['proc', A, 0x28 | 0x80], ['proc', C, 0x28 | 0x80]]);
  });

  it('one daemon per segment: the packet sent is the one stored, and a retransmission sends the same bytes ROUTED', () => {
    const { engine } = make(B, {}, [A, B, C], [[A], [B], [C]]);
    engine.submit(message(100), PacketType.AGREED, 0);
    engine.handleDatagram('token', token({ from: A, arq: 1 }), 1);
    const sent = sends(engine.takeActions()).filter((a) => a.channel === 'data');
    expect(sent[0]!.bytes).toBe(sent[1]!.bytes); // one buffer, no copy
    const before = Buffer.from(sent[0]!.bytes).toString('hex');
    engine.handleDatagram('token', token({ from: A, arq: 2, seq: 1, aru: 0, aruLastId: C, rtr: [{ membId: RING, procId: -1, segIndex: -1, seqs: [1] }] }), 2);
    const again = sends(engine.takeActions()).filter((a) => a.channel === 'data');
    expect(again.map((a) => [a.to, a.target])).toEqual([['proc', A], ['proc', C]]);
    for (const a of again) expect(Buffer.from(a.bytes).toString('hex')).toBe(before);
    expect(again[0]!.bytes).not.toBe(sent[0]!.bytes);
    expect(Buffer.from(sent[0]!.bytes).toString('hex')).toBe(before);
  });

  it('mixed: ROUTED unicast to the other segment\'s first member, then my segment\'s broadcast', () => {
    const { engine } = make(A, {}, [A, B, D], [[A, B], [D]]);
    engine.submit(message(100), PacketType.AGREED, 0);
    engine.handleDatagram('token', token({ from: D, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 1);
    const s = sends(engine.takeActions()).filter((a) => a.channel === 'data');
    expect(s.map((a) => [a.to, a.target, a.bytes[0]! & 0x20])).toEqual([['proc', D, 0x20], ['segment', 0, 0]]);
    expect(s[1]!.bytes.subarray(4)).toEqual(s[0]!.bytes.subarray(4));
  });

  it('a ROUTED packet is re-broadcast on my segment with ROUTED cleared and me as transmitter', () => {
    const { engine } = make(A, {}, [A, B, D], [[A, B], [D]]);
    const routed = data({ from: D, seq: 1, type: PacketType.AGREED | PacketType.ROUTED }, message(100));
    engine.handleDatagram('data', routed, 1);
    const s = sends(engine.takeActions());
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ channel: 'data', to: 'segment', target: 0 });
    const want = Uint8Array.from(routed);
    want[0] = want[0]! & ~0x20;
    new DataView(want.buffer).setInt32(4, A, true);
    expect(s[0]!.bytes).toEqual(want);
    expect(engine.highestSeq).toBe(1); // and it is taken in
  });

  it('a big-endian ROUTED packet is relayed in its writer\'s order: ROUTED cleared, me as transmitter', () => {
    const { engine } = make(A, {}, [A, B, D], [[A, B], [D]]);
    const le = data({ from: D, seq: 1, type: PacketType.AGREED | PacketType.ROUTED }, message(100));
    const be = bigEndianHeader(le);
    engine.handleDatagram('data', be, 1);
    const s = sends(engine.takeActions());
    expect(s).toHaveLength(1);
    const want = Uint8Array.from(be);
    want[3] = want[3]! & ~0x20;
    new DataView(want.buffer).setInt32(4, A, false);
    expect(Buffer.from(s[0]!.bytes).toString('hex')).toBe(Buffer.from(want).toString('hex'));
    expect(be[3]! & 0x20).toBe(0x20); // the datagram handed in is untouched
    expect(delivered(engine.takeActions())).toHaveLength(0);
    expect(engine.highestSeq).toBe(1);
  });
});

describe('retransmission requests', () => {
  it('asks for every hole up to Highest_seq (original ring), as itself in its segment', () => {
    const { engine } = make(B);
    for (const s of [1, 3, 6]) engine.handleDatagram('data', data({ from: A, seq: s }, message(100)), 1);
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: 6, aru: 6 }), 2);
    const t = tokenOf(sends(engine.takeActions())[0]!);
    expect(t.rtr).toEqual([{ membId: RING, procId: B, segIndex: 0, seqs: [2, 4, 5] }]);
    expect(t.header.rtrLen).toBe(16 + 12);
    expect(engine.stats.rtrRequested).toBe(3);
  });

  it('answers a request by unicast, segment broadcast or broadcast; consumed requests are not forwarded', () => {
    const answer = (procId: number, segIndex: number): { to: string; target: number; transmitter: number; rtr: number } => {
      const { engine } = make(C);
      engine.takeActions();
      engine.handleDatagram('data', data({ from: A, seq: 1 }, message(100)), 1);
      engine.handleDatagram('token', token({ from: B, arq: 1, seq: 1, aru: 0, aruLastId: B, rtr: [{ membId: RING, procId, segIndex, seqs: [1] }] }), 2);
      const s = sends(engine.takeActions());
      const d = s.find((a) => a.channel === 'data')!;
      return { to: d.to, target: d.target, transmitter: new DataView(d.bytes.buffer, d.bytes.byteOffset).getInt32(4, true), rtr: tokenOf(s.find((a) => a.channel === 'token')!).rtr.length };
    };
    expect(answer(B, 0)).toEqual({ to: 'proc', target: B, transmitter: C, rtr: 0 });
    expect(answer(-1, 0)).toEqual({ to: 'segment', target: 0, transmitter: C, rtr: 0 });
    expect(answer(-1, -1)).toEqual({ to: 'segment', target: 0, transmitter: C, rtr: 0 });
  });

  it('a request I cannot answer makes my own request "several daemons" (and "several segments" if it came from another)', () => {
    const run = (segIndex: number): { procId: number; segIndex: number; seqs: number[] } => {
      const { engine } = make(C, {}, [A, B, C, D], [[A, B, C], [D]]);
      engine.takeActions();
      engine.handleDatagram('token', token({ from: B, arq: 1, seq: 2, aru: 0, aruLastId: B, rtr: [{ membId: RING, procId: B, segIndex, seqs: [1] }] }), 2);
      const r = tokenOf(sends(engine.takeActions()).find((a) => a.channel === 'token')!).rtr;
      expect(r).toHaveLength(1);
      return { procId: r[0]!.procId, segIndex: r[0]!.segIndex, seqs: r[0]!.seqs };
    };
    expect(run(0)).toEqual({ procId: -1, segIndex: 0, seqs: [1, 2] });
    expect(run(1)).toEqual({ procId: -1, segIndex: -1, seqs: [1, 2] });
  });

  it('copies other rings\' records forward, ahead of its own', () => {
    const { engine } = make(B);
    const other = { membId: { procId: D, time: 7 }, procId: D, segIndex: 3, seqs: [9, 11] };
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: 1, aru: 1, rtr: [other] }), 2);
    expect(tokenOf(sends(engine.takeActions())[0]!).rtr).toEqual([other, { membId: RING, procId: B, segIndex: 0, seqs: [1] }]);
  });

  it('a request below Aru is a protocol violation (the reference exits)', () => {
    const { engine } = make(C);
    engine.takeActions();
    for (let s = 1; s <= 3; s++) engine.handleDatagram('data', data({ from: A, seq: s }, message(100)), 1);
    engine.handleDatagram('token', token({ from: B, arq: 1, seq: 3, aru: 3 }), 2);
    engine.handleDatagram('token', token({ from: B, arq: 2, seq: 3, aru: 3 }), 3);
    engine.takeActions();
    expect(engine.aru).toBe(3);
    engine.handleDatagram('token', token({ from: B, arq: 3, seq: 3, aru: 3, rtr: [{ membId: RING, procId: B, segIndex: 0, seqs: [1] }] }), 4);
    expect(engine.takeActions().filter((a) => a.kind === 'violation').map((a) => a.kind === 'violation' && a.code)).toEqual(['RTR_BELOW_ARU']);
  });
});

describe('robustness', () => {
  it('never throws on garbage or mangled datagrams, on either channel', async () => {
    const fc = await import('fast-check');
    const { engine } = make(B);
    const seeds = [
      data({ from: A, seq: 1 }, message(100), message(90)),
      token({ from: A, arq: 1, seq: 1, rtr: [{ membId: RING, procId: C, segIndex: 0, seqs: [1, 2] }] }),
    ];
    let now = 1;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), fc.boolean(), (bytes, tok) => {
        engine.handleDatagram(tok ? 'token' : 'data', bytes, now++);
        engine.takeActions();
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (which, edits) => {
        const b = Uint8Array.from(seeds[which]!);
        for (const [at, v] of edits) b[at % b.length] = v;
        engine.handleDatagram(which === 1 ? 'token' : 'data', b, now++);
        engine.takeActions();
      }),
      { numRuns: 2000 },
    );
  });

  it('takes a big-endian token', () => {
    const le = token({ from: A, arq: 1, seq: 2, aru: 2, fc: 3, rtr: [{ membId: RING, procId: C, segIndex: 0, seqs: [1] }] });
    const be = Uint8Array.from(le);
    const l = new DataView(le.buffer, le.byteOffset);
    const v = new DataView(be.buffer);
    v.setUint32(0, l.getUint32(0, true) & ~0x80000080, false);
    for (const o of [4, 8, 12, 16, 20, 24, 28, 36, 40, 44, 48, 56]) v.setInt32(o, l.getInt32(o, true), false);
    for (const o of [32, 34, 52, 54]) v.setInt16(o, l.getInt16(o, true), false);
    const { engine } = make(B);
    engine.handleDatagram('token', be, 1);
    const t = tokenOf(sends(engine.takeActions())[0]!);
    expect(t.littleEndian).toBe(true);
    expect(t.header).toMatchObject({ seq: 2, aru: 0, aruLastId: B, flowControl: 3 });
    expect(t.rtr).toEqual([{ membId: RING, procId: -1, segIndex: 0, seqs: [1, 2] }]); // could not answer C's request
  });
});
