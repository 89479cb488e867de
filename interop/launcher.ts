/**
 * Interop harness, part 1: start and stop a Spread daemon — ours or the C reference — on a
 * free port, with a generated spread.conf, an early-exit race, a readiness probe and a
 * guaranteed stop.
 *
 * The reference is found only through the env var SPREAD_REF (its install prefix). Nothing of
 * the reference lives in this repository.
 *
 * Readiness:
 *  - ours: the daemon prints a line containing `ready` (stdout or stderr) once its ring is
 *    operational;
 *  - reference: its log prints `Membership id is` when the first regular membership is
 *    installed (about 2 s after start).
 *
 * Only processes started here are ever signalled, and only by their pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, appendFileSync, chmodSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export type Impl = 'ours' | 'reference';

export interface StartDaemonOptions {
  impl: Impl;
  /** Daemon (process) name, `-n NAME`. Default `localhost`. */
  name?: string;
  /** Port of the segment. Default: a free port (UDP+TCP `port` and `port+1` free on 127.0.0.1). */
  port?: number;
  /** Extra spread.conf lines appended to the generated configuration. */
  confExtra?: string;
  /**
   * Whole configuration text instead of the generated one. `{{PORT}}` and `{{NAME}}` are
   * replaced by the port and the daemon name.
   */
  configText?: string;
  /** Extra environment for the daemon (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  /** If set, the daemon's output is also appended to `<logDir>/<impl>-<name>-<port>.log`. */
  logDir?: string;
  /** Readiness timeout in ms. Default 15000. */
  readyTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL in ms. Default 5000. */
  stopGraceMs?: number;
  /**
   * Command prefix the daemon's command line is appended to, e.g. `['ip', 'netns', 'exec', NS]`.
   * Every element of the chain must exec the next, so that the pid stays the daemon's.
   */
  wrap?: readonly string[];
  /** Parent directory of the daemon's temp dir (conf, cwd). Default os.tmpdir(). */
  workDir?: string;
  /** The daemon has its own /tmp (set up by `wrap`): stop() leaves the host's /tmp/<port> alone. */
  privateTmp?: boolean;
  /** Address clients use for TCP (`spreadTcp`). Default 127.0.0.1. */
  host?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DaemonHandle {
  impl: Impl;
  port: number;
  name: string;
  /** Client address for the unix socket: `'<port>'`. */
  spread: string;
  /** Client address over TCP: `'<port>@<host>'` (host default 127.0.0.1). */
  spreadTcp: string;
  confPath: string;
  pid: number;
  /** Combined stdout+stderr so far (the tail, if it grew very large). */
  log(): string;
  /** True until the process has exited. */
  running(): boolean;
  /** Resolves when the process exits (never rejects). */
  exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after the grace period; removes the temp dir and /tmp/<port>. Idempotent. */
  stop(): Promise<void>;
}

const READY_REFERENCE = 'Membership id is';
const READY_OURS = 'ready';
const MAX_LOG_CHARS = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Locations

/** The repository root (the folder with spread-ts's package.json), from this file's location. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'interop'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`launcher: cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
}

/**
 * Path of our built daemon entry point (may not exist before `npm run build`): the bundle
 * `bin/spread.js` runs (dist/spread-daemon.mjs), else the unbundled build. SPREAD_TS_DAEMON
 * names another build's entry instead (to compare two versions of ours side by side).
 */
export function oursDaemonPath(): string {
  if (process.env.SPREAD_TS_DAEMON !== undefined) return process.env.SPREAD_TS_DAEMON;
  const bundle = join(repoRoot(), 'dist', 'spread-daemon.mjs');
  return existsSync(bundle) ? bundle : join(repoRoot(), 'dist', 'src', 'tools', 'spread.js');
}

/** True when our daemon has been built. */
export function oursDaemonBuilt(): boolean {
  return existsSync(oursDaemonPath());
}

/** The reference install prefix from SPREAD_REF, if set and it holds `sbin/spread`. */
export function referencePrefix(): string | undefined {
  const prefix = process.env['SPREAD_REF'];
  if (prefix === undefined || prefix === '') return undefined;
  const daemon = join(prefix, 'sbin', 'spread');
  try {
    accessSync(daemon, constants.X_OK);
  } catch {
    return undefined;
  }
  return resolve(prefix);
}

/** A reference binary under the prefix, e.g. `referenceBin('spuser')` → `$SPREAD_REF/bin/spuser`. */
export function referenceBin(tool: 'spuser' | 'sptuser' | 'spflooder' | 'spmonitor', prefix = referencePrefix()): string | undefined {
  if (prefix === undefined) return undefined;
  const p = join(prefix, 'bin', tool);
  return existsSync(p) ? p : undefined;
}

/** Prints exactly one clear line saying what was skipped, and returns it. */
export function skipLine(what: string): string {
  const line = `SKIP: ${what}: SPREAD_REF not set`;
  console.log(line);
  return line;
}

// ---------------------------------------------------------------------------------------------
// Ports

async function udpFree(port: number, host: string): Promise<boolean> {
  const sock = createSocket({ type: 'udp4', reuseAddr: false });
  try {
    await new Promise<void>((res, rej) => {
      sock.once('error', rej);
      sock.bind(port, host, () => res());
    });
    return true;
  } catch {
    return false;
  } finally {
    try {
      sock.close();
    } catch {
      /* not bound */
    }
  }
}

async function tcpFree(port: number, host: string): Promise<boolean> {
  const srv = createServer();
  try {
    await new Promise<void>((res, rej) => {
      srv.once('error', rej);
      srv.listen({ port, host, exclusive: true }, () => res());
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((res) => srv.close(() => res()));
  }
}

async function udpEphemeral(host: string): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(0, host, () => res());
  });
  const { port } = sock.address();
  await new Promise<void>((res) => sock.close(() => res()));
  return port;
}

/** Is `port` usable for a daemon: UDP and TCP on `port` and `port+1` free, no /tmp/<port>. */
export async function portUsable(port: number): Promise<boolean> {
  if (port <= 0 || port + 1 > 65535) return false;
  if (existsSync(`/tmp/${port}`)) return false;
  for (const p of [port, port + 1]) {
    // The daemons bind INADDR_ANY: check the wildcard too, which also catches 127.0.0.1 users.
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      if (!(await udpFree(p, host))) return false;
      if (!(await tcpFree(p, host))) return false;
    }
  }
  return true;
}

/** A free daemon port: bind UDP port 0 on 127.0.0.1, then check the pair is free (bounded retries). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await udpEphemeral('127.0.0.1');
    if (await portUsable(port)) return port;
  }
  throw new Error('launcher: no free port pair found after 50 attempts');
}

// ---------------------------------------------------------------------------------------------
// Daemons

/** The generated spread.conf for one daemon on loopback. */
export function generateConf(port: number, name: string, extra = ''): string {
  let text = `Spread_Segment 127.0.0.255:${port} {\n ${name} 127.0.0.1\n}\nSocketPortReuse = ON\n`;
  if (extra !== '') text += extra.endsWith('\n') ? extra : `${extra}\n`;
  return text;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if the harness dies without stopping its daemons: kill ours by pid.
  process.on('exit', () => {
    for (const child of live) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });
}

/**
 * The environment a daemon starts with: ours, like the reference, as a service manager would
 * start it, without NODE_EXTRA_CA_CERTS. Node reads and parses the certificates that names
 * before any script runs (on these machines the system bundle: about 35 ms and 1.8 MB per
 * process), and the daemon never opens a TLS connection. `extra` may set it again.
 */
function daemonEnv(impl: Impl, extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (impl === 'ours') delete env.NODE_EXTRA_CA_CERTS;
  return { ...env, ...extra };
}

export async function startDaemon(opts: StartDaemonOptions): Promise<DaemonHandle> {
  const name = opts.name ?? 'localhost';
  const port = opts.port ?? (await freePort());
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
  const stopGraceMs = opts.stopGraceMs ?? 5_000;

  let command: string;
  let args: string[];
  let marker: string;

  const dir = mkdtempSync(join(opts.workDir ?? tmpdir(), `spread-${opts.impl}-${port}-`));
  // The reference runs as nobody: the dir and the conf must be readable by it.
  chmodSync(dir, 0o755);
  const confPath = join(dir, 'spread.conf');
  const confText =
    opts.configText !== undefined
      ? opts.configText.replaceAll('{{PORT}}', String(port)).replaceAll('{{NAME}}', name)
      : generateConf(port, name, opts.confExtra);
  writeFileSync(confPath, confText, { mode: 0o644 });

  if (opts.impl === 'reference') {
    const prefix = referencePrefix();
    if (prefix === undefined) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error('launcher: SPREAD_REF is not set (or has no sbin/spread)');
    }
    const daemon = join(prefix, 'sbin', 'spread');
    marker = READY_REFERENCE;
    // As root the reference insists on a `spread` user: run it as nobody instead. setpriv and
    // stdbuf exec, so the spawned pid is the daemon's pid.
    const base = ['-oL', daemon, '-n', name, '-c', confPath];
    if (process.getuid?.() === 0) {
      command = 'setpriv';
      args = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'stdbuf', ...base];
    } else {
      command = 'stdbuf';
      args = base;
    }
  } else {
    const entry = oursDaemonPath();
    if (!existsSync(entry)) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`launcher: our daemon is not built (${entry} missing): run npm run build`);
    }
    marker = READY_OURS;
    command = process.execPath;
    // SPREAD_TS_NODE_ARGS: extra Node flags for our daemon (say `--cpu-prof --cpu-prof-dir=DIR`).
    const nodeArgs = (opts.env?.SPREAD_TS_NODE_ARGS ?? process.env.SPREAD_TS_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
    args = [...nodeArgs, entry, '-n', name, '-c', confPath];
  }

  let logFile: string | undefined;
  if (opts.logDir !== undefined) {
    mkdirSync(opts.logDir, { recursive: true });
    logFile = join(opts.logDir, `${opts.impl}-${name}-${port}.log`);
  }

  if (opts.wrap !== undefined && opts.wrap.length > 0) {
    args = [...opts.wrap.slice(1), command, ...args];
    command = opts.wrap[0]!;
  }

  const child = spawn(command, args, {
    cwd: dir,
    env: daemonEnv(opts.impl, opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  installExitHook();
  live.add(child);

  let output = '';
  let pending = ''; // partial line, for the marker scan
  let readyResolve: (() => void) | undefined;
  const readyPromise = new Promise<void>((res) => {
    readyResolve = res;
  });
  let isReady = false;

  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    output += text;
    if (output.length > MAX_LOG_CHARS) output = output.slice(output.length - MAX_LOG_CHARS);
    if (logFile !== undefined) {
      try {
        appendFileSync(logFile, text);
      } catch {
        /* logging is best effort */
      }
    }
    if (!isReady) {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (lines.some((l) => l.includes(marker)) || pending.includes(marker)) {
        isReady = true;
        readyResolve?.();
      }
      if (pending.length > 65536) pending = pending.slice(-65536);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  let spawnError: Error | undefined;
  const exited = new Promise<ExitInfo>((res) => {
    child.once('error', (err) => {
      spawnError = err;
      // 'exit' may not follow a spawn failure.
      if (child.pid === undefined) res({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => res({ code, signal }));
  });
  void exited.then(() => live.delete(child));

  let stopped: Promise<void> | undefined;
  const cleanupFiles = (): void => {
    rmSync(dir, { recursive: true, force: true });
    if (opts.privateTmp === true) return;
    const sock = `/tmp/${port}`;
    try {
      if (lstatSync(sock).isSocket()) rmSync(sock, { force: true });
    } catch {
      /* not there */
    }
  };
  const running = (): boolean => child.exitCode === null && child.signalCode === null && spawnError === undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.pid !== undefined && running()) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        const graceful = await Promise.race([exited.then(() => true), sleep(stopGraceMs).then(() => false)]);
        if (!graceful && running()) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
          await Promise.race([exited, sleep(5_000)]);
        }
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
      cleanupFiles();
    })();
    return stopped;
  };

  const describe = `${opts.impl} daemon ${name} on port ${port} (${command} ${args.join(' ')})`;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    readyPromise.then(() => 'ready' as const),
    exited.then((info) => info),
    new Promise<'timeout'>((res) => {
      timer = setTimeout(() => res('timeout'), readyTimeoutMs);
    }),
  ]);
  clearTimeout(timer);

  if (outcome !== 'ready') {
    await stop();
    if (outcome === 'timeout') {
      throw new Error(`launcher: ${describe} not ready after ${readyTimeoutMs} ms (no "${marker}" line). Output:\n${output}`);
    }
    const why = spawnError !== undefined ? `failed to spawn: ${spawnError.message}` : `exited (code ${outcome.code}, signal ${outcome.signal}) before ready`;
    throw new Error(`launcher: ${describe} ${why}. Output:\n${output}`);
  }

  if (child.pid === undefined) throw new Error(`launcher: ${describe}: no pid`);
  return {
    impl: opts.impl,
    port,
    name,
    spread: String(port),
    spreadTcp: `${port}@${opts.host ?? '127.0.0.1'}`,
    confPath,
    pid: child.pid,
    log: () => output,
    running,
    exited,
    stop,
  };
}

/** Runs `fn` with a started daemon and always stops it. */
export async function withDaemon<T>(opts: StartDaemonOptions, fn: (d: DaemonHandle) => Promise<T>): Promise<T> {
  const d = await startDaemon(opts);
  try {
    return await fn(d);
  } finally {
    await d.stop();
  }
}
