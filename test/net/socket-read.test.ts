/**
 * Client sockets that read into the shared buffer (src/daemon/net/socket-read.ts, SPEC.md Part
 * VIII §9): setReading(false) really stops the bytes — they wait in the kernel, none is lost —
 * and setReading(true) delivers them, in order, for a socket in the shared buffer (its handle is
 * stopped and started, the stream never resumed) and for one read as a stream alike, also when
 * it stops in the same tick it started; a socket stopped before it ever read starts with
 * setReading(true); the peer's end shows once reading restarts.
 * Loopback, a free port, every wait bounded.
 */
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readIntoShared, setReading } from '../../src/daemon/net/socket-read.js';

const servers: Server[] = [];
const clients: Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

interface Accepted {
  readonly socket: Socket;
  readonly client: Socket;
  /** Every byte read so far, as text. */
  text(): string;
  ended: boolean;
}

/** A server socket (accepted paused, like the daemon's) and its client; `shared`: read into the shared buffer. */
async function pair(shared: boolean, flowing = true): Promise<Accepted> {
  const server = createServer({ pauseOnConnect: true });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = createConnection({ host: '127.0.0.1', port });
  clients.push(client);
  const [socket] = await accepted;
  clients.push(socket);
  let got = '';
  const onBytes = (b: Uint8Array): void => {
    got += Buffer.from(b).toString('latin1');
  };
  const p: Accepted = { socket, client, text: () => got, ended: false };
  if (shared) expect(readIntoShared(socket, onBytes)).toBe(true);
  else socket.on('data', onBytes);
  socket.on('end', () => {
    p.ended = true;
  });
  if (flowing) setReading(socket, true);
  return p;
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets the event loop run long enough for bytes on loopback to arrive if they are read. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100));

describe.each([
  ['in the shared buffer', true],
  ['as a stream', false],
])('setReading, socket read %s', (_, shared) => {
  it('holds the bytes while stopped and delivers them, in order, when restarted', async () => {
    const p = await pair(shared);
    p.client.write('one,');
    await until(() => p.text() === 'one,');
    setReading(p.socket, false);
    setReading(p.socket, false); // twice: still one stop
    p.client.write('two,');
    p.client.write('three,');
    await settle();
    expect(p.text()).toBe('one,');
    setReading(p.socket, true);
    setReading(p.socket, true);
    await until(() => p.text() === 'one,two,three,');
    p.client.write('four');
    await until(() => p.text() === 'one,two,three,four');
  });

  it('sees the peer end only once reading restarts', async () => {
    const p = await pair(shared);
    setReading(p.socket, false);
    p.client.end('last');
    await settle();
    expect(p.text()).toBe('');
    expect(p.ended).toBe(false);
    setReading(p.socket, true);
    await until(() => p.ended);
    expect(p.text()).toBe('last');
  });

  it('starts a socket that was stopped before it ever read', async () => {
    const p = await pair(shared, false);
    p.client.write('early');
    setReading(p.socket, false);
    await settle();
    expect(p.text()).toBe('');
    setReading(p.socket, true);
    await until(() => p.text() === 'early');
  });
});
