/**
 * The ring engine's side of membership (RingPort): standby before the first ring, Read_form2
 * (installEvs), the EVS rules (old ring id for data, dummies, commit point), Discard_packets in
 * EVS (completeEvs), Backoff_membership, the token-loss and stop calls, and the two down queues.
 */
import { describe, expect, it } from 'vitest';
import { RingEngine } from '../../src/daemon/ring/engine.js';
import { DeliveryThreshold } from '../../src/daemon/ring/constants.js';
import { PacketType } from '../../src/wire/daemon/constants.js';
import type { RingId } from '../../src/wire/daemon/header.js';
import { A, B, C, HASH, RING, data, dataOf, delivered, message, sends, token, tokenOf } from './helpers.js';

const NEW: RingId = { procId: A, time: 2000 };
const m = (n: number, fill: number): Uint8Array => message(n, undefined, fill);

/** Engine of B on ring A,B,C (installed), delivery blocked so that packets stay held. */
function heldAtB(): RingEngine {
  const engine = new RingEngine({ myId: B, segments: [{ daemons: [A, B, C] }], confHash: HASH, deliveryThreshold: DeliveryThreshold.BLOCK });
  engine.install({ ringId: RING, members: [A, B, C] }, 0);
  engine.takeActions();
  return engine;
}

function evsAtB(engine: RingEngine, opts: { holes?: number[]; aru?: number; highest?: number; members?: number[] } = {}) {
  return engine.installEvs({
    ringId: NEW,
    members: opts.members ?? [A, B],
    oldRingId: RING,
    highestSeq: opts.highest ?? 5,
    aru: opts.aru ?? 1,
    holes: opts.holes ?? [4],
    lastSeq: 3338,
    tokenRounds: 0,
  }, 10);
}

describe('ring engine: membership side (EVS)', () => {
  it('standby: nothing sent, tokens vetoed, foreign data and membership packets go up', () => {
    const engine = new RingEngine({ myId: B, segments: [{ daemons: [A, B, C] }], confHash: HASH });
    engine.standby({ procId: B, time: -1 }, [B]);
    expect(engine.tokenAlive).toBe(false);
    engine.handleDatagram('token', token({ from: B, arq: 1, membId: { procId: B, time: -1 } }), 1);
    engine.handleDatagram('data', data({ from: A, seq: 1 }, m(100, 1)), 1);
    const a = engine.takeActions();
    expect(sends(a)).toEqual([]);
    expect(a.map((x) => (x.kind === 'upward' ? x.what : x.kind))).toEqual(['foreign']);
    expect(engine.stats.tokensSwallowed).toBe(1);
  });

  it('installEvs delivers up to the record\'s aru, makes holes dummies and keeps the old id for data', () => {
    const engine = heldAtB();
    for (const seq of [1, 2, 3]) engine.handleDatagram('data', data({ from: A, seq }, m(100, seq)), 1);
    expect(delivered(engine.takeActions())).toEqual([]);
    const d = evsAtB(engine);
    expect(d.map((x) => x.seq)).toEqual([1]);
    expect(engine.mode).toBe('evs');
    expect([engine.highestSeq, engine.aru, engine.lastDiscarded, engine.tokenRounds]).toEqual([5, 0, 1, 0]);
    expect(engine.packetRingId).toEqual(RING);
    expect(engine.activeRingId).toEqual(NEW);
    expect(engine.timerDeadline('tokenLoss')).toBe(10 + 1250);

    // The first regular token of the new ring, from my predecessor A (ARQ 1): no new packets in
    // EVS, My_aru passes the dummy 4, stops at 5, which is requested with the OLD ring id.
    engine.submit(m(100, 9), PacketType.AGREED, 11);
    engine.takeActions();
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: 0, aru: 3, membId: NEW }), 12);
    const a = engine.takeActions();
    const out = sends(a);
    expect(out).toHaveLength(1);
    const t = tokenOf(out[0]!);
    expect(t.header.membId).toEqual(NEW);
    expect(t.header.seq).toBe(0); // not rewritten in EVS
    expect(t.rtr).toEqual([{ membId: RING, procId: B, segIndex: 0, seqs: [5] }]);
    expect(engine.myAru).toBe(4);
    expect(delivered(a)).toEqual([]);

    // Packet 5 of the old ring arrives (retransmitted by A); the next token commits.
    engine.handleDatagram('data', data({ from: A, seq: 5 }, m(100, 5)), 13);
    engine.handleDatagram('token', token({ from: A, arq: 2, seq: 0, aru: 3338, membId: NEW }), 14);
    expect(engine.myAru).toBe(3338);
    expect(tokenOf(sends(engine.takeActions())[0]!).header.aru).toBe(3338);
  });

  it('completeEvs: old messages up to the first dummy, then the rest from commit members only; fresh counters', () => {
    const engine = heldAtB();
    engine.handleDatagram('data', data({ from: A, seq: 1 }, m(100, 1)), 1);
    engine.handleDatagram('data', data({ from: A, seq: 2 }, m(100, 2)), 1);
    engine.handleDatagram('data', data({ from: C, seq: 3 }, m(100, 3)), 1);
    engine.handleDatagram('data', data({ from: C, seq: 5 }, m(100, 5)), 1);
    engine.handleDatagram('data', data({ from: A, seq: 6 }, m(100, 6)), 1);
    engine.takeActions();
    evsAtB(engine, { aru: 1, highest: 6, holes: [4] });
    const r = engine.completeEvs([A, B]);
    expect(r.beforeTransitional.map((x) => x.seq)).toEqual([2, 3]);
    expect(r.afterTransitional.map((x) => x.seq)).toEqual([6]); // 5 is C's, after the hole
    expect(engine.mode).toBe('op');
    expect([engine.highestSeq, engine.myAru, engine.aru, engine.lastDiscarded, engine.lastDelivered]).toEqual([0, 0, 0, 0, 0]);
    expect(engine.packetRingId).toEqual(NEW);
  });

  it('completeEvs: a SAFE packet ends what goes before the transitional configuration', () => {
    const engine = heldAtB();
    engine.handleDatagram('data', data({ from: A, seq: 1, type: PacketType.SAFE }, message(100, 0x10, 1)), 1);
    engine.handleDatagram('data', data({ from: C, seq: 2 }, m(100, 2)), 1);
    engine.takeActions();
    evsAtB(engine, { aru: 0, highest: 2, holes: [] });
    const r = engine.completeEvs([A, B]);
    expect(r.beforeTransitional).toEqual([]);
    expect(r.afterTransitional.map((x) => x.seq)).toEqual([1, 2]); // no hole: C's too
  });

  it('after completeEvs my data packets carry the new id and a fresh seq; my partly sent message restarts', () => {
    const engine = heldAtB();
    evsAtB(engine, { aru: 0, highest: 0, holes: [] });
    engine.completeEvs([A, B]);
    engine.submit(m(100, 7), PacketType.AGREED, 20);
    engine.takeActions();
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: 0, aru: 0, membId: NEW }), 21);
    const out = sends(engine.takeActions()).filter((s) => s.channel === 'data');
    expect(out).toHaveLength(1);
    const p = dataOf(out[0]!);
    expect(p.header.membId).toEqual(NEW);
    expect(p.header.seq).toBe(1);
  });

  it('backoff: dummies become holes again, Aru = Last_discarded, My_aru recomputed', () => {
    const engine = heldAtB();
    for (const seq of [1, 2, 3]) engine.handleDatagram('data', data({ from: A, seq }, m(100, seq)), 1);
    engine.takeActions();
    evsAtB(engine, { aru: 1, highest: 6, holes: [4] });
    engine.handleDatagram('data', data({ from: A, seq: 5 }, m(100, 5)), 11);
    engine.backoff();
    expect(engine.mode).toBe('op');
    expect([engine.aru, engine.myAru, engine.lastDiscarded]).toEqual([1, 3, 1]);
    expect(engine.hasReceived(4)).toBe(false);
    expect(engine.hasReceived(5)).toBe(true);
  });

  it('loseToken and stopToken veto tokens, block delivery and cancel timers without a tokenLost action', () => {
    const engine = heldAtB();
    engine.setDeliveryThreshold(DeliveryThreshold.ALL);
    engine.loseToken();
    let a = engine.takeActions();
    expect(a.some((x) => x.kind === 'tokenLost')).toBe(false);
    expect(a.filter((x) => x.kind === 'timer')).toEqual([{ kind: 'timer', timer: 'tokenLoss', at: null }]);
    expect(engine.tokenAlive).toBe(false);
    expect(engine.deliveryThreshold).toBe(DeliveryThreshold.BLOCK);
    engine.handleDatagram('token', token({ from: A, arq: 1 }), 2);
    expect(sends(engine.takeActions())).toEqual([]);

    const e2 = heldAtB();
    e2.stopToken();
    a = e2.takeActions();
    expect(a.some((x) => x.kind === 'tokenLost')).toBe(false);
    expect(e2.tokenAlive).toBe(false);
    e2.loseToken(); // idempotent
    expect(e2.takeActions().some((x) => x.kind === 'tokenLost')).toBe(false);
  });

  it('down queues: GROUPS messages go first while the groups queue is current; normal ones wait', () => {
    const engine = new RingEngine({ myId: A, segments: [{ daemons: [A, B, C] }], confHash: HASH });
    engine.install({ ringId: RING, members: [A, B, C] }, 0);
    engine.takeActions();
    engine.setDownQueue('groups', 0);
    engine.submit(m(100, 1), PacketType.AGREED, 0, 'normal');
    engine.submit(m(100, 2), PacketType.RELIABLE, 0);
    expect(engine.queuedMessages).toBe(2);
    expect(engine.queueLength).toBe(1);
    engine.handleDatagram('token', token({ from: C, arq: 0, seq: 0, aru: 0x7fffffff, aruLastId: -1 }), 1);
    let out = sends(engine.takeActions()).filter((s) => s.channel === 'data');
    expect(out.map((s) => dataOf(s).fragments[0]!.data[100 - 20])).toEqual([2]);
    engine.setDownQueue('normal', 2);
    engine.handleDatagram('token', token({ from: C, arq: 1, seq: 1, aru: 1 }), 3);
    out = sends(engine.takeActions()).filter((s) => s.channel === 'data');
    expect(out.map((s) => dataOf(s).fragments[0]!.data[100 - 20])).toEqual([1]);
  });
});
