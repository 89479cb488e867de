/**
 * A daemon under attack keeps its ring and serves everyone else (SPEC.md Part V §13.5): a ring
 * of two of our daemons on loopback, a client on each exchanging AGREED messages the whole
 * time, while daemon n1 gets, at once,
 *   - hostile datagrams on its data and token ports for a few seconds (hostile-support.ts),
 *   - a client that joins a busy group and never reads (killed as a slow reader, SPEC Part I
 *     §10), half a frame that stalls, oversized headers (sessions killed, Part I §9), and 300
 *     connections opened and dropped, half of them never finishing the handshake.
 * Then: the ring id never changed, the AGREED stream is complete and in one order at both
 * clients, the busy group's reader got every message, n1's drop counters moved for every kind
 * of datagram sent, no session leaked, and a fresh client is served.
 *
 * Needs `npm run build` (it runs dist/). Every process is started and stopped by pid.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type SpreadConnection } from '../../src/client/index.js';
import { Ring } from '../../interop/loopback-ring.js';
import { sleep, waitFor, type Probe } from '../../interop/ring-scenarios.js';
import {
  connectionFlood, floodRingPorts, hostileDatagrams, joinFrame, metricsUrl, OVERSIZED_HEADERS, rawLogin, sample, scrape, udpDrops,
} from './hostile-support.js';
import { T } from './harness.js';
import type { RawClient } from './support.js';

const LOOP = 'loop';
const BUSY = 'busy';
/** Messages to the busy group: more than the slow reader's socket and queue (1000) hold. */
const BUSY_MESSAGES = 2500;
/** AGREED messages a loop client may have in flight. */
const WINDOW = 4;

let ring: Ring;
const ringLines: number[] = [];
const ringIds: string[] = [];

function ringLineCount(i: number): number {
  return (ring.nodes[i]!.handle.log().match(/ring: \d+ members/g) ?? []).length;
}

beforeAll(async () => {
  ring = await Ring.start(['ours', 'ours'], { env: { SPREAD_METRICS: '127.0.0.1:0' } });
  const st = await ring.waitForRing(2, 30_000);
  for (let i = 0; i < 2; i++) {
    ringIds.push(st[i]!.id!);
    ringLines.push(ringLineCount(i));
  }
}, 60_000);

afterAll(async () => {
  await ring?.stop();
}, 30_000);

/** Loop data `tag:k`, as text, of every AGREED message in LOOP a probe received. */
function loopMessages(p: Probe): string[] {
  return p.events.filter((e) => e.kind === 'message' && e.groups.includes(LOOP)).map((e) => Buffer.from((e as { data: Uint8Array }).data).toString('latin1'));
}

/** Multicasts `tag:0`, `tag:1`, … to LOOP, at most WINDOW ahead of its own deliveries, until `stop`. */
async function agreedLoop(p: Probe, tag: string, stop: () => boolean): Promise<number> {
  let sent = 0;
  let seen = 0;
  let scanned = 0;
  while (!stop()) {
    for (; scanned < p.events.length; scanned++) {
      const e = p.events[scanned]!;
      if (e.kind === 'message' && Buffer.from(e.data).toString('latin1').startsWith(`${tag}:`)) seen++;
    }
    if (p.error !== null) throw new Error(`${tag}: ${String(p.error)}`);
    if (sent - seen < WINDOW) await p.conn.multicast(LOOP, `${tag}:${sent++}`, { service: 'agreed' });
    await sleep(10);
  }
  return sent;
}

/** Every probe got every loop message, each sender's in order, and both the same sequence. */
function expectLoopComplete(probes: readonly Probe[], sent: readonly number[]): void {
  const seqs = probes.map(loopMessages);
  for (const seq of seqs) {
    expect(seq.length).toBe(sent.reduce((a, b) => a + b, 0));
    sent.forEach((n, i) => expect(seq.filter((m) => m.startsWith(`L${i}:`))).toEqual(Array.from({ length: n }, (_, k) => `L${i}:${k}`)));
  }
  expect(seqs[1]).toEqual(seqs[0]);
}

/** The slow reader: joins BUSY over the unix socket, then stops reading. Returns its private group. */
async function slowReader(unixPath: string): Promise<{ pg: string; c: RawClient }> {
  const { c, pg } = await rawLogin({ path: unixPath }, 'slow');
  c.write(joinFrame(pg, BUSY));
  c.socket.pause();
  return { pg, c };
}

/** Floods BUSY from daemon n0; `watcher` on n1 must get all of it, in order. */
async function busyFlood(): Promise<SpreadConnection> {
  const flooder = await connect({ spread: ring.nodes[0]!.spread, name: 'flooder', membership: false });
  const pad = 'x'.repeat(1000);
  for (let k = 0; k < BUSY_MESSAGES; k++) await flooder.multicast(BUSY, `b${k}:${pad}`, { service: 'fifo' });
  return flooder;
}

/** Half a JOIN frame now; the rest (and its membership notice) once `release` resolves. */
async function halfFrame(port: number, host: string, release: Promise<void>): Promise<void> {
  const { c, pg } = await rawLogin({ port, host }, 'half');
  const join = joinFrame(pg, 'halfg');
  c.write(join.subarray(0, 20));
  await release;
  c.write(join.subarray(20));
  const notice = await c.readFrame(15_000);
  expect(notice.readUInt32LE(0) & T.REG_MEMB).not.toBe(0);
  expect(notice.subarray(4, 9).toString('latin1')).toBe('halfg');
  c.close();
}

/** Each oversized header kills its session: the daemon closes the connection. */
async function oversized(port: number, host: string): Promise<void> {
  for (const [i, { what, header }] of OVERSIZED_HEADERS.entries()) {
    const { c, pg } = await rawLogin({ port, host }, `big${i}`);
    c.write(header(pg));
    await c.waitClosed(15_000).catch((e: unknown) => {
      throw new Error(`${what}: ${String(e)}`);
    });
  }
}

/** Phase A: the slow reader is cut off while the busy group's other reader gets everything, in order. */
async function slowReaderPhase(unixPath: string): Promise<void> {
  const watcher = await ring.probe(1, 'watcher');
  await watcher.conn.join(BUSY);
  await waitFor(() => watcher.lastView(BUSY) !== undefined, 15_000, () => 'watcher view');
  const slow = await slowReader(unixPath);
  await waitFor(() => (watcher.lastView(BUSY) as { members?: string[] } | undefined)?.members?.length === 2, 15_000, () => 'slow reader joined');
  const flooder = await busyFlood();
  const messages = (): string[] => watcher.events.filter((e) => e.kind === 'message').map((e) => Buffer.from((e as { data: Uint8Array }).data).toString('latin1').split(':')[0]!);
  await waitFor(() => messages().length >= BUSY_MESSAGES, 30_000, () => `busy messages at the watcher: ${messages().length}`);
  expect(messages()).toEqual(Array.from({ length: BUSY_MESSAGES }, (_, k) => `b${k}`));
  await waitFor(() => watcher.memberships().some((l) => l.startsWith(`REG_MEMB disconnect (${slow.pg}) ${BUSY} `)), 15_000, () => watcher.memberships().join('\n'));
  // It held the others back for its grace only (SPEC Part I §10), then was cut off.
  expect(ring.nodes[1]!.handle.log()).toContain('slow reader did not catch up');
  slow.c.close();
  await flooder.disconnect();
}

/** Phase B: half a frame, oversized headers and a connection flood at once; the half frame then completes. */
async function clientsPhase(port: number, host: string): Promise<void> {
  let releaseHalf = (): void => {};
  const half = halfFrame(port, host, new Promise<void>((r) => (releaseHalf = r)));
  half.catch(() => {}); // awaited below; not unhandled meanwhile
  try {
    await Promise.all([oversized(port, host), connectionFlood(port, host, 300)]);
  } finally {
    releaseHalf();
  }
  await half;
}

/** A fresh client on daemon i joins, multicasts and gets its message back. */
async function freshClient(i: number): Promise<SpreadConnection> {
  const fresh = await connect({ spread: ring.nodes[i]!.spread, name: 'fresh' });
  await fresh.join('freshg');
  await fresh.multicast('freshg', 'hello', { service: 'agreed' });
  let got = '';
  for (let k = 0; k < 5 && got !== 'hello'; k++) {
    const ev = await fresh.receive();
    if (ev.kind === 'message') got = Buffer.from(ev.data).toString('latin1');
  }
  expect(got).toBe('hello');
  return fresh;
}

/** Polls /metrics until `spread_sessions` and `spread_connections` are both `n` (bounded); returns the last sessions value. */
async function settledSessions(url: string, n: number): Promise<number> {
  let sessions = NaN;
  for (let i = 0; i < 100; i++) {
    const t = await scrape(url);
    sessions = sample(t, 'spread_sessions');
    if (sessions === n && sample(t, 'spread_connections') === n) break;
    await sleep(100);
  }
  return sessions;
}

/** Opens the loop clients, one per daemon, both joined to LOOP. */
async function loopProbes(): Promise<Probe[]> {
  const probes = [await ring.probe(0, 'loop0'), await ring.probe(1, 'loop1')];
  for (const p of probes) await p.conn.join(LOOP);
  await waitFor(() => probes.every((p) => (p.lastView(LOOP) as { members?: string[] } | undefined)?.members?.length === 2), 15_000, () => 'loop views');
  return probes;
}

const DROP_KINDS = ['data/short', 'data/badMarker', 'data/wrongHash', 'data/badLength', 'token/short', 'token/badMarker', 'token/wrongHash', 'token/badLength'];

describe('a daemon under hostile datagrams and clients (ours only)', () => {
  it('keeps its ring, delivers every message to every other client, counts its drops, serves a fresh client', async () => {
    const n1 = ring.nodes[1]!;
    const { address: host, port } = ring.topology.nodes[1]!;
    const url = metricsUrl(n1.handle.log());
    const confHash = Number(/Hash value for this configuration is: (\d+)/.exec(n1.handle.log())?.[1]);
    expect(url).toBeDefined();
    expect(confHash).toBeGreaterThan(0);
    expect(existsSync(`/tmp/${port}`)).toBe(true);

    // (1) the AGREED loop runs throughout; (2) the datagrams and (3) the clients meanwhile.
    const probes = await loopProbes();
    const membershipsBefore = probes.map((p) => p.memberships().length);
    let stopLoop = false;
    const loops = probes.map((p, i) => agreedLoop(p, `L${i}`, () => stopLoop));
    const datagrams = floodRingPorts(host, port, hostileDatagrams(confHash), 5000, 150);
    let fresh: SpreadConnection;
    try {
      await slowReaderPhase(`/tmp/${port}`);
      await clientsPhase(port, host);
      fresh = await freshClient(1);
    } finally {
      await Promise.allSettled([datagrams]); // the loop runs until the flood is over
      stopLoop = true;
      await Promise.allSettled(loops);
    }
    const sentDatagrams = await datagrams;
    const sent = await Promise.all(loops);
    expect(Math.min(...sent)).toBeGreaterThan(10);
    await waitFor(() => probes.every((p) => loopMessages(p).length >= sent[0]! + sent[1]!), 20_000, () => `loop: sent ${sent}, got ${probes.map((p) => loopMessages(p).length)}`);
    expectLoopComplete(probes, sent);
    expect(probes.map((p) => p.memberships().length)).toEqual(membershipsBefore);

    // The ring never changed.
    for (let i = 0; i < 2; i++) {
      expect(ring.status(i)?.id).toBe(ringIds[i]);
      expect(ringLineCount(i)).toBe(ringLines[i]);
    }

    // Every kind of datagram was counted as dropped.
    const drops = udpDrops(await scrape(url!));
    console.log(`HOSTILE: ${sentDatagrams} datagrams sent, drops at n1 ${JSON.stringify(drops)}, AGREED loop ${sent.join(' + ')} messages`);
    for (const key of DROP_KINDS) expect(drops[key], `${key} of ${JSON.stringify(drops)} after ${sentDatagrams} sent`).toBeGreaterThan(0);
    // No session leaked: loop1, watcher and fresh are n1's only clients (a killed session is freed once its KILL is delivered).
    expect(await settledSessions(url!, 3)).toBe(3);
    await fresh.disconnect();
  }, 120_000);
});
