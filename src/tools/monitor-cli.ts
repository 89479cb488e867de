/**
 * spmonitor's non-interactive commands (README "Tools": spmonitor), for scripts:
 *
 *   status [--json] [--wait MS] [PROC…|all]   query, print each daemon's report (the reference's
 *                                              text, or one JSON array); exit 0 when every daemon
 *                                              asked answered within --wait (default 2000 ms), else 3
 *   partition PROC=COMPONENT… [--hold]         send a partition (unnamed daemons: 0); --hold
 *                                              resends it every 25 s until SIGINT/SIGTERM, then cancels
 *   cancel                                     send the all-zero partition
 *   flow-control [--window N] [PROC=P[/A]…]    send flow control (unset values: −1, unchanged)
 *   terminate PROC…|all                        ask daemons to exit
 *   reload                                     ask every daemon to reload its configuration
 *
 * Exit 1 on a usage error. A daemon without `DangerousMonitor = true` ignores partition,
 * flow-control and terminate (a warning says so when the monitor's own configuration lacks it).
 */
import type { DaemonSpec } from '../daemon/config/index.js';
import type { StatusBody } from '../wire/daemon/monitor.js';
import { confIndex, daemonsInOrder, decodeStatusReply, formatStatus, MonitorRequests, PARTITION_RESEND_MS, statusJson, type MonitorSocket } from './monitor-net.js';
import type { MonitorIo, MonitorSetup } from './spmonitor.js';

export const COMMANDS: readonly string[] = ['status', 'partition', 'cancel', 'flow-control', 'terminate', 'reload'];

const STATUS_RETRY_MS = 500;

class UsageError extends Error {}

function byName(setup: MonitorSetup, name: string): DaemonSpec {
  const d = setup.config.daemons.find((p) => p.name === name);
  if (d === undefined) throw new UsageError(`no daemon named '${name}' in ${setup.config.fileName}`);
  return d;
}

function intArg(s: string | undefined, what: string): number {
  const n = Number(s);
  if (s === undefined || s.trim() === '' || !Number.isInteger(n) || n < -32768 || n > 32767) throw new UsageError(`${what}: expected an integer, got '${s ?? ''}'`);
  return n;
}

/** PROC=VALUE pairs. */
function assignments(setup: MonitorSetup, args: readonly string[]): [DaemonSpec, string][] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`expected PROC=VALUE, got '${arg}'`);
    return [byName(setup, arg.slice(0, eq)), arg.slice(eq + 1)];
  });
}

async function status(args: string[], setup: MonitorSetup, sock: MonitorSocket, io: MonitorIo): Promise<number> {
  let json = false;
  let waitMs = 2000;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--json') json = true;
    else if (args[i] === '--wait') waitMs = intArg(args[++i], '--wait') >>> 0;
    else names.push(args[i]!);
  }
  const asked = names.length === 0 || names.includes('all') ? daemonsInOrder(setup.config) : names.map((n) => byName(setup, n));
  const answers = new Map<DaemonSpec, StatusBody>();
  let last: StatusBody | undefined;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  sock.onDatagram = (buf) => {
    const r = decodeStatusReply(setup.config, buf);
    if (r?.daemon === undefined || !asked.includes(r.daemon) || answers.has(r.daemon)) return;
    answers.set(r.daemon, r.status);
    if (!json) io.stdout.write(formatStatus(setup.config, r, last));
    last = r.status;
    if (answers.size === asked.length) done();
  };
  const req = new MonitorRequests(setup.me, sock.port).status();
  const ask = (): void => {
    for (const d of asked) if (!answers.has(d)) sock.send(d, req);
  };
  ask();
  const retry = setInterval(ask, STATUS_RETRY_MS);
  const timeout = setTimeout(done, waitMs);
  await finished;
  clearInterval(retry);
  clearTimeout(timeout);
  if (json) io.stdout.write(`${JSON.stringify(asked.map((d) => statusJson(d, answers.get(d), setup.config)))}\n`);
  else for (const d of asked) if (!answers.has(d)) io.stdout.write(`no answer from ${d.name}\n`);
  return answers.size === asked.length ? 0 : 3;
}

function waitForStop(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function partition(args: string[], setup: MonitorSetup, sock: MonitorSocket, io: MonitorIo): Promise<number> {
  const hold = args.includes('--hold');
  const components = new Array<number>(setup.config.daemons.length).fill(0);
  for (const [d, v] of assignments(setup, args.filter((a) => a !== '--hold'))) components[confIndex(setup.config, d)] = intArg(v, d.name);
  const req = new MonitorRequests(setup.me, sock.port);
  const send = (c: readonly number[]): void => sock.sendAll(setup.config, req.partition(c), 2);
  send(components);
  io.stdout.write(`Monitor: send partition ${daemonsInOrder(setup.config).map((d) => `${d.name}=${components[confIndex(setup.config, d)]}`).join(' ')}\n`);
  if (!hold) return 0;
  const timer = setInterval(() => send(components), PARTITION_RESEND_MS);
  await waitForStop();
  clearInterval(timer);
  send(components.map(() => 0));
  io.stdout.write('Monitor: partition cancelled\n');
  return 0;
}

function flowControl(args: string[], setup: MonitorSetup, sock: MonitorSocket, io: MonitorIo): number {
  const n = setup.config.daemons.length;
  const windows = new Array<number>(n + 1).fill(-1);
  const accelerated = new Array<number>(n + 1).fill(-1);
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--window') windows[n] = intArg(args[++i], '--window');
    else rest.push(args[i]!);
  }
  for (const [d, v] of assignments(setup, rest)) {
    const [p, a] = v.split('/');
    const i = confIndex(setup.config, d);
    windows[i] = intArg(p, `${d.name} personal window`);
    if (a !== undefined) accelerated[i] = intArg(a, `${d.name} accelerated window`);
  }
  sock.sendAll(setup.config, new MonitorRequests(setup.me, sock.port).flowControl(windows, accelerated), 2);
  io.stdout.write(`Monitor: send flow control params (window ${windows[n]}; -1 = unchanged)\n`);
  return 0;
}

function terminate(args: string[], setup: MonitorSetup, sock: MonitorSocket, io: MonitorIo): number {
  if (args.length === 0) throw new UsageError('terminate: name the daemons (or all)');
  const targets = args.includes('all') ? daemonsInOrder(setup.config) : args.map((n) => byName(setup, n));
  const components = setup.config.daemons.map((d) => (targets.includes(d) ? -1 : 0));
  sock.terminate(setup.config, new MonitorRequests(setup.me, sock.port), components, (s) => void io.stdout.write(s));
  return 0;
}

function reload(setup: MonitorSetup, sock: MonitorSocket, io: MonitorIo): number {
  sock.sendAll(setup.config, new MonitorRequests(setup.me, sock.port).reload());
  io.stdout.write('Monitor: send conf reload command\n');
  return 0;
}

/** Runs one command (argv[0] is its name); resolves to the exit code. */
export async function runCommand(argv: readonly string[], setup: MonitorSetup, sock: MonitorSocket, io: MonitorIo): Promise<number> {
  const [cmd, ...args] = argv;
  const dangerous = cmd === 'partition' || cmd === 'flow-control' || cmd === 'terminate';
  if (dangerous && !setup.config.settings.dangerousMonitor) {
    io.stderr.write(`spmonitor: warning: ${setup.config.fileName} does not set DangerousMonitor = true: daemons configured like it ignore ${cmd}\n`);
  }
  try {
    switch (cmd) {
      case 'status':
        return await status(args, setup, sock, io);
      case 'partition':
        return await partition(args, setup, sock, io);
      case 'cancel':
        return await partition([], setup, sock, io);
      case 'flow-control':
        return flowControl(args, setup, sock, io);
      case 'terminate':
        return terminate(args, setup, sock, io);
      default:
        return reload(setup, sock, io);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`spmonitor ${cmd}: ${e.message}\n`);
    return 1;
  }
}
