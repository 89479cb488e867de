/**
 * spflooder: the load tool (README "Tools"), compatible with the reference's spflooder
 * (examples/flooder.c of Spread 4.4) flag for flag, line for line and exit code for exit code,
 * over the client library (src/client).
 *
 *   spflooder [-u <user>] [-m <messages>] [-n <members>] [-b <bytes>] [-s <spread>] [-ro | -wo]
 *             [--service S] [--senders K] [--groups g1,g2] [--duration SEC] [--json]
 *
 * As the reference: joins `flooder` (unless -wo), multicasts -m messages of -b bytes RELIABLE
 * (FIFO with -n), keeping at most 200 of its own messages undelivered (with -n: until every
 * member's messages are within 200 of its own count), prints a line every 1000 messages; -ro
 * reads -m messages instead. Flags match by their first characters (`-uX` is `-u`), values are
 * read like sscanf %d; anything unknown prints the usage and exits 1; SP_error lines and exit 1
 * on client errors.
 *
 * Beyond the reference (long options only): --service, --senders K (K connections in this
 * process, each sending -m), --groups (each message goes to all of them; members join all),
 * --duration (stop sending / reading after SEC seconds), --json (one summary line instead of
 * the reference's lines, which go to stderr; see flood-check.ts), and a live progress line
 * when stdout is a terminal. Every message read is checked (flood-check.ts); a reader or sender that saw a
 * message missing, twice, or out of FIFO order where the service promises FIFO exits 2.
 */
import { connect, isRegMemb, isRegular, isReject, isSpreadError, isTransition, isCausedByLeave, ServiceType, type SpreadConnection, type SpreadEvent } from '../client/index.js';
import { SERVICE_TYPE_OF, SERVICES, type Service } from '../client/service.js';
import { FloodChecker, payloadTemplate, stampPayload, summarise, wallMs } from './flood-check.js';
import { spErrorLine } from './spuser.js';
import { toolMain } from './tool-main.js';

/** The reference's receive buffer (MAX_MESSLEN) and group array (FLOODER_MAX_GROUPS). */
const MAX_MESSLEN = 100_000;
const MAX_MEMBERS = 100;
/** Own messages a sender may have undelivered (the reference's 200). */
const WINDOW = 200;
/** A -wo sender waits for the socket every this many messages. */
const WRITE_BATCH = 128;
/** After the last send, how long to wait for the last own messages to come back. */
const DRAIN_IDLE_MS = 10_000;

export const USAGE =
  'Usage: spflooder\n' +
  '\t[-u <user name>]     : unique (in this machine) user name\n' +
  '\t[-m <num messages>]  : number of messages\n' +
  '\t[-n <num members>]   : number of group members to wait for (also turn on multi-sender FC)\n' +
  '\t[-b <num bytes>]     : number of bytes per message 1-100,000\n' +
  '\t[-s <spread name>]   : either port or port@machine\n' +
  '\t[-ro]   \t\t: read  only (no multicast)\n' +
  '\t[-wo]   \t\t: write only (no receive)\n';

export const LONG_USAGE =
  'spread-ts extensions:\n' +
  '\t[--service <s>]      : unreliable, reliable, fifo, causal, agreed or safe\n' +
  '\t[--senders <k>]      : k sending connections in this process\n' +
  '\t[--groups <g1,g2>]   : groups to send to and join (default flooder)\n' +
  '\t[--duration <sec>]   : stop after sec seconds\n' +
  '\t[--json]             : one JSON summary line instead of the reference\'s lines\n';

export interface FlooderArgs {
  user: string;
  spread: string;
  bytes: number;
  messages: number;
  members: number;
  readOnly: boolean;
  writeOnly: boolean;
  service: Service | undefined;
  senders: number;
  groups: string[];
  durationMs: number | undefined;
  json: boolean;
}

/** sscanf("%d"): the leading integer, or undefined (the variable keeps its value). */
export function scanInt(s: string): number | undefined {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m === null ? undefined : Number.parseInt(m[1]!, 10) | 0;
}

/** Long options (ours); returns how many arguments it took, 0 if `arg` is not one. */
function parseLong(a: FlooderArgs, arg: string, value: string | undefined): number | 'help' {
  const num = (): number | 'help' => {
    const n = value === undefined ? NaN : Number(value);
    return Number.isFinite(n) && n > 0 ? n : 'help';
  };
  switch (arg) {
    case '--json':
      a.json = true;
      return 1;
    case '--service':
      if (!SERVICES.includes(value as Service)) return 'help';
      a.service = value as Service;
      return 2;
    case '--senders': {
      const n = num();
      if (n === 'help' || !Number.isInteger(n) || n > 100) return 'help';
      a.senders = n;
      return 2;
    }
    case '--groups':
      if (value === undefined || value === '') return 'help';
      a.groups = value.split(',').filter((g) => g !== '');
      return 2;
    case '--duration': {
      const n = num();
      if (n === 'help') return 'help';
      a.durationMs = n * 1000;
      return 2;
    }
    default:
      return 'help';
  }
}

/** The reference's argument loop (first characters decide), plus our long options. */
export function parseArgs(argv: readonly string[]): FlooderArgs | 'help' | 'too-many-members' {
  const a: FlooderArgs = {
    user: 'flooder', spread: '4803', bytes: 1000, messages: 10_000, members: 0, readOnly: false, writeOnly: false,
    service: undefined, senders: 1, groups: ['flooder'], durationMs: undefined, json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = argv[i + 1];
    if (arg.startsWith('--')) {
      const took = parseLong(a, arg, value);
      if (took === 'help') return 'help';
      i += took - 1;
      continue;
    }
    const two = arg.slice(0, 2);
    if (['-u', '-b', '-m', '-n', '-s'].includes(two)) {
      if (value === undefined) return 'help';
      i++;
      if (two === '-u') a.user = value;
      else if (two === '-s') a.spread = value;
      else {
        const n = scanInt(value);
        if (n === undefined) continue;
        if (two === '-b') a.bytes = n;
        else if (two === '-m') a.messages = n;
        else a.members = n;
      }
    } else if (arg.startsWith('-ro')) {
      a.readOnly = true;
      a.writeOnly = false;
    } else if (arg.startsWith('-wo')) {
      a.writeOnly = true;
      a.readOnly = false;
    } else {
      return 'help';
    }
  }
  if (a.members > MAX_MEMBERS) return 'too-many-members';
  if (a.bytes < 0 || a.bytes > MAX_MESSLEN) return 'help';
  return a;
}

// ---------------------------------------------------------------------------------------------
// Output

export interface FlooderIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/**
 * Prints the reference's lines (to stderr with --json, so stdout holds the summary alone) and,
 * when stdout is a terminal, a live progress line.
 */
class Output {
  private progressShown = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly io: FlooderIo, private readonly json: boolean) {}

  line(text: string): void {
    if (this.json) {
      this.io.stderr.write(text);
      return;
    }
    this.clearProgress();
    this.io.stdout.write(text);
  }

  /** To stdout whatever the mode (the JSON line, errors). */
  raw(text: string): void {
    this.clearProgress();
    this.io.stdout.write(text);
  }

  startProgress(describe: () => string): void {
    if (this.io.stdout.isTTY !== true) return;
    this.timer = setInterval(() => {
      this.io.stdout.write(`\r\x1b[K${describe()}`);
      this.progressShown = true;
    }, 250);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.clearProgress();
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    this.io.stdout.write('\r\x1b[K');
    this.progressShown = false;
  }
}

/** What the reference prints for an event received while waiting for members. */
function waitLine(ev: SpreadEvent): string {
  const type = ev.serviceType;
  if (ev.kind === 'message') {
    const kinds: [number, string][] = [
      [ServiceType.UNRELIABLE_MESS, 'UNRELIABLE'], [ServiceType.RELIABLE_MESS, 'RELIABLE'], [ServiceType.FIFO_MESS, 'FIFO'],
      [ServiceType.CAUSAL_MESS, 'CAUSAL'], [ServiceType.AGREED_MESS, 'AGREED'], [ServiceType.SAFE_MESS, 'SAFE'],
    ];
    const k = kinds.find(([bit]) => (type & bit) !== 0);
    const text = Buffer.from(ev.data).toString('latin1').split('\0')[0];
    return `${k === undefined ? '' : `received ${k[1]} `}message during wait for members, from ${ev.sender}, of type ${ev.messType}, (endian ${ev.endianMismatch ? 1 : 0}) to ${ev.groups.length} groups \n(${ev.data.length} bytes): ${text}\n`;
  }
  if (ev.kind === 'membership') {
    if (isRegMemb(type)) {
      return `Received REGULAR membership for group ${ev.group} with ${ev.members.length} members, where I am member ${ev.messType}:\n${ev.members.map((m) => `\t${m}\n`).join('')}`;
    }
    if (isTransition(type)) return `received TRANSITIONAL membership for group ${ev.group}\n`;
    if (isCausedByLeave(type)) return `received membership message that left group ${ev.group}\n`;
    return `received incorrecty membership message of type 0x${(type >>> 0).toString(16)}\n`;
  }
  return `REJECTED message from ${ev.sender}, of servicetype 0x${(type >>> 0).toString(16)} messtype ${ev.messType}, (endian ${ev.endianMismatch ? 1 : 0}) to ${ev.groups.length} groups \n(${ev.data.length} bytes): \n`;
}

// ---------------------------------------------------------------------------------------------
// One connection

/** One flooding connection: sends its stream, reads and checks what the group delivers. */
class Flooder {
  sent = 0;
  /** Own messages received back. */
  ownReceived = 0;
  /** Size of the last message sent or received (the reference prints it). */
  lastRet: number;
  /** The first error a multicast not awaited ran into. */
  failure: unknown = undefined;
  /** -n: my index in the group, messages received per sender index. */
  private myIndex = 0;
  private readonly counters = new Int32Array(MAX_MEMBERS);
  private readonly template: Uint8Array;
  /** The service type word every message is sent with. */
  readonly serviceType: number;

  /** This connection's view of what it read. */
  readonly checker = new FloodChecker();
  /** The checker's key for this connection's stream. */
  readonly key: string;

  constructor(
    readonly conn: SpreadConnection,
    private readonly a: FlooderArgs,
    readonly stream: number,
  ) {
    this.lastRet = a.bytes;
    this.key = `${conn.privateGroup}/${stream}`;
    this.template = payloadTemplate(a.bytes, 0, stream);
    const service = a.service ?? (a.members > 0 ? 'fifo' : 'reliable');
    this.serviceType = SERVICE_TYPE_OF[service];
  }

  /** Waits for a regular membership of -n members; prints what arrives (the first connection only). */
  async waitForMembers(out: Output | undefined): Promise<void> {
    let joined = 0;
    while (joined < this.a.members) {
      const ev = await this.conn.receive();
      out?.line(waitLine(ev));
      if (ev.kind === 'membership' && isRegMemb(ev.serviceType)) {
        joined = ev.members.length;
        this.myIndex = ev.messType;
      }
    }
    new DataView(this.template.buffer).setUint32(0, this.myIndex, true);
  }

  /** Multicasts the next message; the promise settles when it reached the OS (never rejects). */
  send(): Promise<unknown> {
    const data = stampPayload(this.template, this.a.bytes, ++this.sent, wallMs());
    this.lastRet = this.a.bytes;
    return this.conn.multicastRaw(this.serviceType, this.a.groups, data).catch((e: unknown) => (this.failure ??= e));
  }

  /** Reads one event and checks it. */
  async receiveOne(signal?: AbortSignal): Promise<void> {
    const ev = await this.conn.receive(signal === undefined ? undefined : { signal });
    this.lastRet = ev.data.length;
    if (ev.kind !== 'message' || !isRegular(ev.serviceType) || isReject(ev.serviceType)) return;
    const index = this.checker.message(ev.sender, ev.data, wallMs());
    if (ev.sender === this.conn.privateGroup) this.ownReceived++;
    if (this.a.members > 0 && index < MAX_MEMBERS) this.counters[index]!++;
  }

  /** Messages of the process's senders this connection has not read (yet). */
  unread(all: readonly Flooder[]): number {
    let n = 0;
    for (const g of all) n += Math.max(0, g.sent - this.checker.highest(g.key));
    return n;
  }

  /** The reference's flow control: may the next message go out? */
  maysend(): boolean {
    if (this.a.members === 0) return this.sent - this.ownReceived < WINDOW;
    let lowest = Infinity;
    for (let j = 0; j < this.a.members; j++) {
      const c = this.counters[j]!;
      if (c !== 0 && c < lowest) lowest = c;
    }
    if (lowest === Infinity) lowest = 0;
    return lowest >= this.sent - WINDOW;
  }
}

// ---------------------------------------------------------------------------------------------
// Runs

function completedLine(i: number, ret: number): string {
  return `flooder: completed ${String(i).padStart(6)} messages of ${ret} bytes\n`;
}

/** Sends -m messages (or until the deadline) under the reference's flow control, then drains. */
async function runSender(f: Flooder, a: FlooderArgs, out: Output | undefined, deadline: number): Promise<void> {
  const reads = !a.writeOnly;
  let pending: Promise<unknown> | undefined;
  while (f.sent < a.messages && f.failure === undefined && wallMs() < deadline) {
    if (reads && !f.maysend()) {
      await f.receiveOne();
      continue;
    }
    pending = f.send();
    if (f.sent % WRITE_BATCH === 0) await pending;
    if (f.sent % 1000 === 0) out?.line(completedLine(f.sent, f.lastRet));
  }
  await pending;
  if (f.failure !== undefined) throw f.failure;
}

/** Our addition: reads on until every message the process's senders sent has arrived (or idle). */
async function drain(f: Flooder, all: readonly Flooder[]): Promise<void> {
  try {
    while (f.unread(all) > 0) await f.receiveOne(AbortSignal.timeout(DRAIN_IDLE_MS));
  } catch (e) {
    if (!(e instanceof DOMException)) throw e;
  }
}

/** -ro: reads -m messages (or until the deadline). */
async function runReader(f: Flooder, a: FlooderArgs, out: Output, deadline: number): Promise<void> {
  const signal = Number.isFinite(deadline) ? AbortSignal.timeout(Math.max(0, deadline - wallMs())) : undefined;
  try {
    for (let i = 1; i <= a.messages; i++) {
      await f.receiveOne(signal);
      if (i % 1000 === 0) out.line(completedLine(i, f.lastRet));
    }
  } catch (e) {
    if (!(e instanceof DOMException)) throw e;
  }
}

function privateName(user: string, i: number): string {
  if (i === 0) return user;
  const suffix = String(i);
  return `${user.slice(0, Math.max(0, 10 - suffix.length))}${suffix}`;
}

/** Connects every sending connection (one for -ro); the reference's first lines. */
async function connectAll(a: FlooderArgs, out: Output): Promise<SpreadConnection[]> {
  out.line(a.members === 0 ? `flooder: connecting to ${a.spread}\n` : `flooder: connecting to ${a.spread} with group membership\n`);
  const n = a.readOnly ? 1 : a.senders;
  const conns: SpreadConnection[] = [];
  try {
    for (let i = 0; i < n; i++) conns.push(await connect({ spread: a.spread, name: privateName(a.user, i), membership: a.members > 0, reconnect: false }));
  } catch (e) {
    for (const c of conns) await c.disconnect();
    throw e;
  }
  if (a.readOnly) out.line('flooder: Only receiving messages\n');
  else if (a.writeOnly) out.line(`flooder: starting  multicast of ${a.messages} messages, ${a.bytes} bytes each (self discarding).\n`);
  else out.line(`flooder: starting  multicast of ${a.messages} messages, ${a.bytes} bytes each.\n`);
  if (!a.writeOnly) for (const c of conns) for (const g of a.groups) await c.join(g);
  return conns;
}

/** The run, once connected; resolves to the exit code. */
async function flood(a: FlooderArgs, out: Output, conns: SpreadConnection[]): Promise<number> {
  const flooders = conns.map((c) => new Flooder(c, a, (Math.random() * 0x1_0000_0000) >>> 0));
  const received = (): number => flooders.reduce((n, f) => n + f.checker.counts.received, 0);
  await Promise.all(flooders.map((f, i) => f.waitForMembers(i === 0 ? out : undefined)));
  const start = wallMs();
  const deadline = a.durationMs === undefined ? Infinity : start + a.durationMs;
  out.startProgress(() => {
    const s = (wallMs() - start) / 1000;
    const sent = flooders.reduce((n, f) => n + f.sent, 0);
    return `flooder: ${s.toFixed(1)} s  sent ${sent}  received ${received()}  ${Math.round((a.readOnly ? received() : sent) / s)} msg/s`;
  });
  if (a.readOnly) await runReader(flooders[0]!, a, out, deadline);
  else await Promise.all(flooders.map((f, i) => runSender(f, a, i === 0 ? out : undefined, deadline)));
  if (!a.readOnly && !a.writeOnly) await Promise.all(flooders.map((f) => drain(f, flooders)));
  const end = wallMs();
  out.stop();
  out.line(`flooder: completed multicast of ${a.messages} messages, ${a.bytes} bytes each.\n`);
  const sent = flooders.reduce((n, f) => n + f.sent, 0);
  const missing = a.readOnly || a.writeOnly ? 0 : flooders.reduce((n, f) => n + f.unread(flooders), 0);
  const checker = FloodChecker.combine(flooders.map((f) => f.checker));
  const messages = a.readOnly ? checker.counts.received : sent;
  const role = a.readOnly ? 'read' : a.writeOnly ? 'write' : 'read-write';
  const summary = summarise(role, a.readOnly ? 0 : flooders.length, messages, a.readOnly ? checker.counts.bytes : sent * a.bytes, end - start, checker, missing);
  if (a.json) out.raw(`${JSON.stringify(summary)}\n`);
  const fifoPromised = (flooders[0]!.serviceType & (ServiceType.FIFO_MESS | ServiceType.CAUSAL_MESS | ServiceType.AGREED_MESS | ServiceType.SAFE_MESS)) !== 0;
  return summary.lost > 0 || summary.duplicates > 0 || (fifoPromised && summary.fifoBreaks > 0) ? 2 : 0;
}

/** Runs spflooder with `argv` (without node and script); resolves to the exit code. */
export async function spflooder(argv: readonly string[], io: FlooderIo = process): Promise<number> {
  const a = parseArgs(argv);
  if (a === 'help' || a === 'too-many-members') {
    if (a === 'too-many-members') io.stdout.write(`Too many members. The max is ${MAX_MEMBERS}\n`);
    io.stdout.write(USAGE);
    io.stdout.write(LONG_USAGE);
    return 1;
  }
  const out = new Output(io, a.json);
  let conns: SpreadConnection[] = [];
  try {
    conns = await connectAll(a, out);
    return await flood(a, out, conns);
  } catch (e) {
    out.stop();
    out.raw(spErrorLine(isSpreadError(e) ? e.errno : -19));
    return 1;
  } finally {
    for (const c of conns) await c.disconnect();
  }
}

/** Entry point of bin/spflooder.js. */
export function main(): Promise<void> {
  return toolMain('spflooder', (argv) => spflooder(argv));
}
