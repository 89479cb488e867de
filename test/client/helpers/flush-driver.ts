/**
 * Test helper for the flush layer: a FlushConnection consumed in the background, every event
 * recorded, flush requests answered (after an optional hook), and bounded waits on the record.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startDaemon } from '../../../interop/launcher.js';
import type { DaemonHandle, Impl } from '../../../interop/launcher.js';
import { flushConnect } from '../../../src/client/flush/index.js';
import type { FlushConnection, FlushEvent, FlushMessage, FlushView } from '../../../src/client/flush/index.js';
import { groupIdKey } from '../../../src/client/flush/wire.js';
import { ugroup, uname } from './daemons.js';

export interface MemberOptions {
  /** Answer flush requests (default true). */
  autoFlush?: boolean;
  /** Runs before answering a flush request (e.g. to send in the old view). */
  beforeFlush?: (group: string) => Promise<void>;
}

export class FlushMember {
  readonly events: FlushEvent[] = [];
  error: unknown;
  private wake: (() => void)[] = [];
  private readonly done: Promise<void>;

  constructor(readonly fc: FlushConnection, readonly opts: MemberOptions = {}) {
    this.done = this.loop();
  }

  get name(): string {
    return this.fc.privateGroup;
  }

  private async loop(): Promise<void> {
    try {
      for await (const ev of this.fc) {
        this.events.push(ev);
        this.notify();
        if (ev.kind === 'flush-request' && this.opts.autoFlush !== false) {
          if (this.opts.beforeFlush) await this.opts.beforeFlush(ev.group);
          await this.fc.flush(ev.group);
        }
      }
    } catch (e) {
      this.error = e;
    }
    this.notify();
  }

  private notify(): void {
    for (const w of this.wake.splice(0)) w();
  }

  /** Waits (at most `ms`) until `pred` holds on the record. */
  async until(what: string, pred: (m: FlushMember) => boolean, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      if (this.error !== undefined) throw new Error(`${this.name}: waiting for ${what}: ${String(this.error)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: timed out waiting for ${what}; events: ${describe(this.events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  views(group: string): FlushView[] {
    return this.events.filter((e): e is FlushView => e.kind === 'view' && e.group === group);
  }

  lastView(group: string): FlushView | undefined {
    return this.views(group).at(-1);
  }

  /** Messages of `group` delivered after the view with this id and before the next view. */
  messagesInView(group: string, view: FlushView): FlushMessage[] {
    const out: FlushMessage[] = [];
    let inside = false;
    for (const e of this.events) {
      if (e.kind === 'view' && e.group === group) inside = groupIdKey(e.groupId) === groupIdKey(view.groupId);
      else if (inside && e.kind === 'message' && e.group === group) out.push(e);
    }
    return out;
  }

  /** `sender:text` of every message of `group`, in delivery order. */
  texts(group: string, view?: FlushView): string[] {
    const msgs = view ? this.messagesInView(group, view) : this.events.filter((e): e is FlushMessage => e.kind === 'message' && e.group === group);
    return msgs.map((m) => `${m.sender}:${Buffer.from(m.data).toString()}`);
  }

  async stop(): Promise<void> {
    await this.fc.disconnect();
    await this.done;
  }
}

export function describe(events: readonly FlushEvent[]): string {
  return events
    .map((e) => {
      if (e.kind === 'view') return `view(${e.group} ${e.reason} [${e.members.join(',')}] ${groupIdKey(e.groupId)})`;
      if (e.kind === 'message') return `msg(${e.sender} ${JSON.stringify(Buffer.from(e.data).toString())})`;
      return `${e.kind}(${e.group})`;
    })
    .join(' ');
}

/** The comparable part of a view: id, cause, members, vs set. */
export function viewKey(v: FlushView): string {
  return `${groupIdKey(v.groupId)} ${v.reason} [${v.members.join(',')}] vs[${v.vsSet.join(',')}]`;
}

/**
 * Polls until a flush client can join a group and get its first view on the daemon at
 * `spread` (the ring is operational). Bounded by `totalMs`.
 */
export async function waitFlushReady(spread: string, connectFn: (spread: string) => Promise<FlushConnection>, totalMs = 20_000): Promise<void> {
  const deadline = Date.now() + totalMs;
  let last: unknown;
  let n = 0;
  while (Date.now() < deadline) {
    let fc: FlushConnection | undefined;
    try {
      fc = await connectFn(spread);
      const g = `flprobe-${process.pid}-${n++}`;
      await fc.join(g);
      const ev = await fc.receive({ signal: AbortSignal.timeout(Math.min(3000, Math.max(100, deadline - Date.now()))) });
      if (ev.kind === 'view' && ev.group === g) return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await fc?.disconnect();
    }
  }
  throw new Error(`daemon at ${spread} not operational after ${totalMs} ms: ${String(last)}`);
}

/** Fresh private names and groups: daemons.ts's, groups prefixed `fl-`. */
export { uname as uniqueName } from './daemons.js';
export const uniqueGroup = (what: string): string => ugroup(`fl-${what}`);

export interface FlushFixture {
  /** The daemon of this describe block (started in beforeAll). */
  readonly daemon: DaemonHandle;
  /** A TS flush client on the daemon, consumed by a FlushMember, stopped after the test. */
  member(prefix: string, opts?: MemberOptions): Promise<FlushMember>;
  /** Something else to stop after the test (before the members). */
  track(stop: () => Promise<void>): void;
}

/** Registers hooks (inside a describe) that start a daemon of `impl`, wait for it, and clean up. */
export function useFlushDaemon(impl: Impl): FlushFixture {
  let d: DaemonHandle | undefined;
  const members: FlushMember[] = [];
  const others: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    d = await startDaemon({ impl, readyTimeoutMs: 20_000 });
    await waitFlushReady(d.spreadTcp, (spread) => flushConnect({ spread, timeoutMs: 5000 }));
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
  });
  afterEach(async () => {
    for (const stop of others.splice(0)) await stop();
    for (const m of members.splice(0)) await m.stop();
  });
  return {
    get daemon(): DaemonHandle {
      return d!;
    },
    async member(prefix: string, opts: MemberOptions = {}): Promise<FlushMember> {
      const m = new FlushMember(await flushConnect({ spread: d!.spreadTcp, name: uname(prefix), timeoutMs: 5000 }), opts);
      members.push(m);
      return m;
    },
    track(stop: () => Promise<void>): void {
      others.push(stop);
    },
  };
}
