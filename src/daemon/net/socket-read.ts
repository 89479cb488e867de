/**
 * Client sockets read into one shared buffer instead of a fresh 64 KiB buffer per read
 * (SPEC.md Part VIII §9): Node's `onread` mode (a user buffer handed to the stream handle),
 * which `net.connect` offers and accepted sockets do not, switched on for an accepted socket
 * through the same two stream fields `onread` sets. A flooded daemon otherwise turns every
 * byte its clients send into garbage ArrayBuffers that live until the next scavenge.
 *
 * The bytes handed to `onBytes` are valid only during the call: the core copies what it keeps
 * (the session reader detaches its framer's tail, the handshake copies its pending bytes).
 * Where this Node lacks those fields, `readIntoShared` says so and the caller reads 'data'.
 *
 * `setReading` stops and restarts reading a client (the daemon stops reading every client while
 * the ordering queue is full, a slow reader drains or the groups layer exchanges state).
 */
import type { Socket } from 'node:net';

const READ_BUFFER_BYTES = 64 * 1024;
let shared: Buffer | null = null;

interface UserBufferHandle {
  useUserBuffer(buf: Uint8Array): void;
  /** Node's own flag of a handle that reads (pause() and resume() keep it). */
  reading?: boolean;
  readStart?(): number;
  readStop?(): number;
}

/** Sockets switched to the shared buffer. */
const sharedSockets = new WeakSet<Socket>();

function handleOf(socket: Socket): Partial<UserBufferHandle> | null | undefined {
  return (socket as unknown as { _handle?: Partial<UserBufferHandle> | null })._handle;
}

/** The stream's two private fields, found on the first socket and kept. */
let fields: { buffer: symbol; callback: symbol } | null | undefined;

function streamFields(socket: Socket): { buffer: symbol; callback: symbol } | null {
  if (fields !== undefined) return fields;
  const own = Object.getOwnPropertySymbols(socket);
  const buffer = own.find((s) => s.description === 'kBuffer');
  const callback = own.find((s) => s.description === 'kBufferCb');
  return (fields = buffer === undefined || callback === undefined ? null : { buffer, callback });
}

/** Reads `socket` into the shared buffer from now on; false (nothing changed) if this Node cannot. */
export function readIntoShared(socket: Socket, onBytes: (bytes: Uint8Array) => void): boolean {
  const f = streamFields(socket);
  const handle = handleOf(socket);
  if (f === null || typeof handle?.useUserBuffer !== 'function' || typeof handle.readStart !== 'function' || typeof handle.readStop !== 'function') {
    return false;
  }
  const buf = (shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES));
  const stream = socket as unknown as Record<symbol, unknown>;
  stream[f.buffer] = buf;
  stream[f.callback] = (nread: number): void => onBytes(new Uint8Array(buf.buffer, buf.byteOffset, nread));
  handle.useUserBuffer(buf);
  sharedSockets.add(socket);
  return true;
}

/**
 * Starts (true) or stops (false) reading `socket`. A socket that reads into the shared buffer
 * has only its handle started or stopped: its bytes never pass through the stream, so the stream
 * is left as it was accepted, paused. Node's resume() would also schedule a tick per socket to
 * restart a flow there is none of (~20 ms per resume of 997 sessions), and that tick restarts
 * the handle of a socket stopped in the meantime. Any other socket is resumed and paused as a
 * stream.
 */
export function setReading(socket: Socket, on: boolean): void {
  if (!sharedSockets.has(socket)) {
    if (on) socket.resume();
    else socket.pause();
    return;
  }
  const handle = handleOf(socket);
  if (socket.destroyed || !handle || handle.reading === on) return;
  handle.reading = on;
  const err = on ? handle.readStart!() : handle.readStop!();
  if (err < 0) socket.destroy(new Error(`client socket ${on ? 'readStart' : 'readStop'} failed (${err})`));
}
