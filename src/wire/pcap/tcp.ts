/**
 * TCP stream reassembly, per connection and direction, by sequence number.
 *
 * A connection is keyed by its two endpoints. The client is the side that sent a SYN without
 * ACK; without a handshake in the capture, the side with the higher port. Each direction's
 * bytes are placed by (seq − initial seq) mod 2^32: retransmitted and overlapping bytes are
 * taken once (first copy wins), segments arriving out of order are held until the gap fills.
 * A gap that never fills ends the usable stream there (`gap` is set).
 */
import { endpointString, TcpFlag, type Endpoint, type TcpSegment } from './ip.js';

export interface StreamMark {
  /** Offset in the direction's byte stream. */
  offset: number;
  /** Capture time of the segment that delivered the byte at `offset`. */
  time: number;
  frame: number;
}

export interface TcpDirection {
  /** Contiguous bytes from the start of the stream (up to the first unfilled gap). */
  data: Uint8Array;
  /** Where each segment's new bytes start, in stream order. */
  marks: StreamMark[];
  /** True when later bytes were seen beyond a hole that never filled. */
  gap: boolean;
  /** Whether the stream start is known (SYN seen). */
  fromStart: boolean;
}

export interface TcpConnection {
  client: Endpoint;
  server: Endpoint;
  toServer: TcpDirection;
  toClient: TcpDirection;
  reset: boolean;
  /** Time of the first segment. */
  start: number;
}

interface DirState {
  isn: number | null;
  fromStart: boolean;
  /** Received pieces by relative offset. */
  pieces: Array<{ rel: number; data: Uint8Array; time: number; frame: number }>;
}

interface ConnState {
  a: Endpoint;
  b: Endpoint;
  /** Who sent SYN (without ACK) first: 'a' | 'b' | null. */
  initiator: 'a' | 'b' | null;
  ab: DirState;
  ba: DirState;
  reset: boolean;
  start: number;
}

function newDir(): DirState {
  return { isn: null, fromStart: false, pieces: [] };
}

export function reassembleTcp(segments: readonly TcpSegment[]): TcpConnection[] {
  const conns = new Map<string, ConnState>();
  const order: ConnState[] = [];
  for (const s of segments) {
    const ks = endpointString(s.src);
    const kd = endpointString(s.dst);
    const key = ks < kd ? `${ks}|${kd}` : `${kd}|${ks}`;
    let c = conns.get(key);
    // A new SYN on a closed key starts a new connection.
    if (c !== undefined && (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN && c.initiator !== null && totalBytes(c) > 0) {
      c = undefined;
    }
    if (c === undefined) {
      c = { a: s.src, b: s.dst, initiator: null, ab: newDir(), ba: newDir(), reset: false, start: s.time };
      conns.set(key, c);
      order.push(c);
    }
    const fromA = endpointString(c.a) === ks;
    const dir = fromA ? c.ab : c.ba;
    if (s.flags & TcpFlag.RST) c.reset = true;
    if (s.flags & TcpFlag.SYN) {
      if (!(s.flags & TcpFlag.ACK) && c.initiator === null) c.initiator = fromA ? 'a' : 'b';
      dir.isn = (s.seq + 1) >>> 0;
      dir.fromStart = true;
      // Anything queued before the SYN was seen is re-based below.
    }
    if (s.payload.length === 0) continue;
    if (dir.isn === null) dir.isn = s.seq;
    const seq = s.flags & TcpFlag.SYN ? (s.seq + 1) >>> 0 : s.seq;
    const rel = (seq - dir.isn) | 0;
    dir.pieces.push({ rel, data: s.payload, time: s.time, frame: s.frame });
  }
  return order.map((c) => {
    let clientIsA: boolean;
    if (c.initiator !== null) clientIsA = c.initiator === 'a';
    else clientIsA = c.a.port > c.b.port;
    const client = clientIsA ? c.a : c.b;
    const server = clientIsA ? c.b : c.a;
    return {
      client,
      server,
      toServer: assemble(clientIsA ? c.ab : c.ba),
      toClient: assemble(clientIsA ? c.ba : c.ab),
      reset: c.reset,
      start: c.start,
    };
  });
}

function totalBytes(c: ConnState): number {
  return c.ab.pieces.length + c.ba.pieces.length;
}

function assemble(d: DirState): TcpDirection {
  const pieces = d.pieces.filter((p) => p.rel >= 0 || p.rel + p.data.length > 0).sort((x, y) => x.rel - y.rel);
  const chunks: Uint8Array[] = [];
  const marks: StreamMark[] = [];
  let have = 0;
  let gap = false;
  for (const p of pieces) {
    if (p.rel > have) {
      gap = true;
      break;
    }
    const skip = have - p.rel;
    if (skip >= p.data.length) continue; // retransmission of bytes we have
    marks.push({ offset: have, time: p.time, frame: p.frame });
    const fresh = p.data.subarray(skip);
    chunks.push(fresh);
    have += fresh.length;
  }
  const data = new Uint8Array(have);
  let o = 0;
  for (const ch of chunks) {
    data.set(ch, o);
    o += ch.length;
  }
  return { data, marks, gap, fromStart: d.fromStart };
}

/** Capture time of the segment that delivered stream byte `offset`. */
export function timeAt(dir: TcpDirection, offset: number): { time: number; frame: number } {
  let lo = 0;
  let hi = dir.marks.length - 1;
  if (hi < 0) return { time: 0, frame: -1 };
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (dir.marks[mid]!.offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  const m = dir.marks[lo]!;
  return { time: m.time, frame: m.frame };
}
