import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { screenDatagram, UdpDrop } from '../../src/daemon/net/udp-screen.js';
import { MONITOR_HASH, MONITOR_MAGIC, PacketType } from '../../src/wire/daemon/constants.js';
import { encodePacketHeaderInto, encodeTokenHeaderInto } from '../../src/wire/daemon/header.js';
import { ipValue, loadCapture, RING_LO_ACC_HASH } from './support.js';

const capture = loadCapture('ring-lo-acc');
const LO1 = ipValue('127.0.0.1');
const LO2 = ipValue('127.0.0.2');

function first(pred: (d: (typeof capture)[number]) => boolean): Uint8Array {
  const d = capture.find(pred);
  if (d === undefined) throw new Error('capture has no such datagram');
  return d.bytes;
}

// Captured datagrams (little-endian reference writer).
const JOIN = first((d) => d.channel === 'data' && d.bytes[1] === 0x02 && d.bytes.length === 60); // JOIN from 127.0.0.1
const AGREED = first((d) => d.channel === 'data' && d.bytes[0] === 0xa8); // routed AGREED data packet from 127.0.0.1
const FORM1 = first((d) => d.channel === 'token' && d.bytes[1] === 0x10);
const TOKEN = first((d) => d.channel === 'token' && d.bytes.length === 40);

function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const b = bytes.slice();
  new DataView(b.buffer, b.byteOffset).setUint32(offset, value >>> 0, true);
  return b;
}

/** The same header written by a big-endian daemon (all header ints flipped, marker bits clear). */
function toBigEndianPacket(bytes: Uint8Array): Uint8Array {
  const b = bytes.slice();
  const src = new DataView(bytes.buffer, bytes.byteOffset);
  const dst = new DataView(b.buffer, b.byteOffset);
  dst.setUint32(0, (src.getUint32(0, true) & ~0x80000080) >>> 0, false);
  for (const o of [4, 8, 12, 16, 20, 24, 28]) dst.setUint32(o, src.getUint32(o, true), false);
  dst.setInt16(32, src.getInt16(32, true), false);
  return b;
}

function packet(fields: { type: number; transmitter: number; confHash: number; dataLen?: number; membProc?: number }, bodyLen = 0): Uint8Array {
  const buf = new Uint8Array(40 + bodyLen);
  encodePacketHeaderInto(
    {
      type: fields.type, transmitterId: fields.transmitter, procId: fields.transmitter, membId: { procId: fields.membProc ?? 0, time: 0 },
      seq: 0, tokenRound: 0, confHash: fields.confHash, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0,
    },
    fields.dataLen ?? bodyLen, buf, 0,
  );
  return buf;
}

function token(fields: { transmitter: number; confHash: number; rtrLen?: number }, bodyLen = 0): Uint8Array {
  const buf = new Uint8Array(40 + bodyLen);
  encodeTokenHeaderInto(
    { type: 0, transmitterId: fields.transmitter, procId: fields.transmitter, membId: { procId: 0, time: 0 }, seq: 0, aru: 0, aruLastId: 0, flowControl: 0, rtrLen: 0, confHash: fields.confHash },
    fields.rtrLen ?? bodyLen, buf, 0,
  );
  return buf;
}

describe('screenDatagram: the reference capture', () => {
  it('every datagram of ring-lo-acc passes at its destination, except a daemon\'s own echo', () => {
    let echoes = 0;
    for (const d of capture) {
      const transmitter = new DataView(d.bytes.buffer, d.bytes.byteOffset).getInt32(4, true);
      const verdict = screenDatagram(d.channel, d.bytes, d.dstIp, RING_LO_ACC_HASH);
      if (d.channel === 'data' && transmitter === d.dstIp) {
        expect(verdict).toBe(UdpDrop.OWN_ECHO);
        echoes++;
      } else {
        expect(verdict, `${d.t} ${d.src} -> ${d.dst}`).toBeNull();
      }
    }
    expect(echoes).toBeGreaterThan(0); // JOINs a daemon unicasts to itself as a potential rep
    // Tokens a singleton ring sends to itself (transmitter = me) are NOT dropped.
    expect(capture.some((d) => d.channel === 'token' && d.dstIp === LO1 && screenDatagram('token', d.bytes, LO1, RING_LO_ACC_HASH) === null)).toBe(true);
  });

  it('every datagram of ring-lo-acc is dropped by a daemon of another configuration', () => {
    for (const d of capture) expect(screenDatagram(d.channel, d.bytes, d.dstIp, RING_LO_ACC_HASH + 1)).toBe(UdpDrop.WRONG_HASH);
  });

  it('the signedness of the hash and of my id does not matter', () => {
    const big = 0xf0000001;
    expect(screenDatagram('data', withU32(JOIN, 28, big), LO2, big | 0)).toBeNull();
    expect(screenDatagram('data', withU32(JOIN, 28, big), LO2, big)).toBeNull();
    const hi = ipValue('200.1.2.3');
    expect(screenDatagram('data', withU32(JOIN, 4, hi), hi >>> 0, RING_LO_ACC_HASH)).toBe(UdpDrop.OWN_ECHO);
  });
});

describe('screenDatagram: rules in the reference order', () => {
  const H = 12345;

  it('short: fewer than 40 bytes, on both channels', () => {
    for (const n of [0, 1, 4, 39]) {
      expect(screenDatagram('data', JOIN.subarray(0, n), LO2, RING_LO_ACC_HASH)).toBe(UdpDrop.SHORT);
      expect(screenDatagram('token', TOKEN.subarray(0, n), LO2, RING_LO_ACC_HASH)).toBe(UdpDrop.SHORT);
    }
  });

  it('badMarker: one endian marker bit without the other', () => {
    const b = JOIN.slice();
    b[3] = b[3]! & 0x7f;
    expect(screenDatagram('data', b, LO2, RING_LO_ACC_HASH)).toBe(UdpDrop.BAD_MARKER);
    const t = TOKEN.slice();
    t[0] = t[0]! & 0x7f;
    expect(screenDatagram('token', t, LO2, RING_LO_ACC_HASH)).toBe(UdpDrop.BAD_MARKER);
  });

  it('wrongHash: data accepts mine or 1100 (monitor); tokens only mine', () => {
    expect(screenDatagram('data', packet({ type: PacketType.STATUS, transmitter: 0, confHash: MONITOR_HASH, membProc: MONITOR_MAGIC }), LO2, H)).toBeNull();
    expect(screenDatagram('data', packet({ type: PacketType.HURRY, transmitter: LO1, confHash: H + 1 }), LO2, H)).toBe(UdpDrop.WRONG_HASH);
    expect(screenDatagram('token', token({ transmitter: LO1, confHash: MONITOR_HASH }), LO2, H)).toBe(UdpDrop.WRONG_HASH);
    expect(screenDatagram('token', token({ transmitter: LO1, confHash: H }), LO2, H)).toBeNull();
  });

  it('the hash is checked before the echo and the length', () => {
    const p = packet({ type: PacketType.HURRY, transmitter: LO2, confHash: H + 1, dataLen: 7 });
    expect(screenDatagram('data', p, LO2, H)).toBe(UdpDrop.WRONG_HASH);
  });

  it('ownEcho: transmiter_id == me on the data channel, checked before the length', () => {
    expect(screenDatagram('data', packet({ type: PacketType.HURRY, transmitter: LO2, confHash: H }), LO2, H)).toBe(UdpDrop.OWN_ECHO);
    expect(screenDatagram('data', packet({ type: PacketType.HURRY, transmitter: LO2, confHash: H, dataLen: 9 }), LO2, H)).toBe(UdpDrop.OWN_ECHO);
    expect(screenDatagram('data', AGREED, LO1, RING_LO_ACC_HASH)).toBe(UdpDrop.OWN_ECHO);
  });

  it('PARTITION goes up before the echo and length checks (the reference handles it there)', () => {
    const p = packet({ type: PacketType.PARTITION, transmitter: LO2, confHash: MONITOR_HASH, membProc: MONITOR_MAGIC, dataLen: 256 });
    expect(screenDatagram('data', p, LO2, H)).toBeNull();
  });

  it('badLength: datagram length != 40 + data_len / 40 + rtr_len', () => {
    const longer = new Uint8Array(AGREED.length + 1);
    longer.set(AGREED);
    expect(screenDatagram('data', longer, LO2, RING_LO_ACC_HASH)).toBe(UdpDrop.BAD_LENGTH);
    expect(screenDatagram('data', AGREED.subarray(0, AGREED.length - 1), LO2, RING_LO_ACC_HASH)).toBe(UdpDrop.BAD_LENGTH);
    expect(screenDatagram('data', packet({ type: PacketType.AGREED, transmitter: LO1, confHash: H, dataLen: -4 }), LO2, H)).toBe(UdpDrop.BAD_LENGTH);
    expect(screenDatagram('token', FORM1.subarray(0, FORM1.length - 4), LO2, RING_LO_ACC_HASH)).toBe(UdpDrop.BAD_LENGTH);
    expect(screenDatagram('token', token({ transmitter: LO1, confHash: H, rtrLen: 16 }), LO2, H)).toBe(UdpDrop.BAD_LENGTH);
    expect(screenDatagram('token', token({ transmitter: LO1, confHash: H }, 16), LO2, H)).toBeNull();
  });

  it('badLength: a data datagram beyond 1472 bytes (the reference receives 1472 of it)', () => {
    expect(screenDatagram('data', packet({ type: PacketType.AGREED, transmitter: LO1, confHash: H }, 1432), LO2, H)).toBeNull();
    expect(screenDatagram('data', packet({ type: PacketType.AGREED, transmitter: LO1, confHash: H }, 1433), LO2, H)).toBe(UdpDrop.BAD_LENGTH);
  });

  it('big-endian writers are read in their order', () => {
    const be = toBigEndianPacket(JOIN);
    expect(be[3]! & 0x80).toBe(0);
    expect(screenDatagram('data', be, LO2, RING_LO_ACC_HASH)).toBeNull();
    expect(screenDatagram('data', be, LO1, RING_LO_ACC_HASH)).toBe(UdpDrop.OWN_ECHO);
    expect(screenDatagram('data', be, LO2, RING_LO_ACC_HASH + 1)).toBe(UdpDrop.WRONG_HASH);
    expect(screenDatagram('data', be.subarray(0, be.length - 1), LO2, RING_LO_ACC_HASH)).toBe(UdpDrop.BAD_LENGTH);
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), fc.boolean(), fc.integer(), fc.integer(), (bytes, tok, me, hash) => {
        const v = screenDatagram(tok ? 'token' : 'data', bytes, me, hash);
        expect(v === null || Object.values(UdpDrop).includes(v)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
