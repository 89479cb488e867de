/**
 * A ring of daemon processes on loopback segments (interop/topology.ts), ours and/or the
 * reference, whose daemons can be killed (-9, by pid) and restarted with the same name, port
 * and configuration: the ring the tests in test/rings drive. `LoopbackMatrixRing` adds what the
 * interop matrix needs (interop/matrix-cells.ts): programs run on this host, the flooder to use
 * (no partitions: see partitionSkip).
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { referenceBin, repoRoot, startDaemon, type DaemonHandle, type Impl } from './launcher.js';
import type { MatrixRing } from './matrix-cells.js';
import { loopbackGrowth, ourReloadSender, referenceReloadSender, scenarioReload, type ReloadTimes } from './reload-ring.js';
import { openProbe, sleep, waitFor, type Probe, type RingLike } from './ring-scenarios.js';
import { logRingStatus, startTopology, type Topology, type TopologyOptions } from './topology.js';
import type { RingStatus } from './topology-conf.js';

/** One daemon of a ring: its current handle (restart replaces it). */
export interface RingNode {
  readonly index: number;
  readonly impl: Impl;
  readonly name: string;
  readonly spread: string;
  handle: DaemonHandle;
  alive: boolean;
}

/** A loopback ring whose daemons can be killed and restarted. */
export class Ring implements RingLike {
  readonly nodes: RingNode[];
  readonly probes: Probe[] = [];
  readonly startedAt: number;
  private readonly restarted: DaemonHandle[] = [];

  protected constructor(
    readonly topology: Topology,
    readonly impls: readonly Impl[],
    startedAt: number,
  ) {
    this.startedAt = startedAt;
    this.nodes = topology.nodes.map((n, index) => ({ index, impl: n.impl, name: n.name, spread: n.spreadTcp, handle: n.daemon, alive: true }));
  }

  static async start(impls: readonly Impl[], opts: Partial<TopologyOptions> = {}): Promise<Ring> {
    const t0 = Date.now();
    const t = await startTopology({ kind: 'loopback', nodes: impls, readyTimeoutMs: 20_000, ...opts });
    return new Ring(t, impls, t0);
  }

  /** "ROR"-style name of the arrangement. */
  get label(): string {
    return this.impls.map((i) => (i === 'ours' ? 'O' : 'R')).join('');
  }

  status(i: number): RingStatus | undefined {
    const n = this.nodes[i]!;
    return logRingStatus({ impl: n.impl, daemon: n.handle });
  }

  /** The last lines of every daemon's output (banner lines left out), for failure messages. */
  logTails(lines = 40): string {
    return this.nodes
      .map((n) => {
        const tail = n.handle.log().split('\n').filter((l) => !l.startsWith('|') && l.trim() !== '').slice(-lines).map((l) => `    ${l.slice(0, 300)}`);
        return `  ${n.name} (${n.impl}${n.alive ? '' : ', dead'}):\n${tail.join('\n')}`;
      })
      .join('\n');
  }

  describeStatus(): string {
    return this.nodes.map((n, i) => `${n.name} (${n.impl}${n.alive ? '' : ', dead'}): ${JSON.stringify(this.status(i) ?? null)}`).join('; ');
  }

  /** Waits until every daemon of `group` (default: the live ones) reports the same ring of `members`. */
  async waitForRing(members: number, timeoutMs = 30_000, group?: readonly number[]): Promise<RingStatus[]> {
    let result: RingStatus[] = [];
    await waitFor(
      () => {
        for (const n of this.nodes) {
          if (n.alive && !n.handle.running()) throw new Error(`daemon ${n.name} (${n.impl}) exited: ${n.handle.log().slice(-3000)}`);
        }
        const st = (group ?? this.nodes.filter((n) => n.alive).map((n) => n.index)).map((i) => this.status(i));
        if (!st.every((s) => s !== undefined && s.members === members)) return false;
        const ids = new Set(st.map((s) => s!.id));
        if (ids.size !== 1 || ids.has(undefined)) return false;
        result = st as RingStatus[];
        return true;
      },
      timeoutMs,
      () => `no common ring of ${members}: ${this.describeStatus()}`,
      50,
    );
    return result;
  }

  probe(i: number, name: string): Promise<Probe> {
    return openProbe(this, i, name);
  }

  /** kill -9, by pid. */
  async kill(i: number): Promise<void> {
    const n = this.nodes[i]!;
    n.alive = false;
    try {
      process.kill(n.handle.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await Promise.race([n.handle.exited, sleep(5000)]);
  }

  /** Starts node i again with the same name, port and configuration. */
  async restart(i: number): Promise<void> {
    const n = this.nodes[i]!;
    const tn = this.topology.nodes[i]!;
    await n.handle.stop(); // cleans its temp dir and socket
    const h = await startDaemon({
      impl: n.impl,
      name: n.name,
      port: tn.port,
      configText: this.topology.confText,
      host: tn.address,
      readyTimeoutMs: 20_000,
    });
    this.restarted.push(h);
    n.handle = h;
    n.alive = true;
  }

  /** A daemon started beside the ring (a reload grows it): a node of the ring from now on, stopped with it. */
  adopt(impl: Impl, name: string, handle: DaemonHandle, spread: string): RingNode {
    const node: RingNode = { index: this.nodes.length, impl, name, spread, handle, alive: true };
    this.nodes.push(node);
    this.restarted.push(handle);
    return node;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.probes.splice(0).map((p) => p.close()));
    await Promise.allSettled(this.restarted.splice(0).map((h) => h.stop()));
    await this.topology.stop();
  }
}

/** The loopback ring as the interop matrix drives it. */
export class LoopbackMatrixRing extends Ring implements MatrixRing {
  static override async start(impls: readonly Impl[], opts: Partial<TopologyOptions> = {}): Promise<LoopbackMatrixRing> {
    const t0 = Date.now();
    const t = await startTopology({ kind: 'loopback', nodes: impls, readyTimeoutMs: 20_000, ...opts });
    return new LoopbackMatrixRing(t, impls, t0);
  }

  get flooder(): { kind: 'spflooder'; path: string } | { kind: 'flood'; argv: readonly string[] } {
    const sp = referenceBin('spflooder');
    return sp !== undefined ? { kind: 'spflooder', path: sp } : { kind: 'flood', argv: [process.execPath, join(repoRoot(), 'dist', 'interop', 'flood.js')] };
  }

  /** Why the partition cell does not run here. */
  readonly partitionSkip = 'loopback: every daemon shares one interface and host, so the rings cannot be split cleanly by address (use --backend docker)';

  isolate(): Promise<void> {
    return Promise.reject(new Error(this.partitionSkip));
  }

  heal(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * One more daemon of the arrangement's last implementation joins by RELOAD and leaves again
   * (interop/reload-ring.ts), the RELOAD sent by the reference spmonitor where it is installed,
   * else by ours.
   */
  async reload(): Promise<{ recoveryMs: number[]; compared: string }> {
    const spmonitor = referenceBin('spmonitor');
    const as = this.nodes[0]!.name;
    const send = spmonitor !== undefined ? referenceReloadSender(spmonitor, as) : ourReloadSender(as);
    const times: ReloadTimes = {};
    const added = this.impls.at(-1)!;
    await scenarioReload(this, loopbackGrowth(this, added, send), times);
    return { recoveryMs: [times.growMs ?? 0, times.shrinkMs ?? 0], compared: `+${added === 'ours' ? 'O' : 'R'} and back by RELOAD (${spmonitor !== undefined ? 'reference' : 'our'} spmonitor): all clients agree` };
  }

  async runClient(argv: readonly string[], timeoutMs: number, onOutput?: (text: string) => void): Promise<{ code: number | undefined; out: string; timedOut: boolean }> {
    const sub = execa(argv[0]!, argv.slice(1), { all: true, reject: false, timeout: timeoutMs });
    if (onOutput !== undefined) sub.all?.on('data', (d: Buffer) => onOutput(d.toString('utf8')));
    const r = await sub;
    return { code: r.exitCode, out: String(r.all ?? ''), timedOut: r.timedOut };
  }
}
