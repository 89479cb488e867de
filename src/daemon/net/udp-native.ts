/**
 * The UDP edge's native backend (SPEC.md Part VIII §9), over the optional addon in native/
 * (spread_udp.c): one readiness callback per wakeup and recvmmsg into a slab, instead of
 * node:dgram's address object, Buffer and callback per datagram; sendto inside the call with no
 * request object or callback. Each datagram is still handed up as a Buffer of its own (a copy
 * out of the slab). Unavailable (not built, not Linux, SPREAD_TS_UDP=dgram): `nativeBackend()`
 * returns null and the edge uses node:dgram.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipString } from '../../wire/daemon/constants.js';
import { parseIpv4 } from '../config/build.js';
import type { UdpBindSpec } from './udp-plan.js';
import { bindFailed, SENDER_SPEC, setupFailed, sizeBuffer, UdpEdgeError } from './udp-socket.js';
import type { UdpBackend, UdpFrom, UdpReceive, UdpReceiveSocket, UdpSendError, UdpSendSocket } from './udp-socket.js';
import { Slab } from '../../wire/slab.js';

interface Addon {
  open(ip: number, port: number): number;
  setInt(fd: number, level: number, name: number, value: number): void;
  getInt(fd: number, level: number, name: number): number;
  localPort(fd: number): number;
  recv(fd: number, slab: Uint8Array, slot: number, max: number, meta: Int32Array): number;
  sendBatch(fd: number, list: readonly Uint8Array[], ips: Uint32Array, ports: Uint32Array, n: number): number;
  watch(fd: number, onReadable: () => void): object;
  unwatch(handle: object): void;
  close(fd: number): void;
  /** Absent from builds of the addon older than it. */
  mallocArenas?(n: number): boolean;
  constants: Record<'SOL_SOCKET' | 'SO_RCVBUF' | 'SO_SNDBUF' | 'SO_BROADCAST' | 'IPPROTO_IP' | 'IP_MULTICAST_TTL' | 'MAX_BATCH', number>;
}

/** Data datagrams are at most 1472 bytes: a slot of 2048 reads every valid one whole. */
const DATA_SLOT = 2048;
const DATA_BATCH = 64;
/** A token is at most 40 + 65467 bytes. */
const TOKEN_SLOT = 65536;
const TOKEN_BATCH = 4;
/** Batches read per wakeup before yielding to the loop (level-triggered: the rest wakes it again). */
const MAX_BATCHES = 8;

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

/** native/build/Release/spread_udp.node in the nearest folder above this module that has one (src, dist, a bundle). */
function addonPath(): string | undefined {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let up = 0; up < 6; up++) {
    const p = join(dir, 'native', 'build', 'Release', 'spread_udp.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

let loaded: Addon | null | undefined;

function loadAddon(): Addon | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const path = process.platform === 'linux' ? addonPath() : undefined;
  if (path !== undefined) {
    try {
      loaded = createRequire(import.meta.url)(path) as Addon;
    } catch {
      loaded = null; // built for another Node: fall back to dgram
    }
  }
  return loaded;
}

/**
 * Caps glibc's malloc arenas at `n` (mallopt M_ARENA_MAX, through the addon: SPEC.md Part VIII
 * §10); false when it cannot (no addon, or not glibc).
 */
export function limitMallocArenas(n: number): boolean {
  const a = loadAddon();
  return a?.mallocArenas?.(n) ?? false;
}

/** The source of the datagram being handed up; one per socket, rewritten for each datagram. */
class From implements UdpFrom {
  ip = 0;
  port = 0;
  get address(): string {
    return ipString(this.ip);
  }
}

function errnoError(what: string, negErrno: number): Error & { code: string } {
  const code = ERRNO_NAMES.get(-negErrno) ?? `E${-negErrno}`;
  return Object.assign(new Error(`${what}: ${code}`), { code });
}

function reader(a: Addon, fd: number, slot: number, batch: number, onDatagram: UdpReceive, onError: (err: Error) => void): () => void {
  const slab = new Uint8Array(slot * batch);
  const meta = new Int32Array(batch * 3);
  const from = new From();
  // Each datagram is copied out into a region of its own (src/wire/slab.ts).
  const copies = new Slab();
  return () => {
    for (let round = 0; round < MAX_BATCHES; round++) {
      const n = a.recv(fd, slab, slot, batch, meta);
      if (n < 0) onError(errnoError('recvmmsg', n));
      if (n <= 0) return;
      for (let i = 0; i < n; i++) {
        const len = meta[3 * i]!;
        from.ip = meta[3 * i + 1]! >>> 0;
        from.port = meta[3 * i + 2]!;
        if (len > slot) {
          onDatagram(null, from);
          continue;
        }
        onDatagram(copies.copy(slab, i * slot, len), from);
      }
      if (n < batch) return;
    }
  };
}

function closer(a: Addon, fd: number, watch: object | null): () => Promise<void> {
  let open = true;
  return () => {
    if (open) {
      open = false;
      if (watch !== null) a.unwatch(watch);
      a.close(fd);
    }
    return Promise.resolve();
  };
}

function openReceiver(a: Addon) {
  return (spec: UdpBindSpec, bufferBytes: number, onDatagram: UdpReceive, onError: (err: Error) => void): Promise<UdpReceiveSocket> => {
    if (spec.multicast !== null) return Promise.reject(setupFailed(spec, new Error('multicast needs the dgram backend')));
    let fd: number;
    try {
      const ip = parseIpv4(spec.address);
      if (ip === undefined) throw new Error(`not an IPv4 address: ${spec.address}`);
      fd = a.open(ip, spec.port);
    } catch (err) {
      return Promise.reject(bindFailed(spec, err));
    }
    const c = a.constants;
    let recvBufferSize: number;
    try {
      a.setInt(fd, c.SOL_SOCKET, c.SO_BROADCAST, 1);
      recvBufferSize = sizeBuffer((n) => a.setInt(fd, c.SOL_SOCKET, c.SO_RCVBUF, n), () => a.getInt(fd, c.SOL_SOCKET, c.SO_RCVBUF), bufferBytes);
    } catch (err) {
      a.close(fd);
      return Promise.reject(setupFailed(spec, err));
    }
    const [slot, batch] = spec.channel === 'token' ? [TOKEN_SLOT, TOKEN_BATCH] : [DATA_SLOT, DATA_BATCH];
    const watch = a.watch(fd, reader(a, fd, slot, batch, onDatagram, onError));
    return Promise.resolve({ boundPort: a.localPort(fd), recvBufferSize, close: closer(a, fd, watch) });
  };
}

function openSender(a: Addon) {
  return (bufferBytes: number, onSendError: UdpSendError): Promise<UdpSendSocket> => {
    let fd: number;
    try {
      fd = a.open(0, 0);
    } catch (err) {
      return Promise.reject(new UdpEdgeError('UDP_BIND_FAILED', `cannot bind the send socket: ${(err as Error).message}`, SENDER_SPEC.address, 0, { cause: err }));
    }
    const c = a.constants;
    let bufferSize: number;
    try {
      a.setInt(fd, c.SOL_SOCKET, c.SO_BROADCAST, 1);
      a.setInt(fd, c.IPPROTO_IP, c.IP_MULTICAST_TTL, 1);
      bufferSize = sizeBuffer((n) => a.setInt(fd, c.SOL_SOCKET, c.SO_SNDBUF, n), () => a.getInt(fd, c.SOL_SOCKET, c.SO_SNDBUF), bufferBytes);
    } catch (err) {
      a.close(fd);
      return Promise.reject(new UdpEdgeError('UDP_SOCKET_SETUP_FAILED', `cannot set up the send socket: ${(err as Error).message}`, SENDER_SPEC.address, 0, { cause: err }));
    }
    const batch = new SendBatch(a, fd, onSendError);
    const close = closer(a, fd, null);
    let open = true;
    const port = a.localPort(fd);
    return Promise.resolve({
      bufferSize,
      port: () => (open ? port : 0),
      queuedBytes: () => 0,
      queuedCount: () => 0,
      send: (bytes, ip, _address, port) => {
        if (!open) throw new Error('send socket closed');
        batch.add(bytes, ip, port);
      },
      flush: () => batch.flush(),
      close: () => {
        open = false;
        batch.flush();
        return close();
      },
    });
  };
}

/**
 * Datagrams to send, in order, as one sendmmsg: flushed by the edge's owner once per round of
 * actions (the bytes are read then, as dgram reads them at send), when full, and at the latest
 * when the current callback's microtasks run.
 */
class SendBatch {
  private readonly list: Uint8Array[] = [];
  private readonly ips: Uint32Array;
  private readonly ports: Uint32Array;
  private n = 0;
  private scheduled = false;

  constructor(
    private readonly a: Addon,
    private readonly fd: number,
    private readonly onSendError: UdpSendError,
  ) {
    this.ips = new Uint32Array(a.constants.MAX_BATCH);
    this.ports = new Uint32Array(a.constants.MAX_BATCH);
  }

  add(bytes: Uint8Array, ip: number, port: number): void {
    const i = this.n++;
    this.list.push(bytes);
    this.ips[i] = ip;
    this.ports[i] = port;
    if (this.n === this.ips.length) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    const n = this.n;
    if (n === 0) return;
    const r = this.a.sendBatch(this.fd, this.list, this.ips, this.ports, n);
    this.n = 0;
    this.list.length = 0;
    if (r === 0) return;
    const err = errnoError('sendmmsg', -(r % 65536));
    for (let k = Math.floor(r / 65536); k > 0; k--) this.onSendError(err.code, err.message);
  };
}

/**
 * The native backend, or null when the addon is not available or SPREAD_TS_UDP=dgram asks for
 * node:dgram.
 */
export function nativeBackend(): UdpBackend | null {
  if (process.env.SPREAD_TS_UDP === 'dgram') return null;
  const a = loadAddon();
  if (a === null) return null;
  return { name: 'native', openReceiver: openReceiver(a), openSender: openSender(a) };
}
