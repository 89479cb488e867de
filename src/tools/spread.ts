/**
 * `spread` — the daemon's command line, compatible with the reference's (SPEC Part IX):
 *
 *   spread [-n NAME] [-c FILE] [-l y|n]
 *
 * plus long forms (--name, --config, --log) and ours (spread-args.ts): --check (print the
 * configuration's canonical form and hash, then exit), --log-level, --log-format, --metrics.
 * Without -c the embedded default configuration is used: one daemon `localhost` on
 * 127.0.0.1, segment 127.0.0.255:4803.
 *
 * Exit codes: 0 after SIGTERM/SIGINT or --check; 64 usage; 78 bad configuration (unreadable,
 * invalid, this host not in it, privileges that cannot be dropped, or a monitor's RELOAD of a
 * file the reference refuses at run time); 69 listening failed (port or socket in use); 70
 * internal error. SIGHUP reloads spread.conf (SPEC Part IX §6).
 *
 * Logs (ops/log.ts) go to stderr, or to EventLogFile when the configuration sets one. Clients
 * may connect as soon as the sockets are open; once the first ring is installed (about 1.75 s
 * after start with the LAN timeouts, as the reference) the daemon prints
 * `spread-ts ready: NAME on ADDR:PORT, /tmp/PORT` to stdout. Every regular configuration is
 * logged as `Membership id is ( PROCID, TIME)` and `ring: N members, id PROCID:TIME`.
 */
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  DaemonSelectionError,
  DEFAULT_CONFIG_TEXT,
  expandLogFileName,
  formatCheckOutput,
  loadConfig,
  parseConfig,
} from '../daemon/config/index.js';
import type { EventPriority, SpreadConfig } from '../daemon/config/index.js';
import type { CoreLog } from '../daemon/core/daemon-core.js';
import { AccessFileError, startDaemon, UdpEdgeError } from '../daemon/index.js';
import type { RunningDaemon } from '../daemon/index.js';
import { ActivityLog } from '../daemon/ops/activity-log.js';
import { MessageCounters } from '../daemon/ops/counters.js';
import { Logger, openLogDestination } from '../daemon/ops/log.js';
import type { LogDestination, LogLevel } from '../daemon/ops/log.js';
import type { MetricsServer } from '../daemon/ops/metrics.js';
import { dropPrivileges, PrivilegeError } from '../daemon/ops/privileges.js';
import { parseSpreadArgs, USAGE } from './spread-args.js';
import type { SpreadArgs } from './spread-args.js';
import { tuneV8ForDaemon } from '../daemon/runtime/v8-tuning.js';
import { warmUpInSlices } from '../daemon/runtime/warm-up.js';

export const ExitCode = {
  OK: 0,
  USAGE: 64,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CONFIG: 78,
} as const;

export const VERSION_TEXT = 'spread-ts 0.1.0 (Spread 4.4.0 compatible)';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface CliOptions {
  readonly io?: CliIo;
  /** Resolves when the daemon should stop (default: SIGTERM or SIGINT). */
  readonly stopSignal?: Promise<unknown>;
  /** Logger to use instead of the one built from the configuration. */
  readonly logger?: CoreLog;
  /** Called once the daemon is ready (tests). */
  readonly onReady?: (daemon: RunningDaemon) => void;
  /** Environment for SPREAD_LOG_LEVEL, SPREAD_LOG_FORMAT, SPREAD_METRICS (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** When the daemon's process began, on `performance.now()`'s clock (runCli: 0); see StartDaemonOptions. */
  readonly startedAt?: number;
  /** Run the start-up drill (runtime/warm-up.ts) while the first ring forms (runCli: true; SPREAD_TS_WARMUP=0 turns it off). */
  readonly warmUp?: boolean;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

const LEVEL_OF: Record<EventPriority, LogLevel> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
  CRITICAL: 'error',
  FATAL: 'fatal',
};

/** The level: --log-level, else SPREAD_LOG_LEVEL (both in `args`), else EventPriority. */
function makeLogger(config: SpreadConfig, args: SpreadArgs): { log: Logger; dest: LogDestination } {
  const s = config.settings;
  const file = s.eventLogFile;
  const dest = openLogDestination(file === null ? null : expandLogFileName(file, hostname()));
  const log = new Logger({
    level: args.logLevel ?? LEVEL_OF[s.eventPriority] ?? 'info',
    format: args.logFormat ?? (dest.isTTY ? 'pretty' : 'json'),
    write: dest.write,
    timeStamp: s.eventTimeStamp,
    preciseTimeStamp: s.eventPreciseTimeStamp,
    debugFlags: s.debugFlags,
  });
  return { log, dest };
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (sig: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(sig);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/**
 * SIGHUP (ours; the reference has no handler): a RELOAD for this daemon alone (SPEC Part IX §6),
 * except that a change the reference refuses keeps the running configuration instead of exiting.
 */
function onHangup(daemon: RunningDaemon, log: CoreLog): () => void {
  const hangup = (): void => {
    log.info({}, 'SIGHUP: reloading the configuration');
    daemon.reload();
  };
  process.on('SIGHUP', hangup);
  return () => void process.off('SIGHUP', hangup);
}

/** `-c FILE` or the embedded default, its warnings printed; the exit code when it is unusable. */
async function readConfig(file: string | undefined, io: CliIo): Promise<SpreadConfig | number> {
  let config: SpreadConfig;
  try {
    config = file === undefined ? parseConfig(DEFAULT_CONFIG_TEXT, '<default>') : await loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`spread: ${err.message}\n`);
      return ExitCode.CONFIG;
    }
    throw err;
  }
  for (const w of config.warnings) io.stderr(`spread: warning: ${config.fileName}:${w.line}:${w.column}: ${w.message}\n`);
  return config;
}

/** The exit code for an error the start threw, reported in one line; null when it is not a known start-up failure. */
function startupFailure(err: unknown, io: CliIo, log: CoreLog, toFile: boolean): number | null {
  const report = (code: string, message: string, exit: number): number => {
    io.stderr(`spread: ${message}\n`);
    if (toFile) log.error({ code }, message);
    return exit;
  };
  if (err instanceof DaemonSelectionError) return report(err.code, err.message, err.code === 'NAME_TOO_LONG' ? ExitCode.USAGE : ExitCode.CONFIG);
  if (err instanceof AccessFileError) return report(err.code, err.message, ExitCode.CONFIG);
  if (err instanceof PrivilegeError) return report('PRIVILEGES', err.message, ExitCode.CONFIG);
  if (err instanceof UdpEdgeError) return report(err.code, err.message, ExitCode.UNAVAILABLE);
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const what = err instanceof Error ? err.message.replace(/^listen \w+: /, '') : String(err);
    return report(code, `unable to listen: ${what}`, ExitCode.UNAVAILABLE);
  }
  return null;
}

/** What runs beside the daemon: metrics server, activity log; closed with it. */
interface Extras {
  metrics: MetricsServer | null;
  activity: ActivityLog | null;
}

/**
 * Announces readiness at the first ring, runs until a stop signal or a monitor's exit; the exit
 * code: 78 when a RELOAD was refused (the reference exits there too), else 0.
 */
async function serve(daemon: RunningDaemon, stop: Promise<unknown>, log: CoreLog, io: CliIo, options: CliOptions): Promise<number> {
  // Ready once the first ring is installed; a stop signal or a monitor's exit may come first.
  const first = await Promise.race([
    daemon.firstRing.then(() => 'ring' as const),
    stop.then(() => 'stop' as const),
    daemon.exitRequested.then(() => 'exit' as const),
  ]);
  if (first === 'ring') {
    const ready = `spread-ts ready: ${daemon.describe()}`;
    log.info({ hash: daemon.settings.configHash }, ready);
    io.stdout(`${ready}\n`);
    options.onReady?.(daemon);
  }
  const end = first === 'ring'
    ? await Promise.race([stop.then(() => 'stop' as const), daemon.exitRequested.then(() => 'exit' as const)])
    : first;
  if (end !== 'exit') {
    log.info({}, 'Spread daemon exiting normally!');
    return ExitCode.OK;
  }
  const why = await daemon.exitRequested;
  if (!why.fatal) {
    log.info({}, 'Spread daemon exiting: instructed by a monitor');
    return ExitCode.OK;
  }
  io.stderr(`spread: ${why.reason}\n`);
  return ExitCode.CONFIG;
}

/** Starts the daemon, its metrics and activity log, then drops root; closes what opened on failure. */
async function start(config: SpreadConfig, args: SpreadArgs, log: CoreLog, extras: Extras, startedAt: number | undefined): Promise<RunningDaemon> {
  let activity: ActivityLog | null = null;
  const counters = args.metrics !== undefined || args.activityLog
    ? new MessageCounters((ringId, members) => activity?.membership(ringId.time, members))
    : undefined;
  const file = args.config;
  const reloadConfig = (): Promise<SpreadConfig> => (file === undefined ? Promise.resolve(parseConfig(DEFAULT_CONFIG_TEXT, '<default>')) : loadConfig(file));
  const daemon = await startDaemon({ config, ...(args.name !== undefined ? { name: args.name } : {}), log, reloadConfig, ...(counters ? { counters } : {}), ...(startedAt !== undefined ? { startedAt } : {}) });
  try {
    if (args.activityLog) {
      activity = extras.activity = new ActivityLog(daemon.settings.self.name, {
        daemons: daemon.settings.daemons.map((d) => d.procId),
        highestSeq: () => daemon.node.engine.highestSeq,
      });
    }
    if (args.metrics !== undefined && counters !== undefined) {
      const { startMetrics } = await import('../daemon/ops/metrics.js');
      extras.metrics = await startMetrics(args.metrics, daemon, counters, log);
    }
    const dropped = dropPrivileges(config.settings, [daemon.settings.unixPath]);
    if (dropped.kind === 'dropped') log.info({ uid: dropped.uid, gid: dropped.gid, dir: config.settings.runtimeDir }, `Spread: privileges dropped to ${config.settings.daemonUser}/${config.settings.daemonGroup} in ${config.settings.runtimeDir}`);
    else if (dropped.kind === 'root-kept') log.warn({}, `running as root: spread.conf names no DaemonUser/DaemonGroup/RuntimeDir and user '${config.settings.daemonUser}' does not exist (the reference refuses to start)`);
    else log.debug({}, 'not running as root: no privilege drop');
    return daemon;
  } catch (err) {
    await closeAll(daemon, extras);
    throw err;
  }
}

async function closeAll(daemon: RunningDaemon, extras: Extras): Promise<void> {
  extras.activity?.close();
  await Promise.all([daemon.close(), extras.metrics?.close()]);
}

/** The start-up drill, in the background until it ends or `stop` settles: its end is logged, a failure only warned about. */
function startWarmUp(log: CoreLog, env: NodeJS.ProcessEnv, stop: Promise<unknown>): void {
  const t0 = performance.now();
  const abort = new AbortController();
  stop.then(() => abort.abort(), () => abort.abort());
  warmUpInSlices(env, abort.signal).then(
    (r) => r !== null && log.debug({ messages: r.messages, ms: Math.round(performance.now() - t0) }, 'start-up drill done'),
    (err: unknown) => log.warn({}, `start-up drill failed: ${err instanceof Error ? err.message : String(err)}`),
  );
}

/** Runs the daemon command line; resolves to the exit code. */
export async function main(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  const parsed = parseSpreadArgs(argv, options.env ?? process.env);
  if (parsed.kind === 'help') io.stdout(USAGE);
  if (parsed.kind === 'version') io.stdout(`${VERSION_TEXT}\n`);
  if (parsed.kind === 'usage') io.stderr(`spread: ${parsed.message}\n${USAGE}`);
  if (parsed.kind !== 'run') return parsed.kind === 'usage' ? ExitCode.USAGE : ExitCode.OK;
  const args = parsed.args;
  const config = await readConfig(args.config, io);
  if (typeof config === 'number') return config;
  if (args.check) {
    io.stdout(formatCheckOutput(config));
    return ExitCode.OK;
  }

  let log: CoreLog;
  let dest: LogDestination | null = null;
  try {
    if (options.logger !== undefined) log = options.logger;
    else ({ log, dest } = makeLogger(config, args));
  } catch (err) {
    io.stderr(`spread: cannot open the event log: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.CONFIG;
  }
  log.info({ file: config.fileName }, `using configuration ${config.fileName}`);
  const stop = options.stopSignal ?? waitForStopSignal();
  const extras: Extras = { metrics: null, activity: null };
  let daemon: RunningDaemon;
  try {
    daemon = await start(config, args, log, extras, options.startedAt);
  } catch (err) {
    const exit = startupFailure(err, io, log, dest?.toFile === true);
    if (exit === null) throw err;
    return exit;
  } 
  const offHangup = onHangup(daemon, log);
  if (options.warmUp === true) startWarmUp(log, options.env ?? process.env, Promise.race([stop, daemon.exitRequested]));
  const code = await serve(daemon, stop, log, io, options);
  offHangup();
  await closeAll(daemon, extras);
  dest?.close();
  return code;
}

/** Entry point for bin/spread.js and `node dist/src/tools/spread.js`. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  tuneV8ForDaemon();
  try {
    process.exitCode = await main(argv, { startedAt: 0, warmUp: true });
  } catch (err) {
    process.stderr.write(`spread: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = ExitCode.SOFTWARE;
  }
  // Listeners and timers are closed; leave nothing behind that keeps the process up.
  process.exit();
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) void runCli();
