/**
 * The daemon's logger (SPEC Part IX §2): one line per event, a readable line on a
 * terminal and JSON lines otherwise, no dependency. It implements the CoreLog interface every
 * daemon module logs through.
 *
 *   pretty  `[STAMP ]LEVEL message key=value …`; STAMP only when spread.conf sets EventTimeStamp
 *           (its strftime format, `.uuuuuu` appended with EventPreciseTimeStamp), as the reference
 *   json    `{"level":"info","time":MS,"pid":N,…bindings,…fields,"msg":"…"}`
 *
 * A line at debug is written when the level is debug, or when its category (the `cat` binding,
 * a DebugFlags name such as SESSION or MEMBERSHIP) is in spread.conf's DebugFlags. Error values
 * in fields are written as their message and code, never a stack.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { DEBUG_FLAGS } from '../config/index.js';
import type { CoreLog } from '../core/daemon-core.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'pretty' | 'json';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50, silent: 99 };

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export interface LogSinkOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Writes one line (with its newline). */
  readonly write: (line: string) => void;
  /** EventTimeStamp: null none, true the reference's default format, else a strftime format. */
  readonly timeStamp?: string | true | null;
  /** EventPreciseTimeStamp: microseconds after the stamp. */
  readonly preciseTimeStamp?: boolean;
  /** DebugFlags mask: categories whose debug lines are written at any level. */
  readonly debugFlags?: number;
  /** Wall clock in ms (default Date.now). */
  readonly now?: () => number;
}

/** The reference's default EventTimeStamp format. */
export const DEFAULT_TIME_STAMP = '%m/%d/%y %H:%M:%S';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** The strftime conversions a time stamp uses (local time); others are written as they stand. */
export function strftime(format: string, d: Date): string {
  return format.replace(/%([a-zA-Z%])/g, (all, c: string) => {
    switch (c) {
      case 'Y': return String(d.getFullYear());
      case 'y': return pad(d.getFullYear() % 100);
      case 'm': return pad(d.getMonth() + 1);
      case 'd': return pad(d.getDate());
      case 'e': return String(d.getDate()).padStart(2, ' ');
      case 'H': return pad(d.getHours());
      case 'M': return pad(d.getMinutes());
      case 'S': return pad(d.getSeconds());
      case 'a': return DAYS[d.getDay()]!;
      case 'b': return MONTHS[d.getMonth()]!;
      case 'j': return pad(Math.floor((d.getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86_400_000) + 1, 3);
      case 'F': return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
      case 'T': return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      case '%': return '%';
      default: return all;
    }
  });
}

function plain(v: unknown): unknown {
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return code === undefined ? v.message : `${String(code)}: ${v.message}`;
  }
  return typeof v === 'bigint' ? v.toString() : v;
}

function prettyValue(v: unknown): string {
  const p = plain(v);
  if (typeof p === 'string') return /[\s"=]/.test(p) || p === '' ? JSON.stringify(p) : p;
  return typeof p === 'object' && p !== null ? JSON.stringify(p, (_k, x: unknown) => plain(x)) : String(p);
}

export class Logger implements CoreLog {
  constructor(
    private readonly sink: LogSinkOptions,
    private readonly bindings: Readonly<Record<string, unknown>> = {},
  ) {}

  child(bindings: Record<string, unknown>): Logger {
    return new Logger(this.sink, { ...this.bindings, ...bindings });
  }

  /** Whether a line at `level` would be written (callers skip building costly fields). */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    if (RANK[level] >= RANK[this.sink.level]) return true;
    if (level !== 'debug') return false;
    const cat = this.bindings['cat'];
    const bit = typeof cat === 'string' ? (DEBUG_FLAGS as Record<string, number>)[cat] : undefined;
    return bit !== undefined && ((this.sink.debugFlags ?? 0) & bit) !== 0;
  }

  debug(fields: object, msg: string): void {
    if (this.enabled('debug')) this.emit('debug', fields, msg);
  }
  info(fields: object, msg: string): void {
    if (this.enabled('info')) this.emit('info', fields, msg);
  }
  warn(fields: object, msg: string): void {
    if (this.enabled('warn')) this.emit('warn', fields, msg);
  }
  error(fields: object, msg: string): void {
    if (this.enabled('error')) this.emit('error', fields, msg);
  }
  /** Always written (the reference writes FATAL whatever the mask), unless silent. */
  fatal(fields: object, msg: string): void {
    if (this.sink.level !== 'silent') this.emit('fatal', fields, msg);
  }

  private emit(level: LogLevel, fields: object, msg: string): void {
    const now = (this.sink.now ?? Date.now)();
    this.sink.write(this.sink.format === 'json' ? this.json(level, now, fields, msg) : this.pretty(level, now, fields, msg));
  }

  private json(level: LogLevel, time: number, fields: object, msg: string): string {
    const line = { level, time, pid: process.pid, ...this.bindings, ...fields, msg };
    return `${JSON.stringify(line, (_k, v: unknown) => plain(v))}\n`;
  }

  private pretty(level: LogLevel, time: number, fields: object, msg: string): string {
    let out = this.stamp(time) + level.toUpperCase().padEnd(5) + ' ' + msg;
    for (const [k, v] of Object.entries({ ...this.bindings, ...fields })) {
      if (k !== 'cat' && v !== undefined) out += ` ${k}=${prettyValue(v)}`;
    }
    return `${out}\n`;
  }

  private stamp(time: number): string {
    const format = this.sink.timeStamp ?? null;
    if (format === null) return '';
    let s = strftime(format === true ? DEFAULT_TIME_STAMP : format, new Date(time));
    if (this.sink.preciseTimeStamp === true) s += `.${pad(Math.floor((time % 1000) * 1000), 6)}`;
    return `${s} `;
  }
}

export interface LogDestination {
  readonly write: (line: string) => void;
  /** A terminal: the default format is pretty there, JSON elsewhere. */
  readonly isTTY: boolean;
  readonly toFile: boolean;
  close(): void;
}

/** stderr, or a file opened for appending (EventLogFile), written synchronously. */
export function openLogDestination(file: string | null): LogDestination {
  if (file === null) {
    return { write: (l) => void process.stderr.write(l), isTTY: process.stderr.isTTY === true, toFile: false, close() {} };
  }
  const fd = openSync(file, 'a');
  return { write: (l) => void writeSync(fd, l), isTTY: false, toFile: true, close: () => closeSync(fd) };
}
