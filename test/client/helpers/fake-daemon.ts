/**
 * A scripted fake daemon: a net.Server (TCP on 127.0.0.1, port 0, or a unix socket under
 * os.tmpdir()) whose connections are driven by the test, byte by byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const WAIT_MS = 5000;

export class FakePeer {
  /** Every byte the client sent. */
  received: Buffer = Buffer.alloc(0);
  /** The chunks as they arrived (one per read on our side). */
  readonly chunks: Buffer[] = [];
  readonly closed: Promise<void>;
  ended = false;
  private wakers: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.received = Buffer.concat([this.received, c]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.once('close', () => {
      this.ended = true;
      this.wake();
      r();
    }));
  }

  private wake(): void {
    for (const w of this.wakers.splice(0)) w();
  }

  /** Resolves once `pred()` holds; rejects after `ms`. */
  async until(pred: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake daemon: timed out waiting for ${what} (have ${this.received.length} bytes)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.wakers.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitForBytes(n: number, ms?: number): Promise<void> {
    return this.until(() => this.received.length >= n, `${n} bytes`, ms);
  }

  /** Waits until the client closed its side. */
  waitForEnd(ms?: number): Promise<void> {
    return this.until(() => this.ended, 'end of stream', ms);
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** Writes `bytes` in pieces of `size` with a pause between them (separate TCP segments). */
  async writeSplit(bytes: Uint8Array, size = 1, pauseMs = 2): Promise<void> {
    for (let o = 0; o < bytes.length; o += size) {
      await this.write(bytes.subarray(o, Math.min(bytes.length, o + size)));
      await sleep(pauseMs);
    }
  }

  end(bytes?: Uint8Array): void {
    if (bytes) this.socket.end(bytes);
    else this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class FakeDaemon {
  readonly peers: FakePeer[] = [];
  private waiting: ((p: FakePeer) => void)[] = [];
  private dir: string | undefined;

  private constructor(
    private readonly server: Server,
    /** `port@127.0.0.1` or `{ path }` for connect({ spread }). */
    readonly spread: string | { path: string },
  ) {
    server.on('connection', (s) => {
      s.setNoDelay(true);
      const p = new FakePeer(s);
      this.peers.push(p);
      const w = this.waiting.shift();
      if (w) w(p);
    });
  }

  static async tcp(): Promise<FakeDaemon> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    return new FakeDaemon(server, `${addr.port}@127.0.0.1`);
  }

  static async unix(): Promise<FakeDaemon> {
    const dir = mkdtempSync(join(tmpdir(), 'spread-fake-'));
    const path = join(dir, 'sock');
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    const d = new FakeDaemon(server, { path });
    d.dir = dir;
    return d;
  }

  /** The next connection (already accepted ones first). */
  nextPeer(ms = WAIT_MS): Promise<FakePeer> {
    const taken = this.taken;
    if (this.peers.length > taken) {
      this.taken++;
      return Promise.resolve(this.peers[taken]!);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('fake daemon: no connection')), ms);
      this.waiting.push((p) => {
        clearTimeout(t);
        this.taken++;
        resolve(p);
      });
    });
  }
  private taken = 0;

  async close(): Promise<void> {
    for (const p of this.peers) p.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}
