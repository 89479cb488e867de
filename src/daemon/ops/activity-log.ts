/**
 * The reference's activity file (`spread -l y`, SPEC Part IX §5): a file named after the
 * daemon in the working directory, appended to, in fixed-width text lines
 *
 *   B <sec 13>                                   the daemon started
 *   M <sec 13> <ring time 13> <highest seq 11> >  then, per configured daemon in file order,
 *                                                ` NN` if in the ring (NN: the configuration
 *                                                index of the first daemon in the ring, for
 *                                                each of them, as the reference writes) or ` --`
 *   A <sec 13> <highest seq 11>                   alive: always the last line, rewritten in
 *                                                place every 10 s and after each other line
 *
 * Session connect / disconnect lines (C, D) are not written.
 */
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';

const ALIVE_MS = 10_000;

export interface ActivitySource {
  /** Proc ids of the configured daemons, in file order. */
  readonly daemons: readonly number[];
  /** The ring's highest sequence number. */
  highestSeq(): number;
}

const sec = (): string => String(Math.floor(Date.now() / 1000)).padStart(13);

export class ActivityLog {
  private readonly fd: number;
  /** Where the alive line starts: the next line overwrites it. */
  private pos: number;
  private readonly timer: NodeJS.Timeout;

  constructor(path: string, private readonly src: ActivitySource) {
    this.fd = openSync(path, 'a+');
    this.pos = fstatSync(this.fd).size;
    // Positional writes on an O_APPEND descriptor append on Linux: reopen without it.
    closeSync(this.fd);
    this.fd = openSync(path, 'r+');
    this.write(`B ${sec()}\n`);
    this.timer = setInterval(() => this.write(''), ALIVE_MS).unref();
  }

  /** A regular configuration: its ring time and members. */
  membership(ringTime: number, members: readonly number[]): void {
    const first = this.src.daemons.findIndex((id) => members.includes(id));
    const cols = this.src.daemons.map((id) => (members.includes(id) ? ` ${String(first).padStart(2)}` : ' --')).join('');
    this.write(`M ${sec()} ${String(ringTime).padStart(13)} ${this.seq()} > ${cols}\n`);
  }

  close(): void {
    clearInterval(this.timer);
    closeSync(this.fd);
  }

  private seq(): string {
    return String(this.src.highestSeq()).padStart(11);
  }

  private write(line: string): void {
    const bytes = Buffer.from(`${line}A ${sec()} ${this.seq()}\n`, 'latin1');
    writeSync(this.fd, bytes, 0, bytes.length, this.pos);
    this.pos += Buffer.byteLength(line, 'latin1');
  }
}
