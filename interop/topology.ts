/**
 * Interop harness, part 3: multi-daemon topologies. Given N nodes, each 'ours' or 'reference',
 * write one shared spread.conf, start every daemon (launcher.ts), wait for the ring, give
 * clients a way in, and always take everything down again.
 *
 *   kind 'loopback'  one segment per daemon on 127.0.0.(i+1), each on its own free port
 *                    (topology-conf.ts); clients connect to `port@127.0.0.(i+1)` from here.
 *   kind 'netns'     network namespaces on a private bridge (netns-bridge.ts), one broadcast
 *                    segment on one port; every daemon runs in its namespace with a private
 *                    /tmp; clients run inside the namespace (`exec`, `spawn`, `runTs`) and
 *                    connect over TCP to `port@<node address>`. Needs root and iproute2:
 *                    check `netnsSupport()` first and skip when it says no.
 *
 * Ring formation: `waitForRing(n)` polls every daemon's status until all report the same ring
 * of n members. The default status source reads logs: the reference's membership report
 * (`Membership id is …` and the configuration listed after it), and for ours a line
 * `ring: N members` (not printed yet: pass `ringStatus` to plug in another source).
 *
 * Only processes started here are signalled, by pid. stop() is idempotent and never rejects.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, repoRoot, startDaemon, type DaemonHandle, type Impl } from './launcher.js';
import { createBridge, netnsExecPrefix, netnsSupport, privateTmpWrap, joinProcessPrefix, type NetnsBridge } from './netns-bridge.js';
import { sleep } from './ring-scenarios.js';
import {
  loopbackAddress, loopbackConf, loopbackSegment, netnsConf, parseOursRing, parseReferenceRing,
  type ConfNode, type RingStatus,
} from './topology-conf.js';

export { netnsSupport } from './netns-bridge.js';
export type { NetnsSupport } from './netns-bridge.js';
export { loopbackConf, netnsConf, parseOursRing, parseReferenceRing } from './topology-conf.js';
export type { RingStatus } from './topology-conf.js';

export type TopologyKind = 'loopback' | 'netns';

export interface NodeSpec {
  readonly impl: Impl;
  /** Daemon name; default `n<i>`. */
  readonly name?: string;
}

/** Reads one node's ring status (undefined: nothing reported yet). */
export type RingStatusSource = (node: TopologyNode) => RingStatus | undefined;

export interface TopologyOptions {
  readonly kind: TopologyKind;
  readonly nodes: readonly (Impl | NodeSpec)[];
  /** AcceleratedRing; null leaves the keyword out. Default true. */
  readonly accelerated?: boolean | null;
  /** Extra spread.conf lines (shared by all daemons: keep them out of the hash or identical). */
  readonly confExtra?: string;
  /** netns: the segment port (default 4803). Loopback ports are always chosen free. */
  readonly port?: number;
  /** Each daemon's output also goes to `<logDir>/<impl>-<name>-<port>.log`. */
  readonly logDir?: string;
  /** Per daemon readiness timeout (ms). Default 20000. */
  readonly readyTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Replaces the default log-based status source of waitForRing. */
  readonly ringStatus?: RingStatusSource;
}

export interface ExecOptions {
  /** Kill (SIGKILL, by pid) after this long. Default 30000. */
  readonly timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory. Default the repository root. */
  readonly cwd?: string;
  /**
   * netns only: join the daemon's mount namespace too (nsenter), to see its private /tmp and
   * unix socket `/tmp/<port>`. Default false (`ip netns exec`: host /tmp, TCP only).
   */
  readonly daemonMounts?: boolean;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface TopologyNode {
  readonly index: number;
  readonly name: string;
  readonly impl: Impl;
  /** The daemon's address (its proc id). */
  readonly address: string;
  /** Segment port (TCP client port; token port + 1). */
  readonly port: number;
  /** Segment broadcast address. */
  readonly segment: string;
  /** netns: the node's network namespace; loopback: null. */
  readonly namespace: string | null;
  /** Client address over TCP: `port@address` (from inside the namespace for netns). */
  readonly spreadTcp: string;
  readonly daemon: DaemonHandle;
  /** `{command, args}` that runs `command args…` where this node's clients run (cwd: see ExecOptions). */
  command(command: string, args?: readonly string[], opts?: Pick<ExecOptions, 'daemonMounts' | 'cwd'>): { command: string; args: string[] };
}

export interface Topology {
  readonly kind: TopologyKind;
  readonly nodes: readonly TopologyNode[];
  /** The shared configuration text. */
  readonly confText: string;
  /** netns: `spts-<random>`; loopback: null. */
  readonly tag: string | null;
  /** netns: first three octets of the private /24; loopback: null. */
  readonly subnet: string | null;
  /** Runs a command where node `i`'s clients run, collects its output; never rejects on exit codes. */
  exec(i: number, command: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Runs a TypeScript file with Node (tsx loader; relative paths from the cwd, default the repository root) where node `i`'s clients run. */
  runTs(i: number, script: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a long-running command there; it is killed (by pid) at stop() if still running. */
  spawn(i: number, command: string, args?: readonly string[], opts?: Pick<ExecOptions, 'env' | 'cwd' | 'daemonMounts'>): ChildProcess;
  /** Node i's current ring status from the status source. */
  ringStatus(i: number): RingStatus | undefined;
  /**
   * Resolves once every daemon reports a ring of `members` (default: all nodes) with the same
   * id (where ids are reported); rejects on timeout (default 30 s) or when a daemon exits.
   */
  waitForRing(members?: number, opts?: { timeoutMs?: number; pollMs?: number }): Promise<RingStatus[]>;
  /** Stops clients and daemons (by pid), tears down namespaces and temp dirs. Idempotent, never rejects. */
  stop(): Promise<void>;
  /** What went wrong during stop(), if anything. */
  readonly teardownProblems: readonly string[];
}

const DEFAULT_NETNS_PORT = 4803;

/** Default status source: the reference's membership report, or ours' `ring: N members`. */
export function logRingStatus(node: Pick<TopologyNode, 'impl' | 'daemon'>): RingStatus | undefined {
  const log = node.daemon.log();
  return node.impl === 'reference' ? parseReferenceRing(log) : parseOursRing(log);
}

/** tsx's loader as a file URL (independent of the working directory). */
export function tsxLoader(): string {
  return pathToFileURL(createRequire(join(repoRoot(), 'package.json')).resolve('tsx')).href;
}

/** A directory outside /tmp (daemons in namespaces get a private /tmp and must still read their conf). */
function workDirBase(): string {
  for (const d of ['/var/tmp', '/dev/shm', tmpdir()]) {
    if (d !== '/tmp' && !d.startsWith('/tmp/') && existsSync(d)) return d;
  }
  throw new Error('topology: no directory outside /tmp for the daemons\' configuration');
}

/** Free, pairwise non-overlapping ports (port and port+1 each). */
async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < n; tries++) {
    if (tries > 50 * n) throw new Error('topology: could not find free ports');
    const p = await freePort();
    if (out.every((q) => Math.abs(q - p) > 1)) out.push(p);
  }
  return out;
}

function normalise(nodes: readonly (Impl | NodeSpec)[]): NodeSpec[] {
  return nodes.map((n, i) => (typeof n === 'string' ? { impl: n, name: `n${i}` } : { impl: n.impl, name: n.name ?? `n${i}` }));
}

export async function startTopology(opts: TopologyOptions): Promise<Topology> {
  const specs = normalise(opts.nodes);
  if (specs.length === 0) throw new RangeError('topology: no nodes');
  const names = new Set(specs.map((s) => s.name));
  if (names.size !== specs.length) throw new RangeError('topology: node names must be unique');

  let bridge: NetnsBridge | null = null;
  let workDir: string | null = null;
  const daemons: (DaemonHandle | undefined)[] = [];
  const children = new Set<ChildProcess>();
  const problems: string[] = [];

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const c of children) {
        if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      const results = await Promise.allSettled(daemons.map((d) => d?.stop()));
      for (const r of results) if (r.status === 'rejected') problems.push(`daemon stop: ${String(r.reason)}`);
      if (bridge !== null) problems.push(...(await bridge.destroy()));
      if (workDir !== null) {
        try {
          rmSync(workDir, { recursive: true, force: true });
        } catch (err) {
          problems.push(`rm ${workDir}: ${String(err)}`);
        }
      }
    })();
    return stopping;
  };

  try {
    // Addresses, ports, configuration.
    let confNodes: ConfNode[];
    let confText: string;
    let segments: string[];
    if (opts.kind === 'loopback') {
      const ports = await freePorts(specs.length);
      confNodes = specs.map((s, i) => ({ name: s.name!, address: loopbackAddress(i), port: ports[i]! }));
      confText = loopbackConf(confNodes, { accelerated: opts.accelerated ?? true, extra: opts.confExtra ?? '' });
      segments = specs.map((_, i) => loopbackSegment(i));
    } else {
      const support = await netnsSupport();
      if (!support.ok) throw new Error(`topology: network namespaces unavailable: ${support.reason}`);
      bridge = await createBridge({ nodes: specs.length });
      const b = bridge;
      const port = opts.port ?? DEFAULT_NETNS_PORT;
      confNodes = specs.map((s, i) => ({ name: s.name!, address: b.nodes[i]!.address, port }));
      confText = netnsConf(b.subnet, port, confNodes, { accelerated: opts.accelerated ?? true, extra: opts.confExtra ?? '' });
      segments = specs.map(() => `${b.subnet}.255`);
      workDir = mkdtempSync(join(workDirBase(), 'spts-topology-'));
      chmodSync(workDir, 0o755); // the reference runs as nobody
    }

    // Start every daemon at once: rings form while the others come up.
    const starts = specs.map((s, i) => {
      const n = confNodes[i]!;
      const common = {
        impl: s.impl,
        name: n.name,
        port: n.port,
        configText: confText,
        host: n.address,
        readyTimeoutMs: opts.readyTimeoutMs ?? 20_000,
        ...(opts.logDir !== undefined ? { logDir: opts.logDir } : {}),
        ...(opts.env !== undefined ? { env: opts.env } : {}),
      };
      const p = bridge === null
        ? startDaemon(common)
        : startDaemon({ ...common, wrap: privateTmpWrap(bridge.nodes[i]!.namespace), workDir: workDir!, privateTmp: true });
      return p.then((d) => {
        daemons[i] = d;
        return d;
      });
    });
    const settled = await Promise.allSettled(starts);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    const nodes: TopologyNode[] = specs.map((s, i) => {
      const n = confNodes[i]!;
      const ns = bridge === null ? null : bridge.nodes[i]!.namespace;
      const daemon = daemons[i]!;
      return {
        index: i,
        name: n.name,
        impl: s.impl,
        address: n.address,
        port: n.port,
        segment: segments[i]!,
        namespace: ns,
        spreadTcp: `${n.port}@${n.address}`,
        daemon,
        command(command: string, args: readonly string[] = [], o: Pick<ExecOptions, 'daemonMounts' | 'cwd'> = {}) {
          if (ns === null) return { command, args: [...args] };
          const prefix = o.daemonMounts === true ? joinProcessPrefix(daemon.pid, o.cwd ?? repoRoot()) : netnsExecPrefix(ns);
          return { command: prefix[0]!, args: [...prefix.slice(1), command, ...args] };
        },
      };
    });
    return makeTopology(opts, nodes, confText, bridge, children, problems, stop);
  } catch (err) {
    await stop();
    throw err;
  }
}

function makeTopology(
  opts: TopologyOptions,
  nodes: TopologyNode[],
  confText: string,
  bridge: NetnsBridge | null,
  children: Set<ChildProcess>,
  problems: string[],
  stop: () => Promise<void>,
): Topology {
  const source = opts.ringStatus ?? logRingStatus;
  const node = (i: number): TopologyNode => {
    const n = nodes[i];
    if (n === undefined) throw new RangeError(`topology: no node ${i}`);
    return n;
  };

  const spawnIn = (i: number, command: string, args: readonly string[] = [], o: Pick<ExecOptions, 'env' | 'cwd' | 'daemonMounts'> = {}): ChildProcess => {
    const cwd = o.cwd ?? repoRoot();
    const c = node(i).command(command, args, { cwd, ...(o.daemonMounts === undefined ? {} : { daemonMounts: o.daemonMounts }) });
    const child = spawn(c.command, c.args, {
      cwd,
      env: { ...process.env, ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    child.once('error', () => children.delete(child));
    return child;
  };

  const exec = (i: number, command: string, args: readonly string[] = [], o: ExecOptions = {}): Promise<ExecResult> =>
    new Promise((res) => {
      const child = spawnIn(i, command, args, o);
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const timer = setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }, o.timeoutMs ?? 30_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        res({ code: null, signal: null, stdout, stderr: `${stderr}${err.message}`, timedOut });
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        res({ code, signal, stdout, stderr, timedOut });
      });
      child.stdin?.on('error', () => {});
      if (o.input !== undefined) child.stdin?.end(o.input);
      else child.stdin?.end();
    });

  return {
    kind: opts.kind,
    nodes,
    confText,
    tag: bridge?.tag ?? null,
    subnet: bridge?.subnet ?? null,
    exec,
    runTs: (i, script, args = [], o = {}) => exec(i, process.execPath, ['--import', tsxLoader(), script, ...args], o),
    spawn: spawnIn,
    ringStatus: (i) => source(node(i)),
    async waitForRing(members = nodes.length, o = {}) {
      const deadline = Date.now() + (o.timeoutMs ?? 30_000);
      const poll = o.pollMs ?? 100;
      for (;;) {
        const dead = nodes.find((n) => !n.daemon.running());
        if (dead !== undefined) {
          throw new Error(`topology: ${dead.impl} daemon ${dead.name} exited while waiting for the ring. Output:\n${dead.daemon.log().slice(-4000)}`);
        }
        const statuses = nodes.map((n) => source(n));
        if (statuses.every((s) => s !== undefined && s.members === members)) {
          const ids = new Set(statuses.map((s) => s!.id).filter((id) => id !== undefined));
          if (ids.size <= 1) return statuses as RingStatus[];
        }
        if (Date.now() > deadline) {
          const report = nodes.map((n, i) => `  ${n.name} (${n.impl}): ${JSON.stringify(statuses[i] ?? null)}`).join('\n');
          throw new Error(`topology: no common ring of ${members} after ${o.timeoutMs ?? 30_000} ms:\n${report}`);
        }
        await sleep(poll);
      }
    },
    stop,
    get teardownProblems() {
      return problems;
    },
  };
}

/** Runs `fn` with a started topology and always stops it. */
export async function withTopology<T>(opts: TopologyOptions, fn: (t: Topology) => Promise<T>): Promise<T> {
  const t = await startTopology(opts);
  try {
    return await fn(t);
  } finally {
    await t.stop();
  }
}
