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
 */
import type { Socket } from 'node:net';

const READ_BUFFER_BYTES = 64 * 1024;
let shared: Buffer | null = null;

interface UserBufferHandle {
  useUserBuffer(buf: Uint8Array): void;
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
  const handle = (socket as unknown as { _handle?: Partial<UserBufferHandle> | null })._handle;
  if (f === null || typeof handle?.useUserBuffer !== 'function') return false;
  const buf = (shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES));
  const stream = socket as unknown as Record<symbol, unknown>;
  stream[f.buffer] = buf;
  stream[f.callback] = (nread: number): void => onBytes(new Uint8Array(buf.buffer, buf.byteOffset, nread));
  handle.useUserBuffer(buf);
  return true;
}
