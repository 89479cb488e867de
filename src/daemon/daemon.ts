/**
 * Wires one daemon together: configuration → core (sessions, groups, ordering) → client edge.
 * Carries out the core's actions, runs the ordering layer between I/O events, and arms the
 * handshake timer.
 */
import { networkInterfaces } from 'node:os';
import { selectDaemon } from './config/index.js';
import type { SpreadConfig } from './config/index.js';
import { loadAccessFile } from './access-file.js';
import type { AuthPolicy } from './core/auth.js';
import { DaemonCore, silentLog } from './core/daemon-core.js';
import type { CoreLog, CoreStats } from './core/daemon-core.js';
import { LocalRing } from './core/ordering.js';
import { procIdToIp } from './core/types.js';
import type { RingId } from './core/types.js';
import { ClientServer } from './net/client-server.js';
import type { ListenInfo } from './net/client-server.js';
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
  /** Wall clock in ms (ring formation time); default Date.now. */
  readonly wallClock?: () => number;
  /** Events handled per ordering run before yielding to I/O (default 1000). */
  readonly orderingBatch?: number;
}

export interface RunningDaemon {
  readonly settings: DaemonSettings;
  readonly listening: ListenInfo;
  readonly ringId: RingId;
  readonly stats: CoreStats;
  /** One line for humans: where the daemon listens. */
  describe(): string;
  /** Stops listening, drops every client, removes the unix socket. Idempotent. */
  close(): Promise<void>;
}

export function localIPv4Addresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4') out.push(a.address);
  }
  return out;
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

  const wallClock = options.wallClock ?? Date.now;
  const ring = new LocalRing({ procId: settings.self.procId, formationTime: Math.floor(wallClock() / 1000) });
  const core = new DaemonCore({
    daemon: settings.self,
    daemons: settings.daemons,
    ordering: ring,
    authPolicy: { allowed: settings.allowedAuthMethods, required: settings.requiredAuthMethods, ipRules },
    maxSessionMessages: settings.maxSessionMessages,
    now: () => performance.now(),
    log,
  });

  let server: ClientServer | null = null;
  let orderingScheduled: NodeJS.Immediate | null = null;
  let deadlineTimer: NodeJS.Timeout | null = null;
  let deadlineAt: number | null = null;
  let flushing = false;
  let closed = false;
  const batch = options.orderingBatch ?? 1000;

  const runOrdering = (): void => {
    orderingScheduled = null;
    if (closed) return;
    core.processOrdering(batch);
    flush();
  };

  const onDeadline = (): void => {
    deadlineTimer = null;
    deadlineAt = null;
    core.checkDeadlines();
    flush();
  };

  function armDeadline(): void {
    const next = core.nextDeadline();
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

  function flush(): void {
    if (flushing || server === null) return;
    flushing = true;
    try {
      for (let actions = core.drainActions(); actions.length > 0; actions = core.drainActions()) {
        for (const a of actions) {
          switch (a.type) {
            case 'transmit':
              server.pump(a.conn);
              break;
            case 'close':
              server.close(a.conn, a.flush);
              break;
            case 'pause-reading':
              log.debug({ backlog: core.stats.orderingBacklog }, 'ordering queue full: not reading clients');
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
      armDeadline();
    } finally {
      flushing = false;
    }
  }

  const srv = new ClientServer(core, { tcpHosts: settings.tcpHosts, port: settings.port, unixPath: settings.unixPath, log }, flush);
  server = srv;
  let listening: ListenInfo;
  try {
    listening = await srv.listen();
  } catch (err) {
    closed = true;
    await srv.shutdown();
    throw err;
  }
  ring.start();
  core.processOrdering(batch);
  flush();
  const ringId = ring.ringId!;
  log.info({ ringProcId: ringId.procId, ringTime: ringId.time }, `Membership id is ( ${ringId.procId}, ${ringId.time})`);

  const describe = (): string => {
    const where = listening.tcp.map((a) => `${a.address}:${a.port}`);
    if (listening.unixPath !== null) where.push(listening.unixPath);
    return `${self.name} on ${where.join(', ')}`;
  };

  return {
    settings,
    listening,
    ringId,
    get stats() {
      return core.stats;
    },
    describe,
    async close() {
      if (closed) return;
      closed = true;
      if (orderingScheduled !== null) clearImmediate(orderingScheduled);
      if (deadlineTimer !== null) clearTimeout(deadlineTimer);
      await srv.shutdown();
    },
  };
}
