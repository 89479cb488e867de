/**
 * What test/daemon/hostile.test.ts throws at a daemon (SPEC.md Part V §13.5): datagrams on its
 * ring ports that every daemon must drop (noise, truncated headers, a foreign configuration's
 * captured packets, packets of its own configuration with a wrong length or over 1472 bytes),
 * and raw clients that misbehave (never read, half a frame, an oversized header, connections
 * opened and dropped). Also: reading the daemon's `/metrics` counters.
 *
 * Every loop here is bounded; nothing here starts a process.
 */
import { createSocket } from 'node:dgram';
import { loadCapture, type CapturedDatagram } from '../net/support.js';
import { sleep } from '../../interop/ring-scenarios.js';
import { prng } from '../wire/support.js';
import { authReply, connectBytes, frame, hex, T } from './harness.js';
import { RawClient } from './support.js';

// ---------------------------------------------------------------------------------------------
// /metrics

/** The `/metrics` URL a daemon logged (`metrics on http://…/metrics`), or undefined. */
export function metricsUrl(log: string): string | undefined {
  return /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(log)?.[1];
}

/** The value of one sample line (`name{labels}`) of a Prometheus text page; NaN when absent. */
export function sample(text: string, line: string): number {
  const escaped = line.replace(/[{}]/g, '\\$&');
  return Number(new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text)?.[1]);
}

export async function scrape(url: string): Promise<string> {
  return (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
}

/** The UDP receive drops a daemon counted, as `channel/reason` → count. */
export function udpDrops(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^spread_udp_dropped_total\{channel="(\w+)",reason="(\w+)"\} (\S+)$/gm)) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ring-port datagrams

/** One datagram for the data port or the token port (port + 1). */
export interface HostileDatagram {
  readonly channel: 'data' | 'token';
  readonly bytes: Uint8Array;
}

/** `base` with its configuration hash (data: offset 28, token: 36) and transmitter id set, in its own byte order. */
function rewrite(d: CapturedDatagram, confHash: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(d.bytes.subarray(0, Math.min(length, d.bytes.length)));
  const view = new DataView(out.buffer);
  const le = (d.bytes[0]! & 0x80) !== 0;
  view.setUint32(d.channel === 'token' ? 36 : 28, confHash >>> 0, le);
  // A transmitter that is no daemon of the ring (10.9.8.7): never this daemon's own echo.
  if (d.channel === 'data') view.setUint32(4, 0x0a090807, le);
  return out;
}

/**
 * The flood's datagrams, built once: for each channel, noise (0..1500 random bytes), the first
 * 1..39 bytes of captured packets (short), captured packets of another configuration as they
 * are (wrongHash), captured packets rewritten to `confHash` but cut short (badLength) and, on
 * the data channel, padded to 2000 bytes (over 1472: badLength).
 */
export function hostileDatagrams(confHash: number, seed = 12): HostileDatagram[] {
  const captured = loadCapture('ring-lo-acc').filter((d) => d.bytes.length > 44);
  const rand = prng(seed); // the flood is the same in every run
  const pick = (channel: 'data' | 'token'): CapturedDatagram => {
    const of = captured.filter((d) => d.channel === channel);
    return of[Math.floor(rand() * of.length)]!;
  };
  const out: HostileDatagram[] = [];
  for (let i = 0; i < 64; i++) {
    for (const channel of ['data', 'token'] as const) {
      const noise = new Uint8Array(Math.floor(rand() * 1500));
      for (let k = 0; k < noise.length; k++) noise[k] = Math.floor(rand() * 256);
      const d = pick(channel);
      out.push({ channel, bytes: noise });
      out.push({ channel, bytes: d.bytes.slice(0, 1 + Math.floor(rand() * 39)) });
      out.push({ channel, bytes: d.bytes });
      out.push({ channel, bytes: rewrite(d, confHash, 40 + Math.floor((d.bytes.length - 40) / 2)) });
      if (channel === 'data') out.push({ channel, bytes: rewrite(d, confHash, 2000) });
    }
  }
  return out;
}

/**
 * Sends `datagrams` round-robin to `address` (data port `port`, token port `port + 1`),
 * `perTick` every 10 ms, for `durationMs`. Resolves with the number handed to the OS.
 */
export async function floodRingPorts(address: string, port: number, datagrams: readonly HostileDatagram[], durationMs: number, perTick = 40): Promise<number> {
  const sock = createSocket('udp4');
  sock.on('error', () => {
    /* ECONNREFUSED and the like: the flood goes on */
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  let sent = 0;
  const end = Date.now() + durationMs;
  try {
    for (let i = 0; Date.now() < end; ) {
      for (let k = 0; k < perTick; k++, i++) {
        const d = datagrams[i % datagrams.length]!;
        sock.send(d.bytes, d.channel === 'data' ? port : port + 1, address);
        sent++;
      }
      await sleep(10);
    }
  } finally {
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
  return sent;
}

// ---------------------------------------------------------------------------------------------
// Raw clients

/** Connects and authenticates with NULL by hand; returns the client and its private group. */
export async function rawLogin(target: { port: number; host?: string } | { path: string }, name: string): Promise<{ c: RawClient; pg: string }> {
  const c = await RawClient.open(target);
  c.write(connectBytes(name));
  const auth = hex(await c.read(6, 10_000));
  if (auth !== '054e554c4c20') throw new Error(`${name}: auth list ${auth}`);
  c.write(authReply());
  const accept = await c.read(5, 10_000);
  if (hex(accept.subarray(0, 4)) !== '01040400') throw new Error(`${name}: accept ${hex(accept)}`);
  const pg = (await c.read(accept[4]!, 10_000)).toString('latin1');
  return { c, pg };
}

/** A JOIN frame from `pg` for `group`. */
export function joinFrame(pg: string, group: string): Uint8Array {
  return frame({ type: T.JOIN, sender: pg, groups: [group] });
}

/** Headers the daemon must refuse before their bodies (its session is killed), for a sender `pg`. */
export const OVERSIZED_HEADERS: readonly { readonly what: string; readonly header: (pg: string) => Uint8Array }[] = [
  { what: 'data_len 1000000', header: (pg) => headerOnly(pg, 1, 1_000_000) },
  { what: 'data_len 143153 with no group (the reference accepts it, the ring cannot carry it)', header: (pg) => headerOnly(pg, 0, 143_153) },
  { what: 'num_groups 101', header: (pg) => headerOnly(pg, 101, 0) },
];

function headerOnly(pg: string, numGroups: number, dataLen: number): Uint8Array {
  return frame({ type: T.AGREED, sender: pg, numGroups, dataLen }).subarray(0, 48);
}

/**
 * `count` connections to `port` opened and dropped, `concurrency` at a time, four kinds in
 * turn: a full handshake then a reset; a full handshake then a clean close; connect then reset
 * at once; 3 bytes of the connect message then nothing (the daemon must close it when its
 * handshake deadline passes). Resolves once the last of those was closed by the daemon.
 */
export async function connectionFlood(port: number, host: string, count: number, concurrency = 40): Promise<void> {
  const one = async (i: number): Promise<void> => {
    const name = `f${i}`;
    switch (i % 4) {
      case 0:
        (await rawLogin({ port, host }, name)).c.socket.resetAndDestroy();
        return;
      case 1: {
        const { c } = await rawLogin({ port, host }, name);
        c.socket.end();
        await c.waitClosed(10_000);
        return;
      }
      case 2:
        (await RawClient.open({ port, host })).socket.resetAndDestroy();
        return;
      default: {
        const c = await RawClient.open({ port, host });
        c.write(connectBytes(name).subarray(0, 3));
        await c.waitClosed(15_000);
      }
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
