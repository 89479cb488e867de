/**
 * The daemon⇄daemon UDP edge: owns one daemon's UDP sockets per its spread.conf (udp-plan.ts),
 * carries out the ring engine's send actions, and hands received datagrams up after the
 * reference's state-free drop rules (udp-screen.ts). Protocol decisions live above; this file
 * moves bytes and counts.
 *
 *   receive sockets  data <if>:<port> (+ <segment bcast/mcast>:<port>), token <if>:<port+1>
 *   send socket      0.0.0.0:<ephemeral>, SO_BROADCAST, multicast TTL 1
 *   buffers          SO_RCVBUF / SO_SNDBUF as large as the OS grants (4 MiB asked, then less)
 *
 * STYLE: UDP handlers never throw. A dropped datagram increments a counter by reason; drops
 * other than my own broadcast echo are logged once per (reason, source) per interval; a handler
 * that throws is counted and logged the same way. Sends never throw either: a send that cannot
 * be made (unknown target, socket closed, queue over its bound) or that the OS refuses
 * (callback error, EAGAIN / ENOBUFS) is counted.
 */
import { configHash } from '../config/index.js';
import type { DaemonSpec, SpreadConfig } from '../config/index.js';
import type { Channel, SendAction } from '../ring/actions.js';
import { dgramBackend } from './udp-dgram.js';
import { nativeBackend } from './udp-native.js';
import { parseIpv4 } from '../config/build.js';
import { ipString, planUdp } from './udp-plan.js';
import type { UdpBindSpec, UdpPlan } from './udp-plan.js';
import { describeDatagram, screenDatagram, UDP_DROP_REASONS, UdpDrop } from './udp-screen.js';
import { errMessage, errnoCode } from './udp-socket.js';
import type { UdpBackend, UdpFrom, UdpReceiveSocket, UdpSendSocket } from './udp-socket.js';

export { UdpDrop } from './udp-screen.js';
export { UdpEdgeError } from './udp-socket.js';
export type { UdpEdgeErrorCode, UdpFrom } from './udp-socket.js';

/**
 * Receives every datagram that passed the drop rules. `bytes` is the datagram's own copy (never reused);
 * `from` is valid during the call only.
 */
export type UdpDatagramHandler = (channel: Channel, bytes: Uint8Array, from: UdpFrom) => void;

/** What the edge logs with (a pino logger or the daemon's CoreLog fit). */
export interface UdpLog {
  warn(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
}

export interface UdpEdgeOptions {
  readonly config: Pick<SpreadConfig, 'segments' | 'daemons' | 'settings'>;
  /** This daemon's entry (config's selectDaemon: `-n NAME` or a local address match). */
  readonly self: DaemonSpec;
  readonly onDatagram: UdpDatagramHandler;
  /** Default: configHash(config). */
  readonly confHash?: number;
  readonly log?: UdpLog;
  /** Socket buffer size to ask for first (bytes); halved until the OS accepts. Default 4 MiB. */
  readonly bufferBytes?: number;
  /** A drop of one reason from one source is logged at most once per interval (ms). Default 10 s. */
  readonly logIntervalMs?: number;
  /** Sends are refused (counted as sendQueueFull) while the send queue holds more. Default 16 MiB. */
  readonly maxSendQueueBytes?: number;
  /** Monotonic clock in ms for the log interval. Default performance.now. */
  readonly now?: () => number;
  /**
   * Socket backend. Default: the native addon where it is built and no segment of mine is
   * multicast (SPREAD_TS_UDP=dgram forces node:dgram), else node:dgram.
   */
  readonly backend?: 'native' | 'dgram';
}

export interface UdpChannelStats {
  /** Datagrams read from this channel's sockets. */
  received: number;
  /** Datagrams handed to the handler. */
  delivered: number;
  /** Datagrams accepted by a socket for sending on this channel. */
  sent: number;
  /** Dropped on receive, by reason. */
  dropped: Record<UdpDrop, number>;
}

export interface UdpStats {
  data: UdpChannelStats;
  token: UdpChannelStats;
  /** The handler threw (the datagram is lost; the edge carries on). */
  handlerErrors: number;
  /** 'error' events of a socket after it was bound. */
  socketErrors: number;
  /** A send callback reported an error (includes sendWouldBlock). */
  sendErrors: number;
  /** ... of which EAGAIN / EWOULDBLOCK / ENOBUFS: the OS buffer was full. */
  sendWouldBlock: number;
  /** Refused before the socket: the send queue was over maxSendQueueBytes. */
  sendQueueFull: number;
  /** Refused: a proc id that is not configured or a segment index out of range. */
  unknownTarget: number;
  /** Refused: the edge is closed (or send threw synchronously). */
  sendRefused: number;
  /** Highest send-queue size seen (bytes / datagrams waiting in libuv). */
  sendQueuePeakBytes: number;
  sendQueuePeakCount: number;
}

export interface UdpBoundSocket extends UdpBindSpec {
  /** Bound port (equal to the planned one). */
  readonly boundPort: number;
  /** SO_RCVBUF as the OS reports it (Linux reports twice what it grants for payload). */
  readonly recvBufferSize: number;
}

const DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024;
const DEFAULT_LOG_INTERVAL_MS = 10_000;
const DEFAULT_MAX_SEND_QUEUE_BYTES = 16 * 1024 * 1024;
/** Sources remembered for log suppression; the table is emptied when it grows past this. */
const MAX_LOG_SOURCES = 4096;

function channelStats(): UdpChannelStats {
  const dropped = {} as Record<UdpDrop, number>;
  for (const r of UDP_DROP_REASONS) dropped[r] = 0;
  return { received: 0, delivered: 0, sent: 0, dropped };
}

/** Logs once per key per interval, with the number of occurrences suppressed meanwhile. */
class OncePerInterval {
  private readonly next = new Map<string, { until: number; suppressed: number }>();
  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** Returns the count suppressed since the last logged one (≥ 0) when this one should be logged, else -1. */
  admit(key: string): number {
    const t = this.now();
    const e = this.next.get(key);
    if (e !== undefined && t < e.until) {
      e.suppressed++;
      return -1;
    }
    const suppressed = e?.suppressed ?? 0;
    if (e === undefined && this.next.size >= MAX_LOG_SOURCES) this.next.clear();
    this.next.set(key, { until: t + this.intervalMs, suppressed: 0 });
    return suppressed;
  }
}

const silent: UdpLog = { warn() {}, debug() {} };

export class UdpEdge {
  /** Replaced (never mutated) by reconfigure. */
  plan: UdpPlan;
  confHash: number;
  readonly stats: UdpStats;

  /** Which socket backend the edge runs on. */
  readonly backend: UdpBackend;
  private readonly receivers: { sock: UdpReceiveSocket; spec: UdpBoundSocket }[] = [];
  private sender: UdpSendSocket | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly handler: UdpDatagramHandler;
  private readonly log: UdpLog;
  private readonly logGate: OncePerInterval;
  private readonly maxQueueBytes: number;
  private readonly bufferBytes: number;

  private constructor(options: UdpEdgeOptions) {
    this.plan = planUdp(options.config, options.self);
    this.confHash = (options.confHash ?? configHash(options.config)) >>> 0;
    this.handler = options.onDatagram;
    this.log = options.log ?? silent;
    this.logGate = new OncePerInterval(options.logIntervalMs ?? DEFAULT_LOG_INTERVAL_MS, options.now ?? (() => performance.now()));
    this.maxQueueBytes = options.maxSendQueueBytes ?? DEFAULT_MAX_SEND_QUEUE_BYTES;
    this.bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
    this.stats = {
      data: channelStats(),
      token: channelStats(),
      handlerErrors: 0,
      socketErrors: 0,
      sendErrors: 0,
      sendWouldBlock: 0,
      sendQueueFull: 0,
      unknownTarget: 0,
      sendRefused: 0,
      sendQueuePeakBytes: 0,
      sendQueuePeakCount: 0,
    };
    const native = options.backend !== 'dgram' && !this.plan.binds.some((b) => b.multicast !== null) ? nativeBackend() : null;
    if (options.backend === 'native' && native === null) throw new Error('UdpEdge: the native UDP backend is not available');
    this.backend = native ?? dgramBackend;
  }

  private readonly onSendError = (code: string | undefined, message: string): void => {
    this.stats.sendErrors++;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'ENOBUFS') this.stats.sendWouldBlock++;
    const suppressed = this.logGate.admit(`send ${code ?? 'error'}`);
    if (suppressed >= 0) this.log.warn({ code, suppressed }, `UDP send failed: ${message}`);
  };

  /**
   * Opens every socket of the plan: receive sockets in the reference's order, then the send
   * socket. On any failure closes what was opened and rejects with UdpEdgeError.
   */
  static async open(options: UdpEdgeOptions): Promise<UdpEdge> {
    const edge = new UdpEdge(options);
    try {
      for (const spec of edge.plan.binds) await edge.openReceiver(spec);
      await edge.openSender();
    } catch (err) {
      await edge.close();
      throw err;
    }
    edge.log.debug(
      { backend: edge.backend.name, sockets: edge.bound().map((b) => `${b.channel} ${b.role} ${b.address}:${b.boundPort} rcvbuf ${b.recvBufferSize}`), sndbuf: edge.sendBufferSize, sendPort: edge.sendPort() },
      `UDP edge open for ${edge.plan.name} (${ipString(edge.plan.myId)})`,
    );
    return edge;
  }

  /** The receive sockets as bound. */
  bound(): readonly UdpBoundSocket[] {
    return this.receivers.map((r) => r.spec);
  }

  /** The send socket's local port (ephemeral), or 0 when closed. */
  sendPort(): number {
    return this.sender?.port() ?? 0;
  }

  get sendBufferSize(): number {
    return this.sender?.bufferSize ?? 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Carries out one SendAction of the ring engine. Returns whether the datagram reached a socket. */
  carry(action: SendAction): boolean {
    return this.send(action.channel, action.to, action.target, action.bytes);
  }

  /**
   * `to: 'proc'`: unicast to daemon `target` (proc id) at its segment's port (data) or port + 1
   * (token). `to: 'segment'`: to segment `target`'s broadcast/multicast address at its port
   * (+1 for a token). Never throws.
   */
  send(channel: Channel, to: 'proc' | 'segment', target: number, bytes: Uint8Array): boolean {
    const dest = to === 'proc' ? this.plan.peers.get(target | 0) : this.plan.segments[target];
    if (dest === undefined) return this.unknown(channel, to, target);
    return this.transmit(channel, dest.ip, dest.address, channel === 'token' ? dest.port + 1 : dest.port, bytes);
  }

  /** Sends every datagram held back for a batch (the native backend); call once per round of sends. */
  flush(): void {
    this.sender?.flush?.();
  }

  /** Sends to an explicit address (status replies to a monitor: request proc_id, port = seq). Never throws. */
  sendRaw(address: string | number, port: number, bytes: Uint8Array): boolean {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return this.unknown('data', 'proc', port);
    const ip = typeof address === 'number' ? address >>> 0 : parseIpv4(address);
    if (ip === undefined) return this.unknown('data', 'proc', port);
    return this.transmit('data', ip, ipString(ip), port, bytes);
  }

  /**
   * A reloaded configuration (SPEC.md Part IX §6, Net_signal_conf_reload): where sends go and
   * the hash datagrams must carry change; the sockets stay as they were opened.
   */
  reconfigure(config: UdpEdgeOptions['config'], self: DaemonSpec, confHash = configHash(config)): void {
    this.plan = { ...planUdp(config, self), binds: this.plan.binds };
    this.confHash = confHash >>> 0;
  }

  /** Closes every socket. Idempotent; pending sends may be lost. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      const socks: { close(): Promise<void> }[] = this.receivers.map((r) => r.sock);
      if (this.sender !== null) socks.push(this.sender);
      this.sender = null;
      await Promise.all(socks.map((s) => s.close()));
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------

  private unknown(channel: Channel, to: string, target: number): false {
    this.stats.unknownTarget++;
    const suppressed = this.logGate.admit(`target ${to} ${target}`);
    if (suppressed >= 0) this.log.warn({ channel, to, target, suppressed }, `UDP send to unknown ${to} ${target} dropped`);
    return false;
  }

  private transmit(channel: Channel, ip: number, address: string, port: number, bytes: Uint8Array): boolean {
    const sock = this.sender;
    if (sock === null || this.closed) {
      this.stats.sendRefused++;
      return false;
    }
    // Sends leave synchronously (libuv tries the send at once); the queue holds only what the
    // kernel refused for now, so its size is looked at before each send, not after.
    const queued = sock.queuedBytes();
    if (queued > this.maxQueueBytes) {
      this.stats.sendQueueFull++;
      const suppressed = this.logGate.admit('send queue full');
      if (suppressed >= 0) this.log.warn({ queued, suppressed }, 'UDP send queue over its bound: datagram dropped');
      return false;
    }
    if (queued > 0) this.notePeak(queued, sock.queuedCount());
    try {
      sock.send(bytes, ip, address, port);
    } catch (err) {
      this.stats.sendRefused++;
      const suppressed = this.logGate.admit('send threw');
      if (suppressed >= 0) this.log.warn({ address, port, suppressed }, `UDP send refused: ${errMessage(err)}`);
      return false;
    }
    this.stats[channel].sent++;
    return true;
  }

  private notePeak(bytes: number, count: number): void {
    if (bytes > this.stats.sendQueuePeakBytes) this.stats.sendQueuePeakBytes = bytes;
    if (count > this.stats.sendQueuePeakCount) this.stats.sendQueuePeakCount = count;
  }

  private receive(channel: Channel, bytes: Uint8Array | null, rinfo: UdpFrom): void {
    const st = this.stats[channel];
    st.received++;
    if (bytes === null) {
      // Longer than any valid datagram: the reference's buffers cut it and its length check fails.
      st.dropped[UdpDrop.BAD_LENGTH]++;
      this.logDrop(channel, UdpDrop.BAD_LENGTH, new Uint8Array(0), rinfo);
      return;
    }
    const drop = screenDatagram(channel, bytes, this.plan.myId, this.confHash);
    if (drop !== null) {
      st.dropped[drop]++;
      if (drop !== UdpDrop.OWN_ECHO) this.logDrop(channel, drop, bytes, rinfo);
      return;
    }
    st.delivered++;
    try {
      this.handler(channel, bytes, rinfo);
    } catch (err) {
      this.stats.handlerErrors++;
      const suppressed = this.logGate.admit(`handler ${rinfo.address}:${rinfo.port}`);
      if (suppressed >= 0) {
        this.log.warn({ channel, from: `${rinfo.address}:${rinfo.port}`, length: bytes.length, suppressed }, `UDP datagram handler threw: ${errMessage(err)}`);
      }
    }
  }

  private logDrop(channel: Channel, drop: UdpDrop, bytes: Uint8Array, rinfo: UdpFrom): void {
    const from = `${rinfo.address}:${rinfo.port}`;
    const suppressed = this.logGate.admit(`${drop} ${from}`);
    if (suppressed < 0) return;
    const h = describeDatagram(channel, bytes);
    if (drop === UdpDrop.WRONG_HASH) {
      this.log.warn(
        { channel, from, procId: ipString(h.procId), hash: h.confHash, myHash: this.confHash, suppressed },
        `Received ${channel === 'token' ? 'token' : 'message'} from host ${ipString(h.procId)} with different spread configuration file (hash ${h.confHash} != local hash ${this.confHash})`,
      );
    } else {
      this.log.warn({ channel, from, reason: drop, length: bytes.length, suppressed }, `UDP datagram dropped (${drop}, ${bytes.length} bytes)`);
    }
  }

  private async openReceiver(spec: UdpBindSpec): Promise<void> {
    const channel = spec.channel;
    const sock = await this.backend.openReceiver(spec, this.bufferBytes,
      (bytes, from) => this.receive(channel, bytes, from),
      (err) => this.socketError(spec.address, spec.port, err));
    this.receivers.push({ sock, spec: { ...spec, boundPort: sock.boundPort, recvBufferSize: sock.recvBufferSize } });
  }

  private async openSender(): Promise<void> {
    this.sender = await this.backend.openSender(this.bufferBytes, this.onSendError, (err) => this.socketError('0.0.0.0', 0, err));
  }

  private socketError(address: string, port: number, err: Error): void {
    this.stats.socketErrors++;
    const suppressed = this.logGate.admit(`socket ${address}:${port}`);
    if (suppressed >= 0) this.log.warn({ address, port, code: errnoCode(err), suppressed }, `UDP socket error: ${err.message}`);
  }
}

/** Opens the UDP edge of the daemon `self` of `config` (see UdpEdge.open). */
export function openUdpEdge(options: UdpEdgeOptions): Promise<UdpEdge> {
  return UdpEdge.open(options);
}
