/**
 * Fuzzing at volume (SPEC.md Part V §13.3; fuzz/README.md): every decoder the daemon and the
 * tools run on bytes from outside — client frames and the handshake, daemon datagrams on both
 * channels, monitor packets, pcap files, spread.conf — fed the reference's captured inputs
 * (test/vectors/reference) mutated at random, and pure noise. A decoder may return or throw
 * its typed error (ProtocolError, ConfigError, DaemonSelectionError); anything else is a crash.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DaemonSelectionError } from '../src/daemon/config/errors.js';
import { parseConfig } from '../src/daemon/config/index.js';
import { MessageFramer } from '../src/wire/client/framer.js';
import { decodeAccept, decodeAuthList, decodeAuthReply, decodeConnect } from '../src/wire/client/handshake.js';
import { decodeMembershipBody } from '../src/wire/client/membership.js';
import { CLIENT_TO_DAEMON_LIMITS, DAEMON_TO_CLIENT_LIMITS } from '../src/wire/client/message.js';
import { decodeDatagram, encodeDatagram, MONITOR_HASH, MONITOR_MAGIC, PacketType } from '../src/wire/daemon/index.js';
import { ProtocolError } from '../src/wire/errors.js';
import { readCapture } from '../src/wire/pcap/index.js';
import { Prng } from '../src/sim/prng.js';

export interface FuzzTarget {
  readonly name: string;
  /** Captured inputs to mutate. */
  readonly seeds: readonly Uint8Array[];
  /** Runs the decoder on one input; throws only what it throws. */
  readonly run: (input: Uint8Array, r: Prng) => void;
}

export function isTypedError(e: unknown): boolean {
  return e instanceof ProtocolError || e instanceof ConfigError || e instanceof DaemonSelectionError;
}

const VECTORS = join(import.meta.dirname, '..', 'test', 'vectors', 'reference');

function hex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

interface CaptureJson {
  udp_datagrams: { hex: string }[];
  tcp_sessions: { to_server: string; to_client: string }[];
}

function captures(): CaptureJson[] {
  const dir = join(VECTORS, 'captures');
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CaptureJson);
}

/** Frames a stream in random chunks until it runs out or throws. */
function frameStream(bytes: Uint8Array, r: Prng, toDaemon: boolean): void {
  const framer = new MessageFramer({ ...(toDaemon ? CLIENT_TO_DAEMON_LIMITS : DAEMON_TO_CLIENT_LIMITS), maxBuffered: 1 << 20 });
  for (let o = 0; o < bytes.length;) {
    const n = Math.min(bytes.length - o, 1 + r.int(0, 600));
    framer.push(bytes.subarray(o, o + n));
    o += n;
    for (let f = framer.next(); f !== null; f = framer.next()) {
      const m = f.message;
      if ((m.header.type & 0x3f00) !== 0 && m.data.length >= 12) decodeMembershipBody(m.data, 0, m.data.length, true);
    }
  }
}

/** The client handshake decoders on one input, each from offset 0. */
function handshake(bytes: Uint8Array): void {
  for (const run of [
    () => decodeConnect(bytes, 0, bytes.length),
    () => decodeAuthList(bytes, 0, bytes.length),
    () => decodeAuthReply(bytes, 0, bytes.length),
    () => decodeAccept(bytes, 0, bytes.length, true),
    () => decodeAccept(bytes, 0, bytes.length, false),
  ]) {
    try {
      run();
    } catch (e) {
      if (!isTypedError(e)) throw e;
    }
  }
}

function monitorSeeds(): Uint8Array[] {
  const h = (type: number, dataLen: number) => ({ type, transmitterId: 0, procId: 0x7f000001, membId: { procId: MONITOR_MAGIC, time: 0 },
    seq: 0, tokenRound: 0, confHash: MONITOR_HASH, dataLen, padding: 0, fragIndex: 0, fragLen: 0 });
  return [
    encodeDatagram({ kind: 'partition', littleEndian: true, header: h(PacketType.PARTITION, 256), components: new Array<number>(128).fill(1) }),
    encodeDatagram({ kind: 'partition', littleEndian: false, header: h(PacketType.PARTITION, 256), components: new Array<number>(128).fill(0) }),
  ];
}

export function targets(): FuzzTarget[] {
  const caps = captures();
  const datagrams = caps.flatMap((c) => c.udp_datagrams.map((d) => hex(d.hex)));
  const sample = datagrams.filter((_, i) => i % Math.max(1, Math.floor(datagrams.length / 400)) === 0);
  const toServer = caps.flatMap((c) => c.tcp_sessions.map((s) => hex(s.to_server))).filter((b) => b.length > 0);
  const toClient = caps.flatMap((c) => c.tcp_sessions.map((s) => hex(s.to_client))).filter((b) => b.length > 0);
  const pcaps = readdirSync(join(VECTORS, 'captures')).filter((f) => f.endsWith('.pcap'))
    .map((f) => new Uint8Array(readFileSync(join(VECTORS, 'captures', f)).subarray(0, 12_000)));
  const confs = readdirSync(join(VECTORS, 'conf')).map((f) => new Uint8Array(readFileSync(join(VECTORS, 'conf', f))));
  return [
    { name: 'client frames (to the daemon)', seeds: toServer.map((b) => b.subarray(0, 4096)), run: (b, r) => frameStream(b, r, true) },
    { name: 'client frames (to the client)', seeds: toClient.map((b) => b.subarray(0, 4096)), run: (b, r) => frameStream(b, r, false) },
    { name: 'client handshake', seeds: [...toServer, ...toClient].map((b) => b.subarray(0, 256)), run: (b) => handshake(b) },
    { name: 'daemon datagrams', seeds: sample, run: (b, r) => void decodeDatagram(b, r.chance(0.5) ? 'data' : 'token', r.chance(0.5) ? {} : { confHash: r.u32() }) },
    { name: 'monitor packets', seeds: monitorSeeds(), run: (b, r) => void decodeDatagram(b, r.chance(0.5) ? 'data' : 'token') },
    { name: 'pcap', seeds: pcaps, run: (b) => void readCapture(b) },
    { name: 'spread.conf', seeds: confs, run: (b) => void parseConfig(b, 'fuzz.conf') },
  ];
}
