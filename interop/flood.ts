/**
 * A lean load client for ring benchmarks: one process is a writer or a reader on one daemon.
 * It speaks the client protocol directly (src/wire encoders) so the load costs little CPU and the
 * same for every daemon implementation.
 *
 *   node dist/interop/flood.js --spread 4803@127.0.0.1 --role write --count 40000 --size 1000 --service agreed
 *   node dist/interop/flood.js --spread 4803@127.0.0.1 --role read  --count 40000 --group flood
 *   node dist/interop/flood.js ... --role write --rate 10000     (paced: 10k messages per second)
 *
 * Writer: sends `count` messages of `size` bytes to `group` with `service` as fast as the daemon
 * takes them (socket back-pressure only), then prints one JSON line and exits once the daemon
 * has read them all (it waits for the socket to drain, then closes cleanly).
 * Reader: joins `group`, prints `ready` once its own join membership arrives, then counts the
 * messages; when it has `count` (or `--idle-ms` passes with nothing new) it prints one JSON line:
 * received, first/last arrival (ms, the clock the writer stamps with), per-writer FIFO
 * breaks, duplicates, and latency percentiles from the send time the writer stamps into each body
 * (with `--warmup N`, also `latencySteadyMs`: the same without the first N messages).
 *
 * Body layout (writer → reader): u32 LE writer id, u32 LE sequence (from 1), then the send time
 * (float64 LE, ms since the epoch with sub-ms precision: timeOrigin + performance.now(), one
 * clock for every process of the machine), then zero padding to `size` (at least 16).
 */
import { createConnection, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { wallMs } from '../src/tools/flood-check.js';
import { ENDIAN_MARKER, put32, readU32 } from '../src/wire/bytes.js';
import { ServiceType, versionNumber } from '../src/wire/client/constants.js';
import { acceptHasPatch, connectFlags, decodeAccept, decodeAuthList, encodeAuthReply, encodeConnect } from '../src/wire/client/handshake.js';
import { encodeMessage, HEADER_SIZE, makeHint, NAME_SIZE } from '../src/wire/client/message.js';

export type FloodService = 'reliable' | 'fifo' | 'causal' | 'agreed' | 'safe';
const SERVICE: Record<FloodService, number> = {
  reliable: ServiceType.RELIABLE_MESS,
  fifo: ServiceType.FIFO_MESS,
  causal: ServiceType.CAUSAL_MESS,
  agreed: ServiceType.AGREED_MESS,
  safe: ServiceType.SAFE_MESS,
};
const MIN_BODY = 16;

interface Args {
  spread: string;
  role: 'write' | 'read';
  count: number;
  size: number;
  service: FloodService;
  group: string;
  id: number;
  idleMs: number;
  /** Writer: messages per second (0: as fast as the daemon takes them). */
  rate: number;
  /** Reader: the first `warmup` messages are left out of `latencySteadyMs` (0: no such figure). */
  warmup: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { spread: '4803', role: 'read', count: 10_000, size: 100, service: 'agreed', group: 'flood', id: 0, idleMs: 30_000, rate: 0, warmup: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1] ?? '';
    if (k === '--spread') a.spread = v;
    else if (k === '--role') a.role = v === 'write' ? 'write' : 'read';
    else if (k === '--count') a.count = Number(v);
    else if (k === '--size') a.size = Math.max(MIN_BODY, Number(v));
    else if (k === '--service') a.service = v as FloodService;
    else if (k === '--group') a.group = v;
    else if (k === '--id') a.id = Number(v);
    else if (k === '--idle-ms') a.idleMs = Number(v);
    else if (k === '--rate') a.rate = Number(v);
    else if (k === '--warmup') a.warmup = Number(v);
    else throw new Error(`flood: unknown argument ${k}`);
  }
  if (!(a.service in SERVICE)) throw new Error(`flood: unknown service ${a.service}`);
  return a;
}

/** Reads exactly what `decode` asks for from a socket during the handshake. */
class HandshakeReader {
  private buf = new Uint8Array(0);
  private waiter: (() => void) | null = null;
  constructor(private readonly sock: Socket) {
    sock.on('data', this.onData);
  }
  private readonly onData = (chunk: Buffer): void => {
    const b = new Uint8Array(this.buf.length + chunk.length);
    b.set(this.buf, 0);
    b.set(chunk, this.buf.length);
    this.buf = b;
    this.waiter?.();
  };
  async take<T>(decode: (b: Uint8Array, o: number, e: number) => { value: T; offset: number } | null): Promise<T> {
    for (;;) {
      const d = decode(this.buf, 0, this.buf.length);
      if (d !== null) {
        this.buf = this.buf.subarray(d.offset);
        return d.value;
      }
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
  /** Stops listening; returns bytes already received after the handshake. */
  detach(): Uint8Array {
    this.sock.off('data', this.onData);
    return this.buf;
  }
}

function target(spread: string): { path: string } | { host: string; port: number } {
  const at = spread.indexOf('@');
  if (at < 0) return { path: `/tmp/${spread}` };
  return { host: spread.slice(at + 1), port: Number(spread.slice(0, at)) };
}

/** Connects and authenticates (NULL); returns the socket, the private group and leftover bytes. */
async function floodConnect(spread: string, name: string, membership: boolean): Promise<{ sock: Socket; privateGroup: string; rest: Uint8Array }> {
  const sock = createConnection(target(spread));
  sock.setNoDelay(true);
  await new Promise<void>((res, rej) => {
    sock.once('connect', res);
    sock.once('error', rej);
  });
  const hr = new HandshakeReader(sock);
  sock.write(encodeConnect({ major: 4, minor: 4, patch: 0, flags: connectFlags(membership), name }));
  const list = await hr.take(decodeAuthList);
  if (list.kind === 'reject') throw new Error(`flood: connect rejected (${list.code})`);
  sock.write(encodeAuthReply(['NULL']));
  const acc = await hr.take((b, o, e) => decodeAccept(b, o, e, acceptHasPatch(4, 4, 0)));
  if (acc.kind === 'reject') throw new Error(`flood: connect rejected (${acc.code})`);
  if (versionNumber(acc.accept.major, acc.accept.minor, acc.accept.patch) < 30000) throw new Error('flood: old daemon');
  return { sock, privateGroup: acc.accept.privateGroup, rest: hr.detach() };
}

function frame(type: number, sender: string, group: string, data: Uint8Array): Uint8Array {
  return encodeMessage({
    header: { type, name: sender, numGroups: 1, hint: makeHint(0), dataLen: data.length },
    oldType: 0,
    groups: [group],
    data,
  });
}

async function write(a: Args): Promise<void> {
  const { sock, privateGroup } = await floodConnect(a.spread, `w${a.id}`, false);
  const proto = frame(SERVICE[a.service], privateGroup, a.group, new Uint8Array(a.size));
  const bodyAt = proto.length - a.size;
  const paced = a.rate > 0;
  // Paced: a batch every millisecond's worth of messages (at least 1 ms apart).
  const batch = paced ? Math.max(1, Math.round(a.rate / 1000)) : Math.max(1, Math.min(256, Math.floor(65536 / proto.length)));
  const start = wallMs();
  let seq = 0;
  while (seq < a.count) {
    if (paced) {
      const due = start + (seq / a.rate) * 1000 - wallMs();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    }
    const n = Math.min(batch, a.count - seq);
    const out = Buffer.allocUnsafe(n * proto.length);
    const now = wallMs();
    for (let i = 0; i < n; i++) {
      const o = i * proto.length;
      out.set(proto, o);
      put32(out, o + bodyAt, a.id);
      put32(out, o + bodyAt + 4, ++seq);
      out.writeDoubleLE(now, o + bodyAt + 8);
    }
    if (!sock.write(out)) await new Promise<void>((r) => sock.once('drain', r));
  }
  await new Promise<void>((r) => sock.end(r));
  process.stdout.write(`${JSON.stringify({ role: 'write', sent: a.count, startMs: start, endMs: wallMs() })}\n`);
  sock.destroy();
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

/** Parses frames out of the daemon's stream and hands each to `onFrame(type, group-name, body)`. */
class RawFrames {
  private chunks: Buffer[] = [];
  private held = 0;
  push(c: Buffer, onFrame: (type: number, buf: Buffer, o: number, dataAt: number, dataLen: number) => void): void {
    this.chunks.push(c);
    this.held += c.length;
    let buf = this.chunks.length === 1 ? c : concat(this.chunks, this.held);
    let o = 0;
    while (buf.length - o >= HEADER_SIZE) {
      const le = (buf[o + 3]! & 0x80) !== 0;
      const type = (readU32(buf, o, le) & ~ENDIAN_MARKER) >>> 0;
      const groups = readU32(buf, o + 36, le);
      const dataLen = readU32(buf, o + 44, le);
      const extra = (type & ServiceType.REJECT_MESS) !== 0 ? 4 : 0;
      const len = HEADER_SIZE + extra + NAME_SIZE * groups + dataLen;
      if (buf.length - o < len) break;
      onFrame(type, buf, o, o + HEADER_SIZE + extra + NAME_SIZE * groups, dataLen);
      o += len;
    }
    buf = buf.subarray(o);
    this.chunks = buf.length > 0 ? [buf] : [];
    this.held = buf.length;
  }
}

function concat(chunks: Buffer[], n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

async function read(a: Args): Promise<void> {
  const { sock, privateGroup, rest } = await floodConnect(a.spread, `r${a.id}`, true);
  const lat = new Float64Array(a.count);
  const lastSeq = new Map<number, number>();
  let received = 0;
  let fifoBreaks = 0;
  let duplicates = 0;
  let firstMs = 0;
  let lastMs = 0;
  let ready = false;
  const frames = new RawFrames();
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  const idle = setTimeout(done, a.idleMs);
  const onFrame = (type: number, buf: Buffer, _o: number, at: number, len: number): void => {
    if ((type & ServiceType.REG_MEMB_MESS) !== 0 && !ready) {
      ready = true;
      process.stdout.write('ready\n');
      return;
    }
    if ((type & ServiceType.REGULAR_MESS) === 0 || (type & ServiceType.REJECT_MESS) !== 0 || len < MIN_BODY) return;
    const now = wallMs();
    if (received === 0) firstMs = now;
    lastMs = now;
    const id = readU32(buf, at, true);
    const seq = readU32(buf, at + 4, true);
    const sent = buf.readDoubleLE(at + 8);
    const prev = lastSeq.get(id) ?? 0;
    if (seq <= prev) duplicates++;
    else if (seq !== prev + 1) fifoBreaks++;
    lastSeq.set(id, Math.max(prev, seq));
    if (received < lat.length) lat[received] = now - sent;
    received++;
    if (received >= a.count) done();
  };
  sock.on('data', (c: Buffer) => {
    frames.push(c, onFrame);
    idle.refresh();
  });
  sock.on('close', () => done());
  if (rest.length > 0) frames.push(Buffer.from(rest), onFrame);
  sock.write(encodeMessage({ header: { type: ServiceType.JOIN_MESS, name: privateGroup, numGroups: 1, hint: makeHint(0), dataLen: 0 }, oldType: 0, groups: [a.group], data: new Uint8Array(0) }));
  await finished;
  clearTimeout(idle);
  const n = Math.min(received, lat.length);
  const percentiles = (l: Float64Array) => ({ p50: percentile(l, 0.5), p90: percentile(l, 0.9), p99: percentile(l, 0.99), max: percentile(l, 1) });
  // The steady figures are taken before the whole array is sorted in place.
  const steady = a.warmup > 0 && n > a.warmup ? { latencySteadyMs: percentiles(lat.slice(a.warmup, n).sort()) } : {};
  const result = { role: 'read', received, fifoBreaks, duplicates, firstMs, lastMs, latencyMs: percentiles(lat.subarray(0, n).sort()), ...steady };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  sock.destroy();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const a = parseArgs(process.argv.slice(2));
  (a.role === 'write' ? write(a) : read(a)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`flood: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
