/**
 * One session's socket after the handshake (README "Receiving" and "Closing"): frames the
 * daemon's bytes, hands complete frames to its owner while the owner has room (else pauses the
 * socket: TCP backpressure), writes frames, and reports the end of the stream once every complete
 * frame has been handed over. A reconnecting SpreadConnection replaces its Link; the Link itself
 * never reconnects.
 */
import type { Socket } from 'node:net';
import { MessageFramer } from '../wire/client/framer.js';
import type { Frame } from '../wire/client/framer.js';
import { DAEMON_TO_CLIENT_LIMITS } from '../wire/client/message.js';
import { ConnectionClosedError, IllegalMessageError, SpreadError } from './errors.js';

/** What a Link reports to its owner. */
export interface LinkOwner {
  /** True while the owner cannot take another frame: the Link pauses the socket. */
  full(): boolean;
  /** A complete frame (may throw a SpreadError: the Link then ends as malformed). */
  deliver(frame: Frame): void;
  /** The Link paused reading because the owner was full. */
  paused(): void;
  /**
   * The stream is over: EOF or a socket error (`malformed` false) after every complete frame was
   * delivered, or a malformed stream (`malformed` true).
   */
  ended(err: SpreadError, malformed: boolean): void;
}

/** Closing: how long to wait for the daemon to close before destroying the socket. */
const CLOSE_LINGER_MS = 2000;

export class Link {
  private readonly framer = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);
  private readonly pendingWrites = new Set<(err: SpreadError) => void>();
  private socketError: Error | undefined;
  private eof = false;
  private done = false;
  private pumping = false;
  private corked = false;
  /** True while the socket is paused because the owner is full. */
  isPaused = false;

  constructor(
    private readonly socket: Socket,
    leftover: Uint8Array,
    private readonly owner: LinkOwner,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEof());
    socket.on('error', (err: Error) => {
      this.socketError ??= err;
    });
    socket.on('close', () => this.onEof());
    if (leftover.length > 0) this.onData(leftover);
    socket.resume();
  }

  private onEof(): void {
    this.eof = true;
    this.pump();
  }

  private onData(chunk: Uint8Array): void {
    if (this.done) return;
    try {
      this.framer.push(chunk);
    } catch (e) {
      this.end(new IllegalMessageError(`malformed stream from the daemon: ${(e as Error).message}`, { cause: e }), true);
      return;
    }
    this.pump();
  }

  /** Hands complete frames to the owner while it has room; reports the end after the last one. */
  pump(): void {
    if (this.pumping || this.done) return;
    this.pumping = true;
    try {
      while (!this.done) {
        if (this.owner.full()) {
          this.pause();
          return;
        }
        try {
          const frame = this.framer.next();
          if (frame === null) break;
          this.owner.deliver(frame);
        } catch (e) {
          const err = e instanceof SpreadError ? e : new IllegalMessageError(`malformed message from the daemon: ${(e as Error).message}`, { cause: e });
          this.end(err, true);
          return;
        }
      }
      if (this.eof && !this.done) this.end(this.eofError(), false);
    } finally {
      this.pumping = false;
    }
  }

  private eofError(): ConnectionClosedError {
    const partial = this.framer.buffered > 0 ? ` (${this.framer.buffered} bytes of an incomplete message)` : '';
    const cause = this.socketError;
    return new ConnectionClosedError(
      cause !== undefined ? `connection to the daemon failed: ${cause.message}${partial}` : `connection closed by the daemon${partial}`,
      cause !== undefined ? { cause } : undefined,
    );
  }

  private pause(): void {
    if (this.isPaused) return;
    this.isPaused = true;
    this.socket.pause();
    this.owner.paused();
  }

  /** The owner has room again. */
  resume(): void {
    if (!this.isPaused || this.done) return;
    this.isPaused = false;
    this.pump();
    if (!this.isPaused && !this.done) this.socket.resume();
  }

  private end(err: SpreadError, malformed: boolean): void {
    if (this.done) return;
    this.done = true;
    this.isPaused = false;
    this.failWrites(err);
    this.socket.destroy();
    this.owner.ended(err, malformed);
  }

  /** Writes one frame; resolves once it is handed to the OS, rejects if the Link ends first. */
  write(frame: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (err: SpreadError): void => {
        this.pendingWrites.delete(fail);
        reject(err);
      };
      this.pendingWrites.add(fail);
      this.corkForThisTick();
      this.socket.write(frame, (err) => {
        if (!this.pendingWrites.delete(fail)) return;
        if (err) reject(new ConnectionClosedError(`write failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  /**
   * Frames written in the same turn of the event loop leave in one write (writev): the socket
   * is corked at the first and uncorked once the current tick's microtasks have run.
   */
  private corkForThisTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private failWrites(err: SpreadError): void {
    for (const f of [...this.pendingWrites]) f(err);
  }

  /**
   * Ends the session from our side: writes `last` (the KILL message), waits for the daemon to
   * close (at most 2 s), rejects unfinished writes with `err`. The owner hears nothing more.
   */
  async close(last: Uint8Array, err: SpreadError): Promise<void> {
    if (this.done) {
      this.socket.destroy();
      return;
    }
    this.done = true;
    const s = this.socket;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => s.destroy(), CLOSE_LINGER_MS);
      timer.unref?.();
      s.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (s.destroyed) {
        clearTimeout(timer);
        resolve();
        return;
      }
      s.resume(); // let EOF arrive even if reading was paused
      s.end(last);
    });
    this.failWrites(err);
  }

  /** Drops the socket at once; the owner hears nothing more. */
  destroy(err: SpreadError): void {
    if (!this.done) this.failWrites(err);
    this.done = true;
    this.socket.destroy();
  }
}
