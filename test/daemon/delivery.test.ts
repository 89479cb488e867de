/**
 * Message delivery, group membership notices, header validation, slow clients and
 * backpressure, through the core (no sockets).
 */
import { describe, expect, it } from 'vitest';
import { frame, Harness, hex, login, membershipBody, parseFrames, T } from './harness.js';

const ALICE = '#alice#localhost';
const BOB = '#bob#localhost';
const CAROL = '#carol#localhost';

function join(h: Harness, id: number, sender: string, group: string): void {
  h.send(id, frame({ type: T.JOIN, sender, groups: [group] }));
}

function leave(h: Harness, id: number, sender: string, group: string): void {
  h.send(id, frame({ type: T.LEAVE, sender, groups: [group] }));
}

function setup(opts: ConstructorParameters<typeof Harness>[0] = {}): Harness {
  const h = new Harness(opts);
  login(h, 1, 'alice');
  login(h, 2, 'bob');
  login(h, 3, 'carol', false);
  return h;
}

describe('regular messages', () => {
  it('delivers every service type in submission order with type bits, hint and payload intact', () => {
    const h = setup();
    join(h, 2, BOB, 'g');
    h.take(2);
    const services = [T.UNRELIABLE, T.RELIABLE, T.FIFO, T.CAUSAL, T.AGREED, T.SAFE];
    const sent = services.map((s, i) =>
      frame({ type: s, sender: ALICE, groups: ['g'], data: `m${i}`, hint: (0x80000080 | ((0x1234 + i) << 8)) >>> 0 }),
    );
    h.send(1, Buffer.concat(sent));
    expect(hex(h.take(2))).toBe(hex(Buffer.concat(sent)));
    expect(h.take(1)).toHaveLength(0);
  });

  it('SELF_DISCARD: the sender does not get it, other members do, the bit is kept', () => {
    const h = setup();
    join(h, 1, ALICE, 'g');
    join(h, 2, BOB, 'g');
    h.take(1);
    h.take(2);
    const m = frame({ type: T.SAFE | T.SELF_DISCARD, sender: ALICE, groups: ['g'], data: 'x' });
    h.send(1, m);
    expect(h.take(1)).toHaveLength(0);
    const [f] = parseFrames(h.take(2));
    expect(f!.type).toBe((0x80000080 | T.SAFE | T.SELF_DISCARD) >>> 0);
  });

  it('multigroup: one copy per session, however many of its groups are named', () => {
    const h = setup();
    for (const g of ['g1', 'g2', 'g3']) join(h, 2, BOB, g);
    join(h, 3, CAROL, 'g2');
    h.take(2);
    h.take(3);
    const m = frame({ type: T.AGREED, sender: ALICE, groups: ['g1', 'g2', 'g3', 'g1', BOB], data: 'multi' });
    h.send(1, m);
    expect(hex(h.take(2))).toBe(hex(m));
    expect(hex(h.take(3))).toBe(hex(m));
    expect(h.take(1)).toHaveLength(0);
  });

  it('private groups: unicast to a local session; unknown or other-daemon names reach nobody', () => {
    const h = setup();
    const m = frame({ type: T.RELIABLE, sender: ALICE, groups: [BOB], data: 'psst' });
    h.send(1, m);
    expect(hex(h.take(2))).toBe(hex(m));
    h.send(1, frame({ type: T.RELIABLE, sender: ALICE, groups: ['#nobody#localhost', '#bob#elsewhere', '#bob'], data: 'x' }));
    expect(h.take(2)).toHaveLength(0);
    expect(h.take(3)).toHaveLength(0);
    // To oneself.
    const self = frame({ type: T.FIFO, sender: ALICE, groups: [ALICE], data: 'me' });
    h.send(1, self);
    expect(hex(h.take(1))).toBe(hex(self));
  });

  it('open groups: a non-member can send; regular messages ignore the membership flag', () => {
    const h = setup();
    join(h, 3, CAROL, 'g');
    expect(h.take(3)).toHaveLength(0); // carol asked for no membership messages
    const m = frame({ type: T.SAFE, sender: ALICE, groups: ['g'], data: 'hi' });
    h.send(1, m);
    expect(hex(h.take(3))).toBe(hex(m));
    expect(h.take(1)).toHaveLength(0);
  });

  it('keeps the group fields byte for byte (bytes after the NUL included)', () => {
    const h = setup();
    join(h, 2, BOB, 'g');
    h.take(2);
    const m = frame({ type: T.AGREED, sender: ALICE, groups: ['g'], data: 'x' });
    m[48 + 5] = 0x55; // junk after "g\0"
    h.send(1, m);
    expect(hex(h.take(2))).toBe(hex(m));
  });

  it('forces byte 31 of the sender field to NUL, as the reference does', () => {
    const h = setup();
    join(h, 2, BOB, 'g');
    h.take(2);
    const m = frame({ type: T.AGREED, sender: ALICE, groups: ['g'] });
    m[4 + 31] = 0x41;
    h.send(1, m);
    const out = h.take(2);
    m[4 + 31] = 0;
    expect(hex(out)).toBe(hex(m));
  });

  it('a big-endian client: type, num_groups, data_len delivered in our order, hint untouched', () => {
    const h = setup();
    join(h, 2, BOB, 'g');
    h.take(2);
    const hint = 0x00123480; // BE writer: marker bits in its own order
    h.send(1, frame({ type: T.AGREED, sender: ALICE, groups: ['g'], data: 'be!', hint, bigEndian: true }));
    const [f] = parseFrames(h.take(2));
    expect(f!.type).toBe((0x80000080 | T.AGREED) >>> 0);
    expect(f!.numGroups).toBe(1);
    expect(f!.dataLen).toBe(3);
    expect(f!.hint).toBe(hint);
    expect(Buffer.from(f!.data).toString()).toBe('be!');
  });

  it('accepts the largest body we deliver (data + 32*groups = 143152)', () => {
    const h = setup();
    join(h, 2, BOB, 'g');
    h.take(2);
    const m = frame({ type: T.AGREED, sender: ALICE, groups: ['g'], data: new Uint8Array(143152 - 32).fill(7) });
    h.send(1, m);
    expect(h.take(2).length).toBe(m.length);
  });
});

describe('membership notices', () => {
  it('join: every local member with the flag gets a lightweight CAUSED_BY_JOIN, joiner included', () => {
    const h = setup();
    join(h, 2, BOB, 'g');
    join(h, 1, ALICE, 'g');
    join(h, 3, CAROL, 'g');
    const bob = parseFrames(h.take(2));
    expect(bob.map((f) => f.groups)).toEqual([[BOB], [ALICE, BOB], [ALICE, BOB, CAROL]]);
    expect(bob.map((f) => membershipBody(f.data).index)).toEqual([1, 2, 3]);
    expect(bob.map((f) => membershipBody(f.data).sets)).toEqual([[[BOB]], [[ALICE]], [[CAROL]]]);
    for (const f of bob) {
      expect(f.type).toBe((0x80000080 | T.REG_MEMB | T.CAUSED_BY_JOIN) >>> 0);
      expect(f.name).toBe('g');
      expect(f.hint).toBe(0x80000080);
      expect(f.dataLen).toBe(56);
      const body = membershipBody(f.data);
      expect([body.procId, body.time, body.offset]).toEqual([0x7f000001, h.ring.ringId!.time, 0]);
    }
    expect(parseFrames(h.take(1))).toHaveLength(2);
    expect(h.take(3)).toHaveLength(0);
  });

  it('joining twice and leaving a group one is not in are ignored (no notice, no id change)', () => {
    const h = setup();
    join(h, 1, ALICE, 'g');
    join(h, 1, ALICE, 'g');
    leave(h, 2, BOB, 'g');
    leave(h, 2, BOB, 'nowhere');
    expect(parseFrames(h.take(1))).toHaveLength(1);
    expect(h.take(2)).toHaveLength(0);
    join(h, 2, BOB, 'g');
    expect(membershipBody(parseFrames(h.take(1))[0]!.data).index).toBe(2);
  });

  it('leave: self-leave (0x0200 alone) to the leaver, CAUSED_BY_LEAVE to the others', () => {
    const h = setup();
    join(h, 1, ALICE, 'g');
    join(h, 2, BOB, 'g');
    h.take(1);
    h.take(2);
    leave(h, 1, ALICE, 'g');
    expect(hex(h.take(1))).toBe(hex(frame({ type: T.CAUSED_BY_LEAVE, sender: 'g' })));
    const [f] = parseFrames(h.take(2));
    expect(f!.type).toBe((0x80000080 | T.REG_MEMB | T.CAUSED_BY_LEAVE) >>> 0);
    expect(f!.groups).toEqual([BOB]);
    expect(membershipBody(f!.data)).toMatchObject({ index: 3, sets: [[ALICE]] });
  });

  it('an emptied group is deleted: the next join starts again at index 1', () => {
    const h = setup();
    join(h, 1, ALICE, 'g');
    leave(h, 1, ALICE, 'g');
    join(h, 1, ALICE, 'g');
    const fs = parseFrames(h.take(1));
    expect(fs.map((f) => f.type & 0xffff)).toEqual([0x1180, 0x0280, 0x1180]);
    expect(membershipBody(fs[2]!.data).index).toBe(1);
    expect(h.core.stats.groups).toBe(1);
  });

  it('disconnect: CAUSED_BY_DISCONNECT in every group it was in (group-name order), none to the leaver', () => {
    const h = setup();
    for (const g of ['zz', 'aa', 'mm']) {
      join(h, 1, ALICE, g);
      join(h, 2, BOB, g);
    }
    h.take(1);
    h.take(2);
    h.send(1, frame({ type: T.KILL, sender: ALICE, groups: [ALICE] }));
    expect(h.take(1)).toHaveLength(0);
    expect(h.closed.get(1)).toBe('flush');
    const fs = parseFrames(h.take(2));
    expect(fs.map((f) => f.name)).toEqual(['aa', 'mm', 'zz']);
    for (const f of fs) {
      expect(f.type).toBe((0x80000080 | T.REG_MEMB | T.CAUSED_BY_DISCONNECT) >>> 0);
      expect(f.groups).toEqual([BOB]);
      expect(membershipBody(f.data)).toMatchObject({ index: 3, sets: [[ALICE]] });
    }
  });

  it('an EOF kills the session the same way (the daemon sends KILL|SAFE round the ring)', () => {
    const h = setup();
    join(h, 1, ALICE, 'g');
    join(h, 2, BOB, 'g');
    h.take(2);
    h.eof(1);
    const [f] = parseFrames(h.take(2));
    expect(f!.type & 0xffff).toBe(0x1480);
  });

  it('orders members by name bytes, not by join order', () => {
    const h = new Harness();
    const names = ['zed', 'Zed', 'alice', '$x', '~y', 'b'];
    names.forEach((n, i) => login(h, i + 1, n));
    names.forEach((n, i) => join(h, i + 1, `#${n}#localhost`, 'g'));
    const last = parseFrames(h.take(6)).at(-1)!;
    expect(last.groups).toEqual(['#$x#localhost', '#Zed#localhost', '#alice#localhost', '#b#localhost', '#zed#localhost', '#~y#localhost']);
  });
});

describe('header validation: any failure kills the session like a disconnect', () => {
  const cases: [string, Uint8Array][] = [
    ['no service bit', frame({ type: 0, sender: ALICE, groups: ['g'] })],
    ['two service bits', frame({ type: T.AGREED | T.SAFE, sender: ALICE, groups: ['g'] })],
    ['service and JOIN', frame({ type: T.AGREED | T.JOIN, sender: ALICE, groups: ['g'] })],
    ['JOIN and LEAVE', frame({ type: T.JOIN | T.LEAVE, sender: ALICE, groups: ['g'] })],
    ['GROUPS bit (daemon only)', frame({ type: T.AGREED | T.GROUPS, sender: ALICE, groups: ['g'] })],
    ['REJECT bit (daemon only)', frame({ type: T.AGREED | T.REJECT, sender: ALICE, groups: ['g'] })],
    ['sender is another session', frame({ type: T.AGREED, sender: BOB, groups: ['g'] })],
    ['sender at another daemon', frame({ type: T.AGREED, sender: '#alice#other', groups: ['g'] })],
    ['sender not a private group', frame({ type: T.AGREED, sender: 'alice', groups: ['g'] })],
    ['empty sender', frame({ type: T.AGREED, sender: '', groups: ['g'] })],
    ['num_groups 101', frame({ type: T.AGREED, sender: ALICE, numGroups: 101 })],
    ['num_groups -1', frame({ type: T.AGREED, sender: ALICE, numGroups: -1 })],
    ['hint with other bits', frame({ type: T.AGREED, sender: ALICE, groups: ['g'], hint: 0x81000080 })],
    ['data_len -1', frame({ type: T.AGREED, sender: ALICE, groups: ['g'], dataLen: -1 })],
    ['data_len 144001', frame({ type: T.AGREED, sender: ALICE, groups: ['g'], dataLen: 144001 })],
    ['data_len 0x7fffffff', frame({ type: T.AGREED, sender: ALICE, groups: ['g'], dataLen: 0x7fffffff })],
    ['body 143952 (reference limit, but it crashes)', frame({ type: T.AGREED, sender: ALICE, numGroups: 1, dataLen: 143920 })],
    ['body 143153', frame({ type: T.AGREED, sender: ALICE, numGroups: 1, dataLen: 143121 })],
    ['JOIN without a group', frame({ type: T.JOIN, sender: ALICE })],
    ['LEAVE without a group', frame({ type: T.LEAVE, sender: ALICE })],
  ];
  for (const [what, bytes] of cases) {
    it(what, () => {
      const h = setup();
      join(h, 1, ALICE, 'g');
      join(h, 2, BOB, 'g');
      h.take(1);
      h.take(2);
      // Only the header is sent: the verdict must not wait for the body.
      h.send(1, bytes.subarray(0, 48));
      expect(h.closed.get(1), what).toBeDefined();
      expect(h.take(1)).toHaveLength(0);
      const [f] = parseFrames(h.take(2));
      expect(f!.type & 0xffff).toBe(0x1480);
      expect(h.core.stats.sessions).toBe(2);
    });
  }

  it('a truncated header followed by EOF is a disconnect; the next session with that name is fine', () => {
    const h = setup();
    join(h, 1, ALICE, 'g');
    join(h, 2, BOB, 'g');
    h.take(2);
    h.send(1, frame({ type: T.AGREED, sender: ALICE, groups: ['g'] }).subarray(0, 30));
    h.eof(1);
    expect(parseFrames(h.take(2)).map((f) => f.type & 0xffff)).toEqual([0x1480]);
    login(h, 4, 'alice');
    expect(h.core.stats.sessions).toBe(3);
  });

  it('garbage bytes kill only the sender', () => {
    const h = setup();
    join(h, 2, BOB, 'g');
    h.take(2);
    h.send(1, Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff));
    expect(h.closed.get(1)).toBe('flush');
    const m = frame({ type: T.AGREED, sender: CAROL, groups: ['g'], data: 'still here' });
    h.send(3, m);
    expect(hex(h.take(2))).toBe(hex(m));
  });

  it('messages before the bad header in the same chunk are delivered', () => {
    const h = setup();
    join(h, 2, BOB, 'g');
    h.take(2);
    const ok = frame({ type: T.AGREED, sender: ALICE, groups: ['g'], data: 'ok' });
    h.send(1, Buffer.concat([ok, frame({ type: T.AGREED, sender: BOB, groups: ['g'] })]));
    expect(hex(h.take(2))).toBe(hex(ok));
  });
});

describe('slow clients', () => {
  it('kills a session that stopped reading once MaxSessionMessages are queued; others get everything', () => {
    const h = setup({ maxSessionMessages: 10 });
    join(h, 1, ALICE, 'g');
    join(h, 2, BOB, 'g');
    join(h, 3, CAROL, 'g');
    h.take(1);
    h.take(2);
    h.take(3);
    h.setBlocked(2, true);
    const msgs: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) msgs.push(frame({ type: T.FIFO, sender: ALICE, groups: ['g'], data: `m${i}` }));
    h.send(1, Buffer.concat(msgs));
    // Half of MaxSessionMessages queued on a blocked socket: it gets its grace to catch up.
    expect(h.core.queued(2)).toBe(5);
    expect(h.paused).toBe(true);
    h.advance(1000); // it did not: delivery resumes and it fills up to MaxSessionMessages
    expect(h.core.queued(2)).toBe(10);
    expect(h.closed.has(2)).toBe(false);
    const eleventh = frame({ type: T.FIFO, sender: ALICE, groups: ['g'], data: 'm10' });
    h.send(1, eleventh);
    expect(h.closed.get(2)).toBe('abort');
    expect(h.take(2)).toHaveLength(0);
    // alice and carol saw all 11 messages, then bob's disconnect.
    for (const id of [1, 3]) {
      const fs = parseFrames(h.take(id));
      expect(fs.slice(0, 11).map((f) => Buffer.from(f.data).toString())).toEqual([...msgs, eleventh].map((_, i) => `m${i}`));
      if (id === 1) expect(fs.slice(11).map((f) => f.type & 0xffff)).toEqual([0x1480]);
      else expect(fs).toHaveLength(11); // carol has no membership flag
    }
  });

  it('a session whose socket drains in time is not killed', () => {
    const h = setup({ maxSessionMessages: 3 });
    join(h, 2, BOB, 'g');
    h.take(2);
    h.setBlocked(2, true);
    for (let i = 0; i < 3; i++) h.send(1, frame({ type: T.FIFO, sender: ALICE, groups: ['g'], data: `${i}` }));
    h.setBlocked(2, false);
    for (let i = 3; i < 6; i++) h.send(1, frame({ type: T.FIFO, sender: ALICE, groups: ['g'], data: `${i}` }));
    expect(h.closed.has(2)).toBe(false);
    expect(parseFrames(h.take(2)).map((f) => Buffer.from(f.data).toString())).toEqual(['0', '1', '2', '3', '4', '5']);
  });
  it('a slow reader that catches up within its grace is not cut; meanwhile senders and delivery wait', () => {
    const h = setup({ maxSessionMessages: 10, autoOrder: false });
    join(h, 2, BOB, 'g');
    h.order();
    h.take(2);
    h.setBlocked(2, true);
    const send = (i: number): void => h.send(1, frame({ type: T.FIFO, sender: ALICE, groups: ['g'], data: `${i}` }));
    for (let i = 0; i < 30; i++) send(i); // accepted by the ordering layer, not yet delivered
    h.order();
    // Delivery stopped at half of MaxSessionMessages queued on the blocked socket.
    expect(h.core.queued(2)).toBe(5);
    expect(h.paused).toBe(true);
    expect(h.core.stats.slowReaders).toBe(1);
    expect(h.core.stats.orderingBacklog).toBe(25);
    h.advance(900);
    expect(h.paused).toBe(true);
    const got: string[] = [];
    const pullOne = (): void => {
      got.push(...parseFrames(Buffer.from(h.core.pollTransmit(2)!)).map((f) => Buffer.from(f.data).toString()));
      h.flush(false);
    };
    pullOne();
    pullOne();
    expect(h.core.stats.slowReaders).toBe(1); // 3 queued: not yet caught up
    pullOne(); // 2 queued, a quarter of MaxSessionMessages: caught up
    expect(h.core.stats.slowReaders).toBe(0);
    h.setBlocked(2, false);
    h.order();
    expect(h.paused).toBe(false);
    expect(h.closed.has(2)).toBe(false);
    got.push(...parseFrames(h.take(2)).map((f) => Buffer.from(f.data).toString()));
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => `${i}`));
  });

  it('a reader that does not catch up holds the others back for at most slowReaderGraceMs, then is cut', () => {
    const h = setup({ maxSessionMessages: 10, slowReaderGraceMs: 1000 });
    join(h, 2, BOB, 'g');
    join(h, 3, CAROL, 'g');
    h.take(2);
    h.setBlocked(2, true);
    const send = (i: number): void => h.send(1, frame({ type: T.FIFO, sender: ALICE, groups: ['g'], data: `${i}` }));
    for (let i = 0; i < 5; i++) send(i);
    expect(h.paused).toBe(true);
    h.advance(999);
    expect(h.paused).toBe(true);
    h.advance(1);
    expect(h.paused).toBe(false); // grace over: it no longer holds anyone back
    for (let i = 5; i < 10; i++) send(i);
    expect(h.closed.has(2)).toBe(false);
    send(10);
    expect(h.closed.get(2)).toBe('abort');
    expect(h.core.stats.slowReaders).toBe(0);
    // carol (reading) got all 11 in order.
    const carol = parseFrames(h.take(3)).filter((f) => (f.type & 0x3f) !== 0);
    expect(carol.map((f) => Buffer.from(f.data).toString())).toEqual(Array.from({ length: 11 }, (_, i) => `${i}`));
  });
});

describe('backpressure', () => {
  // 500 messages (the reference's water mark), or 128 KiB of them however few (ours): frames of
  // 20,000 data bytes (+ 48 header + 32 group) reach it at the 7th (6 hold 120,480 bytes).
  it.each([
    { mark: '500 queued messages', data: 'x', atMark: 500 },
    { mark: '128 KiB of queued messages', data: new Uint8Array(20_000), atMark: 7 },
  ])('stops reading clients at $mark and resumes below', ({ data, atMark }) => {
    const h = setup({ autoOrder: false });
    const m = frame({ type: T.AGREED, sender: ALICE, groups: ['g'], data });
    for (let i = 0; i < atMark - 1; i++) h.send(1, m);
    expect(h.paused).toBe(false);
    h.send(1, m);
    expect(h.paused).toBe(true);
    expect(h.core.stats.orderingBacklog).toBe(atMark);
    h.order();
    expect(h.paused).toBe(false);
    expect(h.core.stats.orderingBacklog).toBe(0);
  });
});
