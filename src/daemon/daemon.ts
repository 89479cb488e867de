/**
 * Wires one daemon together — the one place with real sockets and timers:
 *
 *   configuration → DaemonNode (ring engine + membership + ordering, sans I/O)
 *                 → DaemonCore (sessions + groups, sans I/O) over the node's ordering
 *                 → UdpEdge (daemon⇄daemon datagrams) and ClientServer (TCP + unix clients)
 *
 * The event-loop glue is runtime/ (DaemonRuntime: settle, timers, the datagram read order);
 * this file builds the machines, opens the edges and hands out the RunningDaemon.
 *
 * Start-up follows the reference: membership starts alone with its token lost; the first ring
 * (a singleton when no other daemon answers) is installed Seg + Gather timeouts later (about
 * 1.75 s with the LAN defaults), then merges with the others. Clients may connect at once;
 * their messages wait for the ring. `firstRing` resolves when the first ring is installed.
 *
 * A RELOAD (a monitor's, or reload() for SIGHUP) reads spread.conf again through
 * `reloadConfig` (reload.ts); a changed configuration reaches the node, then the UDP edge's plan
 * and hash, the groups layer's daemons and the membership report's names (SPEC.md Part IX §6).
 */
import { networkInterfaces } from 'node:os';
import { selectDaemon } from './config/index.js';
import type { DaemonSpec, SelectDaemonOptions, SpreadConfig } from './config/index.js';
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
import type { UdpStats } from './net/udp.js';
import type { MessageCounters } from './ops/counters.js';
import { DaemonRuntime } from './runtime/runtime.js';
import { readReload } from './reload.js';
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
  /** Counts messages per service between the core and the ring (metrics on). */
  readonly counters?: MessageCounters;
  /** Reads spread.conf again for a RELOAD (the `-c` file). Default: the configuration given (a RELOAD only re-forms the ring). */
  readonly reloadConfig?: () => Promise<SpreadConfig>;
  /**
   * When the daemon's start began, on `performance.now()`'s clock (default: when the sockets are
   * open). The `spread` command passes 0, its process's start: the first Seg period then runs
   * from there, as the reference's does (SPEC.md Part VIII §3).
   */
  readonly startedAt?: number;
}

/** Why the daemon asks to exit: a monitor's PARTITION −1, or (`fatal`) a RELOAD the reference exits on. */
export interface DaemonExit {
  readonly reason: string;
  readonly fatal: boolean;
}

export interface RunningDaemon {
  readonly settings: DaemonSettings;
  readonly listening: ListenInfo;
  /** The current regular ring id; null until the first ring is installed. */
  readonly ringId: RingId | null;
  /** Resolves with the first regular ring's id (or never, if the daemon closes before). */
  readonly firstRing: Promise<RingId>;
  /** Resolves when a monitor tells this daemon to exit (PARTITION −1, or a RELOAD it must refuse). */
  readonly exitRequested: Promise<DaemonExit>;
  /** The configuration running now (a reload may have replaced the one given). */
  readonly config: SpreadConfig;
  readonly stats: CoreStats;
  /** The UDP edge's counters (null before it opened). */
  readonly udpStats: UdpStats | null;
  /** The ring side (tests, status). */
  readonly node: DaemonNode;
  /** A RELOAD for this daemon alone (SIGHUP): re-read spread.conf; a refusal keeps the running configuration. */
  reload(): void;
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

export { membershipLines } from './runtime/runtime.js';

/** spread.access_ip rules: the caller's, else the file from ./ then /etc/ (null: none). */
function accessRules(options: StartDaemonOptions, settings: DaemonSettings, log: CoreLog): AuthPolicy['ipRules'] {
  if (options.ipRules !== undefined) return options.ipRules;
  const file = loadAccessFile();
  if (file !== null) log.info({ path: file.path, rules: file.rules.length }, 'IP access control file loaded');
  else if (settings.allowedAuthMethods.includes('IP') || settings.requiredAuthMethods.includes('IP')) {
    log.warn({}, 'IP access control file not found: IP authentication will deny every client');
  }
  return file === null ? null : file.rules;
}

/**
 * A configuration reload's wiring: the node's `reload` action (start) has reload.ts read
 * spread.conf, the node takes the answer; its `reconfigure` action hands the new configuration
 * to the edges (reconfigure).
 */
class ReloadWiring {
  config: SpreadConfig;
  /** proc id → daemon name, for the membership report. */
  readonly names: Map<number, string>;
  node: DaemonNode | null = null;
  core: DaemonCore | null = null;
  rt: DaemonRuntime | null = null;
  closed = false;

  constructor(
    private readonly options: StartDaemonOptions,
    private readonly selection: SelectDaemonOptions,
    private readonly settings: DaemonSettings,
    private readonly log: CoreLog,
    private readonly clock: () => number,
  ) {
    this.config = options.config;
    this.names = new Map(settings.daemons.map((d) => [d.procId | 0, d.name]));
  }

  readonly start = (origin: 'monitor' | 'signal'): void => {
    const read = this.options.reloadConfig ?? ((): Promise<SpreadConfig> => Promise.resolve(this.options.config));
    const src = { running: () => this.config, read, selection: this.selection, log: this.log };
    void readReload(src, origin).then((r) => {
      if (this.closed || this.node === null) return;
      this.node.reloadLoaded(r.node, this.clock());
      this.rt?.settle();
    });
  };

  readonly reconfigure = (config: SpreadConfig): void => {
    const self = config.daemons.find((d) => (d.id | 0) === this.settings.self.procId)!;
    const next = deriveSettings(config, self, this.options.unixSocketDir ?? UNIX_SOCKET_DIR);
    this.config = config;
    this.rt?.udp?.reconfigure(config, self, next.configHash);
    this.core?.reconfigure(next.daemons);
    this.names.clear();
    for (const d of next.daemons) this.names.set(d.procId | 0, d.name);
    this.log.info({ hash: next.configHash }, `Hash value for this configuration is: ${next.configHash}`);
  };
}

/** The node (ring side) and the core (client side) of one daemon, sans I/O. */
function buildMachines(options: StartDaemonOptions, settings: DaemonSettings, clock: () => number, log: CoreLog, reload: ReloadWiring): { node: DaemonNode; core: DaemonCore } {
  const wall = options.wallClock ?? Date.now;
  // The status source reads the core, made right after the node.
  let core: DaemonCore | null = null;
  const node = new DaemonNode({
    config: options.config,
    myId: settings.self.procId,
    now: clock,
    wallClock: () => wall() / 1000,
    log: log.child({ cat: 'MEMBERSHIP' }),
    reloadByEdge: true,
    status: {
      sessions: () => core?.stats.sessions ?? 0,
      groups: () => core?.groupsLayer.size ?? 0,
      gstate: () => core?.groupsLayer.state ?? 1,
    },
  });
  core = new DaemonCore({
    daemon: settings.self,
    daemons: settings.daemons,
    ordering: options.counters?.wrap(node.ordering) ?? node.ordering,
    authPolicy: { allowed: settings.allowedAuthMethods, required: settings.requiredAuthMethods, ipRules: accessRules(options, settings, log) },
    maxSessionMessages: settings.maxSessionMessages,
    log: log.child({ cat: 'SESSION' }),
  });
  reload.node = node;
  reload.core = core;
  return { node, core };
}

/** Opens the client listeners, then the UDP sockets; on failure closes what was opened. */
async function openEdges(rt: DaemonRuntime, core: DaemonCore, options: StartDaemonOptions, self: DaemonSpec, settings: DaemonSettings, clock: () => number, log: CoreLog): Promise<ListenInfo> {
  const srv = new ClientServer(core, { tcpHosts: settings.tcpHosts, port: settings.port, unixPath: settings.unixPath, log: log.child({ cat: 'SESSION' }), now: clock }, rt.settle);
  rt.server = srv;
  try {
    const listening = await srv.listen();
    rt.udp = await UdpEdge.open({
      config: options.config,
      self,
      confHash: settings.configHash,
      log: log.child({ cat: 'NETWORK' }),
      onDatagram: (channel, bytes) => rt.reader.datagram(channel, bytes),
    });
    return listening;
  } catch (err) {
    rt.close();
    await srv.shutdown();
    throw err;
  }
}

/** This daemon in its configuration (`-n`, else a local address), logged as the reference logs it. */
function findSelf(options: StartDaemonOptions, log: CoreLog): { selection: SelectDaemonOptions; self: DaemonSpec; settings: DaemonSettings } {
  const selection: SelectDaemonOptions = {
    ...(options.name !== undefined ? { name: options.name } : {}),
    localAddresses: options.localAddresses ?? localIPv4Addresses(),
  };
  const self = selectDaemon(options.config, selection);
  const settings = deriveSettings(options.config, self, options.unixSocketDir ?? UNIX_SOCKET_DIR);
  const id = procIdToIp(settings.self.procId);
  log.info({ hash: settings.configHash }, `Hash value for this configuration is: ${settings.configHash}`);
  log.info({ daemon: self.name, id, port: settings.port }, `My name: ${self.name}, id: ${id}, port: ${settings.port}`);
  return { selection, self, settings };
}

export async function startDaemon(options: StartDaemonOptions): Promise<RunningDaemon> {
  const log = options.log ?? silentLog;
  const { selection, self, settings } = findSelf(options, log);
  const clock = (): number => performance.now();
  const reload = new ReloadWiring(options, selection, settings, log, clock);
  const { node, core } = buildMachines(options, settings, clock, log, reload);
  let resolveFirstRing!: (id: RingId) => void;
  const firstRing = new Promise<RingId>((res) => (resolveFirstRing = res));
  let resolveExit!: (exit: DaemonExit) => void;
  const exitRequested = new Promise<DaemonExit>((res) => (resolveExit = res));
  const rt = (reload.rt = new DaemonRuntime({
    node, core, clock, log,
    nameOf: reload.names,
    orderingBatch: options.orderingBatch ?? 1000,
    onFirstRing: (ringId) => resolveFirstRing(ringId),
    onExit: (reason, fatal) => resolveExit({ reason, fatal }),
    onReload: reload.start,
    onReconfigure: reload.reconfigure,
  }));
  const listening = await openEdges(rt, core, options, self, settings, clock, log);
  const now = clock();
  node.start(now, options.startedAt ?? now);
  rt.settle();

  let closing: Promise<void> | null = null;
  return {
    settings,
    listening,
    get ringId() {
      return node.ordering.ringId;
    },
    firstRing,
    exitRequested,
    get config() {
      return reload.config;
    },
    reload() {
      node.requestReload(clock());
      rt.settle();
    },
    get stats() {
      return core.stats;
    },
    get udpStats() {
      return rt.udp?.stats ?? null;
    },
    node,
    describe() {
      const where = listening.tcp.map((a) => `${a.address}:${a.port}`);
      if (listening.unixPath !== null) where.push(listening.unixPath);
      return `${self.name} on ${where.join(', ')}`;
    },
    close() {
      reload.closed = true;
      rt.close();
      closing ??= Promise.all([rt.server?.shutdown(), rt.udp?.close()]).then(() => undefined);
      return closing;
    },
  };
}
