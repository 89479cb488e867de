/**
 * spuser: the interactive Spread test client, compatible with the reference's `spuser`
 * (examples/user.c of Spread 4.4) flag for flag, command for command and output line for output
 * line, so scripts written for the reference's spuser work with this one.
 *
 *   spuser [-u <user name>] [-s <address>] [-n <username>] [-p <password>] [-r]
 *
 * Commands (one per line on stdin): j <group>, l <group>, s <group>..., m <group>...,
 * b [<group>], r, p, e, d, q. Received messages are printed asynchronously.
 *
 * Compatibility notes (deliberate, so transcripts match the reference's):
 *  - Flags are matched the way the reference matches them: by their first two characters
 *    (`-uX` is `-u`), each value is the next argument, and anything else prints the usage and
 *    exits 0. commander cannot express that, so the parser is hand-written.
 *  - `-n` / `-p` are accepted and ignored: the reference is built without password
 *    authentication, so they have no effect there either.
 *  - stdin is read the way the reference's C stdio does it: a 4096-byte buffer filled from the
 *    pipe, lines taken with fgets-like limits (129 bytes per command line, 199 per message
 *    line), and a command is taken only when the input is "readable" (new bytes or end of
 *    input), one command per wakeup. Lines that arrive together with a command therefore wait in
 *    the buffer until more input (or the end of input) arrives, exactly as with the reference.
 *  - When both are ready, one received message is printed before the next command is taken
 *    (the reference gives its mailbox the higher priority).
 *  - `p` prints the bytes received and not yet consumed, as SP_poll's FIONREAD does.
 *  - Messages print their data up to the first NUL byte (C `%s`); output is raw bytes.
 */
import {
  connect,
  isAgreed,
  isCausal,
  isCausedByDisconnect,
  isCausedByJoin,
  isCausedByLeave,
  isCausedByNetwork,
  isFifo,
  isMembership,
  isRegMemb,
  isRegular,
  isReject,
  isReliable,
  isSafe,
  isTransition,
  isUnreliable,
  isSpreadError,
  Limits,
  type SpreadConnection,
  type SpreadEvent,
} from '../client/index.js';
import { toolMain } from './tool-main.js';

// ---------------------------------------------------------------------------------------------
// Constants of the reference tool

/** Receive buffer of the reference spuser (MAX_MESSLEN). */
const MAX_MESSLEN = 102400;
/** Groups / members array sizes of the reference spuser (MAX_MEMBERS). */
const MAX_MEMBERS = 100;
/** VS sets array size of the reference spuser (MAX_VSSETS). */
const MAX_VSSETS = 10;
/** fgets sizes: the command buffer and the message line buffer. */
const COMMAND_SIZE = 130;
const LINE_SIZE = 200;
/** stdio's read size on a pipe (st_blksize). */
const STDIO_BUFSIZ = 4096;
/** SP_connect_timeout's timeout in the reference spuser. */
const CONNECT_TIMEOUT_MS = 5000;

const ERR = {
  ILLEGAL_SPREAD: -1,
  COULD_NOT_CONNECT: -2,
  CONNECTION_CLOSED: -8,
  ILLEGAL_MESSAGE: -13,
  BUFFER_TOO_SHORT: -15,
  GROUPS_TOO_SHORT: -16,
  SP_BUG: -19,
} as const;

const SP_ERROR_TEXT: Record<number, string> = {
  [-1]: 'Illegal spread was provided',
  [-2]: 'Could not connect. Is Spread running?',
  [-3]: 'Connection rejected, too many users',
  [-4]: 'Connection rejected, no name was supplied',
  [-5]: 'Connection rejected, illegal name',
  [-6]: 'Connection rejected, name not unique',
  [-7]: 'Connection rejected, library does not fit daemon',
  [-8]: 'Connection closed by spread',
  [-9]: 'Connection rejected, authentication failed',
  [-11]: 'Illegal session was supplied',
  [-12]: 'Illegal service request',
  [-13]: 'Illegal message',
  [-14]: 'Illegal group',
  [-15]: 'The supplied buffer was too short',
  [-16]: 'The supplied groups list was too short',
  [-17]: 'The message body + group names was too large to fit in a message',
  [-18]: 'The network socket experienced an error. This Spread mailbox will no longer work until the connection is disconnected and then reconnected',
  [-19]: 'Internal spread bug detected!',
};

/** The line SP_error prints for a C error code. */
export function spErrorLine(code: number): string {
  return `SP_error: (${code}) ${SP_ERROR_TEXT[code] ?? 'unrecognized error'}\n`;
}

/** The C error code for whatever a client call threw. */
function errorCode(e: unknown): number {
  if (isSpreadError(e)) return e.errno;
  return ERR.SP_BUG;
}

export const USAGE =
  'Usage: spuser\n' +
  '\t[-u <user name>]  : unique (in this machine) user name\n' +
  '\t[-s <address>]    : either port or port@machine\n' +
  '\t[-n <username>]    : username for authentication\n' +
  '\t[-p <password>]    : users password\n' +
  '\t[-r ]    : use random user name\n';

export const MENU =
  '\n' +
  '==========\n' +
  'User Menu:\n' +
  '----------\n' +
  '\n' +
  '\tj <group> -- join a group\n' +
  '\tl <group> -- leave a group\n' +
  '\n' +
  '\ts <group> -- send a message\n' +
  '\tm <group> -- send a multiline message to group. Terminate with empty line\n' +
  '\tb <group> -- send a burst of messages\n' +
  '\n' +
  '\tr -- receive a message (stuck) \n' +
  '\tp -- poll for a message \n' +
  '\te -- enable asynchonous read (default)\n' +
  '\td -- disable asynchronous read \n' +
  '\n' +
  '\tq -- quit\n';

const SEPARATOR = '\n============================\n';

// ---------------------------------------------------------------------------------------------
// Arguments

export interface SpuserArgs {
  user: string;
  spread: string;
  /** Set by -n / -p; no effect (the reference is built without password authentication). */
  passwordUser: string | undefined;
  password: string | undefined;
}

/** Parses argv like the reference: `help` when the usage must be printed (and exit 0). */
export function parseArgs(argv: readonly string[]): SpuserArgs | 'help' {
  const a: SpuserArgs = { user: 'user', spread: '4803', passwordUser: undefined, password: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const flag = arg.slice(0, 2);
    if (flag === '-u' || flag === '-s' || flag === '-n' || flag === '-p') {
      if (next === undefined) return 'help';
      i++;
      if (flag === '-u') a.user = next;
      else if (flag === '-s') a.spread = next;
      else if (flag === '-n') a.passwordUser = next;
      else a.password = next;
    } else if (flag === '-r') {
      a.user = '';
    } else {
      return 'help';
    }
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// C string helpers (bytes are latin1 code points throughout)

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

/** The C string in `b`: up to the first NUL. */
function cstr(b: Buffer): Buffer {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

/** sscanf(s, "%s%s…") with at most `max` conversions: whitespace-separated tokens. */
export function scanTokens(s: Buffer, max: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (out.length < max) {
    while (i < s.length && SPACE.has(s[i] as number)) i++;
    if (i >= s.length) break;
    const start = i;
    while (i < s.length && !SPACE.has(s[i] as number)) i++;
    out.push(s.subarray(start, i).toString('latin1'));
  }
  return out;
}

/** sscanf(s, "%u"): undefined when no number; values above the clamp come back as the clamp. */
export function scanUnsigned(s: Buffer, clamp: number): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(s.toString('latin1'));
  if (m === null) return undefined;
  const digits = (m[2] as string).replace(/^0+(?=\d)/, '');
  // %u of a negative number wraps to a huge unsigned value; huge values saturate.
  if (m[1] === '-' && /[1-9]/.test(digits)) return clamp;
  if (digits.length > 10) return clamp;
  const v = Number(digits);
  return v > clamp ? clamp : v;
}

function int32(n: number): number {
  return n | 0;
}

// ---------------------------------------------------------------------------------------------
// stdin, read as the reference's stdio reads it

/**
 * A model of a C program reading stdin with select() + fgets(): bytes that arrived are "in the
 * pipe" until stdio reads up to 4096 of them into its buffer; select() reports readable while
 * the pipe holds bytes or at end of input.
 */
export class StdioInput {
  private pipe: Buffer[] = [];
  private pipeLen = 0;
  private ended = false;
  private buf: Buffer = Buffer.alloc(0);
  private eofFlag = false;
  private waiter: (() => void) | undefined;

  constructor(
    stream: NodeJS.ReadableStream,
    private readonly onReadable: () => void,
  ) {
    stream.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      if (b.length === 0) return;
      this.pipe.push(b);
      this.pipeLen += b.length;
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  /** What select() would say about fd 0. */
  get readable(): boolean {
    return this.pipeLen > 0 || this.ended;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
    this.onReadable();
  }

  /** read(0, buf, 4096) into the stdio buffer; waits for bytes. false at end of input. */
  private async fill(): Promise<boolean> {
    while (this.pipeLen === 0) {
      if (this.ended) return false;
      await new Promise<void>((res) => {
        this.waiter = res;
      });
    }
    const all = this.pipe.length === 1 ? (this.pipe[0] as Buffer) : Buffer.concat(this.pipe);
    const take = Math.min(STDIO_BUFSIZ, all.length);
    const rest = all.subarray(take);
    this.pipe = rest.length > 0 ? [rest] : [];
    this.pipeLen = rest.length;
    this.buf = this.buf.length === 0 ? all.subarray(0, take) : Buffer.concat([this.buf, all.subarray(0, take)]);
    return true;
  }

  /** fgets(s, size, stdin): a line of at most size-1 bytes (newline kept), or null at EOF. */
  async fgets(size: number): Promise<Buffer | null> {
    const max = size - 1;
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if ((nl >= 0 && nl < max) || this.buf.length >= max) {
        const n = nl >= 0 && nl < max ? nl + 1 : max;
        const line = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return line;
      }
      if (this.eofFlag || !(await this.fill())) {
        this.eofFlag = true;
        if (this.buf.length === 0) return null;
        const line = this.buf;
        this.buf = Buffer.alloc(0);
        return line;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The program

export interface SpuserIo {
  stdin: NodeJS.ReadableStream;
  stdout: { write(chunk: Uint8Array): unknown };
}

/** Thrown to end the program (exit() in the reference). */
class Exit {
  constructor(readonly code: number) {}
}

type Mailbox = { ev: SpreadEvent } | { err: unknown };

/** The wire size of an event's frame, as FIONREAD would count it. */
function frameSize(ev: SpreadEvent): number {
  const groups = ev.kind === 'membership' ? ev.members.length : ev.groups.length;
  return Limits.MESSAGE_HEADER_SIZE + (ev.kind === 'reject' ? 4 : 0) + Limits.MAX_GROUP_NAME * groups + ev.data.length;
}

class Spuser {
  private conn: SpreadConnection | undefined;
  private input!: StdioInput;
  private asyncRead = true;
  private mbox: Mailbox | undefined;
  private receiving: AbortController | undefined;
  private wakeup: (() => void) | undefined;
  private toExit = false;
  private numSent = 0;
  private previousLen = 0;

  constructor(
    private readonly args: SpuserArgs,
    private readonly io: SpuserIo,
  ) {}

  private out(...parts: (string | Uint8Array)[]): void {
    const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p));
    this.io.stdout.write(bufs.length === 1 ? (bufs[0] as Uint8Array) : Buffer.concat(bufs));
  }

  private poke(): void {
    const w = this.wakeup;
    this.wakeup = undefined;
    w?.();
  }

  async run(): Promise<number> {
    try {
      await this.main();
      return 0;
    } catch (e) {
      if (e instanceof Exit) return e.code;
      throw e;
    } finally {
      this.receiving?.abort();
      if (this.conn !== undefined && !this.conn.isClosed) await this.conn.disconnect().catch(() => undefined);
    }
  }

  private async main(): Promise<void> {
    const v = Limits.VERSION;
    this.out(`Spread library version is ${v.major}.${v.minor}.${v.patch}\n`);
    // The reference library sends at most MAX_PRIVATE_NAME bytes of the name.
    const name = Buffer.from(this.args.user, 'latin1').subarray(0, Limits.MAX_PRIVATE_NAME).toString('latin1');
    try {
      this.conn = await connect({ spread: this.args.spread, name, membership: true, priority: 0, timeoutMs: CONNECT_TIMEOUT_MS, reconnect: false });
    } catch (e) {
      this.out(spErrorLine(errorCode(e)));
      await this.bye();
    }
    const conn = this.conn as SpreadConnection;
    this.out(`User: connected to ${this.args.spread} with private group ${conn.privateGroup}\n`);
    this.input = new StdioInput(this.io.stdin, () => this.poke());
    this.out(MENU);
    this.out('\nUser> ');

    // The select loop: the mailbox (high priority) and stdin (low priority).
    for (;;) {
      this.armReceive();
      while (!(this.asyncRead && this.mbox !== undefined) && !this.input.readable) {
        await new Promise<void>((res) => {
          this.wakeup = res;
        });
      }
      const stdinReady = this.input.readable;
      if (this.asyncRead && this.mbox !== undefined) {
        const m = this.mbox;
        this.mbox = undefined;
        await this.readMessage(m);
      }
      if (stdinReady) await this.userCommand();
    }
  }

  /** Keeps one receive outstanding while asynchronous reads are on. */
  private armReceive(): void {
    const conn = this.conn;
    if (!this.asyncRead || this.mbox !== undefined || this.receiving !== undefined || conn === undefined) return;
    const ac = new AbortController();
    this.receiving = ac;
    conn.receive({ signal: ac.signal }).then(
      (ev) => {
        if (this.receiving === ac) this.receiving = undefined;
        this.mbox = { ev };
        this.poke();
      },
      (err: unknown) => {
        if (this.receiving === ac) this.receiving = undefined;
        if (ac.signal.aborted) return;
        this.mbox = { err };
        this.poke();
      },
    );
  }

  private stopReceive(): void {
    const ac = this.receiving;
    this.receiving = undefined;
    ac?.abort();
  }

  /** SP_receive, blocking: the message already taken off the mailbox, or the next one. */
  private async receiveOne(): Promise<Mailbox> {
    if (this.receiving !== undefined) {
      // Cancel the outstanding asynchronous receive; an event it already got lands in mbox.
      this.stopReceive();
      await new Promise<void>((res) => setImmediate(res));
    }
    if (this.mbox !== undefined) {
      const m = this.mbox;
      this.mbox = undefined;
      return m;
    }
    try {
      return { ev: await (this.conn as SpreadConnection).receive() };
    } catch (err) {
      return { err };
    }
  }

  private async bye(): Promise<never> {
    this.toExit = true;
    this.out('\nBye.\n');
    this.stopReceive();
    if (this.conn !== undefined) await this.conn.disconnect().catch(() => undefined);
    throw new Exit(0);
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  private async line(size: number): Promise<Buffer> {
    const l = await this.input.fgets(size);
    if (l === null) await this.bye();
    return l as Buffer;
  }

  private async userCommand(): Promise<void> {
    const raw = await this.line(COMMAND_SIZE);
    const command = cstr(raw);
    const rest = command.subarray(2);
    const conn = this.conn as SpreadConnection;
    switch (command[0]) {
      case 0x6a /* j */:
      case 0x6c /* l */: {
        const [group] = scanTokens(rest, 1);
        if (group === undefined) {
          this.out(' invalid group \n');
          break;
        }
        try {
          if (command[0] === 0x6a) await conn.join(group);
          else await conn.leave(group);
        } catch (e) {
          this.out(spErrorLine(errorCode(e)));
        }
        break;
      }
      case 0x73 /* s */:
      case 0x6d /* m */: {
        const groups = scanTokens(rest, 10);
        if (groups.length < 1) {
          this.out(' invalid group \n');
          break;
        }
        this.out('enter message: ');
        let mess: Buffer;
        if (command[0] === 0x73) {
          mess = cstr(await this.line(LINE_SIZE));
        } else {
          const parts: Buffer[] = [];
          let len = 0;
          while (len < MAX_MESSLEN) {
            const l = await this.line(LINE_SIZE);
            if (l[0] === 0x0a) break;
            const c = cstr(l);
            parts.push(c);
            len += c.length;
          }
          mess = Buffer.concat(parts);
        }
        await this.send(async () => {
          await conn.multicast(groups, mess, { service: 'safe', messType: 1 });
        });
        this.numSent++;
        break;
      }
      case 0x62 /* b */: {
        const [group = 'dummy_group_name'] = scanTokens(rest, 1);
        this.out('enter size of each message: ');
        const sizeLine = cstr(await this.line(LINE_SIZE));
        let len = scanUnsigned(sizeLine, MAX_MESSLEN) ?? this.previousLen;
        if (len > MAX_MESSLEN) len = MAX_MESSLEN;
        this.previousLen = len;
        this.out(`sending 10 messages of ${len} bytes\n`);
        for (let i = 0; i < 10; i++) {
          this.numSent++;
          const mess = Buffer.alloc(len);
          Buffer.from(`mess num ${this.numSent} `, 'latin1').copy(mess, 0, 0, len);
          await this.send(async () => {
            await conn.multicast(group, mess, { service: 'fifo', messType: 2 });
          });
          this.out(`sent message ${i + 1} (total ${this.numSent})\n`);
        }
        break;
      }
      case 0x72 /* r */:
        await this.readMessage(await this.receiveOne());
        break;
      case 0x70 /* p */:
        this.out(`Polling sais: ${this.poll()}\n`);
        break;
      case 0x65 /* e */:
        this.asyncRead = true;
        break;
      case 0x64 /* d */:
        this.asyncRead = false;
        this.stopReceive();
        break;
      case 0x71 /* q */:
        await this.bye();
        break;
      default:
        this.out('\nUnknown commnad\n');
        this.out(MENU);
        break;
    }
    this.out('\nUser> ');
  }

  /** A multicast whose failure ends the program (SP_error, then Bye), as in the reference. */
  private async send(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.out(spErrorLine(errorCode(e)));
      await this.bye();
    }
  }

  /** SP_poll: bytes received from the daemon and not yet consumed. */
  private poll(): number {
    const conn = this.conn;
    if (conn === undefined) return -11;
    let n = conn.stats.queuedBytes;
    if (this.mbox !== undefined && 'ev' in this.mbox) n += frameSize(this.mbox.ev);
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Read_message

  private async readMessage(m: Mailbox): Promise<void> {
    this.out(SEPARATOR);
    if ('err' in m) {
      if (!this.toExit) {
        this.out(spErrorLine(errorCode(m.err)));
        this.out(SEPARATOR);
        this.out('\nBye.\n');
      }
      throw new Exit(0);
    }
    const ev = m.ev;
    // The reference receives into 100 groups and 102400 bytes; bigger messages go through its
    // DROP_RECV retry (a too-long body then ends the program).
    const numGroupsRaw = ev.kind === 'membership' ? ev.members.length : ev.groups.length;
    let numGroups = numGroupsRaw;
    if (numGroupsRaw > MAX_MEMBERS || ev.data.length > MAX_MESSLEN) {
      this.out('\n========Buffers or Groups too Short=======\n');
      if (ev.data.length > MAX_MESSLEN) {
        if (!this.toExit) {
          this.out(spErrorLine(ERR.BUFFER_TOO_SHORT));
          this.out(SEPARATOR);
          this.out('\nBye.\n');
        }
        throw new Exit(0);
      }
      numGroups = -numGroupsRaw;
    }
    const type = ev.serviceType;
    if (ev.kind === 'message' && isRegular(type)) {
      let what = '';
      if (isUnreliable(type)) what = 'received UNRELIABLE ';
      else if (isReliable(type)) what = 'received RELIABLE ';
      else if (isFifo(type)) what = 'received FIFO ';
      else if (isCausal(type)) what = 'received CAUSAL ';
      else if (isAgreed(type)) what = 'received AGREED ';
      else if (isSafe(type)) what = 'received SAFE ';
      this.out(
        `${what}message from ${ev.sender}, of type ${ev.messType}, (endian ${ev.endianMismatch ? 1 : 0}) to ${numGroups} groups \n(${ev.data.length} bytes): `,
        cstr(Buffer.from(ev.data.buffer, ev.data.byteOffset, ev.data.length)),
        '\n',
      );
    } else if (ev.kind === 'membership' && isMembership(type)) {
      this.printMembership(ev, numGroups);
    } else if (ev.kind === 'reject' && isReject(type)) {
      this.out(
        `REJECTED message from ${ev.sender}, of servicetype 0x${(type >>> 0).toString(16)} messtype ${ev.messType}, (endian ${ev.endianMismatch ? 1 : 0}) to ${numGroups} groups \n(${ev.data.length} bytes): `,
        cstr(Buffer.from(ev.data.buffer, ev.data.byteOffset, ev.data.length)),
        '\n',
      );
    } else {
      this.out(`received message of unknown message type 0x${(type >>> 0).toString(16)} with ret ${ev.data.length}\n`);
    }
    this.out('\n');
    this.out('User> ');
  }

  private printMembership(ev: Extract<SpreadEvent, { kind: 'membership' }>, numGroups: number): void {
    const type = ev.serviceType;
    if (isRegMemb(type)) {
      this.out(`Received REGULAR membership for group ${ev.group} with ${numGroups} members, where I am member ${ev.messType}:\n`);
      for (let i = 0; i < numGroups; i++) this.out(`\t${ev.members[i]}\n`);
      const g = ev.groupId ?? { procId: 0, time: 0, index: 0 };
      this.out(`grp id is ${int32(g.procId)} ${int32(g.time)} ${int32(g.index)}\n`);
      if (isCausedByJoin(type)) {
        this.out(`Due to the JOIN of ${ev.changedMember ?? ''}\n`);
      } else if (isCausedByLeave(type)) {
        this.out(`Due to the LEAVE of ${ev.changedMember ?? ''}\n`);
      } else if (isCausedByDisconnect(type)) {
        this.out(`Due to the DISCONNECT of ${ev.changedMember ?? ''}\n`);
      } else if (isCausedByNetwork(type)) {
        this.out(`Due to NETWORK change with ${ev.vsSets.length} VS sets\n`);
        if (ev.vsSets.length > MAX_VSSETS) {
          this.out(`BUG: membership message has more then ${MAX_VSSETS} vs sets. Recompile with larger MAX_VSSETS\n`);
          this.out(spErrorLine(ERR.BUFFER_TOO_SHORT));
          throw new Exit(1);
        }
        ev.vsSets.forEach((set, i) => {
          this.out(`${i === ev.myVsSet ? 'LOCAL' : 'OTHER'} VS set ${i} has ${set.length} members:\n`);
          if (set.length > MAX_MEMBERS) {
            this.out(`VS Set has more then ${MAX_MEMBERS} members. Recompile with larger MAX_MEMBERS\n`);
            this.out(spErrorLine(ERR.BUFFER_TOO_SHORT));
            throw new Exit(1);
          }
          for (const member of set) this.out(`\t${member}\n`);
        });
      }
    } else if (isTransition(type)) {
      this.out(`received TRANSITIONAL membership for group ${ev.group}\n`);
    } else if (isCausedByLeave(type)) {
      this.out(`received membership message that left group ${ev.group}\n`);
    } else {
      this.out(`received incorrecty membership message of type 0x${(type >>> 0).toString(16)}\n`);
    }
  }
}

/** Runs spuser with `argv` (without node and script); resolves to the exit code. */
export async function spuser(argv: readonly string[], io: SpuserIo = { stdin: process.stdin, stdout: process.stdout }): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    io.stdout.write(Buffer.from(USAGE, 'latin1'));
    return 0;
  }
  return new Spuser(args, io).run();
}

/** Entry point of bin/spuser.js. */
export function main(): Promise<void> {
  return toolMain('spuser', (argv) => spuser(argv));
}
