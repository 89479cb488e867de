/**
 * Capture reading: pcap (µs/ns, both byte orders), pcapng, link types, IPv4 fragments, TCP
 * stream reassembly (checked against the reference captures' JSON twins).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  extractTransport,
  LinkType,
  readCapture,
  readCaptureFile,
  reassembleTcp,
  TcpFlag,
  timeAt,
  type TcpSegment,
} from '../../src/wire/pcap/index.js';
import { ProtocolError } from '../../src/wire/errors.js';
import { CLIENT_CAPTURES, hex, LOCAL, RING_CAPTURES, SHARED } from './support.js';

// ---------------------------------------------------------------------------------------------
// Builders for synthetic captures

function ipv4(proto: number, src: number[], dst: number[], payload: Uint8Array, id = 1, fragOff = 0, more = false): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  const dv = new DataView(b.buffer);
  b[0] = 0x45;
  dv.setUint16(2, b.length);
  dv.setUint16(4, id);
  dv.setUint16(6, (more ? 0x2000 : 0) | (fragOff / 8));
  b[8] = 64;
  b[9] = proto;
  b.set(src, 12);
  b.set(dst, 16);
  b.set(payload, 20);
  return b;
}

function udp(sport: number, dport: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + data.length);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint16(4, b.length);
  b.set(data, 8);
  return b;
}

function tcp(sport: number, dport: number, seq: number, flags: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + data.length);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint32(4, seq >>> 0);
  b[12] = 5 << 4;
  b[13] = flags;
  b.set(data, 20);
  return b;
}

const A = [10, 0, 0, 1];
const B = [10, 0, 0, 2];

function wrap(link: number, ip: Uint8Array): Uint8Array {
  const cat = (h: number[] | Uint8Array): Uint8Array => {
    const out = new Uint8Array(h.length + ip.length);
    out.set(h, 0);
    out.set(ip, h.length);
    return out;
  };
  switch (link) {
    case LinkType.ETHERNET: // with one 802.1Q tag
      return cat([...new Array(12).fill(0xaa), 0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
    case LinkType.LINUX_SLL:
      return cat([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00]);
    case LinkType.LINUX_SLL2:
      return cat([0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
    case LinkType.NULL:
      return cat([2, 0, 0, 0]);
    case LinkType.LOOP:
      return cat([0, 0, 0, 2]);
    default:
      return ip;
  }
}

function pcapFile(link: number, frames: Uint8Array[], opts: { be?: boolean; ns?: boolean } = {}): Uint8Array {
  const le = opts.be !== true;
  let size = 24;
  for (const f of frames) size += 16 + f.length;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, opts.ns === true ? 0xa1b23c4d : 0xa1b2c3d4, le);
  dv.setUint16(4, 2, le);
  dv.setUint16(6, 4, le);
  dv.setUint32(16, 65535, le);
  dv.setUint32(20, link, le);
  let o = 24;
  frames.forEach((f, i) => {
    dv.setUint32(o, 1000 + i, le);
    dv.setUint32(o + 4, opts.ns === true ? 500_000_000 : 500_000, le);
    dv.setUint32(o + 8, f.length, le);
    dv.setUint32(o + 12, f.length, le);
    b.set(f, o + 16);
    o += 16 + f.length;
  });
  return b;
}

function pcapngBlock(type: number, body: Uint8Array, le: boolean): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const b = new Uint8Array(12 + padded);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, type, le);
  dv.setUint32(4, b.length, le);
  b.set(body, 8);
  dv.setUint32(b.length - 4, b.length, le);
  return b;
}

function pcapngFile(links: number[], frames: Array<{ iface: number; data: Uint8Array }>, le: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  const shb = new Uint8Array(16);
  const sdv = new DataView(shb.buffer);
  sdv.setUint32(0, 0x1a2b3c4d, le);
  sdv.setUint16(4, 1, le);
  sdv.setBigInt64(8, -1n, le);
  parts.push(pcapngBlock(0x0a0d0d0a, shb, le));
  for (const link of links) {
    const idb = new Uint8Array(8 + 8 + 4);
    const dv = new DataView(idb.buffer);
    dv.setUint16(0, link, le);
    dv.setUint32(4, 0, le);
    dv.setUint16(8, 9, le); // if_tsresol
    dv.setUint16(10, 1, le);
    idb[12] = 9; // 10^-9
    parts.push(pcapngBlock(1, idb, le));
  }
  parts.push(pcapngBlock(0x0bad, new Uint8Array([1, 2, 3, 4]), le)); // unknown block: skipped
  for (const f of frames) {
    const epb = new Uint8Array(20 + f.data.length);
    const dv = new DataView(epb.buffer);
    const ts = 1_700_000_000_123_456_789n;
    dv.setUint32(0, f.iface, le);
    dv.setUint32(4, Number(ts >> 32n), le);
    dv.setUint32(8, Number(ts & 0xffffffffn), le);
    dv.setUint32(12, f.data.length, le);
    dv.setUint32(16, f.data.length, le);
    epb.set(f.data, 20);
    parts.push(pcapngBlock(6, epb, le));
  }
  // A simple packet block on interface 0.
  const spbData = frames[0]!.data;
  const spb = new Uint8Array(4 + spbData.length);
  new DataView(spb.buffer).setUint32(0, spbData.length, le);
  spb.set(spbData, 4);
  parts.push(pcapngBlock(3, spb, le));
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const PAYLOAD = new Uint8Array([...'spread datagram payload'].map((c) => c.charCodeAt(0)));

// ---------------------------------------------------------------------------------------------

describe('reference capture files', () => {
  const UDP_COUNTS: Record<string, number> = { 'ring-lo-acc': 553, 'ring-ns-acc': 469, 'ring-ns-orig': 462, 'ring-ns-unspec': 459, 'ring-ns-acc-bulk': 2565 };

  for (const name of RING_CAPTURES) {
    it(`${name}: UDP datagrams (a superset of the JSON's, which drops duplicates)`, () => {
      const cap = readCapture(readFileSync(`${SHARED}${name}.pcap`));
      expect(cap.format).toBe(name === 'ring-lo-acc' ? 'pcapng' : 'pcap');
      expect(cap.udp).toHaveLength(UDP_COUNTS[name]!);
      expect(cap.skipped).toEqual({});
      const have = new Map<string, number>();
      for (const u of cap.udp) have.set(hex(u.payload), (have.get(hex(u.payload)) ?? 0) + 1);
      const j = JSON.parse(readFileSync(`${SHARED}${name}.json`, 'utf8')) as { udp_datagrams: Array<{ hex: string; dst: string }> };
      for (const d of j.udp_datagrams) expect(have.has(d.hex)).toBe(true);
      const first = cap.udp.find((u) => hex(u.payload) === j.udp_datagrams[0]!.hex)!;
      expect(`${first.dst.ip}:${first.dst.port}`).toBe(j.udp_datagrams[0]!.dst);
    });
  }

  for (const name of CLIENT_CAPTURES) {
    it(`${name}: TCP streams equal the JSON's to_server / to_client`, () => {
      const cap = readCapture(readFileSync(`${SHARED}${name}.pcap`));
      const j = JSON.parse(readFileSync(`${SHARED}${name}.json`, 'utf8')) as {
        tcp_sessions: Array<{ client: string; server: string; to_server: string; to_client: string; reset: boolean }>;
      };
      expect(cap.connections).toHaveLength(j.tcp_sessions.length);
      for (const s of j.tcp_sessions) {
        const c = cap.connections.find((x) => `${x.client.ip}:${x.client.port}` === s.client)!;
        expect(`${c.server.ip}:${c.server.port}`).toBe(s.server);
        expect(hex(c.toServer.data)).toBe(s.to_server);
        expect(hex(c.toClient.data)).toBe(s.to_client);
        expect(c.reset).toBe(s.reset);
        expect(c.toServer.gap || c.toClient.gap).toBe(false);
        expect(c.toServer.fromStart).toBe(true);
      }
    });
  }

  it('ring-lo-acc keeps duplicate sends: FORM tokens and first tokens go out twice per hop', () => {
    const cap = readCapture(readFileSync(`${SHARED}ring-lo-acc.pcap`));
    const forms = cap.udp.filter((u) => u.dst.port === 4804 && (u.payload[1]! & 0x30) !== 0);
    expect(forms).toHaveLength(36);
    for (let i = 0; i < forms.length; i += 2) {
      expect(hex(forms[i + 1]!.payload)).toBe(hex(forms[i]!.payload));
      expect(forms[i + 1]!.dst).toEqual(forms[i]!.dst);
    }
  });

  it('our capture is a nanosecond pcap', () => {
    const buf = readFileSync(`${LOCAL}ring-lo3-mixed.pcap`);
    expect(hex(buf.subarray(0, 4))).toBe('4d3cb2a1');
    const f = readCaptureFile(buf);
    expect(f.frames.length).toBeGreaterThan(778);
    expect(f.frames.some((x) => Math.round(x.time * 1e9) % 1000 !== 0)).toBe(true);
    expect(f.frames[0]!.linkType).toBe(LinkType.ETHERNET);
  });
});

describe('synthetic captures', () => {
  const ip = ipv4(17, A, B, udp(40000, 4803, PAYLOAD));

  it('pcap in both byte orders and both timestamp resolutions', () => {
    for (const be of [false, true]) {
      for (const ns of [false, true]) {
        const f = readCaptureFile(pcapFile(LinkType.RAW, [ip, ip], { be, ns }));
        expect(f.format).toBe('pcap');
        expect(f.frames).toHaveLength(2);
        expect(f.frames[1]!.time).toBeCloseTo(1001.5, 9);
        expect(hex(f.frames[0]!.data)).toBe(hex(ip));
      }
    }
  });

  it('every supported link type yields the UDP datagram', () => {
    for (const link of [LinkType.ETHERNET, LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.NULL, LinkType.LOOP, LinkType.RAW, LinkType.IPV4]) {
      const cap = readCapture(pcapFile(link, [wrap(link, ip)]));
      expect(cap.udp, `link ${link}`).toHaveLength(1);
      expect(cap.udp[0]).toMatchObject({ src: { ip: '10.0.0.1', port: 40000 }, dst: { ip: '10.0.0.2', port: 4803 } });
      expect(hex(cap.udp[0]!.payload)).toBe(hex(PAYLOAD));
    }
    // NULL written by a big-endian host.
    const nullBe = new Uint8Array([0, 0, 0, 2, ...ip]);
    expect(readCapture(pcapFile(LinkType.NULL, [nullBe])).udp).toHaveLength(1);
  });

  it('pcapng in both byte orders: IDB tsresol, EPB, SPB, unknown blocks skipped', () => {
    for (const le of [true, false]) {
      const f = readCaptureFile(pcapngFile([LinkType.ETHERNET, LinkType.LINUX_SLL2], [
        { iface: 0, data: wrap(LinkType.ETHERNET, ip) },
        { iface: 1, data: wrap(LinkType.LINUX_SLL2, ip) },
      ], le));
      expect(f.format).toBe('pcapng');
      expect(f.frames.map((x) => x.linkType)).toEqual([1, 276, 1]);
      expect(f.frames[0]!.time).toBeCloseTo(1_700_000_000.123457, 6);
      const cap = readCapture(pcapngFile([LinkType.RAW], [{ iface: 0, data: ip }], le));
      expect(cap.udp).toHaveLength(2);
    }
  });

  it('non-IP frames are counted, not fatal', () => {
    const arp = new Uint8Array([...new Array(12).fill(0), 0x08, 0x06, 1, 2, 3]);
    const cap = readCapture(pcapFile(LinkType.ETHERNET, [arp, wrap(LinkType.ETHERNET, ip)]));
    expect(cap.udp).toHaveLength(1);
    expect(cap.skipped).toEqual({ 'ethertype 0x806': 1 });
  });

  it('IPv4 fragments are reassembled in any order', () => {
    const whole = udp(40000, 4804, new Uint8Array(3000).map((_x, i) => i & 0xff));
    const f1 = ipv4(17, A, B, whole.subarray(0, 1480), 7, 0, true);
    const f2 = ipv4(17, A, B, whole.subarray(1480, 2960), 7, 1480, true);
    const f3 = ipv4(17, A, B, whole.subarray(2960), 7, 2960, false);
    const cap = readCapture(pcapFile(LinkType.RAW, [f3, f1, f2]));
    expect(cap.udp).toHaveLength(1);
    expect(hex(cap.udp[0]!.payload)).toBe(hex(whole.subarray(8)));
    const partial = readCapture(pcapFile(LinkType.RAW, [f1, f3]));
    expect(partial.udp).toHaveLength(0);
    expect(partial.skipped).toEqual({ 'incomplete IPv4 fragments': 1 });
  });

  it('bad files are ProtocolErrors', () => {
    expect(() => readCaptureFile(new Uint8Array([1, 2, 3]))).toThrow(ProtocolError);
    expect(() => readCaptureFile(new Uint8Array(24))).toThrow('capture_file.magic at offset 0: illegal value: expected pcap or pcapng magic, got 0x00000000');
    const cut = pcapFile(LinkType.RAW, [ip, ip]);
    expect(readCaptureFile(cut.subarray(0, cut.length - 3)).frames).toHaveLength(1); // a record cut at the end is dropped
  });
});

describe('TCP reassembly', () => {
  const data = new Uint8Array(5000).map((_x, i) => (i * 7) & 0xff);
  const isn = 0xfffff000; // wraps past 2^32
  const seg = (time: number, src: number[], sp: number, dst: number[], dp: number, seq: number, flags: number, payload: Uint8Array): TcpSegment => ({
    frame: time, time, src: { ip: src.join('.'), port: sp }, dst: { ip: dst.join('.'), port: dp }, seq: seq >>> 0, ack: 0, flags, payload,
  });

  it('out of order, retransmitted and overlapping segments give the stream once', () => {
    const pieces = [[0, 1000], [1000, 2500], [2500, 4000], [4000, 5000]] as const;
    const segs: TcpSegment[] = [seg(0, A, 50000, B, 4803, isn, TcpFlag.SYN, new Uint8Array(0)), seg(1, B, 4803, A, 50000, 77, TcpFlag.SYN | TcpFlag.ACK, new Uint8Array(0))];
    const order = [2, 0, 1, 1, 3, 0];
    order.forEach((k, i) => {
      const [a, b] = pieces[k]!;
      segs.push(seg(2 + i, A, 50000, B, 4803, isn + 1 + a, TcpFlag.ACK, data.subarray(a, b)));
    });
    // An overlapping retransmission that straddles two pieces.
    segs.push(seg(9, A, 50000, B, 4803, isn + 1 + 900, TcpFlag.ACK, data.subarray(900, 1100)));
    segs.push(seg(10, B, 4803, A, 50000, 78, TcpFlag.ACK | TcpFlag.PSH, new Uint8Array([5, 6, 7])));
    const [c] = reassembleTcp(segs);
    expect(c!.client).toEqual({ ip: '10.0.0.1', port: 50000 });
    expect(hex(c!.toServer.data)).toBe(hex(data));
    expect(hex(c!.toClient.data)).toBe('050607');
    expect(c!.toServer.gap).toBe(false);
    expect(timeAt(c!.toServer, 0).time).toBe(3);
    expect(timeAt(c!.toServer, 2600).time).toBe(2);
  });

  it('a hole that never fills ends the stream and is reported', () => {
    const segs = [
      seg(0, A, 50000, B, 4803, 100, TcpFlag.SYN, new Uint8Array(0)),
      seg(1, A, 50000, B, 4803, 101, TcpFlag.ACK, data.subarray(0, 10)),
      seg(2, A, 50000, B, 4803, 121, TcpFlag.ACK, data.subarray(20, 30)),
    ];
    const [c] = reassembleTcp(segs);
    expect(c!.toServer.data).toHaveLength(10);
    expect(c!.toServer.gap).toBe(true);
  });

  it('without a handshake, the higher port is the client', () => {
    const [c] = reassembleTcp([seg(0, B, 4803, A, 50001, 5, TcpFlag.ACK, data.subarray(0, 4))]);
    expect(c!.client.port).toBe(50001);
    expect(c!.toClient.fromStart).toBe(false);
    expect(c!.toClient.data).toHaveLength(4);
  });

  it('extractTransport keeps TCP ports, seq and flags', () => {
    const t = tcp(50000, 4803, 0xfffffff0, TcpFlag.SYN, new Uint8Array(0));
    const r = extractTransport(readCaptureFile(pcapFile(LinkType.RAW, [ipv4(6, A, B, t)])).frames);
    expect(r.tcp[0]).toMatchObject({ src: { port: 50000 }, dst: { port: 4803 }, seq: 0xfffffff0, flags: TcpFlag.SYN });
  });
});
