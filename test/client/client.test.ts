/**
 * Client behaviour against a scripted fake daemon: rejects, connect failures, argument checks,
 * outgoing bits, decoding of both byte orders and of message kinds the captures lack, EOF,
 * backpressure and the consumption APIs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connect,
  ConnectionClosedError,
  CouldNotConnectError,
  ErrorCode,
  IllegalGroupError,
  IllegalMessageError,
  IllegalServiceError,
  IllegalSessionError,
  IllegalSpreadError,
  isCausedByJoin,
  isMembership,
  isRegular,
  isSelfLeave,
  isTransition,
  MessageTooLongError,
  parseSpreadAddress,
  RejectAuthError,
  RejectVersionError,
  ServiceType,
  SpreadError,
  spreadErrorFromCode,
} from '../../src/client/index.js';
import type { ConnectOptions, MembershipMessage, RejectMessage, SpreadConnection, SpreadEvent, SpreadMessage } from '../../src/client/index.js';
import { FakeDaemon } from './helpers/fake-daemon.js';
import type { FakePeer } from './helpers/fake-daemon.js';
import { acceptBytes, clientFrames, frame, membBody, NULL_AUTH_LIST } from './helpers/frames.js';

let fake: FakeDaemon | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const ALICE = '#alice#localhost';
const CONNECT_LEN = 5 + 'alice'.length;

async function open(
  opts: Partial<ConnectOptions> = {},
  privateGroup = ALICE,
  kind: 'tcp' | 'unix' = 'tcp',
): Promise<{ peer: FakePeer; conn: SpreadConnection }> {
  fake = kind === 'tcp' ? await FakeDaemon.tcp() : await FakeDaemon.unix();
  const name = opts.name ?? 'alice';
  // No reconnection by default here: these tests script one session (reconnect.test.ts: the rest).
  const connP = connect({ spread: fake.spread, name, timeoutMs: 5000, reconnect: false, ...opts });
  const peer = await fake.nextPeer();
  await peer.waitForBytes(5 + name.length);
  await peer.write(NULL_AUTH_LIST);
  await peer.waitForBytes(5 + name.length + 90);
  await peer.write(acceptBytes(privateGroup));
  return { peer, conn: await connP };
}

function recv(conn: SpreadConnection, ms = 3000): Promise<SpreadEvent> {
  return conn.receive({ signal: AbortSignal.timeout(ms) });
}

/** Client frames after the handshake. */
function sentFrames(peer: FakePeer, nameLen = 5) {
  return clientFrames(peer.received.subarray(5 + nameLen + 90));
}

describe('connect rejects', () => {
  const cases: [number, string, string, number][] = [
    [0xfd, 'RejectQuotaError', 'REJECT_QUOTA', -3],
    [0xfb, 'RejectIllegalNameError', 'REJECT_ILLEGAL_NAME', -5],
    [0xfa, 'RejectNotUniqueError', 'REJECT_NOT_UNIQUE', -6],
    [0xf9, 'RejectVersionError', 'REJECT_VERSION', -7],
    [0xf7, 'RejectAuthError', 'REJECT_AUTH', -9],
  ];
  for (const [byte, name, code, errno] of cases) {
    it(`0x${byte.toString(16)} instead of the auth list ⇒ ${code}`, async () => {
      fake = await FakeDaemon.tcp();
      const p = connect({ spread: fake.spread, name: 'alice', timeoutMs: 5000 }).catch((e: unknown) => e);
      const peer = await fake.nextPeer();
      await peer.waitForBytes(CONNECT_LEN);
      peer.end(Buffer.from([byte]));
      const err = await p;
      expect(err).toBeInstanceOf(SpreadError);
      expect(err).toMatchObject({ name, code, errno });
      await peer.closed;
      expect(peer.received.length).toBe(CONNECT_LEN); // no auth reply after a reject
    });
    it(`0x${byte.toString(16)} instead of the accept ⇒ ${code}`, async () => {
      fake = await FakeDaemon.tcp();
      const p = connect({ spread: fake.spread, name: 'alice', timeoutMs: 5000 }).catch((e: unknown) => e);
      const peer = await fake.nextPeer();
      await peer.waitForBytes(CONNECT_LEN);
      await peer.write(NULL_AUTH_LIST);
      await peer.waitForBytes(CONNECT_LEN + 90);
      peer.end(Buffer.from([byte]));
      expect(await p).toMatchObject({ name, code, errno });
    });
  }

  it('the error factory maps every C code and unknown values', () => {
    for (const [k, v] of Object.entries(ErrorCode)) {
      if (v > 0) continue;
      const e = spreadErrorFromCode(v);
      expect(e.code).toBe(k);
      expect(e.errno).toBe(v);
      expect(e).toBeInstanceOf(SpreadError);
    }
    expect(spreadErrorFromCode(-100)).toMatchObject({ code: 'UNKNOWN', errno: -100, name: 'SpreadError' });
  });

  it('REJECT_AUTH without sending the choice when the daemon does not offer the method', async () => {
    fake = await FakeDaemon.tcp();
    const p = connect({ spread: fake.spread, name: 'alice', timeoutMs: 5000 }).catch((e: unknown) => e);
    const peer = await fake.nextPeer();
    await peer.waitForBytes(CONNECT_LEN);
    await peer.write(Buffer.from('\x03IP ', 'latin1'));
    const err = await p;
    expect(err).toBeInstanceOf(RejectAuthError);
    expect(err).toMatchObject({ errno: -9 });
    await peer.closed;
    expect(peer.received.length).toBe(CONNECT_LEN);
  });

  it('requests NULL and IP in two 30-byte slots when offered', async () => {
    fake = await FakeDaemon.tcp();
    const p = connect({ spread: fake.spread, name: 'alice', authMethods: ['NULL', 'IP'], timeoutMs: 5000 });
    const peer = await fake.nextPeer();
    await peer.waitForBytes(CONNECT_LEN);
    await peer.write(Buffer.from('\x08NULL IP ', 'latin1'));
    await peer.waitForBytes(CONNECT_LEN + 90);
    const reply = peer.received.subarray(CONNECT_LEN);
    const want = Buffer.alloc(90);
    want.write('NULL', 0, 'latin1');
    want.write('IP', 30, 'latin1');
    expect(reply).toEqual(want);
    await peer.write(acceptBytes(ALICE));
    const conn = await p;
    await conn.disconnect();
  });

  it('rejects unsupported auth methods locally', async () => {
    await expect(connect({ spread: '1@127.0.0.1', authMethods: ['PWORD' as 'NULL'] })).rejects.toBeInstanceOf(RejectAuthError);
    await expect(connect({ spread: '1@127.0.0.1', authMethods: [] })).rejects.toBeInstanceOf(RejectAuthError);
  });

  it('a daemon older than 3.1.0 ⇒ REJECT_VERSION', async () => {
    fake = await FakeDaemon.tcp();
    const p = connect({ spread: fake.spread, name: 'alice', timeoutMs: 5000 }).catch((e: unknown) => e);
    const peer = await fake.nextPeer();
    await peer.waitForBytes(CONNECT_LEN);
    await peer.write(NULL_AUTH_LIST);
    await peer.waitForBytes(CONNECT_LEN + 90);
    await peer.write(acceptBytes(ALICE, [3, 0, 9]));
    expect(await p).toBeInstanceOf(RejectVersionError);
  });

  it('flags byte: membership off and priority 1', async () => {
    fake = await FakeDaemon.tcp();
    const p = connect({ spread: fake.spread, name: 'bob', membership: false, priority: 1, timeoutMs: 500 }).catch((e: unknown) => e);
    const peer = await fake.nextPeer();
    await peer.waitForBytes(8);
    expect(peer.received).toEqual(Buffer.from('0404001003626f62', 'hex'));
    expect(await p).toBeInstanceOf(ConnectionClosedError); // timed out in the handshake
  });
});

describe('connect failures', () => {
  it('ILLEGAL_SPREAD for malformed addresses', async () => {
    for (const s of ['abc', '4803@', '4803x', '99999', '4803@a b', '-1', '48 03', '4803@' + 'h'.repeat(70)]) {
      const err = await connect({ spread: s }).catch((e: unknown) => e);
      expect(err, s).toBeInstanceOf(IllegalSpreadError);
      expect(err).toMatchObject({ code: 'ILLEGAL_SPREAD', errno: -1 });
    }
    await expect(connect({ spread: { host: '', port: 1 } })).rejects.toBeInstanceOf(IllegalSpreadError);
  });

  it('parses spread strings like SP_connect', () => {
    expect(parseSpreadAddress('4803')).toEqual({ kind: 'unix', path: '/tmp/4803' });
    expect(parseSpreadAddress('')).toEqual({ kind: 'unix', path: '/tmp/4803' });
    expect(parseSpreadAddress(undefined)).toEqual({ kind: 'unix', path: '/tmp/4803' });
    expect(parseSpreadAddress('24803@127.0.0.1')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 24803 });
    expect(parseSpreadAddress({ host: 'h', port: 1 })).toEqual({ kind: 'tcp', host: 'h', port: 1 });
    expect(parseSpreadAddress({ path: '/x/y' })).toEqual({ kind: 'unix', path: '/x/y' });
  });

  it('ILLEGAL_SPREAD for a host that does not resolve', async () => {
    const err = await connect({ spread: '4803@no-such-host.invalid', timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IllegalSpreadError);
  });

  it('COULD_NOT_CONNECT for a closed port and a missing unix socket', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const err = await connect({ spread: `${port}@127.0.0.1` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CouldNotConnectError);
    expect(err).toMatchObject({ code: 'COULD_NOT_CONNECT', errno: -2 });
    await expect(connect({ spread: { path: '/nonexistent/dir/sock' } })).rejects.toBeInstanceOf(CouldNotConnectError);
  });

  it('EOF during the handshake ⇒ CONNECTION_CLOSED', async () => {
    fake = await FakeDaemon.tcp();
    const p = connect({ spread: fake.spread, name: 'alice' }).catch((e: unknown) => e);
    const peer = await fake.nextPeer();
    await peer.waitForBytes(CONNECT_LEN);
    await peer.write(NULL_AUTH_LIST);
    await peer.waitForBytes(CONNECT_LEN + 90);
    peer.end(acceptBytes(ALICE).subarray(0, 7)); // accept cut short
    const err = await p;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ code: 'CONNECTION_CLOSED', errno: -8 });
  });

  it('an auth list longer than 90 ⇒ CONNECTION_CLOSED', async () => {
    fake = await FakeDaemon.tcp();
    const p = connect({ spread: fake.spread, name: 'alice' }).catch((e: unknown) => e);
    const peer = await fake.nextPeer();
    await peer.waitForBytes(CONNECT_LEN);
    await peer.write(Buffer.from([91]));
    expect(await p).toBeInstanceOf(ConnectionClosedError);
  });

  it('timeoutMs bounds a silent daemon; an aborted signal rejects with its reason', async () => {
    fake = await FakeDaemon.tcp();
    const t0 = Date.now();
    const err = await connect({ spread: fake.spread, name: 'alice', timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(String((err as Error).message)).toMatch(/timed out/);
    expect(Date.now() - t0).toBeLessThan(2000);

    const ac = new AbortController();
    const p = connect({ spread: fake.spread, name: 'alice', signal: ac.signal }).catch((e: unknown) => e);
    await fake.nextPeer();
    await fake.nextPeer();
    ac.abort();
    expect(await p).toMatchObject({ name: 'AbortError' });
    await expect(connect({ spread: fake.spread, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('connects over a unix socket given as { path }', async () => {
    const { conn } = await open({}, ALICE, 'unix');
    expect(conn.address.kind).toBe('unix');
    expect(conn.privateGroup).toBe(ALICE);
    await conn.disconnect();
  });

  it('"<port>" means the unix socket /tmp/<port>', async () => {
    let port = 0;
    for (let i = 0; i < 20 && port === 0; i++) {
      const p = 50000 + Math.floor(Math.random() * 15000);
      if (!existsSync(`/tmp/${p}`)) port = p;
    }
    const srv = createServer((s) => {
      s.resume();
      s.end(Buffer.from([0xfa]));
    });
    await new Promise<void>((r) => srv.listen(`/tmp/${port}`, r));
    try {
      await expect(connect({ spread: String(port), name: 'x' })).rejects.toMatchObject({ code: 'REJECT_NOT_UNIQUE' });
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('sending', () => {
  it('join / leave check names like SP_join (ILLEGAL_GROUP) and send nothing for bad ones', async () => {
    const { peer, conn } = await open();
    for (const g of ['', 'x'.repeat(32), 'a b', '#alice', 'tab\t', 'é']) {
      const err = await conn.join(g).catch((e: unknown) => e);
      expect(err, g).toBeInstanceOf(IllegalGroupError);
      expect(err).toMatchObject({ code: 'ILLEGAL_GROUP', errno: -14 });
      await expect(conn.leave(g)).rejects.toBeInstanceOf(IllegalGroupError);
    }
    await conn.join('x'.repeat(31));
    await conn.leave('$~');
    await peer.waitForBytes(CONNECT_LEN + 90 + 2 * 80);
    const f = sentFrames(peer);
    expect(f.map((x) => [x.type, x.name, x.groups, x.hint, x.data.length])).toEqual([
      [0x80010080, ALICE, ['x'.repeat(31)], 0x80000080, 0],
      [0x80020080, ALICE, ['$~'], 0x80000080, 0],
    ]);
    await conn.disconnect();
  });

  it('every service, SELF_DISCARD and messType (incl. negative) land in the type and hint words', async () => {
    const { peer, conn } = await open();
    const services = ['unreliable', 'reliable', 'fifo', 'causal', 'agreed', 'safe'] as const;
    for (const [i, s] of services.entries()) {
      await conn.multicast('g', `m${i}`, { service: s, messType: i - 3 });
      await conn.multicast('g', `d${i}`, { service: s, selfDiscard: true, messType: 0x7fff });
    }
    await conn.multicast(['g1', 'g2'], new Uint8Array([1, 2, 3]));
    await conn.multicast('g', '', { messType: -32768 });
    await conn.multicast('g', '', { messType: 0xffff });
    const f = await (async () => {
      await peer.until(() => sentFrames(peer).length >= 15, '15 frames');
      return sentFrames(peer);
    })();
    for (const [i] of services.entries()) {
      const bit = 1 << i;
      expect(f[2 * i]!.type).toBe((0x80000080 | bit) >>> 0);
      expect(f[2 * i]!.hint).toBe((0x80000080 | (((i - 3) << 8) & 0xffff00)) >>> 0);
      expect(f[2 * i + 1]!.type).toBe((0x80000080 | bit | 0x40) >>> 0);
      expect(f[2 * i + 1]!.hint).toBe(0x807fff80);
    }
    expect(f[1]!.hint).toBe(0x807fff80);
    // mess_type -2 ⇒ hint bytes 80 fe ff 80 (notes A.5); -3 here ⇒ 80 fd ff 80.
    expect(Buffer.from(new Uint32Array([f[0]!.hint]).buffer)).toEqual(Buffer.from('80fdff80', 'hex'));
    // default service is AGREED; multigroup carries both names; data verbatim
    expect(f[12]).toMatchObject({ type: 0x80000090, groups: ['g1', 'g2'], hint: 0x80000080 });
    expect([...f[12]!.data]).toEqual([1, 2, 3]);
    expect(f[13]!.hint).toBe(0x80800080);
    expect(f[14]!.hint).toBe(0x80ffff80);
    await conn.disconnect();
  });

  it('group names are copied like strncpy(31): long names truncated, not validated', async () => {
    const { peer, conn } = await open();
    await conn.multicast(['y'.repeat(40), '#bob#localhost', 'any name ok'], 'x');
    await peer.until(() => sentFrames(peer).length >= 1, 'frame');
    const raw = peer.received.subarray(CONNECT_LEN + 90);
    expect(raw.subarray(48, 80)).toEqual(Buffer.concat([Buffer.from('y'.repeat(31)), Buffer.alloc(1)]));
    expect(sentFrames(peer)[0]!.groups).toEqual(['y'.repeat(31), '#bob#localhost', 'any name ok']);
    await conn.disconnect();
  });

  it('checks: ILLEGAL_SERVICE, ILLEGAL_MESSAGE (groups > 100, bad messType), MESSAGE_TOO_LONG', async () => {
    const { peer, conn } = await open();
    await expect(conn.multicast('g', 'x', { service: 'bogus' as 'safe' })).rejects.toBeInstanceOf(IllegalServiceError);
    await expect(conn.multicastRaw(0, 'g', 'x')).rejects.toMatchObject({ code: 'ILLEGAL_SERVICE', errno: -12 });
    await expect(conn.multicastRaw(ServiceType.SELF_DISCARD, 'g', 'x')).rejects.toBeInstanceOf(IllegalServiceError);
    await expect(conn.multicastRaw(ServiceType.AGREED_MESS | ServiceType.REJECT_MESS, 'g', 'x')).rejects.toBeInstanceOf(IllegalServiceError);
    await expect(conn.multicastRaw(ServiceType.JOIN_MESS, 'g', 'x')).rejects.toBeInstanceOf(IllegalServiceError);
    const groups101 = Array.from({ length: 101 }, (_, i) => `g${i}`);
    await expect(conn.multicast(groups101, 'x')).rejects.toBeInstanceOf(IllegalMessageError);
    await expect(conn.multicast('g', 'x', { messType: 0x10000 })).rejects.toBeInstanceOf(IllegalMessageError);
    await expect(conn.multicast('g', 'x', { messType: 1.5 })).rejects.toBeInstanceOf(IllegalMessageError);
    // The daemon's limit (SPEC Part I §9): data + 32 × groups ≤ 143152, for any number of groups.
    const tooLong = new Uint8Array(143152 - 32 + 1);
    const err = await conn.multicast('g', tooLong).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageTooLongError);
    expect(err).toMatchObject({ code: 'MESSAGE_TOO_LONG', errno: -17 });
    await expect(conn.multicast(groups101.slice(0, 100), new Uint8Array(143152 - 3200 + 1))).rejects.toBeInstanceOf(MessageTooLongError);
    await sleep(20);
    expect(peer.received.length).toBe(CONNECT_LEN + 90); // nothing sent
    // The limits themselves are fine; raw bits pass as given (two services: the daemon's problem).
    expect(await conn.multicast(groups101.slice(0, 100), new Uint8Array(143152 - 3200))).toBe(139952);
    expect(await conn.multicastRaw(ServiceType.AGREED_MESS | ServiceType.SAFE_MESS | 0x00100000, 'g', 'x', -1)).toBe(1);
    await peer.until(() => sentFrames(peer).length >= 2, '2 frames');
    expect(sentFrames(peer)[1]).toMatchObject({ type: 0x801000b0, hint: 0x80ffff80 });
    await conn.disconnect();
  });

  it('an aborted signal sends nothing', async () => {
    const { peer, conn } = await open();
    await expect(conn.multicast('g', 'x', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(conn.join('g', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await sleep(20);
    expect(peer.received.length).toBe(CONNECT_LEN + 90);
    await conn.disconnect();
  });

  it('disconnect sends KILL naming our private group, then closes; later calls ⇒ ILLEGAL_SESSION', async () => {
    const { peer, conn } = await open();
    await conn.disconnect();
    await peer.waitForEnd();
    expect(sentFrames(peer)).toEqual([{ type: 0x80040080, name: ALICE, groups: [ALICE], hint: 0x80000080, data: Buffer.alloc(0) }]);
    expect(await conn.closed).toBeUndefined();
    expect(conn.isClosed).toBe(true);
    await expect(conn.join('g')).rejects.toBeInstanceOf(IllegalSessionError);
    await expect(conn.multicast('g', 'x')).rejects.toMatchObject({ code: 'ILLEGAL_SESSION', errno: -11 });
    await expect(conn.receive()).rejects.toBeInstanceOf(IllegalSessionError);
    await conn.disconnect(); // idempotent
  });

  it('[Symbol.asyncDispose] disconnects', async () => {
    const { peer, conn } = await open();
    await conn[Symbol.asyncDispose]();
    await peer.waitForEnd();
    expect(sentFrames(peer)[0]!.type).toBe(0x80040080);
  });
});

describe('receiving', () => {
  it('a big-endian daemon: header, hint and membership body are flipped', async () => {
    const { peer, conn } = await open();
    await peer.write(
      frame({ type: ServiceType.AGREED_MESS, name: '#bob#be', groups: ['g'], hint: (-2 << 8) & 0xffff00, data: Buffer.from('hi'), bigEndian: true }),
    );
    const m = (await recv(conn)) as SpreadMessage;
    expect(m).toMatchObject({ kind: 'message', serviceType: 0x10, service: 'agreed', sender: '#bob#be', groups: ['g'], messType: -2, endianMismatch: true });
    expect(Buffer.from(m.data).toString()).toBe('hi');

    const body = membBody([LOCAL, 0x6b086a2c, 7], [['#x#d1'], [ALICE, '#z#localhost']], 1, true);
    await peer.write(
      frame({ type: ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_NETWORK, name: 'grp', groups: ['#x#d1', ALICE, '#z#localhost'], data: body, bigEndian: true }),
    );
    const mm = (await recv(conn)) as MembershipMessage;
    expect(mm).toMatchObject({
      kind: 'membership',
      reason: 'network',
      group: 'grp',
      groupId: { procId: LOCAL, time: 0x6b086a2c, index: 7 },
      vsSets: [['#x#d1'], [ALICE, '#z#localhost']],
      myVsSet: 1,
      myVsSetMembers: [ALICE, '#z#localhost'],
      changedMember: undefined,
      messType: 1,
    });
    await conn.disconnect();
  });

  it('little-endian daemon relaying a big-endian sender: only the hint is foreign', async () => {
    const { peer, conn } = await open();
    await peer.write(frame({ type: ServiceType.SAFE_MESS, name: '#s#d', groups: ['g'], hint: 0x1234 << 8, hintBigEndian: true }));
    expect(await recv(conn)).toMatchObject({ messType: 0x1234, endianMismatch: true, service: 'safe' });
    await peer.write(frame({ type: ServiceType.SAFE_MESS, name: '#s#d', groups: ['g'], hint: 0x1234 << 8 }));
    expect(await recv(conn)).toMatchObject({ messType: 0x1234, endianMismatch: false });
    await conn.disconnect();
  });

  it('REG_MEMB|CAUSED_BY_NETWORK from notes I.2 (merge of alice@d1 and bob@d2, bob\'s copy)', async () => {
    const { peer, conn } = await open({ name: 'bob' }, '#bob#d2');
    const bytes = Buffer.from(
      '80180080' + Buffer.from('grp').toString('hex').padEnd(64, '0') + '02000000' + '80000080' + '5c000000' +
        Buffer.from('#alice#d1').toString('hex').padEnd(64, '0') + Buffer.from('#bob#d2').toString('hex').padEnd(64, '0') +
        '0100007f2c6a086b01000000' + '02000000' + '24000000' +
        '01000000' + Buffer.from('#alice#d1').toString('hex').padEnd(64, '0') +
        '01000000' + Buffer.from('#bob#d2').toString('hex').padEnd(64, '0'),
      'hex',
    );
    await peer.write(bytes);
    const m = (await recv(conn)) as MembershipMessage;
    expect(m).toMatchObject({
      serviceType: 0x1800,
      reason: 'network',
      members: ['#alice#d1', '#bob#d2'],
      groupId: { procId: LOCAL, time: 0x6b086a2c, index: 1 },
      vsSets: [['#alice#d1'], ['#bob#d2']],
      myVsSet: 1,
      myVsSetMembers: ['#bob#d2'],
      changedMember: undefined,
      messType: 1,
      transitional: false,
    });
    expect(isMembership(m.serviceType) && !isCausedByJoin(m.serviceType)).toBe(true);
    await conn.disconnect();
  });

  it('transitional, disconnect and reject messages', async () => {
    const { peer, conn } = await open();
    const gid = Buffer.alloc(12);
    gid.writeInt32LE(LOCAL, 0);
    gid.writeInt32LE(5, 4);
    gid.writeInt32LE(9, 8);
    await peer.write(frame({ type: ServiceType.TRANSITION_MESS, name: 'grp', groups: [], data: gid }));
    const t = (await recv(conn)) as MembershipMessage;
    expect(t).toMatchObject({ reason: 'transition', transitional: true, groupId: { procId: LOCAL, time: 5, index: 9 }, members: [], vsSets: [], messType: -1 });
    expect(isTransition(t.serviceType) && !isSelfLeave(t.serviceType)).toBe(true);

    await peer.write(
      frame({
        type: ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_DISCONNECT,
        name: 'grp',
        groups: ['#a#localhost', '#c#localhost'],
        data: membBody([LOCAL, 5, 10], [['#b#localhost']], 0),
      }),
    );
    expect(await recv(conn)).toMatchObject({ reason: 'disconnect', changedMember: '#b#localhost', messType: -1, members: ['#a#localhost', '#c#localhost'] });

    await peer.write(
      frame({
        type: ServiceType.REJECT_MESS,
        oldType: ServiceType.AGREED_MESS,
        name: ALICE,
        groups: ['g', ALICE],
        hint: 7 << 8,
        data: Buffer.from('no'),
      }),
    );
    const r = (await recv(conn)) as RejectMessage;
    expect(r).toMatchObject({
      kind: 'reject',
      serviceType: ServiceType.REJECT_MESS | ServiceType.AGREED_MESS,
      oldType: ServiceType.AGREED_MESS,
      service: 'agreed',
      groups: ['g', ALICE],
      messType: 7,
      sender: ALICE,
    });
    expect(isRegular(r.serviceType)).toBe(false);
    await conn.disconnect();
  });

  it('a 100000-byte message split across many chunks', async () => {
    const { peer, conn } = await open();
    const data = Buffer.alloc(100_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    void peer.writeSplit(frame({ type: ServiceType.SAFE_MESS, name: '#b#x', groups: ['g'], data }), 4096, 1);
    const m = (await recv(conn, 5000)) as SpreadMessage;
    expect(Buffer.from(m.data).equals(data)).toBe(true);
    await conn.disconnect();
  });

  it('EOF in the middle of a message ⇒ CONNECTION_CLOSED for pending and new calls', async () => {
    const { peer, conn } = await open();
    const pending = conn.receive();
    const f = frame({ type: ServiceType.AGREED_MESS, name: '#b#x', groups: ['g'], data: Buffer.from('data') });
    await peer.write(f.subarray(0, 30));
    peer.end();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ code: 'CONNECTION_CLOSED', errno: -8 });
    expect(String((err as Error).message)).toMatch(/incomplete/);
    expect(await conn.closed).toBeInstanceOf(ConnectionClosedError);
    await expect(conn.receive()).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(conn.join('g')).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(conn.multicast('g', 'x')).rejects.toBeInstanceOf(ConnectionClosedError);
    await conn.disconnect();
  });

  it('events already received stay readable after EOF; the iterator then throws', async () => {
    const { peer, conn } = await open();
    const frames = [1, 2, 3].map((i) => frame({ type: ServiceType.FIFO_MESS, name: '#b#x', groups: ['g'], hint: i << 8 }));
    peer.end(Buffer.concat(frames));
    expect(await conn.closed).toBeInstanceOf(ConnectionClosedError);
    const seen: number[] = [];
    const err = await (async () => {
      for await (const ev of conn) seen.push((ev as SpreadMessage).messType);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([1, 2, 3]);
    expect(err).toBeInstanceOf(ConnectionClosedError);
  });

  it('a malformed frame (negative data_len) ⇒ ILLEGAL_MESSAGE and the connection closes', async () => {
    const { peer, conn } = await open();
    const f = frame({ type: ServiceType.AGREED_MESS, name: '#b#x', groups: [] });
    f.writeInt32LE(-5, 44);
    await peer.write(f);
    const err = await recv(conn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IllegalMessageError);
    expect(await conn.closed).toBeInstanceOf(IllegalMessageError);
  });

  it('the async iterator ends on disconnect; break does not disconnect', async () => {
    const { peer, conn } = await open();
    await peer.write(Buffer.concat([1, 2].map((i) => frame({ type: ServiceType.AGREED_MESS, name: '#b#x', groups: ['g'], hint: i << 8 }))));
    for await (const ev of conn) {
      expect(ev).toMatchObject({ messType: 1 });
      break;
    }
    expect(conn.isClosed).toBe(false);
    expect(await recv(conn)).toMatchObject({ messType: 2 });
    const loop = (async () => {
      const got: SpreadEvent[] = [];
      for await (const ev of conn) got.push(ev);
      return got;
    })();
    await sleep(20);
    await conn.disconnect();
    expect(await loop).toEqual([]);
  });

  it('receive({signal}) abort rejects and loses no event', async () => {
    const { peer, conn } = await open();
    const ac = new AbortController();
    const p = conn.receive({ signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await peer.write(frame({ type: ServiceType.AGREED_MESS, name: '#b#x', groups: ['g'], hint: 5 << 8 }));
    expect(await recv(conn)).toMatchObject({ messType: 5 });
    await conn.disconnect();
  });

  it('onMessage delivers in order, awaits async handlers, reports handler errors, stops on unsubscribe', async () => {
    const { peer, conn } = await open();
    const seen: number[] = [];
    const errors: unknown[] = [];
    const stop = conn.onMessage(
      async (ev) => {
        await sleep(1);
        const n = (ev as SpreadMessage).messType;
        seen.push(n);
        if (n === 3) throw new Error('boom');
      },
      { onError: (e) => errors.push(e) },
    );
    await peer.write(Buffer.concat([1, 2, 3, 4, 5].map((i) => frame({ type: ServiceType.AGREED_MESS, name: '#b#x', groups: ['g'], hint: i << 8 }))));
    await peer.until(() => seen.length === 5, 'handler calls');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(errors).toHaveLength(1);
    stop();
    await sleep(10);
    await peer.write(frame({ type: ServiceType.AGREED_MESS, name: '#b#x', groups: ['g'], hint: 6 << 8 }));
    expect(await recv(conn)).toMatchObject({ messType: 6 });
    expect(seen).toHaveLength(5);
    await conn.disconnect();
  });
});

describe('slow consumer', () => {
  it('a full queue pauses reading, signals once per episode, and drains in order', async () => {
    const signals: { queuedEvents: number }[] = [];
    const { peer, conn } = await open({ maxQueuedEvents: 10, onSlowConsumer: (i) => signals.push(i) });
    const extra: number[] = [];
    conn.onSlowConsumer((i) => extra.push(i.queuedEvents));
    const N = 200;
    await peer.write(Buffer.concat(Array.from({ length: N }, (_, i) => frame({ type: ServiceType.FIFO_MESS, name: '#b#x', groups: ['g'], hint: i << 8 }))));
    await peer.until(() => signals.length > 0, 'slow-consumer signal');
    expect(conn.slowConsumer).toBe(true);
    expect(conn.pending).toBe(10);
    expect(signals[0]!.queuedEvents).toBe(10);
    expect(extra).toEqual([10]);
    for (let i = 0; i < N; i++) {
      const ev = (await recv(conn)) as SpreadMessage;
      expect(ev.messType).toBe(i);
      expect(conn.pending).toBeLessThanOrEqual(10);
    }
    expect(conn.slowConsumer).toBe(false);
    expect(conn.stats.slowConsumerCount).toBe(signals.length);
    expect(conn.stats.eventsReceived).toBe(N);
    await conn.disconnect();
  });

  it('the byte bound also applies, and the daemon side sees TCP backpressure', async () => {
    const { peer, conn } = await open({ maxQueuedBytes: 64 * 1024 });
    const big = frame({ type: ServiceType.FIFO_MESS, name: '#b#x', groups: ['g'], data: Buffer.alloc(10_000) });
    const total = 3000; // 30 MB: far more than socket buffers hold
    let written = 0;
    const sock = peer.socket;
    while (written < total && sock.writableLength < 8 * 1024 * 1024) {
      sock.write(big);
      written++;
    }
    await sleep(300);
    expect(conn.slowConsumer).toBe(true);
    expect(conn.stats.queuedBytes).toBeLessThan(64 * 1024 + big.length);
    // The client stopped reading: most of what we wrote is still in our send buffer.
    expect(sock.writableLength).toBeGreaterThan(2 * 1024 * 1024);
    let got = 0;
    while (got < written) {
      await recv(conn, 5000);
      got++;
    }
    expect(conn.slowConsumer).toBe(false);
    await conn.disconnect();
  });
});

const LOCAL = 0x7f000001;
