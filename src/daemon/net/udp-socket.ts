/**
 * The two socket backends of the UDP edge (SPEC.md Part VIII §9): node:dgram (udp-dgram.ts) and
 * the optional native addon (udp-native.ts). Both open the plan's sockets, hand each received
 * datagram up as a fresh Buffer, and send without a callback per datagram; the edge (udp.ts)
 * screens, counts and logs the same way over either.
 */
import type { UdpBindSpec } from './udp-plan.js';

export type UdpEdgeErrorCode = 'UDP_BIND_FAILED' | 'UDP_SOCKET_SETUP_FAILED';

/** Opening a socket of the plan failed (the reference exits: "probably already running"). */
export class UdpEdgeError extends Error {
  override readonly name = 'UdpEdgeError';
  constructor(
    readonly code: UdpEdgeErrorCode,
    message: string,
    readonly address: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Where a datagram came from (the native backend reuses one object: read it in the handler). */
export interface UdpFrom {
  readonly address: string;
  readonly port: number;
}

/** A received datagram: `bytes` is the caller's to keep; `null` bytes: cut (longer than the backend reads). */
export type UdpReceive = (bytes: Uint8Array | null, from: UdpFrom) => void;

export interface UdpReceiveSocket {
  readonly boundPort: number;
  /** SO_RCVBUF as the OS reports it. */
  readonly recvBufferSize: number;
  close(): Promise<void>;
}

export interface UdpSendSocket {
  /** Local (ephemeral) port, 0 once closed. */
  port(): number;
  readonly bufferSize: number;
  /** Bytes and datagrams waiting in user space for the kernel (always 0 for the native backend). */
  queuedBytes(): number;
  queuedCount(): number;
  /** Sends one datagram to ip:port (`address` is `ip` dotted). Throws only when the socket refuses at once. */
  send(bytes: Uint8Array, ip: number, address: string, port: number): void;
  /** Sends what `send` has held back so far (a backend that batches). */
  flush?(): void;
  close(): Promise<void>;
}

/** A send the OS refused after the call returned (or, native, inside it): errno code and message. */
export type UdpSendError = (code: string | undefined, message: string) => void;

export interface UdpBackend {
  readonly name: 'dgram' | 'native';
  /** Binds `spec`, sizes its receive buffer, and calls `onDatagram` for everything it reads. */
  openReceiver(spec: UdpBindSpec, bufferBytes: number, onDatagram: UdpReceive, onError: (err: Error) => void): Promise<UdpReceiveSocket>;
  /** The send socket: wildcard address, ephemeral port, SO_BROADCAST, multicast TTL 1. */
  openSender(bufferBytes: number, onSendError: UdpSendError, onError: (err: Error) => void): Promise<UdpSendSocket>;
}

export const MIN_BUFFER_BYTES = 64 * 1024;

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function bindFailed(spec: { channel: string; role: string; address: string; port: number }, err: unknown): UdpEdgeError {
  return new UdpEdgeError('UDP_BIND_FAILED',
    `cannot bind the ${spec.channel} ${spec.role} socket to ${spec.address}:${spec.port} (${errnoCode(err) ?? errMessage(err)}): probably already running`,
    spec.address, spec.port, { cause: err });
}

export function setupFailed(spec: { channel: string; address: string; port: number }, err: unknown): UdpEdgeError {
  return new UdpEdgeError('UDP_SOCKET_SETUP_FAILED', `cannot set up the ${spec.channel} socket on ${spec.address}:${spec.port}: ${errMessage(err)}`,
    spec.address, spec.port, { cause: err });
}

export const SENDER_SPEC = { channel: 'send', role: 'wildcard', address: '0.0.0.0', port: 0 } as const;

/** Asks for `want` bytes, then half, until `set` accepts; returns what `get` reports then (0 if it throws). */
export function sizeBuffer(set: (size: number) => void, get: () => number, want: number): number {
  for (let size = want; size >= MIN_BUFFER_BYTES; size >>>= 1) {
    try {
      set(size);
      break;
    } catch {
      /* refused: try smaller */
    }
  }
  try {
    return get();
  } catch {
    return 0;
  }
}
