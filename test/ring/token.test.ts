/**
 * Token rules of the operational ring: acceptance (ARQ / RETRANS), forwarding, the token aru
 * and Aru, flow control, hold and hurry, token loss, sequence wrap.
 */
import { describe, expect, it } from 'vitest';
import { PacketType, getArq, getRetrans } from '../../src/wire/daemon/constants.js';
import { MAX_WRAP_SEQUENCE_VALUE, RING_DEFAULTS } from '../../src/daemon/ring/constants.js';
import { ServiceType } from '../../src/wire/client/constants.js';
import { A, B, C, D, HASH, RING, data, delivered, hex, make, message, sends, token, tokenOf } from './helpers.js';

describe('installing a ring', () => {
  it('the last member sends the first token twice to the leader; everyone arms the token-loss timer', () => {
    const { actions } = make(C);
    const s = sends(actions);
    expect(s).toHaveLength(2);
    expect(s[0]!.bytes).toBe(s[1]!.bytes);
    expect(s[0]).toMatchObject({ channel: 'token', to: 'proc', target: A });
    const t = tokenOf(s[0]!).header;
    expect(t).toMatchObject({ type: 0, seq: 0, aru: 0x7fffffff, aruLastId: -1, flowControl: 0, rtrLen: 0, membId: RING, confHash: HASH });
    expect(actions).toContainEqual({ kind: 'timer', timer: 'tokenLoss', at: RING_DEFAULTS.tokenTimeout });
    expect(sends(make(A).actions)).toHaveLength(0);
    expect(sends(make(B).actions)).toHaveLength(0);
  });

  it('a singleton ring passes the token to itself', () => {
    const { engine, actions } = make(A, {}, [A], [[A]]);
    const first = sends(actions);
    expect(first.map((a) => a.target)).toEqual([A, A]);
    engine.submit(message(100), PacketType.AGREED, 1);
    engine.takeActions();
    engine.handleDatagram('token', first[0]!.bytes, 1);
    const out = engine.takeActions();
    expect(sends(out).map((a) => a.channel)).toEqual(['token']); // no one to send data to
    expect(delivered(out)).toHaveLength(1);
    engine.handleDatagram('token', first[1]!.bytes, 1); // the second copy: ARQ 0 again
    expect(sends(engine.takeActions())).toHaveLength(0);
    expect(engine.stats.tokensSwallowed).toBe(1);
  });
});

describe('token acceptance (ARQ / RETRANS)', () => {
  it('a non-leader takes ARQ = last + 1 from its predecessor and forwards it unchanged in ARQ', () => {
    const { engine } = make(B);
    engine.handleDatagram('token', token({ from: A, arq: 1 }), 1);
    const s = sends(engine.takeActions());
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ channel: 'token', to: 'proc', target: C });
    const t = tokenOf(s[0]!).header;
    expect(getArq(t.type)).toBe(1);
    expect(getRetrans(t.type)).toBe(0);
    expect(t.transmitterId).toBe(B);
    expect(t.procId).toBe(B);
  });

  it('swallows duplicates, outdated tokens, and tokens of other rings, senders or configurations', () => {
    const { engine } = make(B);
    engine.handleDatagram('token', token({ from: A, arq: 1 }), 1);
    engine.takeActions();
    const swallowed = (bytes: Uint8Array): void => {
      engine.handleDatagram('token', bytes, 2);
      expect(sends(engine.takeActions())).toEqual([]);
    };
    swallowed(token({ from: A, arq: 1 })); // duplicate
    swallowed(token({ from: A, arq: 3 })); // neither last nor last + 1
    swallowed(token({ from: A, arq: 0 }));
    swallowed(token({ from: C, arq: 2 })); // not my predecessor
    swallowed(token({ from: A, arq: 2, membId: { procId: A, time: 999 } }));
    swallowed(token({ from: A, arq: 2, hash: HASH + 1 }));
    const long = new Uint8Array(41);
    long.set(token({ from: A, arq: 2 }));
    swallowed(long); // datagram length != 40 + rtr_len
    expect(engine.stats.tokensSwallowed).toBe(5);
    expect(engine.stats.wrongHash).toBe(1);
    expect(engine.stats.malformed).toBe(1);
    engine.handleDatagram('token', token({ from: A, arq: 2 }), 3);
    expect(sends(engine.takeActions())).toHaveLength(1);
  });

  it('same ARQ with a higher RETRANS: resend my last token, header only; three copies once RETRANS > 1', () => {
    const { engine } = make(B);
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: 0 }), 1);
    const mine = tokenOf(sends(engine.takeActions())[0]!).header;
    engine.handleDatagram('token', token({ from: A, arq: 1, retrans: 1 }), 2);
    let s = sends(engine.takeActions());
    expect(s).toHaveLength(1);
    const again = tokenOf(s[0]!).header;
    expect({ ...again, type: 0 }).toEqual({ ...mine, type: 0 });
    expect(getRetrans(again.type)).toBe(1);
    expect(again.rtrLen).toBe(0);
    engine.handleDatagram('token', token({ from: A, arq: 1, retrans: 2 }), 3);
    s = sends(engine.takeActions());
    expect(s).toHaveLength(3);
    expect(getRetrans(tokenOf(s[2]!).header.type)).toBe(2);
    engine.handleDatagram('token', token({ from: A, arq: 1, retrans: 2 }), 4); // not higher: swallowed
    expect(sends(engine.takeActions())).toEqual([]);
  });

  it('the leader takes only the ARQ it sent last, then counts ARQ up and clears RETRANS', () => {
    const { engine } = make(A);
    engine.handleDatagram('token', token({ from: C, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 1);
    let t = tokenOf(sends(engine.takeActions())[0]!).header;
    expect(getArq(t.type)).toBe(1);
    expect(t.aru).toBe(0);
    expect(t.aruLastId).toBe(A);
    engine.handleDatagram('token', token({ from: C, arq: 0 }), 2); // the second copy of the first token
    expect(sends(engine.takeActions())).toEqual([]);
    engine.handleDatagram('token', token({ from: C, arq: 1, retrans: 3 }), 3);
    t = tokenOf(sends(engine.takeActions())[0]!).header;
    expect(getArq(t.type)).toBe(2);
    expect(getRetrans(t.type)).toBe(0);
  });

  it('ARQ wraps modulo 16', () => {
    const { engine } = make(B);
    for (let i = 1; i <= 17; i++) {
      engine.handleDatagram('token', token({ from: A, arq: i & 0xf }), i);
      expect(sends(engine.takeActions())).toHaveLength(1);
    }
  });
});

describe('token aru, seq and Aru', () => {
  it('a daemon missing packets lowers the aru and becomes aru_last_id; seq becomes Highest_seq', () => {
    const { engine } = make(B);
    engine.handleDatagram('data', data({ from: A, seq: 1 }, message(100)), 1);
    engine.handleDatagram('data', data({ from: A, seq: 5 }, message(100)), 1);
    engine.takeActions();
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: 3, aru: 3, aruLastId: A }), 2);
    const t = tokenOf(sends(engine.takeActions())[0]!).header;
    expect(t).toMatchObject({ aru: 1, aruLastId: B, seq: 5 });
  });

  it('keeps a lower aru set by another daemon, raises its own, raises when aru = seq', () => {
    const run = (aru: number, aruLastId: number, seq: number): { aru: number; aruLastId: number } => {
      const { engine } = make(B);
      for (let s = 1; s <= 4; s++) engine.handleDatagram('data', data({ from: A, seq: s }, message(100)), 1);
      engine.handleDatagram('token', token({ from: A, arq: 1, seq, aru, aruLastId }), 2);
      const t = tokenOf(sends(engine.takeActions())[0]!).header;
      return { aru: t.aru, aruLastId: t.aruLastId };
    };
    expect(run(2, C, 4)).toEqual({ aru: 2, aruLastId: C }); // C misses 3: stays
    expect(run(2, B, 4)).toEqual({ aru: 4, aruLastId: B }); // I lowered it before: raise
    expect(run(3, C, 3)).toEqual({ aru: 4, aruLastId: B }); // everyone had everything up to seq
  });

  it('Aru is the lower aru of the tokens sent this round and the last; SAFE waits for it', () => {
    const { engine } = make(A);
    engine.handleDatagram('token', token({ from: C, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 1);
    engine.takeActions();
    engine.submit(message(100, ServiceType.SAFE_MESS), PacketType.SAFE, 2);
    engine.submit(message(100, ServiceType.AGREED_MESS), PacketType.AGREED, 2);
    engine.takeActions();
    engine.handleDatagram('token', token({ from: C, arq: 1, seq: 0, aru: 0, aruLastId: C }), 3);
    let out = engine.takeActions();
    const t = tokenOf(sends(out).find((a) => a.channel === 'token')!).header;
    expect(t).toMatchObject({ seq: 2, aru: 2, aruLastId: A });
    expect(engine.aru).toBe(0); // min(2, 0)
    expect(delivered(out)).toEqual([]); // SAFE first: the AGREED behind it waits too
    engine.handleDatagram('token', token({ from: C, arq: 2, seq: 2, aru: 2, aruLastId: C }), 4);
    out = engine.takeActions();
    expect(engine.aru).toBe(2);
    expect(delivered(out).map((d) => d.seq)).toEqual([1, 2]);
    expect(engine.lastDiscarded).toBe(2);
  });
});

describe('flow control', () => {
  it('FC_allowed: Window + PersonalWindow − fc, within 0..min(Window, PersonalWindow)', () => {
    const { engine } = make(B);
    expect([0, 100, 170, 175, 180, 500].map((fc) => engine.allowedNewPackets(fc))).toEqual([20, 20, 10, 5, 0, 0]);
    const small = make(B, { window: 10, personalWindow: 5, acceleratedWindow: 5 }).engine;
    expect([0, 10, 12, 15].map((fc) => small.allowedNewPackets(fc))).toEqual([5, 5, 3, 0]);
    small.setFlowControl({ window: 60, personalWindow: -1 });
    expect(small.windows).toEqual({ window: 60, personalWindow: 5, acceleratedWindow: 5 });
  });

  it('nothing new while Highest_seq > Aru + 1600', () => {
    const { engine } = make(B);
    engine.handleDatagram('data', data({ from: A, seq: 1600 }, message(100)), 1);
    expect(engine.allowedNewPackets(0)).toBe(20);
    engine.handleDatagram('data', data({ from: A, seq: 1601 }, message(100)), 1);
    expect(engine.allowedNewPackets(0)).toBe(0);
  });

  it('the token fc replaces my last contribution with this visit\'s', () => {
    const { engine } = make(B);
    for (let i = 0; i < 30; i++) engine.submit(message(1000), PacketType.AGREED, 0);
    engine.handleDatagram('token', token({ from: A, arq: 1, fc: 7 }), 1);
    let t = tokenOf(sends(engine.takeActions()).find((a) => a.channel === 'token')!).header;
    expect(t.flowControl).toBe(7 + 20);
    expect(t.seq).toBe(20);
    engine.handleDatagram('token', token({ from: A, arq: 2, seq: 20, aru: 20, fc: 27 }), 2);
    t = tokenOf(sends(engine.takeActions()).find((a) => a.channel === 'token')!).header;
    // allowed = 160 + 20 − 27 = 153 → 20 by PersonalWindow, but only 10 are left
    expect(t.flowControl).toBe(27 - 20 + 10);
  });
});

describe('original and accelerated ring', () => {
  const visit = (accelerated: boolean, acceleratedWindow = 15): { order: string[]; rounds: number[] } => {
    const { engine } = make(A, { accelerated, acceleratedWindow });
    for (let i = 0; i < 25; i++) engine.submit(message(1000), PacketType.AGREED, 0);
    engine.takeActions();
    engine.handleDatagram('token', token({ from: C, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 1);
    const s = sends(engine.takeActions());
    return {
      order: s.map((a) => (a.channel === 'token' ? 'T' : String(new DataView(a.bytes.buffer, a.bytes.byteOffset).getInt32(20, true)))),
      rounds: s.filter((a) => a.channel === 'data').map((a) => new DataView(a.bytes.buffer, a.bytes.byteOffset).getInt32(24, true)),
    };
  };

  it('original: all new packets, then the token; token_round is the round before the token', () => {
    const { order, rounds } = visit(false);
    expect(order).toEqual([...Array.from({ length: 20 }, (_, i) => String(i + 1)), 'T']);
    expect(new Set(rounds)).toEqual(new Set([0]));
  });

  it('accelerated: the last AcceleratedWindow packets go after the token, stamped with the next round', () => {
    const { order, rounds } = visit(true);
    expect(order).toEqual(['1', '2', '3', '4', '5', 'T', ...Array.from({ length: 15 }, (_, i) => String(i + 6))]);
    expect(rounds).toEqual([0, 0, 0, 0, 0, ...new Array<number>(15).fill(1)]);
    expect(visit(true, 0).order.at(-1)).toBe('T'); // AcceleratedWindow 0: nothing held back
  });

  it('accelerated: only holes up to the seq of my last token are requested', () => {
    const { engine } = make(B, { accelerated: true });
    engine.handleDatagram('data', data({ from: A, seq: 1 }, message(100)), 1);
    engine.handleDatagram('data', data({ from: A, seq: 3 }, message(100)), 1);
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: 3, aru: 3 }), 2);
    expect(tokenOf(sends(engine.takeActions())[0]!).rtr).toEqual([]); // my last token had seq 0
    engine.handleDatagram('token', token({ from: A, arq: 2, seq: 3, aru: 1, aruLastId: B }), 3);
    expect(tokenOf(sends(engine.takeActions())[0]!).rtr).toEqual([{ membId: RING, procId: B, segIndex: 0, seqs: [2] }]);
  });

  it('accelerated: a packet my predecessor sent after a token I have not seen gives the token priority', () => {
    const { engine } = make(C, { accelerated: true });
    engine.handleDatagram('data', data({ from: B, seq: 1, round: 0 }, message(100)), 1);
    expect(engine.tokenHasPriority).toBe(false);
    engine.handleDatagram('data', data({ from: A, seq: 2, round: 5 }, message(100)), 1);
    expect(engine.tokenHasPriority).toBe(false); // not my predecessor
    engine.handleDatagram('data', data({ from: B, seq: 3, round: 1 }, message(100)), 1);
    expect(engine.tokenHasPriority).toBe(true);
    engine.handleDatagram('token', token({ from: B, arq: 1, seq: 3 }), 2);
    expect(engine.tokenHasPriority).toBe(false);
  });
});

describe('token hold and hurry', () => {
  /** Leader A after `n` idle rounds. */
  const idleLeader = (n: number): ReturnType<typeof make>['engine'] => {
    const { engine } = make(A);
    engine.handleDatagram('token', token({ from: C, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 0);
    for (let i = 1; i < n; i++) engine.handleDatagram('token', token({ from: C, arq: i, seq: 0, aru: 0 }), i);
    engine.takeActions();
    return engine;
  };

  it('an idle leader holds the token once Token_counter > 1, and the hurry timer lets it go with RETRANS 1, 2 (×3)', () => {
    // Visits 1 and 2 find Aru = Highest_seq (counter 1, 2) and forward; visit 3 holds.
    const engine = idleLeader(2);
    expect(engine.stats.tokenHolds).toBe(0);
    engine.handleDatagram('token', token({ from: C, arq: 2, seq: 0, aru: 0 }), 20);
    let out = engine.takeActions();
    expect(sends(out)).toEqual([]); // held
    expect(engine.stats.tokenHolds).toBe(1);
    expect(out).toContainEqual({ kind: 'timer', timer: 'hurry', at: 520 });
    engine.handleTimer('hurry', 519); // not yet
    expect(sends(engine.takeActions())).toEqual([]);
    engine.handleTimer('hurry', 520);
    out = engine.takeActions();
    let s = sends(out);
    expect(s).toHaveLength(1);
    expect(getArq(tokenOf(s[0]!).header.type)).toBe(3);
    expect(getRetrans(tokenOf(s[0]!).header.type)).toBe(1);
    expect(out).toContainEqual({ kind: 'timer', timer: 'hurry', at: 1020 });
    engine.handleTimer('hurry', 1020);
    s = sends(engine.takeActions());
    expect(s).toHaveLength(3);
    expect(getRetrans(tokenOf(s[0]!).header.type)).toBe(2);
  });

  it('a message at a holding leader releases the token at once', () => {
    const engine = idleLeader(3);
    expect(engine.stats.tokenHolds).toBe(1);
    engine.submit(message(100), PacketType.AGREED, 30);
    const s = sends(engine.takeActions());
    expect(s).toHaveLength(1);
    expect(getRetrans(tokenOf(s[0]!).header.type)).toBe(1);
    engine.submit(message(100), PacketType.AGREED, 31); // not the first queued message: nothing
    expect(sends(engine.takeActions())).toEqual([]);
  });

  it('a message at an idle non-leader sends a HURRY to the leader, which then releases its token', () => {
    const { engine: b } = make(B);
    for (let i = 1; i <= 3; i++) b.handleDatagram('token', token({ from: A, arq: i, seq: 0, aru: 0 }), i);
    b.takeActions();
    b.submit(message(100), PacketType.AGREED, 10);
    const s = sends(b.takeActions());
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ channel: 'data', to: 'proc', target: A });
    // As captured (ring-ns-acc-bulk 1.4571): type HURRY, transmitter and proc = me, hash, zeros.
    expect(hex(s[0]!.bytes)).toBe('c0000080' + '0200000a' + '0200000a' + '00'.repeat(16) + '78563412' + '00'.repeat(8));

    const a = idleLeader(3);
    a.handleDatagram('data', s[0]!.bytes, 11);
    const r = sends(a.takeActions());
    expect(r).toHaveLength(1);
    expect(getRetrans(tokenOf(r[0]!).header.type)).toBe(1);
    expect(a.stats.hurryReceived).toBe(1);
  });

  it('a HURRY from a configured daemon outside the ring is ignored', () => {
    const { engine } = make(A, {}, [A, B, C], [[A, B, C, D]]);
    engine.handleDatagram('token', token({ from: C, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 0);
    for (let i = 1; i < 3; i++) engine.handleDatagram('token', token({ from: C, arq: i, seq: 0, aru: 0 }), i);
    engine.takeActions();
    expect(engine.stats.tokenHolds).toBe(1);
    const hurry = new Uint8Array(40);
    const v = new DataView(hurry.buffer);
    v.setUint32(0, 0x80000040, true);
    v.setInt32(4, D, true);
    v.setInt32(8, D, true);
    v.setUint32(28, HASH, true);
    engine.handleDatagram('data', hurry, 10);
    expect(sends(engine.takeActions())).toEqual([]);
  });
});

describe('token loss and sequence wrap', () => {
  it('the token-loss timer reports the loss once and the ring stops taking tokens', () => {
    const { engine } = make(B);
    engine.handleTimer('tokenLoss', 1000); // stale: armed for 1250
    expect(engine.takeActions()).toEqual([]);
    engine.handleTimer('tokenLoss', 1250);
    expect(engine.takeActions()).toContainEqual({ kind: 'tokenLost' });
    expect(engine.tokenAlive).toBe(false);
    engine.handleDatagram('token', token({ from: A, arq: 1 }), 1300);
    expect(sends(engine.takeActions())).toEqual([]);
  });

  it('every token and every packet of my ring re-arm the token-loss timer (and the leader\'s hurry timer)', () => {
    const { engine } = make(A);
    engine.handleDatagram('data', data({ from: B, seq: 1 }, message(100)), 700);
    const out = engine.takeActions();
    expect(out).toContainEqual({ kind: 'timer', timer: 'tokenLoss', at: 1950 });
    expect(out).toContainEqual({ kind: 'timer', timer: 'hurry', at: 1200 });
  });

  it('a token whose seq passed 2^30 is swallowed (membership starts over with a new ring)', () => {
    const { engine } = make(B);
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: MAX_WRAP_SEQUENCE_VALUE + 1 }), 1);
    expect(sends(engine.takeActions())).toEqual([]);
    expect(engine.stats.seqWrapSwallowed).toBe(1);
  });

  it('counters starting near the wrap run into the guard', () => {
    const engine = make(A, {}, [A], [[A]]).engine;
    engine.install({ ringId: RING, members: [A], initialSeq: MAX_WRAP_SEQUENCE_VALUE - 5 }, 0);
    let t = sends(engine.takeActions())[0]!.bytes;
    for (let i = 0; i < 8; i++) engine.submit(message(1000), PacketType.AGREED, 0);
    let swallowed = false;
    for (let i = 0; i < 10 && !swallowed; i++) {
      engine.handleDatagram('token', t, i);
      const s = sends(engine.takeActions());
      if (s.length === 0) swallowed = true;
      else t = s.find((a) => a.channel === 'token')!.bytes;
    }
    expect(swallowed).toBe(true);
    expect(engine.stats.seqWrapSwallowed).toBe(1);
    expect(engine.highestSeq).toBeGreaterThan(MAX_WRAP_SEQUENCE_VALUE);
  });
});
