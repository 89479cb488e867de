/**
 * Replays the reference captures (real C daemon ⇄ C library, client-single / client-two /
 * client-reject) against our client: the fake daemon sends the capture's to_client bytes when
 * the reference daemon did, and our to_server bytes must equal the capture's (KILL garbage
 * masked). Events must decode to what the C library reported.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, ConnectionClosedError, RejectIllegalNameError, ServiceType } from '../../src/client/index.js';
import type { MembershipMessage, SpreadConnection, SpreadEvent, SpreadMessage } from '../../src/client/index.js';
import { loadCapture, maskedStream } from './helpers/captures.js';
import type { CaptureSession } from './helpers/captures.js';
import { FakeDaemon } from './helpers/fake-daemon.js';
import type { FakePeer } from './helpers/fake-daemon.js';

const LOCALHOST = 0x7f000001;
const RING_TIME = 0x6b086865; // memb_id.time of the capture's ring

let fake: FakeDaemon | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Does the handshake of `cap` through the fake daemon and checks the client's bytes on the way. */
async function handshake(cap: CaptureSession, name: string, acceptPiece = 1): Promise<{ peer: FakePeer; conn: SpreadConnection }> {
  fake = await FakeDaemon.tcp();
  const connP = connect({ spread: fake.spread, name, timeoutMs: 5000 });
  const peer = await fake.nextPeer();
  await peer.waitForBytes(cap.connect.length);
  // The connect message arrives in one piece and nothing is pipelined behind it.
  expect(peer.chunks[0]).toEqual(cap.connect);
  await sleep(30);
  expect(peer.received.length).toBe(cap.connect.length);
  await peer.write(cap.authList);
  await peer.waitForBytes(cap.connect.length + 90);
  expect(peer.received.subarray(cap.connect.length)).toEqual(cap.authReply);
  // The reference daemon writes the accept field by field; go further: one byte per segment.
  await peer.writeSplit(cap.accept!, acceptPiece);
  const conn = await connP;
  return { peer, conn };
}

function clientOffset(cap: CaptureSession, frames: number): number {
  let n = cap.connect.length + 90;
  for (let i = 0; i < frames; i++) n += cap.clientFrames[i]!.length;
  return n;
}

function msgData(frameBytes: Buffer): Buffer {
  const ng = frameBytes.readInt32LE(36);
  return frameBytes.subarray(48 + 32 * ng);
}

async function take(conn: SpreadConnection, n: number): Promise<SpreadEvent[]> {
  const out: SpreadEvent[] = [];
  for (let i = 0; i < n; i++) out.push(await conn.receive({ signal: AbortSignal.timeout(3000) }));
  return out;
}

describe('client-single capture (alice: join, SAFE multicast, leave, quit)', () => {
  const cap = loadCapture('client-single').sessions[0]!;

  it('sends the reference bytes and decodes the reference events', async () => {
    const { peer, conn } = await handshake(cap, 'alice');
    expect(conn.privateGroup).toBe('#alice#localhost');
    expect(conn.privateName).toBe('alice');
    expect(conn.daemonName).toBe('localhost');
    expect(conn.daemonVersion).toEqual({ major: 4, minor: 4, patch: 0 });

    await conn.join('grpA');
    await peer.waitForBytes(clientOffset(cap, 1));
    await peer.write(cap.daemonFrames[0]!);
    const [join] = (await take(conn, 1)) as [MembershipMessage];
    expect(join).toMatchObject({
      kind: 'membership',
      serviceType: ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_JOIN,
      group: 'grpA',
      reason: 'join',
      members: ['#alice#localhost'],
      groupId: { procId: LOCALHOST, time: RING_TIME, index: 1 },
      vsSets: [['#alice#localhost']],
      myVsSet: 0,
      myVsSetMembers: ['#alice#localhost'],
      changedMember: '#alice#localhost',
      transitional: false,
      selfLeave: false,
      messType: 0,
    });

    const sent = await conn.multicast('grpA', 'hello from alice\n', { service: 'safe', messType: 1 });
    expect(sent).toBe(17);
    await peer.waitForBytes(clientOffset(cap, 2));
    await peer.write(cap.daemonFrames[1]!);
    const [msg] = (await take(conn, 1)) as [SpreadMessage];
    expect(msg).toMatchObject({
      kind: 'message',
      serviceType: ServiceType.SAFE_MESS,
      service: 'safe',
      selfDiscard: false,
      sender: '#alice#localhost',
      groups: ['grpA'],
      messType: 1,
      endianMismatch: false,
    });
    expect(Buffer.from(msg.data).toString()).toBe('hello from alice\n');

    await conn.leave('grpA');
    await peer.waitForBytes(clientOffset(cap, 3));
    await peer.write(cap.daemonFrames[2]!);
    const [left] = (await take(conn, 1)) as [MembershipMessage];
    expect(left).toMatchObject({
      kind: 'membership',
      serviceType: ServiceType.CAUSED_BY_LEAVE,
      group: 'grpA',
      reason: 'self-leave',
      members: [],
      groupId: undefined,
      vsSets: [],
      myVsSet: -1,
      selfLeave: true,
      transitional: false,
      messType: -1,
      changedMember: undefined,
    });

    await conn.disconnect();
    await peer.waitForEnd();
    expect(await conn.closed).toBeUndefined();
    expect(maskedStream(cap.connect, cap.authReply, splitOurs(peer.received, cap))).toEqual(
      maskedStream(cap.connect, cap.authReply, cap.clientFrames),
    );
  });

  it('decodes the accept at every split point and the frames byte by byte', async () => {
    for (const piece of [1, 2, 3, 5, 100]) {
      const { peer, conn } = await handshake(cap, 'alice', piece);
      expect(conn.privateGroup).toBe('#alice#localhost');
      await peer.writeSplit(Buffer.concat(cap.daemonFrames), piece, 0);
      const evs = await take(conn, 3);
      expect(evs.map((e) => e.kind)).toEqual(['membership', 'message', 'membership']);
      await conn.disconnect();
      await fake!.close();
      fake = undefined;
    }
  });
});

/** Our client frames, re-split with the capture's frame lengths (they must line up). */
function splitOurs(received: Buffer, cap: CaptureSession): Buffer[] {
  const out: Buffer[] = [];
  let o = cap.connect.length + 90;
  for (const f of cap.clientFrames) {
    out.push(received.subarray(o, o + f.length));
    o += f.length;
  }
  if (o !== received.length) out.push(received.subarray(o));
  return out;
}

describe('client-two capture (alice with spuser, bob with sptuser)', () => {
  const sessions = loadCapture('client-two').sessions;

  it('alice: two joins in order, SAFE to herself, bob\'s 10 FIFO messages, bob leaves', async () => {
    const cap = sessions[0]!;
    const { peer, conn } = await handshake(cap, 'alice');
    await conn.join('grpA');
    await peer.waitForBytes(clientOffset(cap, 1));
    await peer.write(Buffer.concat(cap.daemonFrames.slice(0, 2)));
    const [j1, j2] = (await take(conn, 2)) as [MembershipMessage, MembershipMessage];
    expect(j1).toMatchObject({ reason: 'join', members: ['#alice#localhost'], groupId: { index: 1 }, messType: 0 });
    expect(j2).toMatchObject({
      reason: 'join',
      members: ['#alice#localhost', '#bob#localhost'],
      groupId: { procId: LOCALHOST, time: RING_TIME, index: 2 },
      vsSets: [['#bob#localhost']],
      changedMember: '#bob#localhost',
      myVsSet: 0,
      messType: 0,
    });

    await conn.multicast('grpA', 'hello from alice (SAFE)\n', { service: 'safe', messType: 1 });
    await peer.waitForBytes(clientOffset(cap, 2));
    await peer.write(Buffer.concat(cap.daemonFrames.slice(2)));
    const evs = await take(conn, 12);
    expect(evs[0]).toMatchObject({ kind: 'message', service: 'safe', messType: 1, sender: '#alice#localhost' });
    for (let i = 1; i <= 10; i++) {
      const m = evs[i] as SpreadMessage;
      expect(m).toMatchObject({ kind: 'message', serviceType: ServiceType.FIFO_MESS, service: 'fifo', messType: 2, sender: '#bob#localhost', groups: ['grpA'] });
      expect(m.data.length).toBe(40);
      expect(Buffer.from(m.data).toString('latin1').replace(/\0+$/, '')).toBe(`mess num ${i} `);
    }
    expect(evs[11]).toMatchObject({
      kind: 'membership',
      serviceType: ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_LEAVE,
      reason: 'leave',
      members: ['#alice#localhost'],
      changedMember: '#bob#localhost',
      groupId: { index: 3 },
      messType: 0,
    });

    await conn.disconnect();
    await peer.waitForEnd();
    expect(maskedStream(cap.connect, cap.authReply, splitOurs(peer.received, cap))).toEqual(
      maskedStream(cap.connect, cap.authReply, cap.clientFrames),
    );
  });

  it('bob: joins second (member index 1), sends 10 FIFO with type 2, leaves', async () => {
    const cap = sessions[1]!;
    const { peer, conn } = await handshake(cap, 'bob');
    expect(conn.privateGroup).toBe('#bob#localhost');
    await conn.join('grpA');
    await peer.waitForBytes(clientOffset(cap, 1));
    await peer.write(Buffer.concat(cap.daemonFrames.slice(0, 2)));
    const [j, safe] = await take(conn, 2);
    expect(j).toMatchObject({ reason: 'join', members: ['#alice#localhost', '#bob#localhost'], messType: 1, changedMember: '#bob#localhost' });
    expect(safe).toMatchObject({ kind: 'message', sender: '#alice#localhost', messType: 1 });
    for (let i = 1; i <= 10; i++) {
      await conn.multicast('grpA', msgData(cap.clientFrames[i]!), { service: 'fifo', messType: 2 });
    }
    await peer.waitForBytes(clientOffset(cap, 11));
    await peer.write(Buffer.concat(cap.daemonFrames.slice(2, 12)));
    const fifo = await take(conn, 10);
    expect(fifo.every((e) => e.kind === 'message' && e.sender === '#bob#localhost')).toBe(true);
    await conn.leave('grpA');
    await peer.waitForBytes(clientOffset(cap, 12));
    await peer.write(cap.daemonFrames[12]!);
    const [self] = await take(conn, 1);
    expect(self).toMatchObject({ kind: 'membership', reason: 'self-leave', group: 'grpA' });
    await conn.disconnect();
    await peer.waitForEnd();
    expect(maskedStream(cap.connect, cap.authReply, splitOurs(peer.received, cap))).toEqual(
      maskedStream(cap.connect, cap.authReply, cap.clientFrames),
    );
  });

  it('alice: the whole post-accept stream in one write decodes to the same 15 events', async () => {
    const cap = sessions[0]!;
    const { peer, conn } = await handshake(cap, 'alice', 100);
    await peer.write(Buffer.concat(cap.daemonFrames));
    const evs = await take(conn, cap.daemonFrames.length);
    expect(evs.map((e) => (e.kind === 'membership' ? e.reason : e.service))).toEqual([
      'join', 'join', 'safe', ...Array<string>(10).fill('fifo'), 'leave',
    ]);
    await conn.disconnect();
  });
});

describe('client-reject capture', () => {
  const sessions = loadCapture('client-reject').sessions;

  it('carol connects and quits: connect, auth, KILL as the reference', async () => {
    const cap = sessions[0]!;
    const { peer, conn } = await handshake(cap, 'carol');
    expect(conn.privateGroup).toBe('#carol#localhost');
    await conn.disconnect();
    await peer.waitForEnd();
    expect(maskedStream(cap.connect, cap.authReply, splitOurs(peer.received, cap))).toEqual(
      maskedStream(cap.connect, cap.authReply, cap.clientFrames),
    );
  });

  it('a second carol gets 0xfa before authentication: REJECT_NOT_UNIQUE', async () => {
    const cap = sessions[1]!;
    fake = await FakeDaemon.tcp();
    const connP = connect({ spread: fake.spread, name: 'carol', timeoutMs: 5000 });
    const result = connP.then(() => undefined, (e: unknown) => e);
    const peer = await fake.nextPeer();
    await peer.waitForBytes(cap.connect.length);
    peer.end(cap.toClient);
    const err = await result;
    expect(err).toMatchObject({ name: 'RejectNotUniqueError', code: 'REJECT_NOT_UNIQUE', errno: -6 });
    await peer.closed;
    expect(peer.received).toEqual(cap.toServer);
  });

  it('names the daemon would reject (11 chars, "a#b") fail before connecting', async () => {
    fake = await FakeDaemon.tcp();
    for (const name of ['abcdefghijk', 'a#b', 'a b', 'é']) {
      const err = await connect({ spread: fake.spread, name }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RejectIllegalNameError);
      expect(err).toMatchObject({ code: 'REJECT_ILLEGAL_NAME', errno: -5 });
    }
    await sleep(30);
    expect(fake.peers.length).toBe(0);
  });

  it('an empty name lets the daemon generate one', async () => {
    const cap = sessions[6]!;
    const { peer, conn } = await handshake(cap, '');
    expect(conn.privateGroup).toBe('#r5760-9#localhost');
    expect(conn.privateName).toBe('r5760-9');
    expect(peer.received.subarray(0, cap.toServer.length)).toEqual(cap.toServer);
    await conn.disconnect();
  });

  it('a connect message with the name omitted equals the empty-name one', async () => {
    const cap = sessions[6]!;
    fake = await FakeDaemon.tcp();
    const connP = connect({ spread: fake.spread, timeoutMs: 2000 }).catch((e: unknown) => e);
    const peer = await fake.nextPeer();
    await peer.waitForBytes(cap.connect.length);
    expect(peer.received).toEqual(cap.connect);
    peer.destroy();
    expect(await connP).toBeInstanceOf(ConnectionClosedError);
  });
});
