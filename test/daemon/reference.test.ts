/**
 * Differential test: the same scripted raw-byte scenario against our daemon and the C
 * reference (when SPREAD_REF names its install prefix); every byte each client receives must
 * match, except the ring's membership time inside group ids. Prints one SKIP line otherwise.
 */
import { describe, expect, it } from 'vitest';
import { oursDaemonBuilt, referencePrefix, skipLine, startDaemon } from '../../interop/launcher.js';
import type { DaemonHandle, Impl } from '../../interop/launcher.js';
import { authReply, connectBytes, frame, hex, T } from './harness.js';
import { RawClient } from './support.js';

interface Transcript {
  /** Per client: everything it received, ring times masked. */
  received: Record<string, string>;
  /** Per client: whether the daemon closed the connection. */
  closed: Record<string, boolean>;
}

const pg = (n: string): string => `#${n}#localhost`;

/** Zeroes the ring time in every membership message's group id. */
function maskRingTimes(stream: Buffer, framesFrom: number): Buffer {
  const out = Buffer.from(stream);
  let o = framesFrom;
  while (o + 48 <= out.length) {
    const type = out.readUInt32LE(o);
    const numGroups = out.readInt32LE(o + 36);
    const dataLen = out.readInt32LE(o + 44);
    const body = o + 48 + 32 * numGroups;
    if (body + dataLen > out.length) break;
    if (type & (T.REG_MEMB | 0x2000) && dataLen >= 12) out.fill(0, body + 4, body + 8);
    o = body + dataLen;
  }
  return out;
}

async function scenario(d: DaemonHandle): Promise<Transcript> {
  const clients = new Map<string, { c: RawClient; framesFrom: number }>();
  const all: RawClient[] = [];
  /** Waits until no client received anything for `quietMs` (bounded). */
  const settle = async (quietMs = 150, maxMs = 4000): Promise<void> => {
    const end = Date.now() + maxMs;
    let last = all.reduce((n, c) => n + c.available, 0);
    let since = Date.now();
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
      const now = all.reduce((n, c) => n + c.available, 0);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) return;
    }
  };
  const open = async (id: string, via: 'tcp' | 'unix'): Promise<RawClient> => {
    const c = await RawClient.open(via === 'tcp' ? { port: d.port } : { path: `/tmp/${d.port}` });
    all.push(c);
    clients.set(id, { c, framesFrom: 0 });
    return c;
  };
  const login = async (id: string, name: string, via: 'tcp' | 'unix', membership = true): Promise<RawClient> => {
    const c = await open(id, via);
    c.write(connectBytes(name, { membership }));
    await c.waitFor(6);
    c.write(authReply());
    await c.waitFor(6 + 5 + 2 + name.length + 'localhost'.length);
    clients.get(id)!.framesFrom = 6 + 5 + 2 + name.length + 'localhost'.length;
    return c;
  };
  const send = async (c: RawClient, bytes: Uint8Array): Promise<void> => {
    c.write(bytes);
    await settle();
  };

  const alice = await login('alice', 'alice', 'tcp');
  const bob = await login('bob', 'bob', 'unix');
  const carol = await login('carol', 'carol', 'tcp', false);
  await send(alice, frame({ type: T.JOIN, sender: pg('alice'), groups: ['grpA'] }));
  await send(bob, frame({ type: T.JOIN, sender: pg('bob'), groups: ['grpA'] }));
  await send(bob, frame({ type: T.JOIN, sender: pg('bob'), groups: ['grpB'] }));
  await send(carol, frame({ type: T.JOIN, sender: pg('carol'), groups: ['grpB'] }));
  await send(alice, frame({ type: T.JOIN, sender: pg('alice'), groups: ['grpA'] })); // already a member
  await send(alice, frame({ type: T.LEAVE, sender: pg('alice'), groups: ['grpB'] })); // not a member
  // One message per service, with a mess_type in the hint.
  for (const [i, s] of [T.UNRELIABLE, T.RELIABLE, T.FIFO, T.CAUSAL, T.AGREED, T.SAFE].entries()) {
    await send(alice, frame({ type: s, sender: pg('alice'), groups: ['grpA'], data: `svc ${i}`, hint: (0x80000080 | ((0x100 + i) << 8)) >>> 0 }));
  }
  await send(alice, frame({ type: T.SAFE | T.SELF_DISCARD, sender: pg('alice'), groups: ['grpA'], data: 'not to myself' }));
  await send(carol, frame({ type: T.AGREED, sender: pg('carol'), groups: ['grpA', 'grpB', pg('alice'), pg('nobody')], data: 'multi' }));
  await send(bob, frame({ type: T.RELIABLE, sender: pg('bob'), groups: [pg('carol')], data: 'private' }));
  const burst = [];
  for (let i = 0; i < 10; i++) burst.push(frame({ type: T.FIFO, sender: pg('bob'), groups: ['grpA'], data: `burst ${i}`.padEnd(40, '\0') }));
  await send(bob, Buffer.concat(burst));
  await send(bob, frame({ type: T.LEAVE, sender: pg('bob'), groups: ['grpA'] }));
  // Rejected connects.
  for (const [id, bytes] of [
    ['dup', connectBytes('alice')],
    ['oldver', Buffer.from('0300010461626364', 'hex')],
    ['longname', Buffer.from('040400010b6162636465666768696a6b', 'hex')],
    ['hashname', connectBytes('a#b')],
  ] as const) {
    const c = await open(id, 'tcp');
    c.write(bytes);
    await c.waitClosed(3000);
  }
  const ip = await open('ipauth', 'unix');
  ip.write(connectBytes('ipauth'));
  await ip.waitFor(6);
  ip.write(authReply(['IP']));
  await ip.waitClosed(3000);
  // An old (3.15) client: no auth negotiation.
  const old = await open('old', 'tcp');
  old.write(connectBytes('old', { version: [3, 15, 2] }));
  await old.waitFor(5);
  // A session killed for a bad header while in grpA and grpB.
  const dave = await login('dave', 'dave', 'tcp');
  await send(dave, frame({ type: T.JOIN, sender: pg('dave'), groups: ['grpB'] }));
  await send(dave, frame({ type: T.JOIN, sender: pg('dave'), groups: ['grpA'] }));
  await send(dave, frame({ type: T.AGREED, sender: pg('alice'), groups: ['grpA'], data: 'spoofed' }));
  await dave.waitClosed(3000);
  await settle();
  // More sessions killed for their header (only the header is sent: no waiting for a body).
  const badHeaders: [string, Uint8Array][] = [
    ['e1', frame({ type: T.AGREED | T.SAFE, sender: pg('e1'), groups: ['grpA'] })],
    ['e2', frame({ type: T.AGREED, sender: pg('e2'), groups: ['grpA'], hint: 0x80000081 })],
    ['e3', frame({ type: T.AGREED, sender: pg('e3'), numGroups: 101 })],
    ['e4', frame({ type: T.AGREED, sender: pg('e4'), groups: ['grpA'], dataLen: 144001 })],
    ['e5', frame({ type: T.AGREED, sender: pg('e5'), numGroups: 1, dataLen: 143921 })],
    ['e6', frame({ type: T.JOIN | T.LEAVE, sender: pg('e6'), groups: ['grpA'] })],
  ];
  for (const [name, bytes] of badHeaders) {
    const e = await login(name, name, 'unix');
    await send(e, frame({ type: T.JOIN, sender: pg(name), groups: ['grpA'] }));
    await send(e, bytes.subarray(0, 48));
    await e.waitClosed(3000);
  }
  await settle();
  // A 3.14 client: no patch byte in its connect message nor in the accept.
  const older = await open('older', 'tcp');
  older.write(connectBytes('older', { version: [3, 14, 0] }));
  await older.waitFor(4);
  await settle();
  // bob disconnects politely; carol's socket just closes.
  await send(bob, frame({ type: T.KILL, sender: pg('bob'), groups: [pg('bob')] }));
  carol.close();
  await settle();

  const received: Record<string, string> = {};
  const closed: Record<string, boolean> = {};
  for (const [id, { c, framesFrom }] of clients) {
    received[id] = hex(maskRingTimes(c.drain(), framesFrom));
    closed[id] = c.closed;
  }
  for (const c of all) c.close();
  return { received, closed };
}

async function run(impl: Impl): Promise<Transcript> {
  const d = await startDaemon({ impl, readyTimeoutMs: 15000 });
  try {
    return await scenario(d);
  } finally {
    await d.stop();
  }
}

const ref = referencePrefix();
describe('ours vs the reference: raw-byte scenario', () => {
  if (ref === undefined || !oursDaemonBuilt()) {
    it.skip(skipLine('daemon raw-byte differential test'), () => {});
    return;
  }
  it('every client receives the same bytes', async () => {
    const theirs = await run('reference');
    const ours = await run('ours');
    if (process.env.SPREAD_TEST_VERBOSE) for (const [id, h] of Object.entries(theirs.received)) console.log(`${id}: ${h.length / 2} bytes, closed ${theirs.closed[id]}; ours ${ours.received[id]!.length / 2}`);
    expect(Object.keys(ours.received)).toEqual(Object.keys(theirs.received));
    for (const id of Object.keys(theirs.received)) {
      expect(ours.received[id], `bytes received by ${id}`).toBe(theirs.received[id]);
    }
    expect(ours.closed).toEqual(theirs.closed);
  }, 60000);
});
