/**
 * Reconnection, subscriptions and drain against a scripted fake daemon (README "Reconnection",
 * "Subscriptions", "Closing"): what the client sends on the new session, what the application
 * sees (status reports, the reconnect notices, the order of events), the limits of the backoff.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import {
  AbortError,
  connect,
  ConnectionClosedError,
  IllegalSessionError,
  ServiceType,
  TimeoutError,
} from '../../src/client/index.js';
import type { ConnectionStatus, ConnectOptions, MembershipMessage, SpreadConnection, SpreadEvent } from '../../src/client/index.js';
import { backoffDelay, reconnectPolicy } from '../../src/client/reconnect.js';
import { FakeDaemon } from './helpers/fake-daemon.js';
import type { FakePeer } from './helpers/fake-daemon.js';
import { acceptBytes, clientFrames, frame, NULL_AUTH_LIST } from './helpers/frames.js';

let fakes: FakeDaemon[] = [];
const conns: SpreadConnection[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) await c.disconnect();
  for (const f of fakes.splice(0)) await f.close();
});

const FAST = { initialDelayMs: 1, maxDelayMs: 20, jitter: 0 };

async function fake(): Promise<FakeDaemon> {
  const f = await FakeDaemon.tcp();
  fakes.push(f);
  return f;
}

/** Plays the daemon's side of one handshake; returns the private name the client asked for. */
async function accept(peer: FakePeer, privateGroup: string): Promise<string> {
  await peer.waitForBytes(5);
  const nameLen = peer.received[4]!;
  await peer.waitForBytes(5 + nameLen);
  await peer.write(NULL_AUTH_LIST);
  await peer.waitForBytes(5 + nameLen + 90);
  await peer.write(acceptBytes(privateGroup));
  return peer.received.subarray(5, 5 + nameLen).toString('latin1');
}

/** The service-type bits of a client frame, without the byte-order marker. */
function bits(type: number): number {
  return (type & 0x7fffff7f) >>> 0;
}

function sent(peer: FakePeer) {
  const nameLen = peer.received[4]!;
  return clientFrames(peer.received.subarray(5 + nameLen + 90));
}

async function open(f: FakeDaemon, opts: Partial<ConnectOptions> = {}): Promise<{ conn: SpreadConnection; peer: FakePeer }> {
  const connP = connect({ spread: f.spread, name: 'alice', timeoutMs: 5000, reconnect: FAST, ...opts });
  const peer = await f.nextPeer();
  await accept(peer, '#alice#d1');
  const conn = await connP;
  conns.push(conn);
  return { conn, peer };
}

async function collect(it: AsyncIterable<ConnectionStatus>, until: ConnectionStatus['type']): Promise<ConnectionStatus[]> {
  const out: ConnectionStatus[] = [];
  for await (const s of it) {
    out.push(s);
    if (s.type === until) break;
  }
  return out;
}

function recv(conn: { receive(o: { signal: AbortSignal }): Promise<SpreadEvent> }, ms = 3000): Promise<SpreadEvent> {
  return conn.receive({ signal: AbortSignal.timeout(ms) });
}

describe('backoff', () => {
  it('grows by the multiplier up to the cap; jitter scales the random part only', () => {
    const p = reconnectPolicy({ initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0 })!;
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(p, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
    const j = reconnectPolicy({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 })!;
    expect(backoffDelay(j, 2, 0)).toBe(100);
    expect(backoffDelay(j, 2, 1)).toBe(200);
    expect(reconnectPolicy(false)).toBeUndefined();
    expect(reconnectPolicy(undefined)).toMatchObject({ maxAttempts: Infinity, initialDelayMs: 100, maxDelayMs: 5000, privateName: 'keep' });
  });
});

describe('reconnection', () => {
  it('after EOF: a new session with the same name, the groups joined again, notices and status in order', async () => {
    const f = await fake();
    const { conn, peer } = await open(f);
    const status = conn.status()[Symbol.asyncIterator]();
    await conn.join('g1');
    await conn.join('g2');
    await conn.leave('g2');
    await conn.join('g3');
    // One message from the old session, then the daemon goes away.
    peer.end(frame({ type: ServiceType.AGREED_MESS, name: '#b#d1', groups: ['g1'], hint: 7 << 8 }));
    const peer2 = await f.nextPeer();
    expect(await accept(peer2, '#alice#d1')).toBe('alice');
    await peer2.until(() => sent(peer2).length >= 2, 'the rejoins');
    expect(sent(peer2).map((m) => [bits(m.type), m.groups])).toEqual([
      [ServiceType.JOIN_MESS, ['g1']],
      [ServiceType.JOIN_MESS, ['g3']],
    ]);
    expect(await recv(conn)).toMatchObject({ kind: 'message', messType: 7 });
    const notices = [await recv(conn), await recv(conn)] as MembershipMessage[];
    expect(notices.map((n) => [n.group, n.reason, n.transitional, n.members])).toEqual([
      ['g1', 'transition', true, []],
      ['g3', 'transition', true, []],
    ]);
    expect(notices[0]!.reconnect).toMatchObject({ previousPrivateGroup: '#alice#d1', privateGroup: '#alice#d1', groups: ['g1', 'g3'], attempts: 1 });
    const types: string[] = [];
    for (;;) {
      const s = (await status.next()).value as ConnectionStatus;
      types.push(s.type);
      if (s.type === 'rejoined') {
        expect(s.groups).toEqual(['g1', 'g3']);
        break;
      }
    }
    expect(types).toEqual(['disconnect', 'reconnecting', 'reconnected', 'rejoined']);
    expect(conn.isClosed).toBe(false);
    expect(conn.joinedGroups).toEqual(['g1', 'g3']);
  });

  it("privateName 'new' without a name: the daemon names the new session; privateGroup follows", async () => {
    const f = await fake();
    const connP = connect({ spread: f.spread, reconnect: { ...FAST, privateName: 'new' } });
    const peer = await f.nextPeer();
    expect(await accept(peer, '#gen1#d1')).toBe('');
    const conn = await connP;
    conns.push(conn);
    peer.end();
    const peer2 = await f.nextPeer();
    expect(await accept(peer2, '#gen2#d1')).toBe('');
    const st = await collect(conn.status(), 'reconnected');
    expect(st.at(-1)).toMatchObject({ type: 'reconnected', previousPrivateGroup: '#gen1#d1', privateGroup: '#gen2#d1' });
    expect(conn.privateGroup).toBe('#gen2#d1');
  });

  it('a multicast during the outage waits and goes out on the new session', async () => {
    const f = await fake();
    const { conn, peer } = await open(f);
    const st = conn.status()[Symbol.asyncIterator]();
    peer.end();
    expect((await st.next()).value).toMatchObject({ type: 'disconnect' });
    const sending = conn.multicast('g', 'later');
    const peer2 = await f.nextPeer();
    await accept(peer2, '#alice#d1');
    expect(await sending).toBe(5);
    await peer2.until(() => sent(peer2).length >= 1, 'the multicast');
    expect(sent(peer2)[0]).toMatchObject({ groups: ['g'], name: '#alice#d1' });
    expect(sent(peer2)[0]!.data.toString()).toBe('later');
  });

  it('a list of daemons: the first is down, the second accepts; on loss the next one is tried', async () => {
    const down = await freeClosedPort();
    const f = await fake();
    const connP = connect({ spread: [`${down}@127.0.0.1`, f.spread], name: 'alice', reconnect: FAST });
    await accept(await f.nextPeer(), '#alice#d2');
    const conn = await connP;
    conns.push(conn);
    expect(conn.address).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
    expect(conn.privateGroup).toBe('#alice#d2');
  });

  it('gives up after maxAttempts: closed resolves to ConnectionClosedError, status ends with a final error', async () => {
    const f = await fake();
    const { conn, peer } = await open(f, { reconnect: { ...FAST, maxAttempts: 3 } });
    const pending = conn.receive();
    const st = collect(conn.status(), 'error');
    await f.close();
    fakes = [];
    peer.destroy();
    const err = await conn.closed;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err?.message).toMatch(/gave up reconnecting/);
    await expect(pending).rejects.toBe(err);
    const all = await st;
    expect(all[0]).toMatchObject({ type: 'disconnect' });
    const full = [...all];
    expect(full.filter((s) => s.type === 'reconnecting').length).toBeGreaterThanOrEqual(1);
    await expect(conn.join('g')).rejects.toBe(err);
  });

  it('disconnect() during the outage stops reconnecting; closed resolves to undefined', async () => {
    const f = await fake();
    const { conn, peer } = await open(f, { reconnect: { ...FAST, initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const st = conn.status()[Symbol.asyncIterator]();
    peer.end();
    expect((await st.next()).value).toMatchObject({ type: 'disconnect' });
    expect(conn.isReconnecting).toBe(true);
    await conn.disconnect();
    expect(await conn.closed).toBeUndefined();
    await expect(conn.receive()).rejects.toBeInstanceOf(IllegalSessionError);
  });
});

describe('subscriptions', () => {
  it("subscribe joins; the group's events go to the subscription, others to the connection", async () => {
    const f = await fake();
    const { conn, peer } = await open(f);
    const sub = await conn.subscribe('news');
    const other = await conn.subscribe('sport', { join: false });
    await peer.until(() => sent(peer).length >= 1, 'the join');
    expect(sent(peer).map((m) => [bits(m.type), m.groups])).toEqual([[ServiceType.JOIN_MESS, ['news']]]);
    await peer.write(
      Buffer.concat([
        frame({ type: ServiceType.AGREED_MESS, name: '#b#d1', groups: ['news'], hint: 1 << 8 }),
        frame({ type: ServiceType.AGREED_MESS, name: '#b#d1', groups: ['weather'], hint: 2 << 8 }),
        frame({ type: ServiceType.AGREED_MESS, name: '#b#d1', groups: ['news', 'sport', 'news'], hint: 3 << 8 }),
      ]),
    );
    expect(await recv(sub)).toMatchObject({ messType: 1 });
    expect(await recv(sub)).toMatchObject({ messType: 3 });
    expect(await recv(other)).toMatchObject({ messType: 3 });
    expect(await recv(conn)).toMatchObject({ messType: 2 });
    expect(sub.pending + other.pending + conn.pending).toBe(0);
  });

  it('unsubscribe leaves, ends the iterator, and the self-leave notice is for no one', async () => {
    const f = await fake();
    const { conn, peer } = await open(f);
    const sub = await conn.subscribe('news');
    const loop = (async () => {
      const seen: number[] = [];
      for await (const ev of sub) seen.push(ev.messType);
      return seen;
    })();
    await peer.write(frame({ type: ServiceType.AGREED_MESS, name: '#b#d1', groups: ['news'], hint: 4 << 8 }));
    await peer.until(() => sent(peer).length >= 1, 'the join');
    await new Promise((r) => setTimeout(r, 50));
    await sub.unsubscribe();
    expect(await loop).toEqual([4]);
    await peer.until(() => sent(peer).length >= 2, 'the leave');
    expect([bits(sent(peer)[1]!.type), sent(peer)[1]!.groups]).toEqual([ServiceType.LEAVE_MESS, ['news']]);
    await peer.write(frame({ type: ServiceType.CAUSED_BY_LEAVE, name: 'news', groups: [] }));
    await peer.write(frame({ type: ServiceType.AGREED_MESS, name: '#b#d1', groups: ['x'], hint: 5 << 8 }));
    expect(await recv(conn)).toMatchObject({ kind: 'message', messType: 5 });
    expect(conn.joinedGroups).toEqual([]);
  });

  it('a reconnect puts a notice in each subscription of a rejoined group', async () => {
    const f = await fake();
    const { conn, peer } = await open(f);
    const sub = await conn.subscribe('news');
    peer.end();
    await accept(await f.nextPeer(), '#alice#d1');
    expect(await recv(sub)).toMatchObject({ kind: 'membership', group: 'news', reason: 'transition', reconnect: { groups: ['news'] } });
  });
});

describe('drain and abort', () => {
  it('drain() lets started sends finish, refuses new ones, then disconnects', async () => {
    const f = await fake();
    const { conn, peer } = await open(f);
    const a = conn.multicast('g', 'one');
    const drained = conn.drain();
    await expect(conn.multicast('g', 'two')).rejects.toBeInstanceOf(IllegalSessionError);
    expect(await a).toBe(3);
    await peer.until(() => peer.ended, 'the end of the session');
    await drained;
    const frames = sent(peer);
    expect(frames.map((m) => bits(m.type))).toEqual([ServiceType.AGREED_MESS, ServiceType.KILL_MESS]);
    expect(await conn.closed).toBeUndefined();
  });

  it('abort and timeout reasons become AbortError / TimeoutError with string codes', async () => {
    const f = await fake();
    const { conn } = await open(f);
    const ac = new AbortController();
    const p = conn.receive({ signal: ac.signal });
    ac.abort();
    const e1 = await p.catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(AbortError);
    expect(e1).toMatchObject({ name: 'AbortError', code: 'ABORTED', errno: 0 });
    const e2 = await conn.receive({ signal: AbortSignal.timeout(10) }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(TimeoutError);
    expect(e2).toMatchObject({ name: 'TimeoutError', code: 'TIMEOUT' });
    await expect(conn.join('g', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

/** A TCP port nothing listens on (bound, then released). */
async function freeClosedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
