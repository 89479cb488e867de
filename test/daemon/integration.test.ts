/**
 * The built daemon as a process, spoken to with raw bytes over TCP and the unix socket.
 * Needs `npm run build` first (`npm test` does it).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authReply, connectBytes, frame, hex, membershipBody, parseFrames, T } from './harness.js';
import { RawClient, startDaemonProcess } from './support.js';
import type { DaemonProcess } from './support.js';

const AUTH_LIST = '054e554c4c20';

let d: DaemonProcess;
const clients: RawClient[] = [];

beforeAll(async () => {
  d = await startDaemonProcess({ extraConf: 'MaxSessionMessages = 20' });
});

afterAll(async () => {
  for (const c of clients) c.close();
  if (d !== undefined) {
    const code = await d.stop();
    expect(code).toBe(0);
    expect(existsSync(d.unixPath)).toBe(false);
  }
});

async function open(via: 'tcp' | 'unix'): Promise<RawClient> {
  const c = await RawClient.open(via === 'tcp' ? { port: d.port } : { path: d.unixPath });
  clients.push(c);
  return c;
}

/** Connects and authenticates; returns the client with the accept consumed. */
async function login(name: string, via: 'tcp' | 'unix' = 'tcp', membership = true): Promise<RawClient> {
  const c = await open(via);
  c.write(connectBytes(name, { membership }));
  expect(hex(await c.read(6))).toBe(AUTH_LIST);
  c.write(authReply());
  const accept = await c.read(5);
  expect(hex(accept.subarray(0, 4))).toBe('01040400');
  const pg = await c.read(accept[4]!);
  expect(pg.toString('latin1')).toBe(`#${name}#localhost`);
  return c;
}

function pg(name: string): string {
  return `#${name}#localhost`;
}

describe('daemon process', () => {
  it('prints the readiness line and the configuration hash', () => {
    expect(d.stdout()).toMatch(/^spread-ts ready: localhost on 127\.0\.0\.1:\d+, \/tmp\/\d+\n/);
    expect(d.stderr()).toMatch(/Hash value for this configuration is: \d+/);
  });

  it('makes the unix socket world-writable', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(d.unixPath).mode & 0o777).toBe(0o666);
  });
});

describe('handshake over TCP and the unix socket', () => {
  for (const via of ['tcp', 'unix'] as const) {
    it(`accepts and rejects (${via})`, async () => {
      const a = await login(`hs-${via}`, via);
      // duplicate name
      const dup = await open(via);
      dup.write(connectBytes(`hs-${via}`));
      expect(hex(await dup.read(1))).toBe('fa');
      await dup.waitClosed();
      // old version
      const old = await open(via);
      old.write(Buffer.from('030001026162', 'hex'));
      expect(hex(await old.read(1))).toBe('f9');
      await old.waitClosed();
      // name too long, illegal name
      for (const bytes of [Buffer.from('040400010b6162636465666768696a6b', 'hex'), connectBytes('a b')]) {
        const bad = await open(via);
        bad.write(bytes);
        expect(hex(await bad.read(1))).toBe('fb');
        await bad.waitClosed();
      }
      // auth method not enabled
      const ip = await open(via);
      ip.write(connectBytes(`ip-${via}`));
      expect(hex(await ip.read(6))).toBe(AUTH_LIST);
      ip.write(authReply(['IP']));
      expect(hex(await ip.read(1))).toBe('f7');
      await ip.waitClosed();
      a.close();
    });
  }

  it('generates a name for name_len 0', async () => {
    const c = await open('tcp');
    c.write(Uint8Array.from([4, 4, 0, 1, 0]));
    expect(hex(await c.read(6))).toBe(AUTH_LIST);
    c.write(authReply());
    const accept = await c.read(5);
    const name = (await c.read(accept[4]!)).toString('latin1');
    expect(name).toMatch(/^#r\d{1,4}-\d{1,4}#localhost$/);
    expect(name.length - '##localhost'.length).toBeLessThanOrEqual(9);
    c.close();
  });

  it('closes a connection that sends nothing within the connect window', async () => {
    const c = await open('tcp');
    await c.waitClosed(4000);
    expect(c.available).toBe(0);
  });
});

describe('groups and messages', () => {
  it('join / multicast / leave between a TCP and a unix-socket client, exact bytes', async () => {
    const alice = await login('alice', 'tcp');
    const bob = await login('bob', 'unix');
    alice.write(frame({ type: T.JOIN, sender: pg('alice'), groups: ['grpA'] }));
    const j1 = await alice.readFrame();
    const ring = membershipBody(parseFrames(j1)[0]!.data);
    expect(ring.procId).toBe(0x7f000001);
    expect(Math.abs(ring.time - Date.now() / 1000)).toBeLessThan(120);
    expect(ring.index).toBe(1);
    bob.write(frame({ type: T.JOIN, sender: pg('bob'), groups: ['grpA'] }));
    const j2a = await alice.readFrame();
    const j2b = await bob.readFrame();
    expect(hex(j2a)).toBe(hex(j2b));
    const [f2] = parseFrames(j2a);
    expect(f2!.groups).toEqual([pg('alice'), pg('bob')]);
    expect(membershipBody(f2!.data)).toMatchObject({ index: 2, sets: [[pg('bob')]] });

    const m = frame({ type: T.SAFE, sender: pg('alice'), groups: ['grpA'], data: 'hello from alice\n', hint: 0x80000180 });
    alice.write(m);
    expect(hex(await alice.readFrame())).toBe(hex(m));
    expect(hex(await bob.readFrame())).toBe(hex(m));

    bob.write(frame({ type: T.LEAVE, sender: pg('bob'), groups: ['grpA'] }));
    expect(hex(await bob.readFrame())).toBe(hex(frame({ type: T.CAUSED_BY_LEAVE, sender: 'grpA' })));
    const [l] = parseFrames(await alice.readFrame());
    expect(l!.type).toBe((0x80000080 | T.REG_MEMB | T.CAUSED_BY_LEAVE) >>> 0);
    expect(membershipBody(l!.data)).toMatchObject({ index: 3, sets: [[pg('bob')]] });

    // bob disconnects (SP_disconnect's KILL) while in the group: alice sees CAUSED_BY_DISCONNECT.
    bob.write(frame({ type: T.JOIN, sender: pg('bob'), groups: ['grpA'] }));
    await alice.readFrame();
    await bob.readFrame();
    bob.write(frame({ type: T.KILL, sender: pg('bob'), groups: [pg('bob')] }));
    await bob.waitClosed();
    const [k] = parseFrames(await alice.readFrame());
    expect(k!.type).toBe((0x80000080 | T.REG_MEMB | T.CAUSED_BY_DISCONNECT) >>> 0);
    expect(membershipBody(k!.data)).toMatchObject({ index: 5, sets: [[pg('bob')]] });
    alice.close();
  });

  it('multigroup and private-group delivery; open groups', async () => {
    const s = await login('sender', 'tcp');
    const r = await login('rcv', 'unix', false);
    r.write(frame({ type: T.JOIN, sender: pg('rcv'), groups: ['m1'] }));
    r.write(frame({ type: T.JOIN, sender: pg('rcv'), groups: ['m2'] }));
    const m = frame({ type: T.AGREED, sender: pg('sender'), groups: ['m1', 'm2', pg('rcv')], data: 'once' });
    s.write(m);
    const uni = frame({ type: T.RELIABLE, sender: pg('sender'), groups: [pg('rcv')], data: 'just you' });
    s.write(uni);
    expect(hex(await r.readFrame())).toBe(hex(m));
    expect(hex(await r.readFrame())).toBe(hex(uni));
    await new Promise((res) => setTimeout(res, 50));
    expect(r.available).toBe(0);
    expect(s.available).toBe(0);
    s.close();
    r.close();
  });
});

describe('misbehaving clients', () => {
  async function pair(tag: string): Promise<{ bad: RawClient; watcher: RawClient }> {
    const watcher = await login(`w-${tag}`);
    const bad = await login(`b-${tag}`);
    bad.write(frame({ type: T.JOIN, sender: pg(`b-${tag}`), groups: [`g-${tag}`] }));
    await bad.readFrame();
    watcher.write(frame({ type: T.JOIN, sender: pg(`w-${tag}`), groups: [`g-${tag}`] }));
    await watcher.readFrame();
    await bad.readFrame();
    return { bad, watcher };
  }

  async function expectDisconnectSeen(watcher: RawClient, who: string): Promise<void> {
    const [f] = parseFrames(await watcher.readFrame());
    expect(f!.type).toBe((0x80000080 | T.REG_MEMB | T.CAUSED_BY_DISCONNECT) >>> 0);
    expect(membershipBody(f!.data).sets).toEqual([[pg(who)]]);
  }

  it('garbage bytes: the sender is cut off, others see a disconnect', async () => {
    const { bad, watcher } = await pair('garbage');
    bad.write(Buffer.from('this is not a spread message at all, not even close........'));
    await bad.waitClosed();
    await expectDisconnectSeen(watcher, 'b-garbage');
    watcher.close();
  });

  it('a truncated header then EOF', async () => {
    const { bad, watcher } = await pair('trunc');
    bad.socket.end(frame({ type: T.AGREED, sender: pg('b-trunc'), groups: [`g-trunc`] }).subarray(0, 20));
    await expectDisconnectSeen(watcher, 'b-trunc');
    watcher.close();
  });

  it('absurd lengths are refused on the header alone', async () => {
    const { bad, watcher } = await pair('huge');
    bad.write(frame({ type: T.AGREED, sender: pg('b-huge'), groups: ['g-huge'], dataLen: 0x7fffffff }).subarray(0, 48));
    await bad.waitClosed(2000);
    await expectDisconnectSeen(watcher, 'b-huge');
    watcher.close();
  });

  it('a client that stops reading is killed after MaxSessionMessages; the others lose nothing', async () => {
    const { bad: slow, watcher } = await pair('slow');
    slow.socket.pause();
    const sender = await login('flood');
    const payload = Buffer.alloc(100_000, 0x61);
    const total = 400;
    const deadline = Date.now() + 20000;
    let sent = 0;
    let got = 0;
    let killed = false;
    // Keep the watcher reading while flooding; stop once the slow one is killed.
    while (!killed && sent < total && Date.now() < deadline) {
      const m = frame({ type: T.FIFO, sender: pg('flood'), groups: ['g-slow'], data: Buffer.concat([Buffer.from(`${sent}:`), payload]) });
      sender.write(m);
      sent++;
      while (watcher.available >= 48) {
        const head = watcher.available >= 48 ? await watcher.read(48) : null;
        if (head === null) break;
        const body = await watcher.read(head.readInt32LE(36) * 32 + head.readInt32LE(44), 10000).catch((e: unknown) => { console.log(d.stderr().split("\n").filter((l) => /kill|slow|stall/.test(l)).join("\n")); throw e; });
        const type = head.readUInt32LE(0);
        if (type & T.REG_MEMB) {
          expect(type & 0xffff).toBe(0x1480);
          killed = true;
        } else {
          expect(body.subarray(32, 32 + String(got).length + 1).toString()).toBe(`${got}:`);
          got++;
        }
      }
      if (sent % 10 === 0) await new Promise((res) => setTimeout(res, 5));
    }
    // Read the rest of what was sent, and the kill notice: it comes after the slow reader's grace
    // period, which may end after the watcher has read every message (bounded by the deadline).
    while ((got < sent || !killed) && Date.now() < deadline) {
      const f = await watcher.readFrame(got < sent ? 10000 : Math.max(1, deadline - Date.now()));
      if (f.readUInt32LE(0) & T.REG_MEMB) killed = true;
      else got++;
    }
    if (process.env.SPREAD_TEST_VERBOSE) console.log(`slow-client test: sent ${sent}, got ${got}`);
    expect(killed).toBe(true);
    expect(got).toBe(sent);
    slow.socket.resume();
    await slow.waitClosed(5000);
    sender.close();
    watcher.close();
  }, 30000);
});
