/**
 * The client-facing edge: TCP listeners and the unix socket /tmp/<port>, one net.Socket per
 * client, carrying out the core's actions. All protocol decisions are the core's; this file
 * only moves bytes, applies socket backpressure and reports what the sockets did.
 *
 * Writes: the core queues each client's messages; pump() joins them into writes of up to 64 KiB
 * and hands those to the socket until write() returns false, then tells the core the socket is
 * blocked, and resumes on 'drain'.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { clientAddressValue } from '../core/types.js';
import { readIntoShared, setReading } from './socket-read.js';
import type { ConnId, CoreLog, DaemonCore, Transport } from '../core/daemon-core.js';

/** Bytes of queued messages joined into one socket write. */
const WRITE_BATCH = 64 * 1024;

export interface ClientServerOptions {
  /** Addresses to listen on for TCP clients (`0.0.0.0` for an ANY interface). */
  readonly tcpHosts: readonly string[];
  readonly port: number;
  /** Unix socket path (`/tmp/<port>`), or null for none. */
  readonly unixPath: string | null;
  readonly log: CoreLog;
  /** Monotonic ms: the clock the core's inputs are stamped with. */
  readonly now: () => number;
  /** How long a rejected client may take to read its reject byte before it is cut off (ms). */
  readonly closeGraceMs?: number;
}

export interface ListenInfo {
  readonly tcp: readonly AddressInfo[];
  readonly unixPath: string | null;
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function removeStale(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

export class ClientServer {
  private readonly servers: Server[] = [];
  private readonly sockets = new Map<ConnId, Socket>();
  private nextId = 1;
  private paused = false;
  private closing = false;
  private unixBound: string | null = null;

  constructor(
    private readonly core: DaemonCore,
    private readonly options: ClientServerOptions,
    /** Called after every socket event, to carry out the core's new actions. */
    private readonly afterEvent: () => void,
  ) {}

  /** Binds every TCP address, then the unix socket (removing a stale one first). */
  async listen(): Promise<ListenInfo> {
    const tcp: AddressInfo[] = [];
    for (const host of this.options.tcpHosts) {
      const server = this.makeServer('tcp');
      await listenOn(server, { host, port: this.options.port, backlog: 25, exclusive: true });
      this.servers.push(server);
      tcp.push(server.address() as AddressInfo);
    }
    const path = this.options.unixPath;
    if (path !== null) {
      removeStale(path);
      const server = this.makeServer('unix');
      await listenOn(server, { path, backlog: 5, exclusive: true });
      this.servers.push(server);
      this.unixBound = path;
      chmodSync(path, 0o666);
    }
    return { tcp, unixPath: path };
  }

  /** Writes the connection's queued output while its socket accepts it. */
  pump(id: ConnId): void {
    const socket = this.sockets.get(id);
    if (socket === undefined || socket.destroyed) {
      while (this.core.pollTransmit(id) !== null) {
        // Nobody to write to: drop.
      }
      return;
    }
    if (socket.writableNeedDrain) {
      this.core.setBlocked(id, true);
      return;
    }
    // The queued messages leave joined into writes of up to WRITE_BATCH bytes: one copy each,
    // far cheaper than a stream chunk (and a writev slot) per message.
    for (let chunk = this.core.pollTransmit(id); chunk !== null; chunk = this.core.pollTransmit(id)) {
      if (!socket.write(this.batch(id, chunk))) {
        this.core.setBlocked(id, true);
        return;
      }
    }
  }

  /** `first` and the messages queued after it, joined, up to WRITE_BATCH bytes. */
  private batch(id: ConnId, first: Uint8Array): Uint8Array {
    if (first.length >= WRITE_BATCH) return first;
    const chunks = [first];
    let total = first.length;
    while (total < WRITE_BATCH) {
      const next = this.core.pollTransmit(id);
      if (next === null) break;
      chunks.push(next);
      total += next.length;
    }
    return chunks.length === 1 ? first : Buffer.concat(chunks, total);
  }

  /** Closes a connection: flush = write the remaining output and end; else destroy now. */
  close(id: ConnId, flush: boolean): void {
    const socket = this.sockets.get(id);
    if (socket === undefined || socket.destroyed) return;
    if (!flush) {
      socket.destroy();
      return;
    }
    for (let chunk = this.core.pollTransmit(id); chunk !== null; chunk = this.core.pollTransmit(id)) socket.write(chunk);
    socket.end();
    const timer = setTimeout(() => socket.destroy(), this.options.closeGraceMs ?? 2000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /** Stops reading every client (the ordering layer's queue is full). */
  pauseReading(): void {
    this.paused = true;
    for (const s of this.sockets.values()) setReading(s, false);
  }

  resumeReading(): void {
    this.paused = false;
    for (const s of this.sockets.values()) setReading(s, true);
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Stops listening, drops every client, removes the unix socket. */
  async shutdown(): Promise<void> {
    this.closing = true;
    const closed = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of this.sockets.values()) s.destroy();
    await Promise.all(closed);
    this.servers.length = 0;
    if (this.unixBound !== null) {
      try {
        removeStale(this.unixBound);
      } catch (err) {
        this.options.log.warn({ err, path: this.unixBound }, 'could not remove the unix socket');
      }
      this.unixBound = null;
    }
  }

  private makeServer(transport: Transport): Server {
    const server = createServer({ allowHalfOpen: false, pauseOnConnect: true });
    server.on('connection', (socket) => this.accept(socket, transport));
    // A failed listen() is the caller's error to report (listenOn); log only later ones.
    server.on('error', (err) => server.listening && this.options.log.error({ err, transport }, 'listener error'));
    return server;
  }

  private accept(socket: Socket, transport: Transport): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const id = this.nextId++;
    this.sockets.set(id, socket);
    if (transport === 'tcp') {
      socket.setNoDelay(true);
      socket.setKeepAlive(true);
    }
    const address = transport === 'tcp' ? clientAddressValue(socket.remoteAddress) : 0;
    const onBytes = (bytes: Uint8Array): void => {
      this.core.receive(id, bytes, this.options.now());
      this.afterEvent();
    };
    if (!readIntoShared(socket, onBytes)) socket.on('data', onBytes);
    socket.on('drain', () => {
      this.core.setBlocked(id, false);
      this.pump(id);
      this.afterEvent();
    });
    socket.on('error', (err) => {
      this.options.log.debug({ conn: id, err: err.message }, 'client socket error');
    });
    socket.on('close', () => {
      this.sockets.delete(id);
      this.core.disconnected(id, this.options.now(), 'connection closed');
      this.afterEvent();
    });
    this.core.connect(id, { transport, address }, this.options.now());
    this.afterEvent();
    if (!this.paused) setReading(socket, true);
  }
}

function listenOn(server: Server, options: { host?: string; port?: number; path?: string; backlog: number; exclusive: boolean }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
