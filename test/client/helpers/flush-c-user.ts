/**
 * Test helper: drives the reference's interactive flush example (`flush_user`, built from its
 * examples/fl_user.c, outside this repository) through its stdin commands and parses what it
 * prints. One command at a time: each ends at the next `User> ` prompt. `r` blocks in FL_receive
 * until the flush library has an event for the application, so callers only ask for events
 * they know are coming, within a bounded wait.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `$SPREAD_FLUSH_USER`, else `$SPREAD_REF/bin/flush_user`, if it exists. */
export function flushUserPath(prefix: string | undefined): string | undefined {
  const explicit = process.env['SPREAD_FLUSH_USER'];
  if (explicit !== undefined && explicit !== '') return existsSync(explicit) ? explicit : undefined;
  if (prefix === undefined) return undefined;
  const p = join(prefix, 'bin', 'flush_user');
  return existsSync(p) ? p : undefined;
}

export type CEvent =
  | { kind: 'message'; service: string; sender: string; messType: number; groups: number; text: string }
  | { kind: 'view'; group: string; members: string[]; myIndex: number; gid: string; cause: string; vsSet: string[] }
  | { kind: 'transition'; group: string }
  | { kind: 'self-leave'; group: string }
  | { kind: 'flush-request'; group: string }
  | { kind: 'other'; text: string };

const PROMPT = 'User> ';

export class CFlushUser {
  privateGroup = '';
  readonly events: CEvent[] = [];
  private out = '';
  private exited = false;
  private waiter: (() => void) | undefined;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    proc.stdout.setEncoding('latin1');
    proc.stdout.on('data', (s: string) => {
      this.out += s;
      this.waiter?.();
    });
    proc.stderr.on('data', () => undefined);
    proc.on('exit', () => {
      this.exited = true;
      this.waiter?.();
    });
  }

  static async start(binary: string, spread: string, user: string): Promise<CFlushUser> {
    const u = new CFlushUser(spawn(binary, ['-u', user, '-s', spread], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const banner = await u.block();
    const m = /with private group (\S+)/.exec(banner);
    if (m === null) throw new Error(`flush_user did not connect: ${banner}`);
    u.privateGroup = m[1]!;
    return u;
  }

  /** Output up to the next prompt (bounded). */
  private async block(ms = 15_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.out.indexOf(PROMPT);
      if (i >= 0) {
        const text = this.out.slice(0, i);
        this.out = this.out.slice(i + PROMPT.length);
        return text;
      }
      if (this.exited) throw new Error(`flush_user exited: ${this.out}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`flush_user: no prompt within ${ms} ms; output: ${this.out}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  private async command(line: string): Promise<string> {
    this.proc.stdin.write(line);
    return this.block();
  }

  join(group: string): Promise<string> {
    return this.command(`j ${group}\n`);
  }
  leave(group: string): Promise<string> {
    return this.command(`l ${group}\n`);
  }
  flush(group: string): Promise<string> {
    return this.command(`f ${group}\n`);
  }
  /** FL_multicast SAFE, mess type 1; the text is sent with its newline, as fgets read it. */
  send(group: string, text: string): Promise<string> {
    return this.command(`s ${group}\n${text}\n`);
  }

  /** `b`: ten FL_multicast FIFO messages of mess type 2 and `size` bytes, starting "mess num N". */
  burst(group: string, size: number): Promise<string> {
    return this.command(`b ${group}\n${size}\n`);
  }

  /** One FL_receive (its output ends with a prompt, then the command loop prints another). */
  async next(): Promise<CEvent> {
    const ev = parseEvent(await this.command('r\n'));
    await this.block();
    this.events.push(ev);
    return ev;
  }

  /** Receives until `pred` holds, answering flush requests with `f` (at most `max` events). */
  async until(pred: (e: CEvent) => boolean, autoFlush = true, max = 50): Promise<CEvent> {
    for (let i = 0; i < max; i++) {
      const ev = await this.next();
      if (pred(ev)) return ev;
      if (autoFlush && ev.kind === 'flush-request') await this.flush(ev.group);
    }
    throw new Error(`flush_user: no matching event in ${max}: ${JSON.stringify(this.events)}`);
  }

  /** `q` (FL_disconnect), then the process exits; killed by pid if it does not. */
  async quit(): Promise<void> {
    if (this.exited) return;
    this.proc.stdin.end('q\n');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await new Promise<void>((resolve) => (this.exited ? resolve() : this.proc.once('exit', () => resolve())));
    clearTimeout(t);
  }
}

function parseEvent(text: string): CEvent {
  let m = /received (\w+) message from (\S+), of type (-?\d+), \(endian \d+\) to (\d+) groups \n\(\d+ bytes\): [\s\S]*?Message is:\n'([\s\S]*)'\n/.exec(text);
  if (m) return { kind: 'message', service: m[1]!, sender: m[2]!, messType: Number(m[3]), groups: Number(m[4]), text: m[5]! };
  m = /Received REGULAR membership for group (\S+) with \d+ members, where I am member (-?\d+):\n([\s\S]*?)grp id is (-?\d+) (-?\d+) (-?\d+)\n([\s\S]*?)There are/.exec(text);
  if (m) {
    const members = m[3]!.split('\n').map((s) => s.trim()).filter((s) => s !== '');
    const why = m[7]!;
    const single = /Due to the (JOIN|LEAVE|DISCONNECT) of (\S+)/.exec(why);
    const vsSet = single ? [single[2]!] : why.split('\n').slice(1).map((s) => s.trim()).filter((s) => s !== '');
    const cause = single ? single[1]!.toLowerCase() : 'network';
    return { kind: 'view', group: m[1]!, members, myIndex: Number(m[2]), gid: `${m[4]}:${m[5]}:${m[6]}`, cause, vsSet };
  }
  m = /received TRANSITIONAL membership for group (\S+)/.exec(text);
  if (m) return { kind: 'transition', group: m[1]! };
  m = /received membership message that left group (\S+)/.exec(text);
  if (m) return { kind: 'self-leave', group: m[1]! };
  m = /received a FLUSH_REQ message for group (\S+)/.exec(text);
  if (m) return { kind: 'flush-request', group: m[1]! };
  return { kind: 'other', text };
}
