/**
 * spmonitor: the Spread monitor (README "Tools"), compatible with the reference's spmonitor
 * (daemon/monitor.c of Spread 4.4): its flags, its menu and prompts line for line, and its
 * packets (SPEC.md Part IV §11), so it drives reference daemons and ours alike. The daemons obey
 * PARTITION, FC and terminate only when their configuration has `DangerousMonitor = true`.
 *
 *   spmonitor [-p <port>] [-n <proc name>] [-t <status seconds>] [-c <spread.conf>]
 *
 * Menu (one command per line on stdin): 0 status {all, none, Proc, CR}; 1 define, 2 send,
 * 3 review, 4 cancel a partition; 5 define, 6 send, 7 review flow control; 8 terminate
 * daemons; r reload the configuration; 9 or q exit.
 *
 * Non-interactive mode for scripts (after the flags; monitor-cli.ts):
 *   spmonitor [flags] status [--json] [--wait MS] [PROC…|all]
 *   spmonitor [flags] partition PROC=COMPONENT… [--hold]      (unnamed daemons: component 0)
 *   spmonitor [flags] cancel
 *   spmonitor [flags] flow-control [--window N] [PROC=PERSONAL[/ACCELERATED]…]   (unset: −1)
 *   spmonitor [flags] terminate PROC…|all
 *   spmonitor [flags] reload
 *
 * Deliberate differences: our own banner instead of the reference's copyright box; a usage
 * error or an unusable configuration exits 1 with a message (the reference aborts); every
 * line on stdin is taken as it comes (the reference's stdio may sit on a buffered command
 * until more input arrives).
 */
import { existsSync } from 'node:fs';
import { localIPv4Addresses } from '../daemon/daemon.js';
import { configHash, DEFAULT_CONFIG_TEXT, loadConfig, parseConfig, selectDaemon, type DaemonSpec, type SpreadConfig } from '../daemon/config/index.js';
import type { StatusBody } from '../wire/daemon/monitor.js';
import { runCommand, COMMANDS } from './monitor-cli.js';
import { confIndex, decodeStatusReply, DEFAULT_MONITOR_PORT, formatStatus, MonitorRequests, MonitorSocket, PARTITION_RESEND_MS } from './monitor-net.js';
import { LineInput } from './line-input.js';
import { toolMain } from './tool-main.js';

export const MENU =
  '\n=============\nMonitor Menu:\n-------------\n' +
  '\t0. Activate/Deactivate Status {all, none, Proc, CR}\n\n' +
  '\t1. Define Partition\n\t2. Send   Partition\n\t3. Review Partition\n\t4. Cancel Partition Effects\n\n' +
  '\t5. Define Flow Control\n\t6. Send   Flow Control\n\t7. Review Flow Control\n\n' +
  '\t8. Terminate Spread Daemons {all, none, Proc, CR}\n\n' +
  '\tr. Reload Configuration File\n\n' +
  '\t9. Exit\n\nMonitor> ';

const PROMPT = '\nMonitor> ';

export const USAGE = (exe: string): string =>
  `Usage: ${exe}\n` +
  '\t[-p <port number>]    : specify port number\n' +
  '\t[-n <proc name>]      : force computer name\n' +
  '\t[-t <status timeout>] : specify number of seconds between status queries\n' +
  '\t[-c <file name>]      : specify configuration file\n\n' +
  `   or: ${exe} [flags] status [--json] [--wait MS] [PROC...|all] | partition PROC=N... [--hold] | cancel\n` +
  '       | flow-control [--window N] [PROC=P[/A]...] | terminate PROC...|all | reload\n';

export interface MonitorArgs {
  port: number;
  name: string | undefined;
  statusSeconds: number;
  configFile: string;
  /** Non-interactive command and its arguments. */
  command: string[] | undefined;
}

/** strtol(…, 0) as the reference checks it: the whole string, decimal, hex or octal. */
function strtol(s: string): number | undefined {
  const t = s.trim();
  if (t !== s || s === '') return undefined;
  const m = /^([+-]?)(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.exec(s);
  if (m === null) return undefined;
  const body = m[2]!;
  const v = body.toLowerCase().startsWith('0x') ? parseInt(body.slice(2), 16) : body.length > 1 && body.startsWith('0') ? parseInt(body, 8) : parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}

/** The reference's flag pairs (`-p` exactly), then optionally a command. A string is the usage error's first line. */
export function parseArgs(argv: readonly string[]): MonitorArgs | string {
  const a: MonitorArgs = { port: DEFAULT_MONITOR_PORT, name: undefined, statusSeconds: 10, configFile: 'spread.conf', command: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    if (COMMANDS.includes(flag)) {
      a.command = argv.slice(i);
      return a;
    }
    const value = argv[i + 1];
    if (value === undefined) return `Unknown or missing parameter: ${flag}`;
    if (flag === '-p') {
      const n = strtol(value);
      if (n === undefined || n < 0 || n > 65535) return `Port number must be in range [0, 65536): ${value}`;
      a.port = n;
    } else if (flag === '-n') {
      if (value.length > 19) return `Proc name too long: ${value}`;
      a.name = value;
    } else if (flag === '-t') {
      const n = strtol(value);
      if (n === undefined || n <= 0) return `Status query timeout must be a positive integer: ${value}`;
      a.statusSeconds = n;
    } else if (flag === '-c') {
      if (value.length > 79) return `Config file name too long: ${value}`;
      a.configFile = value;
    } else {
      return `Unknown parameter: ${flag}`;
    }
  }
  return a;
}

export interface MonitorSetup {
  config: SpreadConfig;
  me: DaemonSpec;
}

/** -c's file (else /etc/spread.conf, else the embedded default) and the monitor's own daemon. */
export async function loadSetup(a: MonitorArgs, out: (s: string) => void): Promise<MonitorSetup> {
  let config: SpreadConfig;
  const file = [a.configFile, '/etc/spread.conf'].find((f) => existsSync(f));
  if (file === undefined) {
    out('Conf_load_conf_file: using the built-in configuration\n');
    config = parseConfig(DEFAULT_CONFIG_TEXT, '<default>');
  } else {
    out(`Conf_load_conf_file: using file: ${file}\n`);
    config = await loadConfig(file);
  }
  const me = selectDaemon(config, { ...(a.name !== undefined ? { name: a.name } : {}), localAddresses: localIPv4Addresses() });
  return { config, me };
}

/** "all", "none", a proc name or an empty line, read the way the reference's status and terminate dialogs do. */
type ProcChoice = { kind: 'end' } | { kind: 'all' } | { kind: 'none' } | { kind: 'proc'; index: number } | { kind: 'bad' };

/** sscanf("%d") of a line: the value, null for a line without anything (ret −1), undefined for junk. */
function scanLineInt(line: string): number | null | undefined {
  if (line.trim() === '') return null;
  const m = /^\s*([+-]?\d+)/.exec(line);
  return m === null ? undefined : Number.parseInt(m[1]!, 10) | 0;
}

/** The interactive monitor. */
export class Monitor {
  private partition: number[] = [];
  private workPartition: number[] = [];
  private fc: [number, number][] = [];
  private workFc: [number, number][] = [];
  private statusVector: boolean[] = [];
  private statusTimer: NodeJS.Timeout | undefined;
  private partitionTimer: NodeJS.Timeout | undefined;
  private lastStatus: StatusBody | undefined;
  private requests: MonitorRequests;

  constructor(
    private setup: MonitorSetup,
    private readonly args: MonitorArgs,
    private readonly sock: MonitorSocket,
    private readonly input: LineInput,
    private readonly out: (s: string) => void,
  ) {
    this.requests = new MonitorRequests(setup.me, sock.port);
    this.reset();
  }

  private get config(): SpreadConfig {
    return this.setup.config;
  }

  private reset(): void {
    const n = this.config.daemons.length;
    this.partition = new Array<number>(n).fill(0);
    this.workPartition = new Array<number>(n).fill(0);
    this.fc = Array.from({ length: n + 1 }, () => [0, 0] as [number, number]);
    this.workFc = Array.from({ length: n + 1 }, () => [0, 0] as [number, number]);
    this.statusVector = new Array<boolean>(n).fill(false);
    clearTimeout(this.statusTimer);
    clearTimeout(this.partitionTimer);
  }

  /** A status reply arrived. */
  report(buf: Uint8Array): void {
    const r = decodeStatusReply(this.config, buf);
    if (r === undefined) return;
    this.out(formatStatus(this.config, r, this.lastStatus));
    this.lastStatus = r.status;
    if (r.daemon !== undefined) this.out(PROMPT);
  }

  /** Reads and runs commands until 9, q or the end of input; resolves to the exit code. */
  async run(): Promise<number> {
    this.out(MENU);
    for (;;) {
      const line = await this.input.next();
      if (line === null || line[0] === '9' || line[0] === 'q') break;
      if (!(await this.command(line[0] ?? '\n'))) break;
    }
    this.out('Bye.\n');
    this.reset();
    return 0;
  }

  /** One menu command; false when the input ended inside a dialog. */
  private async command(c: string): Promise<boolean> {
    switch (c) {
      case '0':
        if (!(await this.activateStatus())) return false;
        this.out(PROMPT);
        return true;
      case '1':
        if (!(await this.definePartition())) return false;
        this.printPartition(this.workPartition);
        return true;
      case '2':
        this.partition = [...this.workPartition];
        this.sendPartition(true);
        this.out(PROMPT);
        return true;
      case '3':
        this.printPartition(this.partition);
        return true;
      case '4':
        this.partition.fill(0);
        this.workPartition.fill(0);
        this.sendPartition(false);
        this.out(PROMPT);
        return true;
      default:
        return this.command2(c);
    }
  }

  private async command2(c: string): Promise<boolean> {
    switch (c) {
      case '5':
        if (!(await this.defineFlowControl())) return false;
        this.printFlowControl(this.workFc);
        return true;
      case '6':
        this.fc = this.workFc.map(([w, a]) => [w, a]);
        this.out('Monitor: send flow control params\n');
        this.sock.sendAll(this.config, this.requests.flowControl(this.fc.map((e) => e[0]), this.fc.map((e) => e[1])), 2);
        this.out(PROMPT);
        return true;
      case '7':
        this.printFlowControl(this.fc);
        return true;
      case '8':
        if (!(await this.terminate())) return false;
        this.out(PROMPT);
        return true;
      case 'r':
        await this.reload();
        this.out('Reload Membership. \n');
        return true;
      default:
        this.out('\nUnknown commnad\n');
        this.out(MENU);
        return true;
    }
  }

  /** Reads proc names until an empty line; applies each to `vector`. False at the end of input. */
  private async chooseProcs(prompt: string, apply: (c: ProcChoice) => void): Promise<boolean> {
    for (;;) {
      let choice: ProcChoice | undefined;
      while (choice === undefined) {
        this.out(prompt);
        const line = await this.input.next();
        if (line === null) return false;
        const name = line.trim().split(/\s+/)[0] ?? '';
        if (line[0] === '\n') choice = { kind: 'end' };
        else if (name === '') this.out('Please enter a legal proc name, none, or all\n');
        else if (name === 'all' || name === 'none') choice = { kind: name };
        else {
          const index = this.config.daemons.findIndex((d) => d.name === name);
          choice = index < 0 ? { kind: 'bad' } : { kind: 'proc', index };
        }
      }
      if (choice.kind === 'end') return true;
      if (choice.kind === 'bad') this.out('Please! enter a legal proc name, none, or all\n');
      else apply(choice);
    }
  }

  private async activateStatus(): Promise<boolean> {
    this.out('\n=============\nActivate Status\n-------------\n\n');
    const ok = await this.chooseProcs('\tEnter Proc Name: ', (c) => {
      if (c.kind === 'all' || c.kind === 'none') this.statusVector.fill(c.kind === 'all');
      else if (c.kind === 'proc') this.statusVector[c.index] = true;
    });
    if (!ok) return false;
    clearTimeout(this.statusTimer);
    if (this.statusVector.some((v) => v)) this.sendStatusQuery();
    return true;
  }

  private sendStatusQuery(): void {
    this.out('Monitor: send status query\n');
    this.sock.sendAll(this.config, this.requests.status(), 1, (d) => this.statusVector[confIndex(this.config, d)] === true);
    this.statusTimer = setTimeout(() => this.sendStatusQuery(), this.args.statusSeconds * 1000);
  }

  /** Sends Partition twice to every daemon; `keep`: again every 25 s until cancelled. */
  private sendPartition(keep: boolean): void {
    clearTimeout(this.partitionTimer);
    this.out('Monitor: send partition\n');
    this.sock.sendAll(this.config, this.requests.partition(this.partition), 2);
    if (keep) this.partitionTimer = setTimeout(() => this.sendPartition(true), PARTITION_RESEND_MS);
  }

  /** Asks for one number per daemon; `blankIs`: the value of an empty line (undefined: ask again). */
  private async askNumber(prompt: string, blankIs: number | undefined): Promise<number | null> {
    for (;;) {
      this.out(prompt);
      const line = await this.input.next();
      if (line === null) return null;
      const v = scanLineInt(line);
      if (typeof v === 'number') return v;
      if (v === null && blankIs !== undefined) return blankIs;
      this.out('Please enter a number\n');
    }
  }

  private async definePartition(): Promise<boolean> {
    this.out('\n=============\nDefine Partition\n-------------\n\n');
    for (const seg of this.config.segments) {
      for (const d of seg.daemons) {
        const v = await this.askNumber(`\t${d.name}\t`, undefined);
        if (v === null) return false;
        this.workPartition[confIndex(this.config, d)] = v;
      }
      this.out('\n');
    }
    return true;
  }

  private printPartition(p: readonly number[]): void {
    let s = '\n=============\nPartition Map:\n-------------\n\n';
    for (const seg of this.config.segments) {
      for (const d of seg.daemons) s += `\t${d.name}\t${p[confIndex(this.config, d)]}\n`;
      s += '\n';
    }
    this.out(`${s}${PROMPT}`);
  }

  private async defineFlowControl(): Promise<boolean> {
    this.out('\n===================\nDefine Flow Control\n-------------------\n\n');
    const n = this.config.daemons.length;
    const w = await this.askNumber('    Window size: ', -1);
    if (w === null) return false;
    this.workFc[n]![0] = w;
    this.out('\n');
    const accelerated = this.config.settings.acceleratedRing === true;
    for (const seg of this.config.segments) {
      for (const d of seg.daemons) {
        const i = confIndex(this.config, d);
        const p = await this.askNumber(`\t${d.name} personal window\t`, -1);
        if (p === null) return false;
        this.workFc[i]![0] = p;
        if (accelerated) {
          const a = await this.askNumber(`\t${d.name} accelerated window\t`, -1);
          if (a === null) return false;
          this.workFc[i]![1] = a;
        }
      }
      this.out('\n');
    }
    return true;
  }

  private printFlowControl(fc: readonly (readonly [number, number])[]): void {
    const accelerated = this.config.settings.acceleratedRing === true;
    let s = '\n========================\nFlow Control Parameters:\n------------------------\n\n';
    s += `Window size:  ${fc[this.config.daemons.length]![0]}\n\n`;
    for (const seg of this.config.segments) {
      for (const d of seg.daemons) {
        const e = fc[confIndex(this.config, d)]!;
        s += `\t${d.name} personal window\t${e[0]}\n`;
        if (accelerated) s += `\t${d.name} accelerated window\t${e[1]}\n`;
      }
      s += '\n';
    }
    this.out(`${s}${PROMPT}`);
  }

  private async terminate(): Promise<boolean> {
    const kill = new Array<number>(this.config.daemons.length).fill(0);
    const ok = await this.chooseProcs('\tEnter Proc Name to Terminate: ', (c) => {
      if (c.kind === 'all' || c.kind === 'none') kill.fill(c.kind === 'all' ? -1 : 0);
      else if (c.kind === 'proc') kill[c.index] = -1;
    });
    if (!ok) return false;
    const components = kill.map((k, i) => (k === -1 ? -1 : this.partition[i]!));
    this.sock.terminate(this.config, this.requests, components, this.out);
    return true;
  }

  private async reload(): Promise<void> {
    this.out(`Old configuration hash is: ${configHash(this.config)}\n`);
    this.out('Monitor: send conf reload command\n');
    this.sock.sendAll(this.config, this.requests.reload(), 1);
    try {
      this.setup = await loadSetup(this.args, this.out);
    } catch (e) {
      this.out(`spmonitor: ${e instanceof Error ? e.message : String(e)}; keeping the old configuration\n`);
    }
    this.requests = new MonitorRequests(this.setup.me, this.sock.port);
    this.reset();
    this.out(`New configuration hash is: ${configHash(this.config)}\n`);
    this.out('All Status, Partition, FC, etc commands are reset by configuration reload!\n');
  }
}

export interface MonitorIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Runs spmonitor with `argv` (without node and script); resolves to the exit code. */
export async function spmonitor(argv: readonly string[], io: MonitorIo, exe = 'spmonitor'): Promise<number> {
  const out = (s: string): void => void io.stdout.write(s);
  const a = parseArgs(argv);
  if (typeof a === 'string') {
    io.stderr.write(`${a}\n\n${USAGE(exe)}`);
    return 1;
  }
  const interactive = a.command === undefined;
  if (interactive) out('spread-ts spmonitor (Spread 4.4 compatible)\n');
  let setup: MonitorSetup;
  try {
    setup = await loadSetup(a, interactive ? out : () => undefined);
  } catch (e) {
    io.stderr.write(`spmonitor: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  let sock: MonitorSocket;
  try {
    sock = await MonitorSocket.open(a.port);
  } catch (e) {
    io.stderr.write(`spmonitor: cannot bind UDP port ${a.port}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  try {
    if (!interactive) return await runCommand(a.command!, setup, sock, io);
    const monitor = new Monitor(setup, a, sock, new LineInput(io.stdin), out);
    sock.onDatagram = (buf) => monitor.report(buf);
    return await monitor.run();
  } finally {
    await sock.close();
  }
}

/** Entry point of bin/spmonitor.js. */
export function main(): Promise<void> {
  return toolMain('spmonitor', (argv) => spmonitor(argv, process));
}
