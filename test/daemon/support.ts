/**
 * Integration-test support: start the built daemon (`node dist/src/tools/spread.js`) on a free
 * port with a generated configuration, and talk raw bytes to it over TCP or the unix socket.
 * Every wait is bounded; every process started here is stopped by its pid.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DAEMON_JS = join(REPO, 'dist', 'src', 'tools', 'spread.js');

export function assertBuilt(): void {
  if (!existsSync(DAEMON_JS)) throw new Error(`${DAEMON_JS} is missing: run \`npm run build\` before the integration tests`);
}

/** A TCP port free on 127.0.0.1 whose /tmp/<port> does not exist (bounded retries). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const srv = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => resolve((srv.address() as { port: number }).port));
    });
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    if (!existsSync(`/tmp/${port}`) && port < 65535) return port;
  }
  throw new Error('no free port found');
}

export interface DaemonProcess {
  readonly port: number;
  readonly unixPath: string;
  readonly child: ChildProcess;
  readonly confPath: string;
  stdout(): string;
  stderr(): string;
  /** SIGTERM (then SIGKILL after `graceMs`); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** Extra spread.conf lines. */
  readonly extraConf?: string;
  readonly readyTimeoutMs?: number;
  readonly args?: readonly string[];
}

export async function startDaemonProcess(options: StartOptions = {}): Promise<DaemonProcess> {
  assertBuilt();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'spread-ts-test-'));
  const confPath = join(dir, 'spread.conf');
  writeFileSync(
    confPath,
    `Spread_Segment 127.0.0.255:${port} {\n\tlocalhost 127.0.0.1 { 127.0.0.1 }\n}\n${options.extraConf ?? ''}\n`,
  );
  const child = spawn(process.execPath, [DAEMON_JS, '-n', 'localhost', '-c', confPath, ...(options.args ?? [])], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (err.length < 1 << 20) err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: DaemonProcess = {
    port,
    unixPath: `/tmp/${port}`,
    child,
    confPath,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exited;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
        return code;
      }
      rmSync(dir, { recursive: true, force: true });
      return exited;
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10000);
  try {
    await new Promise<void>((resolve, reject) => {
      const tick = setInterval(() => {
        if (out.includes('spread-ts ready:')) {
          clearInterval(tick);
          resolve();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearInterval(tick);
          reject(new Error(`daemon exited early (${child.exitCode ?? child.signalCode}):\n${err}`));
        } else if (Date.now() > deadline) {
          clearInterval(tick);
          reject(new Error(`daemon not ready in time:\n${out}\n${err}`));
        }
      }, 10);
    });
  } catch (e) {
    await handle.stop(1000);
    throw e;
  }
  return handle;
}

/** A raw client connection that collects what the daemon sends. */
export class RawClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      /* surfaced as close */
    });
  }

  static async open(target: { port: number; host?: string } | { path: string }): Promise<RawClient> {
    const socket = 'path' in target ? connect(target.path) : connect({ port: target.port, host: target.host ?? '127.0.0.1' });
    if (!('path' in target)) socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get available(): number {
    return this.buf.length;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Waits until `n` bytes are buffered (or the connection closes), bounded by `timeoutMs`. */
  async waitFor(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} bytes (have ${this.buf.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async read(n: number, timeoutMs = 5000): Promise<Buffer> {
    await this.waitFor(n, timeoutMs);
    if (this.buf.length < n) throw new Error(`connection closed with ${this.buf.length} of ${n} bytes`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  /** Reads one daemon→client message frame. */
  async readFrame(timeoutMs = 5000): Promise<Buffer> {
    const head = await this.read(48, timeoutMs);
    const body = await this.read(head.readInt32LE(36) * 32 + head.readInt32LE(44), timeoutMs);
    return Buffer.concat([head, body]);
  }

  /** Resolves once the daemon closed the connection (bounded). */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the daemon to close the connection');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Everything buffered so far. */
  drain(): Buffer {
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}
