/** Delivery rules: reliable bypass, agreed order, safe stability, reassembly, thresholds. */
import { describe, expect, it } from 'vitest';
import { PacketType } from '../../src/wire/daemon/constants.js';
import { DeliveryThreshold } from '../../src/daemon/ring/constants.js';
import { A, B, C, data, delivered, make, message, sends, token } from './helpers.js';

const m = (n: number, fill: number): Uint8Array => message(n, undefined, fill);

describe('delivery', () => {
  it('a single-packet RELIABLE message overtakes; AGREED waits for the hole', () => {
    const { engine } = make(B);
    engine.handleDatagram('data', data({ from: A, seq: 2, type: PacketType.RELIABLE }, m(100, 2)), 1);
    engine.handleDatagram('data', data({ from: A, seq: 3, type: PacketType.AGREED }, m(100, 3)), 1);
    expect(delivered(engine.takeActions()).map((d) => d.seq)).toEqual([2]);
    engine.handleDatagram('data', data({ from: A, seq: 1, type: PacketType.FIFO }, m(100, 1)), 1);
    expect(delivered(engine.takeActions()).map((d) => d.seq)).toEqual([1, 3]); // 2 not again
    expect(engine.lastDelivered).toBe(3);
  });

  it('a multi-packet RELIABLE message is delivered in order, whole', () => {
    const big = m(2000, 7);
    const { engine } = make(B);
    const frag = (seq: number, index: number, from: number, to: number): Uint8Array =>
      data({ from: A, seq, type: PacketType.RELIABLE, fragments: [{ index, data: big.subarray(from, to) }] });
    engine.handleDatagram('data', frag(2, -2, 1432, 2000), 1);
    expect(delivered(engine.takeActions())).toEqual([]);
    engine.handleDatagram('data', frag(1, 1, 0, 1432), 1);
    const d = delivered(engine.takeActions());
    expect(d).toHaveLength(1);
    expect(d[0]!).toMatchObject({ seq: 2, sender: A, packetType: PacketType.RELIABLE });
    expect(d[0]!.message).toEqual(big);
  });

  it('packed messages come out after the packet\'s first message, each whole', () => {
    const { engine } = make(B);
    engine.handleDatagram('data', data({ from: A, seq: 1 }, m(81, 1), m(83, 2), m(90, 3)), 1);
    expect(delivered(engine.takeActions()).map((d) => [d.message.length, d.message[100 - 20]])).toEqual([[81, 1], [83, 2], [90, 3]]);
  });

  it('fragments of different senders interleave without mixing', () => {
    const a = m(1500, 0xa);
    const c = m(1500, 0xc);
    const { engine } = make(B);
    const frag = (from: number, seq: number, msg: Uint8Array, first: boolean): Uint8Array =>
      data({ from, seq, fragments: [{ index: first ? 1 : -2, data: first ? msg.subarray(0, 1432) : msg.subarray(1432) }] });
    engine.handleDatagram('data', frag(A, 1, a, true), 1);
    engine.handleDatagram('data', frag(C, 2, c, true), 1);
    engine.handleDatagram('data', frag(A, 3, a, false), 1);
    engine.handleDatagram('data', frag(C, 4, c, false), 1);
    const d = delivered(engine.takeActions());
    expect(d.map((x) => [x.sender, x.seq])).toEqual([[A, 3], [C, 4]]);
    expect(d[0]!.message).toEqual(a);
    expect(d[1]!.message).toEqual(c);
  });

  it('my own messages are delivered only once they have their ring seq (at the token)', () => {
    const { engine } = make(A);
    engine.submit(m(100, 1), PacketType.AGREED, 0);
    engine.submit(m(100, 2), PacketType.RELIABLE, 0);
    expect(delivered(engine.takeActions())).toEqual([]);
    engine.handleDatagram('token', token({ from: C, arq: 0, aru: 0x7fffffff, aruLastId: -1 }), 1);
    expect(delivered(engine.takeActions()).map((d) => [d.seq, d.sender])).toEqual([[1, A], [2, A]]);
  });

  it('BLOCK holds everything but stability; lowering the threshold delivers what waited', () => {
    const { engine } = make(B, { deliveryThreshold: DeliveryThreshold.BLOCK });
    engine.handleDatagram('data', data({ from: A, seq: 2, type: PacketType.RELIABLE }, m(100, 2)), 1);
    engine.handleDatagram('data', data({ from: A, seq: 1, type: PacketType.AGREED }, m(100, 1)), 1);
    expect(delivered(engine.takeActions())).toEqual([]);
    engine.setDeliveryThreshold(DeliveryThreshold.AGREED); // agreed only: reliable waits its turn
    expect(delivered(engine.takeActions()).map((d) => d.seq)).toEqual([1, 2]);

    const other = make(B, { deliveryThreshold: DeliveryThreshold.BLOCK }).engine;
    other.handleDatagram('data', data({ from: A, seq: 2, type: PacketType.RELIABLE }, m(100, 2)), 1);
    other.setDeliveryThreshold(DeliveryThreshold.ALL);
    expect(delivered(other.takeActions()).map((d) => d.seq)).toEqual([2]);
  });

  it('stability delivers regardless of the threshold (Discard_packets)', () => {
    const { engine } = make(B, { deliveryThreshold: DeliveryThreshold.BLOCK });
    engine.handleDatagram('data', data({ from: A, seq: 1, type: PacketType.SAFE }, m(100, 1)), 1);
    engine.handleDatagram('token', token({ from: A, arq: 1, seq: 1, aru: 1, aruLastId: A }), 2);
    engine.handleDatagram('token', token({ from: A, arq: 2, seq: 1, aru: 1, aruLastId: C }), 3);
    const out = engine.takeActions();
    expect(sends(out)).toHaveLength(2);
    expect(delivered(out).map((d) => d.seq)).toEqual([1]);
    expect(engine.lastDiscarded).toBe(1);
    expect(engine.hasReceived(1)).toBe(true);
  });
});
