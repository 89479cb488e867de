/**
 * Link layer → IPv4 → UDP datagrams and TCP segments.
 *
 *   Ethernet (1)      dst:6 src:6 [0x8100 tci:2]* ethertype:2 payload     (0x0800 = IPv4)
 *   Linux SLL (113)   pkttype:2 hatype:2 halen:2 addr:8 protocol:2 payload
 *   Linux SLL2 (276)  protocol:2 reserved:2 ifindex:4 hatype:2 pkttype:1 halen:1 addr:8 payload
 *   NULL (0)          family:u32 in the capturing host's order (2 = AF_INET) payload
 *   LOOP (108)        family:u32 big-endian payload
 *   RAW (101), IPV4 (228)   the IP packet itself
 *   IPv4              ver_ihl:1 tos:1 total_len:2 id:2 flags_frag:2 ttl:1 proto:1 csum:2 src:4 dst:4 [opts]
 *   UDP (17)          sport:2 dport:2 len:2 csum:2 payload
 *   TCP (6)           sport:2 dport:2 seq:4 ack:4 off_flags:2 win:2 csum:2 urg:2 [opts] payload
 *
 * Fragmented IPv4 datagrams are reassembled (keyed by src, dst, id, protocol). Frames that are
 * not IPv4 UDP/TCP are counted and skipped.
 */
import { LinkType, type CapturedFrame } from './file.js';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface UdpDatagram {
  frame: number;
  time: number;
  src: Endpoint;
  dst: Endpoint;
  payload: Uint8Array;
}

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface TcpSegment {
  frame: number;
  time: number;
  src: Endpoint;
  dst: Endpoint;
  seq: number;
  ack: number;
  flags: number;
  payload: Uint8Array;
}

export interface ExtractResult {
  udp: UdpDatagram[];
  tcp: TcpSegment[];
  /** Frames skipped, by reason. */
  skipped: Record<string, number>;
}

function be16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function be32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function ip4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** The IPv4 packet inside a link-layer frame, or a reason string. */
export function ipv4Payload(frame: CapturedFrame): Uint8Array | string {
  const d = frame.data;
  switch (frame.linkType) {
    case LinkType.ETHERNET: {
      let o = 12;
      if (d.length < 14) return 'short ethernet frame';
      let et = be16(d, o);
      while ((et === 0x8100 || et === 0x88a8) && o + 6 <= d.length) {
        o += 4;
        et = be16(d, o);
      }
      return et === 0x0800 ? d.subarray(o + 2) : `ethertype 0x${et.toString(16)}`;
    }
    case LinkType.LINUX_SLL:
      if (d.length < 16) return 'short SLL frame';
      return be16(d, 14) === 0x0800 ? d.subarray(16) : `SLL protocol 0x${be16(d, 14).toString(16)}`;
    case LinkType.LINUX_SLL2:
      if (d.length < 20) return 'short SLL2 frame';
      return be16(d, 0) === 0x0800 ? d.subarray(20) : `SLL2 protocol 0x${be16(d, 0).toString(16)}`;
    case LinkType.NULL: {
      if (d.length < 4) return 'short NULL frame';
      const le = d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24);
      return le === 2 || be32(d, 0) === 2 ? d.subarray(4) : `NULL family ${le}`;
    }
    case LinkType.LOOP:
      if (d.length < 4) return 'short LOOP frame';
      return be32(d, 0) === 2 ? d.subarray(4) : `LOOP family ${be32(d, 0)}`;
    case LinkType.RAW:
    case LinkType.IPV4:
      return d;
    default:
      return `link type ${frame.linkType}`;
  }
}

interface FragState {
  parts: Array<{ off: number; data: Uint8Array }>;
  total: number;
}

/** Extracts UDP datagrams and TCP segments from frames, in frame order. */
export function extractTransport(frames: readonly CapturedFrame[]): ExtractResult {
  const udp: UdpDatagram[] = [];
  const tcp: TcpSegment[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const frags = new Map<string, FragState>();
  for (const frame of frames) {
    const ip = ipv4Payload(frame);
    if (typeof ip === 'string') {
      skip(ip);
      continue;
    }
    if (ip.length < 20 || ip[0]! >> 4 !== 4) {
      skip('not IPv4');
      continue;
    }
    const ihl = (ip[0]! & 0x0f) * 4;
    const totalLen = be16(ip, 2);
    if (ihl < 20 || totalLen < ihl || ip.length < ihl) {
      skip('bad IPv4 header');
      continue;
    }
    const end = Math.min(totalLen, ip.length);
    const proto = ip[9]!;
    const src = ip4(ip, 12);
    const dst = ip4(ip, 16);
    const ff = be16(ip, 6);
    let payload = ip.subarray(ihl, end);
    const more = (ff & 0x2000) !== 0;
    const fragOff = (ff & 0x1fff) * 8;
    if (more || fragOff > 0) {
      const key = `${src}>${dst}/${be16(ip, 4)}/${proto}`;
      let st = frags.get(key);
      if (st === undefined) {
        st = { parts: [], total: -1 };
        frags.set(key, st);
      }
      st.parts.push({ off: fragOff, data: payload });
      if (!more) st.total = fragOff + payload.length;
      const whole = assemble(st);
      if (whole === null) continue;
      frags.delete(key);
      payload = whole;
    }
    if (proto === 17) {
      if (payload.length < 8) {
        skip('short UDP header');
        continue;
      }
      const ulen = be16(payload, 4);
      const dataEnd = ulen >= 8 ? Math.min(ulen, payload.length) : payload.length;
      udp.push({
        frame: frame.index, time: frame.time,
        src: { ip: src, port: be16(payload, 0) }, dst: { ip: dst, port: be16(payload, 2) },
        payload: payload.subarray(8, dataEnd),
      });
    } else if (proto === 6) {
      if (payload.length < 20) {
        skip('short TCP header');
        continue;
      }
      const off = (payload[12]! >> 4) * 4;
      if (off < 20 || off > payload.length) {
        skip('bad TCP header');
        continue;
      }
      tcp.push({
        frame: frame.index, time: frame.time,
        src: { ip: src, port: be16(payload, 0) }, dst: { ip: dst, port: be16(payload, 2) },
        seq: be32(payload, 4), ack: be32(payload, 8), flags: payload[13]!,
        payload: payload.subarray(off),
      });
    } else {
      skip(`IP protocol ${proto}`);
    }
  }
  if (frags.size > 0) skipped['incomplete IPv4 fragments'] = frags.size;
  return { udp, tcp, skipped };
}

function assemble(st: FragState): Uint8Array | null {
  if (st.total < 0) return null;
  const parts = [...st.parts].sort((a, b) => a.off - b.off);
  let have = 0;
  for (const p of parts) {
    if (p.off > have) return null;
    have = Math.max(have, p.off + p.data.length);
  }
  if (have < st.total) return null;
  const out = new Uint8Array(st.total);
  for (const p of parts) out.set(p.data.subarray(0, Math.max(0, Math.min(p.data.length, st.total - p.off))), p.off);
  return out;
}

export function endpointString(e: Endpoint): string {
  return `${e.ip}:${e.port}`;
}
