/**
 * `spread` — the daemon's command line, compatible with the reference's:
 *
 *   spread [-n NAME] [-c FILE] [-l y|n]
 *
 * plus long forms (--name, --config, --log) and --check (print the configuration's canonical
 * form and hash, then exit). Without -c the embedded default configuration is used: one
 * daemon `localhost` on 127.0.0.1, segment 127.0.0.255:4803.
 *
 * Exit codes: 0 after SIGTERM/SIGINT or --check; 64 usage; 78 bad configuration (unreadable,
 * invalid, or this host not in it); 69 listening failed (port or socket in use); 70 internal error.
 *
 * Logs (pino, JSON) go to stderr, or to EventLogFile when the configuration sets one. Clients
 * may connect as soon as the sockets are open; once the first ring is installed (about 1.75 s
 * after start with the LAN timeouts, as the reference) the daemon prints
 * `spread-ts ready: NAME on ADDR:PORT, /tmp/PORT` to stdout. Every regular configuration is
 * logged as `Membership id is ( PROCID, TIME)` and `ring: N members, id PROCID:TIME`.
 */
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import pino from 'pino';
import type { Logger } from 'pino';
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
import { AccessFileError, startDaemon, UdpEdgeError } from '../daemon/index.js';
import type { RunningDaemon } from '../daemon/index.js';

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
  readonly logger?: Logger;
  /** Called once the daemon is ready (tests). */
  readonly onReady?: (daemon: RunningDaemon) => void;
}

interface ParsedArgs {
  name?: string;
  config?: string;
  log?: 'y' | 'n';
  check?: boolean;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

function buildProgram(io: CliIo): Command {
  return new Command('spread')
    .description('Spread 4.4 compatible group communication daemon')
    .option('-n, --name <name>', 'force this daemon\'s name (must be in the configuration)')
    .option('-c, --config <file>', 'configuration file (default: the embedded one-daemon localhost configuration)')
    .addOption(new Option('-l, --log <y|n>', 'print log (accepted for compatibility)').choices(['y', 'n']))
    .option('--check', 'check the configuration, print its canonical form and hash, and exit')
    .version(VERSION_TEXT, '-V, --version')
    .helpOption('-h, --help')
    .allowExcessArguments(false)
    .allowUnknownOption(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
}

const PINO_LEVEL: Record<EventPriority, string> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
  CRITICAL: 'error',
  FATAL: 'fatal',
};

function makeLogger(config: SpreadConfig | null): Logger {
  const level = config === null ? 'info' : (PINO_LEVEL[config.settings.eventPriority] ?? 'info');
  const file = config?.settings.eventLogFile ?? null;
  const dest =
    file === null
      ? pino.destination({ fd: 2, sync: true })
      : pino.destination({ dest: expandLogFileName(file, hostname()), append: true, mkdir: false, sync: true });
  return pino({ name: 'spread', level, base: { pid: process.pid } }, dest);
}

function waitForStopSignal(log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (sig: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(sig);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => log.warn({}, 'SIGHUP: configuration reload is not supported; ignored'));
  });
}

/** The parsed command line, or the exit code when there is nothing to run (usage error, --help, --version). */
async function parseArgs(argv: readonly string[], io: CliIo): Promise<ParsedArgs | number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return program.opts<ParsedArgs>();
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
        ? ExitCode.OK
        : ExitCode.USAGE;
    }
    throw err;
  }
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

/** The exit code for an error startDaemon() threw, reported; null when it is not a known start-up failure. */
function startupFailure(err: unknown, io: CliIo, log: Logger): number | null {
  const report = (code: string, message: string, exit: number): number => {
    io.stderr(`spread: ${message}\n`);
    log.error({ code }, message);
    return exit;
  };
  if (err instanceof DaemonSelectionError) return report(err.code, err.message, err.code === 'NAME_TOO_LONG' ? ExitCode.USAGE : ExitCode.CONFIG);
  if (err instanceof AccessFileError) return report(err.code, err.message, ExitCode.CONFIG);
  if (err instanceof UdpEdgeError) return report(err.code, err.message, ExitCode.UNAVAILABLE);
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return report(code, `unable to listen (${code}): ${err instanceof Error ? err.message : String(err)}`, ExitCode.UNAVAILABLE);
  }
  return null;
}

/** Announces readiness at the first ring, runs until a stop signal or a monitor's exit, then closes the daemon. */
async function serve(daemon: RunningDaemon, stop: Promise<unknown>, log: Logger, io: CliIo, options: CliOptions): Promise<void> {
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
  log.info({}, end === 'exit' ? 'Spread daemon exiting: instructed by a monitor' : 'Spread daemon exiting normally!');
  await daemon.close();
}

/** Runs the daemon command line; resolves to the exit code. */
export async function main(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  const args = await parseArgs(argv, io);
  if (typeof args === 'number') return args;
  const config = await readConfig(args.config, io);
  if (typeof config === 'number') return config;
  if (args.check === true) {
    io.stdout(formatCheckOutput(config));
    return ExitCode.OK;
  }

  let log: Logger;
  try {
    log = options.logger ?? makeLogger(config);
  } catch (err) {
    io.stderr(`spread: cannot open the event log: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.CONFIG;
  }
  log.info({ file: config.fileName }, `using configuration ${config.fileName}`);
  const stop = options.stopSignal ?? waitForStopSignal(log);

  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon({ config, ...(args.name !== undefined ? { name: args.name } : {}), log });
  } catch (err) {
    const exit = startupFailure(err, io, log);
    if (exit === null) throw err;
    return exit;
  }
  await serve(daemon, stop, log, io, options);
  return ExitCode.OK;
}

/** Entry point for bin/spread.js and `node dist/src/tools/spread.js`. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await main(argv);
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
