/**
 * Interop harness, part 2: drive client programs (spuser, sptuser, spflooder — ours or the
 * reference's) through a scripted session: start, write stdin, pause, wait for output, close
 * stdin, and collect what each printed. Every wait is bounded; every process started here is
 * killed by its pid if it outlives the session.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ClientSpec {
  /** Name used in steps and results, e.g. `bob`. */
  id: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export type Step =
  | { kind: 'start'; client: string }
  | { kind: 'write'; client: string; data: string }
  | { kind: 'sleep'; ms: number }
  | { kind: 'end'; client: string }
  /** Wait until the client's stdout contains `text` `count` times (default 1), or `timeoutMs`. */
  | { kind: 'waitFor'; client: string; text: string; count?: number; timeoutMs?: number }
  /** Wait for the client to exit (or `timeoutMs`). */
  | { kind: 'exit'; client: string; timeoutMs?: number };

export const start = (client: string): Step => ({ kind: 'start', client });
/** Writes one line (a newline is appended unless `data` already ends with one). */
export const line = (client: string, data: string): Step => ({ kind: 'write', client, data: data.endsWith('\n') ? data : `${data}\n` });
export const write = (client: string, data: string): Step => ({ kind: 'write', client, data });
export const sleep = (ms: number): Step => ({ kind: 'sleep', ms });
export const end = (client: string): Step => ({ kind: 'end', client });
export const waitFor = (client: string, text: string, count = 1, timeoutMs = 10_000): Step => ({ kind: 'waitFor', client, text, count, timeoutMs });
export const exit = (client: string, timeoutMs = 10_000): Step => ({ kind: 'exit', client, timeoutMs });

export interface ClientResult {
  id: string;
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the client had to be killed at the end of the session. */
  killed: boolean;
  /** Milliseconds from start to exit. */
  elapsedMs: number;
}

export interface SessionResult {
  clients: Record<string, ClientResult>;
  /** Problems met while running the steps (a waitFor that timed out, a write to an exited client…). */
  problems: string[];
}

export interface SessionOptions {
  /** After the last step: close every stdin and wait this long for the clients to exit. Default 10 s. */
  exitTimeoutMs?: number;
  /** Upper bound on the whole session. Default 120 s. */
  totalTimeoutMs?: number;
}

interface Running {
  spec: ClientSpec;
  child: ChildProcess;
  stdout: string;
  stderr: string;
  started: number;
  ended: number | undefined;
  exit: Promise<void>;
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
  listeners: Set<() => void>;
}

function delay(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

function countOf(hay: string, needle: string): number {
  if (needle === '') return 0;
  let n = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

function launch(spec: ClientSpec): Running {
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const r: Running = {
    spec,
    child,
    stdout: '',
    stderr: '',
    started: Date.now(),
    ended: undefined,
    exit: Promise.resolve(),
    code: null,
    signal: null,
    killed: false,
    listeners: new Set(),
  };
  const notify = (): void => {
    for (const l of [...r.listeners]) l();
  };
  child.stdout?.setEncoding('latin1');
  child.stderr?.setEncoding('latin1');
  child.stdout?.on('data', (s: string) => {
    r.stdout += s;
    notify();
  });
  child.stderr?.on('data', (s: string) => {
    r.stderr += s;
    notify();
  });
  child.stdin?.on('error', () => {
    /* EPIPE when the client has exited: reported by the step that wrote */
  });
  r.exit = new Promise<void>((res) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (r.ended !== undefined) return;
      r.code = code;
      r.signal = signal;
      r.ended = Date.now();
      notify();
      res();
    };
    child.once('error', (err) => {
      r.stderr += `\n[spawn error: ${err.message}]\n`;
      if (child.pid === undefined) done(null, null);
    });
    // 'close' waits for stdout/stderr to drain, so the output is complete.
    child.once('close', (code, signal) => done(code, signal));
  });
  return r;
}

function waitUntil(r: Running, pred: () => boolean, timeoutMs: number): Promise<boolean> {
  if (pred()) return Promise.resolve(true);
  return new Promise((res) => {
    const check = (): void => {
      if (pred()) finish(true);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      r.listeners.delete(check);
      res(ok);
    };
    r.listeners.add(check);
  });
}

function killByPid(r: Running): void {
  if (r.ended === undefined && r.child.pid !== undefined) {
    r.killed = true;
    try {
      process.kill(r.child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Runs the steps; a client named in a step but never started is started on first use. */
export async function runSession(clients: ClientSpec[], steps: Step[], opts: SessionOptions = {}): Promise<SessionResult> {
  const exitTimeoutMs = opts.exitTimeoutMs ?? 10_000;
  const deadline = Date.now() + (opts.totalTimeoutMs ?? 120_000);
  const specs = new Map(clients.map((c) => [c.id, c]));
  const running = new Map<string, Running>();
  const problems: string[] = [];

  const get = (id: string): Running => {
    let r = running.get(id);
    if (r === undefined) {
      const spec = specs.get(id);
      if (spec === undefined) throw new Error(`session: unknown client ${id}`);
      r = launch(spec);
      running.set(id, r);
    }
    return r;
  };
  const left = (): number => Math.max(0, deadline - Date.now());

  try {
    for (const [i, step] of steps.entries()) {
      if (left() === 0) {
        problems.push(`step ${i}: session time limit reached; remaining steps skipped`);
        break;
      }
      switch (step.kind) {
        case 'start':
          get(step.client);
          break;
        case 'write': {
          const r = get(step.client);
          if (r.ended !== undefined || r.child.stdin === null || r.child.stdin.destroyed) {
            problems.push(`step ${i}: ${step.client} has exited; could not write ${JSON.stringify(step.data)}`);
          } else {
            r.child.stdin.write(step.data, 'latin1');
          }
          break;
        }
        case 'sleep':
          await delay(Math.min(step.ms, left()));
          break;
        case 'end': {
          const r = get(step.client);
          r.child.stdin?.end();
          break;
        }
        case 'waitFor': {
          const r = get(step.client);
          const want = step.count ?? 1;
          const ok = await waitUntil(r, () => countOf(r.stdout, step.text) >= want || r.ended !== undefined, Math.min(step.timeoutMs ?? 10_000, left()));
          if (!ok || countOf(r.stdout, step.text) < want) {
            problems.push(`step ${i}: ${step.client}: ${JSON.stringify(step.text)} x${want} not seen${r.ended !== undefined ? ' (client exited)' : ' (timeout)'}`);
          }
          break;
        }
        case 'exit': {
          const r = get(step.client);
          const ok = await waitUntil(r, () => r.ended !== undefined, Math.min(step.timeoutMs ?? 10_000, left()));
          if (!ok) problems.push(`step ${i}: ${step.client} did not exit in time`);
          break;
        }
      }
    }
    // Close every stdin and let the clients finish.
    for (const r of running.values()) r.child.stdin?.end();
    await Promise.race([Promise.all([...running.values()].map((r) => r.exit)), delay(Math.min(exitTimeoutMs, Math.max(left(), 1000)))]);
  } finally {
    for (const r of running.values()) {
      if (r.ended === undefined) {
        problems.push(`${r.spec.id} still running at the end of the session: killed`);
        killByPid(r);
      }
    }
    await Promise.race([Promise.all([...running.values()].map((r) => r.exit)), delay(3000)]);
  }

  const out: Record<string, ClientResult> = {};
  for (const [id, r] of running) {
    out[id] = {
      id,
      stdout: r.stdout,
      stderr: r.stderr,
      code: r.code,
      signal: r.signal,
      killed: r.killed,
      elapsedMs: (r.ended ?? Date.now()) - r.started,
    };
  }
  return { clients: out, problems };
}

/** Runs one program to completion with a time limit (killed by pid when over). */
export async function runOnce(
  spec: Omit<ClientSpec, 'id'>,
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ClientResult & { timedOut: boolean }> {
  const steps: Step[] = [start('p')];
  if (opts.input !== undefined) steps.push(write('p', opts.input));
  steps.push(end('p'), exit('p', opts.timeoutMs ?? 60_000));
  const res = await runSession([{ id: 'p', ...spec }], steps, { exitTimeoutMs: 1000, totalTimeoutMs: (opts.timeoutMs ?? 60_000) + 5000 });
  const r = res.clients['p'];
  if (r === undefined) throw new Error('session: runOnce lost its client');
  return { ...r, timedOut: r.killed };
}
