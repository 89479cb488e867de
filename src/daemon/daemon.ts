/**
 * Wires one daemon together — the one place with real sockets and timers:
 *
 *   configuration → DaemonNode (ring engine + membership + ordering, sans I/O)
 *                 → DaemonCore (sessions + groups, sans I/O) over the node's ordering
 *                 → UdpEdge (daemon⇄daemon datagrams) and ClientServer (TCP + unix clients)
 *
 * Every input (a datagram, a client event, a timer, an ordering run) ends in settle(), which
 * carries out what the node and the core asked for until both are quiet: datagrams to the UDP
 * edge, one setTimeout per node timer, ordering runs (setImmediate, never re-entrant), client
 * output and closes.
 *
 * Start-up follows the reference: membership starts alone with its token lost; the first ring
 * (a singleton when no other daemon answers) is installed Seg + Gather timeouts later (about
 * 1.75 s with the LAN defaults), then merges with the others. Clients may connect at once;
 * their messages wait for the ring. `firstRing` resolves when the first ring is installed.
 */
import { networkInterfaces } from 'node:os';
import { selectDaemon } from './config/index.js';
import type { SpreadConfig } from './config/index.js';
import { loadAccessFile } from './access-file.js';
import type { AuthPolicy } from './core/auth.js';
import { DaemonCore, silentLog } from './core/daemon-core.js';
import type { CoreLog, CoreStats } from './core/daemon-core.js';
import { procIdToIp } from './core/types.js';
import type { RingId } from '../wire/daemon/header.js';
import { ClientServer } from './net/client-server.js';
import type { ListenInfo } from './net/client-server.js';
import { UdpEdge } from './net/udp.js';
import { DaemonNode } from './node/node.js';
import { nodeTimerKey } from './node/node.js';
import type { NodeAction, NodeTimer } from './node/node.js';
import { deriveSettings, UNIX_SOCKET_DIR } from './settings.js';
import type { DaemonSettings } from './settings.js';

export interface StartDaemonOptions {
  readonly config: SpreadConfig;
  /** `-n NAME`; without it the daemon finds itself by its local addresses. */
  readonly name?: string;
  /** Local IPv4 addresses (default: the host's interfaces). */
  readonly localAddresses?: readonly string[];
  readonly log?: CoreLog;
  /** spread.access_ip rules (default: loaded from ./ then /etc/). */
  readonly ipRules?: AuthPolicy['ipRules'];
  /** Directory of the unix socket (default /tmp, as the reference). */
  readonly unixSocketDir?: string;
  /** Wall clock in ms (ring and FORM ids are its seconds); default Date.now. */
  readonly wallClock?: () => number;
  /** Events handled per ordering run before yielding to I/O (default 1000). */
  readonly orderingBatch?: number;
}

export interface RunningDaemon {
  readonly settings: DaemonSettings;
  readonly listening: ListenInfo;
  /** The current regular ring id; null until the first ring is installed. */
  readonly ringId: RingId | null;
  /** Resolves with the first regular ring's id (or never, if the daemon closes before). */
  readonly firstRing: Promise<RingId>;
  /** Resolves with the reason when a monitor tells this daemon to exit (PARTITION −1). */
  readonly exitRequested: Promise<string>;
  readonly stats: CoreStats;
  /** The ring side (tests, status). */
  readonly node: DaemonNode;
  /** One line for humans: where the daemon listens. */
  describe(): string;
  /** Stops listening, drops every client, closes the UDP sockets, removes the unix socket. Idempotent. */
  close(): Promise<void>;
}

export function localIPv4Addresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4') out.push(a.address);
  }
  return out;
}

/** The reference's membership report line, and the one-line ring summary topology tools parse. */
export function membershipLines(ringId: RingId, members: readonly number[]): { report: string; summary: string } {
  const p = ringId.procId | 0;
  const t = ringId.time | 0;
  return {
    report: `Membership id is ( ${p}, ${t})`,
    summary: `ring: ${members.length} members, id ${p}:${t}`,
  };
}

/**
 * The reference's read order for the two UDP channels: a token waits while data is readable
 * (unless the engine asks for the token first: the accelerated ring's hint that its
 * predecessor has sent the token ahead of its packets). Node reads every socket that is ready
 * in one poll phase before setImmediate callbacks run, so a token waits there, behind the data
 * read in the same turn. The node's actions are carried out (settle) once per turn for data, at
 * once for a token, so a token is forwarded as soon as it is handled.
 */
class DatagramReader {
  private tokens: Uint8Array[] = [];
  private turn: NodeJS.Immediate | null = null;

  constructor(
    private readonly node: DaemonNode,
    private readonly clock: () => number,
    private readonly settle: () => void,
    private readonly closed: () => boolean,
  ) {}

  datagram(channel: 'data' | 'token', bytes: Uint8Array): void {
    if (channel === 'token' && !this.node.engine.tokenHasPriority) {
      this.tokens.push(bytes);
    } else {
      this.node.datagram(channel, bytes, this.clock());
      if (channel === 'token') this.settle();
      else if (this.tokens.length > 0 && this.node.engine.tokenHasPriority) this.takeTokens();
    }
    this.turn ??= setImmediate(this.endOfTurn);
  }

  close(): void {
    if (this.turn !== null) clearImmediate(this.turn);
    this.turn = null;
    this.tokens = [];
  }

  private readonly endOfTurn = (): void => {
    this.turn = null;
    if (this.closed()) return;
    this.takeTokens();
    this.settle();
  };

  private takeTokens(): void {
    const tokens = this.tokens;
    this.tokens = [];
    for (const t of tokens) {
      this.node.datagram('token', t, this.clock());
      this.settle();
    }
  }
}

export async function startDaemon(options: StartDaemonOptions): Promise<RunningDaemon> {
  const log = options.log ?? silentLog;
  const config = options.config;
  const self = selectDaemon(config, {
    ...(options.name !== undefined ? { name: options.name } : {}),
    localAddresses: options.localAddresses ?? localIPv4Addresses(),
  });
  const settings = deriveSettings(config, self, options.unixSocketDir ?? UNIX_SOCKET_DIR);
  log.info({ hash: settings.configHash }, `Hash value for this configuration is: ${settings.configHash}`);
  log.info(
    { daemon: self.name, id: procIdToIp(settings.self.procId), port: settings.port },
    `My name: ${self.name}, id: ${procIdToIp(settings.self.procId)}, port: ${settings.port}`,
  );

  let ipRules = options.ipRules;
  if (ipRules === undefined) {
    const file = loadAccessFile();
    ipRules = file === null ? null : file.rules;
    if (file !== null) log.info({ path: file.path, rules: file.rules.length }, 'IP access control file loaded');
    else if (settings.allowedAuthMethods.includes('IP') || settings.requiredAuthMethods.includes('IP')) {
      log.warn({}, 'IP access control file not found: IP authentication will deny every client');
    }
  }

  const clock = (): number => performance.now();
  const wall = options.wallClock ?? Date.now;
  const nameOf = new Map(settings.daemons.map((d) => [d.procId | 0, d.name]));

  // The core is created right after the node; the status source reads it lazily.
  let core: DaemonCore | null = null;
  const node = new DaemonNode({
    config,
    myId: settings.self.procId,
    now: clock,
    wallClock: () => wall() / 1000,
    log,
    status: {
      sessions: () => core?.stats.sessions ?? 0,
      groups: () => core?.groupsLayer.size ?? 0,
      gstate: () => core?.groupsLayer.state ?? 1,
    },
  });
  const theCore = new DaemonCore({
    daemon: settings.self,
    daemons: settings.daemons,
    ordering: node.ordering,
    authPolicy: { allowed: settings.allowedAuthMethods, required: settings.requiredAuthMethods, ipRules },
    maxSessionMessages: settings.maxSessionMessages,
    log,
  });
  core = theCore;

  let server: ClientServer | null = null;
  let udp: UdpEdge | null = null;
  let orderingScheduled: NodeJS.Immediate | null = null;
  let deadlineTimer: NodeJS.Timeout | null = null;
  let deadlineAt: number | null = null;
  let settling = false;
  let closed = false;
  const batch = options.orderingBatch ?? 1000;
  /** Per node timer: its current deadline and the setTimeout that will look at it. */
  const timers = new Map<string, { deadline: number; handle: NodeJS.Timeout; firesAt: number }>();

  let resolveFirstRing!: (id: RingId) => void;
  const firstRing = new Promise<RingId>((res) => (resolveFirstRing = res));
  let resolveExit!: (reason: string) => void;
  const exitRequested = new Promise<string>((res) => (resolveExit = res));

  const runOrdering = (): void => {
    orderingScheduled = null;
    if (closed) return;
    theCore.processOrdering(clock(), batch);
    settle();
  };

  const onDeadline = (): void => {
    deadlineTimer = null;
    deadlineAt = null;
    theCore.checkDeadlines(clock());
    settle();
  };

  function armDeadline(): void {
    const next = theCore.nextDeadline();
    if (next === null || closed) {
      if (deadlineTimer !== null) clearTimeout(deadlineTimer);
      deadlineTimer = null;
      deadlineAt = null;
      return;
    }
    if (deadlineAt !== null && deadlineAt <= next) return;
    if (deadlineTimer !== null) clearTimeout(deadlineTimer);
    deadlineAt = next;
    deadlineTimer = setTimeout(onDeadline, Math.max(0, next - performance.now()) + 1);
  }

  /**
   * Deadlines move later all the time (the token-loss timer is re-armed by every packet), so a
   * later deadline keeps the pending setTimeout, which re-schedules itself when it finds the
   * deadline moved; only an earlier deadline or a cancel touches the timer queue.
   */
  function armTimer(timer: NodeTimer, at: number | null): void {
    const name = nodeTimerKey(timer);
    const t = timers.get(name);
    if (at === null || closed) {
      if (t !== undefined) clearTimeout(t.handle);
      timers.delete(name);
      return;
    }
    if (t !== undefined && t.firesAt <= at) {
      t.deadline = at;
      return;
    }
    if (t !== undefined) clearTimeout(t.handle);
    schedule(timer, at, at);
  }

  function schedule(timer: NodeTimer, deadline: number, firesAt: number): void {
    const name = nodeTimerKey(timer);
    const delay = Math.max(0, Math.ceil(firesAt - clock()));
    const handle = setTimeout(() => {
      const t = timers.get(name);
      if (t === undefined || t.handle !== handle || closed) return;
      const now = clock();
      // Not due yet (moved later meanwhile, or this clock is a fraction of a millisecond behind
      // Node's timer clock): look again at the deadline. Due: fire at no earlier than it.
      if (t.deadline > now + 1) {
        schedule(timer, t.deadline, t.deadline);
        return;
      }
      timers.delete(name);
      node.timer(timer, Math.max(now, t.deadline));
      settle();
    }, delay);
    timers.set(name, { deadline, handle, firesAt });
  }

  function carry(a: NodeAction): void {
    switch (a.kind) {
      case 'send':
        udp?.carry(a);
        break;
      case 'send-raw':
        udp?.sendRaw(a.address, a.port, a.bytes);
        break;
      case 'timer':
        armTimer(a.timer, a.at);
        break;
      case 'ordering':
        theCore.orderingReady();
        break;
      case 'configuration': {
        const lines = membershipLines(a.ringId, a.members);
        const names = a.members.map((id) => nameOf.get(id | 0) ?? procIdToIp(id));
        log.info({ ringProcId: a.ringId.procId, ringTime: a.ringId.time }, lines.report);
        log.info({ members: names }, lines.summary);
        if (a.first) resolveFirstRing(a.ringId);
        break;
      }
      case 'exit':
        log.error({}, `exiting: ${a.reason}`);
        resolveExit(a.reason);
        break;
    }
  }

  /** The core's actions, once; true if there were any. */
  function flushCore(): boolean {
    if (server === null) return false;
    let any = false;
    for (let actions = theCore.takeActions(); actions.length > 0; actions = theCore.takeActions()) {
      any = true;
      for (const a of actions) {
        switch (a.kind) {
          case 'transmit':
            server.pump(a.conn);
            break;
          case 'close':
            server.close(a.conn, a.flush);
            break;
          case 'pause-reading':
            log.debug({ backlog: theCore.stats.orderingBacklog }, 'not reading clients (ordering queue full, slow reader or groups exchange)');
            server.pauseReading();
            break;
          case 'resume-reading':
            server.resumeReading();
            break;
          case 'ordering-ready':
            if (orderingScheduled === null && !closed) orderingScheduled = setImmediate(runOrdering);
            break;
        }
      }
    }
    return any;
  }

  /** Carries out what the node and the core asked for, until both are quiet. */
  function settle(): void {
    if (settling || closed) return;
    settling = true;
    try {
      let quiet = false;
      for (let round = 0; round < 1000 && !quiet; round++) {
        node.drain(clock());
        const acts = node.takeActions();
        for (const a of acts) carry(a);
        const coreDid = flushCore();
        quiet = acts.length === 0 && !coreDid;
      }
      if (!quiet) log.error({}, 'settle: the node and the core did not come to rest after 1000 rounds');
      armDeadline();
    } finally {
      settling = false;
    }
  }

  const reader = new DatagramReader(node, clock, settle, () => closed);
  const srv = new ClientServer(theCore, { tcpHosts: settings.tcpHosts, port: settings.port, unixPath: settings.unixPath, log, now: clock }, settle);
  server = srv;
  let listening: ListenInfo;
  try {
    listening = await srv.listen();
  } catch (err) {
    closed = true;
    await srv.shutdown();
    throw err;
  }
  try {
    udp = await UdpEdge.open({
      config,
      self,
      confHash: settings.configHash,
      log,
      onDatagram: (channel, bytes) => {
        if (!closed) reader.datagram(channel, bytes);
      },
    });
  } catch (err) {
    closed = true;
    await srv.shutdown();
    throw err;
  }
  node.start(clock());
  settle();

  const describe = (): string => {
    const where = listening.tcp.map((a) => `${a.address}:${a.port}`);
    if (listening.unixPath !== null) where.push(listening.unixPath);
    return `${self.name} on ${where.join(', ')}`;
  };

  const edge = udp;
  return {
    settings,
    listening,
    get ringId() {
      return node.ordering.ringId;
    },
    firstRing,
    exitRequested,
    get stats() {
      return theCore.stats;
    },
    node,
    describe,
    async close() {
      if (closed) return;
      closed = true;
      if (orderingScheduled !== null) clearImmediate(orderingScheduled);
      reader.close();
      if (deadlineTimer !== null) clearTimeout(deadlineTimer);
      for (const t of timers.values()) clearTimeout(t.handle);
      timers.clear();
      await Promise.all([srv.shutdown(), edge.close()]);
    },
  };
}
