/**
 * interop/docker, the running part: a ring of daemon containers (compose.ts writes its files)
 * driven through the docker and compose clients with execa. It is a `RingLike`: the shared
 * ring scenarios (interop/ring-scenarios.ts) run on it as on the loopback ring; clients of the
 * TS library connect from this host over the bridge (the host is its gateway), and programs
 * that must run beside the daemons run in the client container (`exec`).
 *
 *   kill     docker kill -s KILL (kill -9 of the daemon, PID 1 of its container)
 *   restart  docker start: the same container, name, address and configuration
 *   isolate  every UDP datagram in and out of one container dropped (iptables run in its
 *            network namespace through nsenter): a partition; heal removes the rules
 *   reload   one more daemon container joins by RELOAD and leaves again (ring-reload.ts)
 *
 * Ring status comes from each container's log (the reference's membership report, our
 * `ring: N members, id P:T` line), read from its last (re)start on. stop() always tears the
 * compose project down (containers, network) and never rejects.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { MatrixRing } from '../matrix-cells.js';
import { scenarioReload, type ReloadTimes } from '../reload-ring.js';
import { dockerGrowth } from './ring-reload.js';
import { openProbe, sleep, type Probe, type RingNodeLike } from '../ring-scenarios.js';
import { parseOursRing, parseReferenceRing, type RingStatus } from '../topology-conf.js';
import { clientContainer, layoutNodes, RING_PORT, writeRing, type RingLayout } from './compose.js';

/** The docker client: $DOCKER, else Debian's /usr/bin/docker, else `docker` on PATH. */
export function dockerCommand(): string {
  return process.env['DOCKER'] ?? (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');
}

/** The compose client: $COMPOSE (say `docker compose`), else docker-compose when installed, else `docker compose`. */
export function composeCommand(): string[] {
  const env = process.env['COMPOSE'];
  if (env !== undefined && env.trim() !== '') return env.trim().split(/\s+/);
  for (const p of ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose']) if (existsSync(p)) return [p];
  return [dockerCommand(), 'compose'];
}

export async function docker(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const r = await execa(dockerCommand(), args, { all: true, timeout: timeoutMs, reject: false });
  if (r.exitCode !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.exitCode}: ${String(r.all ?? '').slice(-1500)}`);
  return String(r.all ?? '');
}

/** Whether a docker engine answers (the reason when not). */
export async function dockerSupport(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await docker(['info', '--format', '{{.ServerVersion}}'], 20_000);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `no docker engine: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}

export async function imageExists(image: string): Promise<boolean> {
  const r = await execa(dockerCommand(), ['image', 'inspect', image], { reject: false, timeout: 20_000 });
  return r.exitCode === 0;
}

export interface DockerNode extends RingNodeLike {
  readonly container: string;
  readonly address: string;
  /** Unix seconds of the last (re)start: the log is read from there on. */
  since: number;
  isolated: boolean;
}

export class DockerRing implements MatrixRing {
  readonly probes: Probe[] = [];
  readonly nodes: DockerNode[];
  startedAt = 0;
  private confExtra = '';
  /** Containers started beside the compose project (the reload cell's), removed at stop(). */
  private readonly started: string[] = [];

  private constructor(
    readonly layout: RingLayout,
    readonly dir: string,
    readonly composeFile: string,
  ) {
    this.nodes = layoutNodes(layout).map((n) => ({ ...n, spread: `${RING_PORT}@${n.address}`, alive: true, since: 0, isolated: false }));
  }

  /** Writes the files and brings the ring up. */
  static async start(layout: RingLayout, confExtra = ''): Promise<DockerRing> {
    const dir = mkdtempSync(join(tmpdir(), `${layout.project}-`));
    const ring = new DockerRing(layout, dir, writeRing(dir, layout, confExtra));
    ring.confExtra = confExtra;
    await ring.compose(['down', '-t', '1', '--remove-orphans'], 60_000).catch(() => '');
    try {
      const since = Date.now() / 1000;
      await ring.compose(['up', '-d'], 120_000);
      for (const n of ring.nodes) n.since = since;
      // Formation is timed from the last daemon container's start (compose itself may be slow).
      const started = await docker(['inspect', '-f', '{{.State.StartedAt}}', ...ring.nodes.map((n) => n.container)]);
      ring.startedAt = Math.max(...started.trim().split('\n').map((t) => Date.parse(t)));
    } catch (err) {
      await ring.stop();
      throw err;
    }
    return ring;
  }

  get label(): string {
    return this.nodes.map((n) => (n.impl === 'ours' ? 'O' : 'R')).join('');
  }

  private compose(args: readonly string[], timeoutMs: number): Promise<string> {
    const [cmd, ...pre] = composeCommand();
    return execa(cmd!, [...pre, '-p', this.layout.project, '-f', this.composeFile, ...args], { all: true, timeout: timeoutMs, reject: false, cwd: this.dir }).then((r) => {
      if (r.exitCode !== 0) throw new Error(`compose ${args.join(' ')}: exit ${r.exitCode}: ${String(r.all ?? '').slice(-2000)}`);
      return String(r.all ?? '');
    });
  }

  /** A node's log since its last (re)start. */
  async log(i: number): Promise<string> {
    const n = this.nodes[i]!;
    return docker(['logs', '--since', n.since.toFixed(3), n.container], 30_000).catch((err: unknown) => String(err));
  }

  async status(i: number): Promise<RingStatus | undefined> {
    const text = await this.log(i);
    return this.nodes[i]!.impl === 'ours' ? parseOursRing(text) : parseReferenceRing(text);
  }

  /** Waits until every daemon in `group` (default: the live ones) reports one ring of exactly the group. */
  async waitForRing(members: number, timeoutMs = 30_000, group?: readonly number[]): Promise<RingStatus[]> {
    const idx = group ?? this.nodes.filter((n) => n.alive).map((n) => n.index);
    const deadline = Date.now() + timeoutMs;
    let last: (RingStatus | undefined)[] = [];
    while (Date.now() < deadline) {
      last = await Promise.all(idx.map((i) => this.status(i)));
      const ids = new Set(last.map((s) => s?.id));
      if (last.every((s) => s !== undefined && s.members === members) && ids.size === 1 && !ids.has(undefined)) return last as RingStatus[];
      await sleep(200);
    }
    throw new Error(`no common ring of ${members} at ${idx.map((i) => this.nodes[i]!.name).join(',')}: ${JSON.stringify(last)}`);
  }

  probe(i: number, name: string): Promise<Probe> {
    return openProbe(this, i, name);
  }

  async kill(i: number): Promise<void> {
    const n = this.nodes[i]!;
    n.alive = false;
    await docker(['kill', '-s', 'KILL', n.container]);
    await docker(['wait', n.container], 30_000).catch(() => '');
  }

  async restart(i: number): Promise<void> {
    const n = this.nodes[i]!;
    n.since = Date.now() / 1000;
    await docker(['start', n.container]);
    n.alive = true;
  }

  /** iptables in container j's network namespace (the host's iptables, through nsenter). */
  private async iptablesIn(j: number, args: readonly string[]): Promise<void> {
    const pid = (await docker(['inspect', '-f', '{{.State.Pid}}', this.nodes[j]!.container])).trim();
    const r = await execa('nsenter', ['-t', pid, '-n', 'iptables', ...args], { all: true, reject: false, timeout: 20_000 });
    if (r.exitCode !== 0) throw new Error(`nsenter iptables ${args.join(' ')} in ${this.nodes[j]!.container}: ${String(r.all ?? '')}`);
  }

  /**
   * Node i's daemon receives no datagram from its peers and they none from it (INPUT rules by
   * source address on both sides: a dropped send would fail with EPERM, which no real partition
   * does, and a daemon must still hear itself to form its own ring).
   */
  private async partitionRules(i: number, op: '-I' | '-D'): Promise<void> {
    const me = this.nodes[i]!;
    for (const n of this.nodes) {
      if (n.index === i || !n.alive) continue;
      await this.iptablesIn(i, [op, 'INPUT', '-p', 'udp', '-s', n.address, '-j', 'DROP']);
      await this.iptablesIn(n.index, [op, 'INPUT', '-p', 'udp', '-s', me.address, '-j', 'DROP']);
    }
  }

  /** Cuts node i off the segment (UDP both ways; its clients' TCP stays). */
  async isolate(i: number): Promise<void> {
    await this.partitionRules(i, '-I');
    this.nodes[i]!.isolated = true;
  }

  async heal(i: number): Promise<void> {
    await this.partitionRules(i, '-D');
    this.nodes[i]!.isolated = false;
  }

  /** The reference's spflooder when its prefix is mounted in the client container, else our flood.js. */
  get flooder(): { kind: 'spflooder'; path: string } | { kind: 'flood'; argv: readonly string[] } {
    return this.layout.referencePrefix !== undefined ? { kind: 'spflooder', path: '/opt/spread-ref/bin/spflooder' } : { kind: 'flood', argv: ['node', '/opt/spread-ts/dist/interop/flood.js'] };
  }

  /** Runs a program in the client container; `onOutput` sees its output as it comes. */
  async runClient(argv: readonly string[], timeoutMs: number, onOutput?: (text: string) => void): Promise<{ code: number | undefined; out: string; timedOut: boolean }> {
    const sub = execa(dockerCommand(), ['exec', clientContainer(this.layout), ...argv], { all: true, reject: false, timeout: timeoutMs });
    if (onOutput !== undefined) sub.all?.on('data', (d: Buffer) => onOutput(d.toString('utf8')));
    const r = await sub;
    return { code: r.exitCode, out: String(r.all ?? ''), timedOut: r.timedOut };
  }

  async logTails(lines = 30): Promise<string> {
    const parts = await Promise.all(this.nodes.map(async (n) => `  ${n.name} (${n.impl}${n.alive ? '' : ', dead'}):\n${(await this.log(n.index)).split('\n').slice(-lines).map((l) => `    ${l.slice(0, 300)}`).join('\n')}`));
    return parts.join('\n');
  }

  /** The reload cell: one more daemon container joins by RELOAD and leaves again (ring-reload.ts). */
  async reload(): Promise<{ recoveryMs: number[]; compared: string }> {
    const times: ReloadTimes = {};
    await scenarioReload(this, dockerGrowth(this, this.confExtra, this.started), times);
    const added = this.layout.impls.at(-1) === 'ours' ? 'O' : 'R';
    return { recoveryMs: [times.growMs ?? 0, times.shrinkMs ?? 0], compared: `+${added} and back by RELOAD (our spmonitor): all clients agree` };
  }

  /** Closes the clients and takes the project down (containers and network), whatever happened. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.probes.splice(0).map((p) => p.close()));
    await Promise.allSettled(this.started.splice(0).map((c) => docker(['rm', '-f', c], 60_000)));
    await this.compose(['down', '-t', '1', '--remove-orphans'], 120_000).catch((err: unknown) => console.error(String(err)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

