import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configHash } from '../../src/daemon/config/index.js';
import type { Channel } from '../../src/daemon/ring/actions.js';
import { UdpEdge, UdpEdgeError, type UdpEdgeOptions, type UdpLog } from '../../src/daemon/net/udp.js';
import { nativeBackend } from '../../src/daemon/net/udp-native.js';
import { MONITOR_HASH, MONITOR_MAGIC, PacketType } from '../../src/wire/daemon/constants.js';
import { encodePacketHeaderInto, encodeTokenHeaderInto } from '../../src/wire/daemon/header.js';
import { freePorts, ipValue, loadCapture, loopbackSegments, makeConfig, RING_LO_ACC_HASH, sleep, waitFor, type TestConfig } from './support.js';

interface Got {
  channel: Channel;
  bytes: Uint8Array;
  from: string;
}

interface Logged {
  msg: string;
  fields: Record<string, unknown>;
}

function collectingLog(): UdpLog & { lines: Logged[] } {
  const lines: Logged[] = [];
  return {
    lines,
    warn: (fields, msg) => lines.push({ msg, fields: fields as Record<string, unknown> }),
    debug: () => {},
  };
}

/** Every test runs over both socket backends; the native addon is built by `npm ci` on Linux. */
const NATIVE = nativeBackend() !== null;
const BACKENDS: ('native' | 'dgram')[] = NATIVE ? ['native', 'dgram'] : ['dgram'];
if (!NATIVE) console.log('SKIP: UdpEdge tests over the native backend (addon not built: npm run build:native)');
let current: 'native' | 'dgram' = 'dgram';

const open: UdpEdge[] = [];
const raw: Socket[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
  await Promise.all(raw.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function edge(c: TestConfig, name: string, extra: Partial<UdpEdgeOptions> = {}): Promise<{ edge: UdpEdge; got: Got[]; log: ReturnType<typeof collectingLog> }> {
  const got: Got[] = [];
  const log = collectingLog();
  const e = await UdpEdge.open({
    config: c.config,
    self: c.daemon(name),
    onDatagram: (channel, bytes, rinfo) => got.push({ channel, bytes, from: `${rinfo.address}:${rinfo.port}` }),
    log,
    backend: current,
    ...extra,
  });
  open.push(e);
  return { edge: e, got, log };
}

async function rawSocket(address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  s.setBroadcast(true);
  raw.push(s);
  return s;
}

function sendRaw(s: Socket, bytes: Uint8Array, port: number, address: string): Promise<void> {
  return new Promise((res, rej) => s.send(bytes, port, address, (err) => (err ? rej(err) : res())));
}

function hurry(transmitter: number, confHash: number): Uint8Array {
  const buf = new Uint8Array(40);
  encodePacketHeaderInto(
    { type: PacketType.HURRY, transmitterId: transmitter, procId: transmitter, membId: { procId: 0, time: 0 }, seq: 0, tokenRound: 0, confHash, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0 },
    0, buf, 0,
  );
  return buf;
}

function dataPacket(transmitter: number, confHash: number, body: number): Uint8Array {
  const buf = new Uint8Array(40 + body);
  encodePacketHeaderInto(
    { type: PacketType.AGREED, transmitterId: transmitter, procId: transmitter, membId: { procId: transmitter, time: 7 }, seq: 1, tokenRound: 1, confHash, dataLen: 0, padding: 0, fragIndex: -1, fragLen: body },
    body, buf, 0,
  );
  for (let i = 40; i < buf.length; i++) buf[i] = i & 0xff;
  return buf;
}

function regularToken(transmitter: number, confHash: number, rtr = 0): Uint8Array {
  const buf = new Uint8Array(40 + rtr);
  encodeTokenHeaderInto(
    { type: 0, transmitterId: transmitter, procId: transmitter, membId: { procId: transmitter, time: 7 }, seq: 3, aru: 3, aruLastId: transmitter, flowControl: 0, rtrLen: 0, confHash },
    rtr, buf, 0,
  );
  return buf;
}

const N0 = ipValue('127.0.0.1');
const N1 = ipValue('127.0.0.2');

describe.each(BACKENDS)('UdpEdge (%s) on loopback: two daemons, one segment each', (backend) => {
  beforeAll(() => {
    current = backend;
  });

  it('binds the plan, sizes buffers, and two edges exchange data and token datagrams both ways', async () => {
    const ports = await freePorts(2);
    const c = loopbackSegments(ports);
    const hash = configHash(c.config);
    const a = await edge(c, 'n0');
    const b = await edge(c, 'n1');

    expect(a.edge.bound().map((s) => `${s.channel} ${s.address}:${s.boundPort}`)).toEqual([`data 127.0.0.1:${ports[0]}`, `token 127.0.0.1:${ports[0]! + 1}`]);
    expect(b.edge.bound().map((s) => `${s.channel} ${s.address}:${s.boundPort}`)).toEqual([`data 127.0.0.2:${ports[1]}`, `token 127.0.0.2:${ports[1]! + 1}`]);
    for (const s of a.edge.bound()) expect(s.recvBufferSize).toBeGreaterThan(0);
    expect(a.edge.sendBufferSize).toBeGreaterThan(0);
    expect(a.edge.sendPort()).toBeGreaterThan(0);
    expect(a.edge.confHash).toBe(hash);

    const d = dataPacket(N0, hash, 100);
    const t = regularToken(N0, hash, 16);
    expect(a.edge.carry({ kind: 'send', channel: 'data', to: 'proc', target: N1, bytes: d })).toBe(true);
    expect(a.edge.carry({ kind: 'send', channel: 'token', to: 'proc', target: N1, bytes: t })).toBe(true);
    await waitFor(() => b.got.length === 2, 2000, 'b receives 2');
    const byChannel = Object.fromEntries(b.got.map((g) => [g.channel, g]));
    expect(Buffer.from(byChannel['data']!.bytes).equals(Buffer.from(d))).toBe(true);
    expect(Buffer.from(byChannel['token']!.bytes).equals(Buffer.from(t))).toBe(true);
    // The source is a's unbound send socket, not its data port.
    expect(byChannel['data']!.from).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(byChannel['data']!.from).toBe(`127.0.0.1:${a.edge.sendPort()}`);

    const back = regularToken(N1, hash);
    b.edge.send('token', 'proc', N0, back);
    b.edge.send('data', 'proc', N0, dataPacket(N1, hash, 1432));
    await waitFor(() => a.got.length === 2, 2000, 'a receives 2');
    expect(a.got.map((g) => `${g.channel} ${g.bytes.length}`).sort()).toEqual(['data 1472', 'token 40']);

    expect(a.edge.stats.data).toMatchObject({ sent: 1, received: 1, delivered: 1 });
    expect(a.edge.stats.token).toMatchObject({ sent: 1, received: 1, delivered: 1 });
    expect(b.edge.stats.data).toMatchObject({ sent: 1, received: 1, delivered: 1 });
    expect(b.edge.stats.token).toMatchObject({ sent: 1, received: 1, delivered: 1 });
    expect(a.edge.stats.sendErrors + b.edge.stats.sendErrors).toBe(0);
    expect(a.log.lines).toEqual([]);
  });

  it('a singleton ring\'s token to itself goes up (no echo rule on the token channel)', async () => {
    const c = loopbackSegments(await freePorts(1));
    const hash = configHash(c.config);
    const a = await edge(c, 'n0');
    a.edge.send('token', 'proc', N0, regularToken(N0, hash));
    a.edge.send('data', 'proc', N0, hurry(N0, hash)); // my own data packet: echo, dropped
    await waitFor(() => a.edge.stats.token.received + a.edge.stats.data.received === 2);
    expect(a.got.map((g) => g.channel)).toEqual(['token']);
    expect(a.edge.stats.data.dropped.ownEcho).toBe(1);
    expect(a.log.lines).toEqual([]); // an echo is normal: not logged
  });

  it('drops by rule and counts each reason; the handler sees only what passed', async () => {
    const ports = await freePorts(2);
    const c = loopbackSegments(ports);
    const hash = configHash(c.config);
    const b = await edge(c, 'n1');
    const s = await rawSocket();
    const dataPort = ports[1]!;
    const tokenPort = dataPort + 1;
    const sends: [Uint8Array, number][] = [
      [new Uint8Array(39), dataPort], // short
      [new Uint8Array(0), tokenPort], // short
      [hurry(N0, hash + 1), dataPort], // wrongHash
      [regularToken(N0, MONITOR_HASH), tokenPort], // wrongHash (tokens: no monitor exception)
      [hurry(N1, hash), dataPort], // ownEcho
      [dataPacket(N0, hash, 10).subarray(0, 45), dataPort], // badLength
      [regularToken(N0, hash, 8).subarray(0, 44), tokenPort], // badLength
      [Uint8Array.from([0x80, 0, 0, 0, ...new Array<number>(36).fill(0)]), dataPort], // badMarker
      [hurry(N0, hash), dataPort], // passes
      [regularToken(N0, hash), tokenPort], // passes
    ];
    for (const [bytes, port] of sends) await sendRaw(s, bytes, port, '127.0.0.2');
    // A monitor's STATUS request (hash 1100, magic) passes too.
    const status = new Uint8Array(40);
    encodePacketHeaderInto(
      { type: PacketType.STATUS, transmitterId: 0, procId: N0, membId: { procId: MONITOR_MAGIC, time: 0 }, seq: 6543, tokenRound: 0, confHash: MONITOR_HASH, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0 },
      0, status, 0,
    );
    await sendRaw(s, status, dataPort, '127.0.0.2');
    await waitFor(() => b.edge.stats.data.received + b.edge.stats.token.received === sends.length + 1);
    expect(b.edge.stats.data.dropped).toEqual({ short: 1, badMarker: 1, wrongHash: 1, ownEcho: 1, badLength: 1 });
    expect(b.edge.stats.token.dropped).toEqual({ short: 1, badMarker: 0, wrongHash: 1, ownEcho: 0, badLength: 1 });
    expect(b.edge.stats.data.delivered).toBe(2);
    expect(b.edge.stats.token.delivered).toBe(1);
    expect(b.got.map((g) => `${g.channel} ${g.bytes.length}`).sort()).toEqual(['data 40', 'data 40', 'token 40']); // no order across sockets
  });

  it('a datagram of another configuration (captured from the reference) is dropped, counted, logged once per source per interval', async () => {
    const ports = await freePorts(2);
    const c = loopbackSegments(ports);
    expect(configHash(c.config)).not.toBe(RING_LO_ACC_HASH);
    let clock = 0;
    const b = await edge(c, 'n1', { now: () => clock, logIntervalMs: 1000 });
    const capture = loadCapture('ring-lo-acc');
    const join = capture.find((d) => d.channel === 'data' && d.bytes[1] === 0x02)!.bytes;
    const tok = capture.find((d) => d.channel === 'token' && d.bytes.length === 40)!.bytes;
    const s1 = await rawSocket();
    const s2 = await rawSocket();

    await sendRaw(s1, join, ports[1]!, '127.0.0.2');
    await sendRaw(s1, join, ports[1]!, '127.0.0.2');
    await sendRaw(s1, tok, ports[1]! + 1, '127.0.0.2');
    await waitFor(() => b.edge.stats.data.received === 2 && b.edge.stats.token.received === 1);
    expect(b.edge.stats.data.dropped.wrongHash).toBe(2);
    expect(b.edge.stats.token.dropped.wrongHash).toBe(1);
    expect(b.got).toEqual([]);
    expect(b.log.lines).toHaveLength(1); // one source, one interval
    expect(b.log.lines[0]!.msg).toContain(`different spread configuration file (hash ${RING_LO_ACC_HASH} != local hash ${configHash(c.config)})`);
    expect(b.log.lines[0]!.msg).toContain('127.0.0.1');
    expect(b.log.lines[0]!.fields).toMatchObject({ channel: 'data', hash: RING_LO_ACC_HASH, procId: '127.0.0.1' });

    // Another source is logged on its own.
    await sendRaw(s2, join, ports[1]!, '127.0.0.2');
    await waitFor(() => b.edge.stats.data.received === 3);
    expect(b.log.lines).toHaveLength(2);

    // After the interval the first source is logged again, with what was suppressed meanwhile.
    clock = 1500;
    await sendRaw(s1, join, ports[1]!, '127.0.0.2');
    await waitFor(() => b.edge.stats.data.received === 4);
    expect(b.log.lines).toHaveLength(3);
    expect(b.log.lines[2]!.fields).toMatchObject({ suppressed: 2 });
  });

  it('garbage never throws: random datagrams on both channels are counted, the handler sees only valid ones', async () => {
    const ports = await freePorts(1);
    const c = loopbackSegments(ports);
    const a = await edge(c, 'n0');
    const s = await rawSocket();
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    const total = 300;
    for (let i = 0; i < total; i++) {
      const len = [0, 1, 39, 40, 41, 60, 200, 1472, 1473, 3000][rnd() % 10]!;
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = rnd() & 0xff;
      if (len >= 4 && rnd() % 2 === 0) {
        b[0] = b[0]! | 0x80; // a plausible marker half the time
        b[3] = b[3]! | 0x80;
      }
      await sendRaw(s, b, ports[0]! + (i % 2), '127.0.0.1');
    }
    await waitFor(() => a.edge.stats.data.received + a.edge.stats.token.received === total, 3000);
    for (const ch of ['data', 'token'] as const) {
      const st = a.edge.stats[ch];
      const dropped = Object.values(st.dropped).reduce((x, y) => x + y, 0);
      expect(st.delivered + dropped).toBe(st.received);
    }
    expect(a.got.length).toBe(a.edge.stats.data.delivered + a.edge.stats.token.delivered);
    expect(a.edge.stats.handlerErrors).toBe(0);
    // Logged at most once per (reason, source) within the interval.
    expect(a.log.lines.length).toBeLessThanOrEqual(8);
  });

  it('a handler that throws is counted and logged; the edge carries on', async () => {
    const ports = await freePorts(2);
    const c = loopbackSegments(ports);
    const hash = configHash(c.config);
    const log = collectingLog();
    let calls = 0;
    const b = await UdpEdge.open({
      config: c.config, self: c.daemon('n1'), log,
      onDatagram: () => {
        calls++;
        throw new Error('boom');
      },
      backend,
    });
    open.push(b);
    const s = await rawSocket();
    await sendRaw(s, hurry(N0, hash), ports[1]!, '127.0.0.2');
    await sendRaw(s, hurry(N0, hash), ports[1]!, '127.0.0.2');
    await waitFor(() => calls === 2);
    expect(b.stats.handlerErrors).toBe(2);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]!.msg).toContain('boom');
  });

  it('sends never throw: unknown targets, closed edge, full queue are counted', async () => {
    const ports = await freePorts(2);
    const c = loopbackSegments(ports);
    const hash = configHash(c.config);
    const a = await edge(c, 'n0', { maxSendQueueBytes: -1 });
    expect(a.edge.send('data', 'proc', ipValue('10.9.9.9'), hurry(N0, hash))).toBe(false);
    expect(a.edge.send('data', 'segment', 7, hurry(N0, hash))).toBe(false);
    expect(a.edge.stats.unknownTarget).toBe(2);
    // maxSendQueueBytes -1: every send is over the bound.
    expect(a.edge.send('data', 'proc', N1, hurry(N0, hash))).toBe(false);
    expect(a.edge.stats.sendQueueFull).toBe(1);
    await a.edge.close();
    expect(a.edge.send('data', 'proc', N1, hurry(N0, hash))).toBe(false);
    expect(a.edge.sendRaw('127.0.0.1', 9, hurry(N0, hash))).toBe(false);
    expect(a.edge.stats.sendRefused).toBe(2);
    expect(a.edge.sendRaw('127.0.0.1', 0, hurry(N0, hash))).toBe(false);
    expect(a.edge.isClosed).toBe(true);
    await a.edge.close(); // idempotent
  });

  it('sendRaw reaches an explicit address (a status reply to a monitor)', async () => {
    const c = loopbackSegments(await freePorts(1));
    const a = await edge(c, 'n0');
    const mon = await rawSocket('127.0.0.1');
    const got: Buffer[] = [];
    mon.on('message', (m) => got.push(m));
    expect(a.edge.sendRaw(N0, mon.address().port, Uint8Array.of(1, 2, 3))).toBe(true);
    await waitFor(() => got.length === 1);
    expect([...got[0]!]).toEqual([1, 2, 3]);
  });

  it('a port in use fails the open with UdpEdgeError and leaves nothing bound', async () => {
    const ports = await freePorts(1);
    const c = loopbackSegments(ports);
    const squatter = createSocket('udp4');
    raw.push(squatter);
    await new Promise<void>((r) => squatter.bind(ports[0]! + 1, '127.0.0.1', () => r())); // the token port
    const err = await UdpEdge.open({ config: c.config, self: c.daemon('n0'), onDatagram: () => {}, backend }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UdpEdgeError);
    expect(err).toMatchObject({ code: 'UDP_BIND_FAILED', address: '127.0.0.1', port: ports[0]! + 1 });
    // The data socket opened before it was closed again: the port is free.
    const probe = createSocket('udp4');
    raw.push(probe);
    await new Promise<void>((res, rej) => {
      probe.once('error', rej);
      probe.bind(ports[0]!, '127.0.0.1', () => res());
    });
  });
});

describe.each(BACKENDS)('UdpEdge (%s): a segment with two daemons (broadcast address bound)', (backend) => {
  beforeAll(() => {
    current = backend;
  });

  it('binds the segment address; segment sends come back as my own echo; a peer\'s broadcast is delivered', async () => {
    const [port] = await freePorts(1);
    const c = makeConfig(`Spread_Segment 127.0.0.255:${port} {
\ta 127.0.0.1 {
\t\t127.0.0.1
\t}
\tb 127.0.0.9 {
\t\t127.0.0.9
\t}
}
`);
    const hash = configHash(c.config);
    const a = await edge(c, 'a');
    expect(a.edge.plan.bcastNeeded).toBe(true);
    expect(a.edge.bound().map((s) => `${s.channel} ${s.role} ${s.address}:${s.boundPort}`)).toEqual([
      `data segment 127.0.0.255:${port}`,
      `data interface 127.0.0.1:${port}`,
      `token interface 127.0.0.1:${port! + 1}`,
    ]);

    expect(a.edge.carry({ kind: 'send', channel: 'data', to: 'segment', target: 0, bytes: hurry(N0, hash) })).toBe(true);
    await waitFor(() => a.edge.stats.data.dropped.ownEcho === 1, 2000, 'own echo');

    const peer = await rawSocket();
    await sendRaw(peer, hurry(ipValue('127.0.0.9'), hash), port!, '127.0.0.255');
    await waitFor(() => a.got.length === 1, 2000, 'broadcast delivered');
    expect(a.got[0]!.channel).toBe('data');
    await sleep(20);
    expect(a.edge.stats.data.received).toBe(2);
  });
});

describe('UdpEdge: the native backend', () => {
  it('is built on Linux by npm ci (else every native test above would be skipped)', () => {
    if (process.platform === 'linux' && process.env.SPREAD_TS_NO_NATIVE !== '1') expect(NATIVE).toBe(true);
  });

  it.runIf(NATIVE)('a round of more datagrams than one sendmmsg takes arrives whole and in order; flush sends what a round held back', async () => {
    current = 'native';
    const ports = await freePorts(2);
    const c = loopbackSegments(ports);
    const hash = configHash(c.config);
    const a = await edge(c, 'n0');
    const b = await edge(c, 'n1');
    const n = 600; // > MAX_BATCH (256): the batch flushes when full, then at the end of the round
    for (let i = 0; i < n; i++) {
      const p = dataPacket(N0, hash, 16);
      p[40] = i & 0xff;
      p[41] = i >> 8;
      expect(a.edge.send('data', 'proc', N1, p)).toBe(true);
    }
    a.edge.flush();
    await waitFor(() => b.got.length === n, 5000, `b receives ${n}`);
    expect(b.got.map((g) => g.bytes[40]! | (g.bytes[41]! << 8))).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(a.edge.stats.sendErrors).toBe(0);
    expect(b.edge.stats.data.received).toBe(n);
  });

  it.runIf(NATIVE)('held-back sends go out by the end of the callback even without flush', async () => {
    current = 'native';
    const ports = await freePorts(2);
    const c = loopbackSegments(ports);
    const b = await edge(c, 'n1');
    const a = await edge(c, 'n0');
    a.edge.send('token', 'proc', N1, regularToken(N0, configHash(c.config)));
    await waitFor(() => b.got.length === 1, 2000, 'the token');
    expect(b.got[0]!.channel).toBe('token');
  });

  it.runIf(NATIVE)('a datagram longer than its slot is dropped as badLength and the socket keeps serving', async () => {
    current = 'native';
    const ports = await freePorts(2);
    const c = loopbackSegments(ports);
    const hash = configHash(c.config);
    const b = await edge(c, 'n1');
    const s = await rawSocket();
    await sendRaw(s, new Uint8Array(9000), ports[1]!, '127.0.0.2');
    await sendRaw(s, hurry(N0, hash), ports[1]!, '127.0.0.2');
    await waitFor(() => b.got.length === 1, 2000, 'the hurry after the long datagram');
    expect(b.edge.stats.data.dropped.badLength).toBe(1);
    expect(b.edge.stats.data.received).toBe(2);
  });
});
