/**
 * Multi-daemon ring tests: a ring of daemons (ours and/or the reference) on loopback segments,
 * clients on every daemon (the TS client library), and the scenarios every arrangement runs:
 *
 *   formation  every daemon reports the same ring of N (ring id included)
 *   join       one client per daemon joins G, one after the other; every client sees the same
 *              REG_MEMB sequence from its own join on (members, group id, vs_sets, cause)
 *   order      every client multicasts AGREED and SAFE messages at once; every client receives
 *              all of them in one identical order
 *   kill       kill -9 of one daemon; the others form a ring of N−1; every surviving client sees
 *              the same TRANSITION and REG_MEMB (CAUSED_BY_NETWORK, same vs_sets)
 *   restart    the killed daemon comes back (same name, port, configuration); the ring of N
 *              forms again; a client there joins G and every client sees the same REG_MEMB
 *
 * Every wait is bounded; every daemon and client started here is stopped.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type SpreadConnection, type SpreadEvent } from '../../src/client/index.js';
import { freePort, startDaemon, type DaemonHandle, type Impl } from '../../interop/launcher.js';
import { logRingStatus, startTopology, type Topology, type TopologyOptions } from '../../interop/topology.js';
import type { RingStatus } from '../../interop/topology-conf.js';

export const GROUP = 'ringtest';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `pred` every `pollMs` until true; throws `what` (with the detail) after `timeoutMs`. */
export async function waitFor(pred: () => boolean, timeoutMs: number, what: () => string, pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(pollMs);
  }
}

/** Short data as text; long data as its head, length and a checksum. */
function dataText(data: Uint8Array): string {
  if (data.length <= 64) return Buffer.from(data).toString('utf8');
  let sum = 0;
  for (const b of data) sum = (sum * 31 + b) >>> 0;
  return `${Buffer.from(data.subarray(0, 32)).toString('utf8')}… (${data.length} bytes, sum ${sum})`;
}

/** One event as a comparable line: what every member must see identically. */
export function eventLine(ev: SpreadEvent): string {
  switch (ev.kind) {
    case 'message':
      return `msg ${ev.service ?? ev.serviceType} from ${ev.sender} to ${ev.groups.join(',')}: ${dataText(ev.data)}`;
    case 'membership': {
      const id = ev.groupId === undefined ? '-' : `${ev.groupId.procId}:${ev.groupId.time}:${ev.groupId.index}`;
      if (ev.transitional) return `TRANSITION ${ev.group} id ${id}`;
      if (ev.selfLeave) return `SELF-LEAVE ${ev.group}`;
      const changed = ev.changedMember === undefined ? '' : ` (${ev.changedMember})`;
      return `REG_MEMB ${ev.reason}${changed} ${ev.group} id ${id} members [${ev.members.join(' ')}] vs_sets ${JSON.stringify(ev.vsSets)}`;
    }
    case 'reject':
      return `reject ${ev.oldType} from ${ev.sender}`;
  }
}

/** A client on one daemon that records everything it receives. */
export class Probe {
  readonly lines: string[] = [];
  readonly events: SpreadEvent[] = [];
  error: unknown = null;
  private constructor(
    readonly node: number,
    readonly conn: SpreadConnection,
  ) {}

  static async open(node: number, spread: string, name: string, timeoutMs = 10_000): Promise<Probe> {
    const conn = await connect({ spread, name, timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    const p = new Probe(node, conn);
    conn.onMessage(
      (ev) => {
        p.events.push(ev);
        p.lines.push(eventLine(ev));
      },
      { onError: (err) => (p.error = err) },
    );
    return p;
  }

  get privateGroup(): string {
    return this.conn.privateGroup;
  }

  /** Lines from index `from` on. */
  since(from: number): string[] {
    return this.lines.slice(from);
  }

  messages(): string[] {
    return this.lines.filter((l) => l.startsWith('msg '));
  }

  memberships(): string[] {
    return this.lines.filter((l) => !l.startsWith('msg '));
  }

  /** The last REG_MEMB of the group, or undefined. */
  lastView(group = GROUP): SpreadEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const ev = this.events[i]!;
      if (ev.kind === 'membership' && ev.group === group && !ev.transitional && !ev.selfLeave) return ev;
    }
    return undefined;
  }

  async close(): Promise<void> {
    try {
      await this.conn.disconnect();
    } catch {
      /* the daemon may be gone */
    }
  }
}

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
export class Ring {
  readonly nodes: RingNode[];
  readonly probes: Probe[] = [];
  readonly startedAt: number;
  private readonly restarted: DaemonHandle[] = [];

  private constructor(
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

  /** Waits until every live daemon reports the same ring of `members` (ids compared where reported). */
  async waitForRing(members: number, timeoutMs = 30_000): Promise<RingStatus[]> {
    let result: RingStatus[] = [];
    await waitFor(
      () => {
        for (const n of this.nodes) {
          if (n.alive && !n.handle.running()) throw new Error(`daemon ${n.name} (${n.impl}) exited: ${n.handle.log().slice(-3000)}`);
        }
        const st = this.nodes.filter((n) => n.alive).map((n) => this.status(n.index));
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

  async probe(i: number, name: string): Promise<Probe> {
    const p = await Probe.open(i, this.nodes[i]!.spread, name);
    this.probes.push(p);
    return p;
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

  async stop(): Promise<void> {
    await Promise.allSettled(this.probes.splice(0).map((p) => p.close()));
    await Promise.allSettled(this.restarted.splice(0).map((h) => h.stop()));
    await this.topology.stop();
  }
}

export interface ScenarioTimes {
  formationMs?: number;
  killRecoveryMs?: number;
  restartMergeMs?: number;
}

/** Asserts that the lines are identical across probes; throws a readable difference otherwise. */
export function expectSameLines(what: string, byProbe: readonly { label: string; lines: readonly string[] }[]): void {
  const first = byProbe[0]!;
  for (const p of byProbe.slice(1)) {
    const n = Math.max(first.lines.length, p.lines.length);
    for (let i = 0; i < n; i++) {
      if (first.lines[i] !== p.lines[i]) {
        throw new Error(
          `${what}: ${first.label} and ${p.label} differ at line ${i}:\n  ${first.label}: ${first.lines[i] ?? '(none)'}\n  ${p.label}: ${p.lines[i] ?? '(none)'}` +
            `\n${first.label} all:\n    ${first.lines.join('\n    ')}\n${p.label} all:\n    ${p.lines.join('\n    ')}`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios (each throws on failure)

export async function scenarioFormation(ring: Ring, times: ScenarioTimes): Promise<void> {
  const st = await ring.waitForRing(ring.nodes.length, 30_000);
  times.formationMs = Date.now() - ring.startedAt;
  if (new Set(st.map((s) => s.id)).size !== 1) throw new Error(`ring ids differ: ${JSON.stringify(st)}`);
}

/** One client per daemon joins G in turn; every client's REG_MEMB sequence is a suffix of one history. */
export async function scenarioJoin(ring: Ring): Promise<void> {
  const history: string[] = [];
  const starts: number[] = [];
  for (const n of ring.nodes) {
    const p = await ring.probe(n.index, `c${n.index}`);
    starts.push(history.length);
    await p.conn.join(GROUP);
    const k = ring.probes.length;
    await waitFor(
      () => ring.probes.every((q) => q.lastView()?.kind === 'membership' && (q.lastView() as { members: string[] }).members.length === k),
      15_000,
      () => `join of ${p.privateGroup}: ${ring.probes.map((q) => `${q.privateGroup}: ${q.memberships().join(' | ')}`).join('\n')}`,
    );
    history.push(p.memberships().at(-1)!);
  }
  for (let i = 0; i < ring.probes.length; i++) {
    const p = ring.probes[i]!;
    expectSameLines(`join views at ${p.privateGroup}`, [
      { label: 'expected', lines: history.slice(starts[i]!) },
      { label: p.privateGroup, lines: p.memberships() },
    ]);
  }
}

/**
 * Every client multicasts `perClient` messages at once — AGREED, every fourth SAFE, every
 * seventh 4000 bytes (three fragments) — and all see one order.
 */
export async function scenarioOrder(ring: Ring, perClient = 100): Promise<void> {
  const live = ring.probes.filter((p) => ring.nodes[p.node]!.alive);
  const base = live.map((p) => p.messages().length);
  await Promise.all(
    live.map(async (p) => {
      for (let k = 0; k < perClient; k++) {
        const text = `${p.privateGroup} #${k}`;
        const data = k % 7 === 6 ? Buffer.from(text.padEnd(4000, String.fromCharCode(97 + (k % 26)))) : text;
        await p.conn.multicast(GROUP, data, { service: k % 4 === 3 ? 'safe' : 'agreed' });
      }
    }),
  );
  const total = live.length * perClient;
  await waitFor(
    () => live.every((p, i) => p.messages().length - base[i]! >= total),
    20_000,
    () => `order: received ${live.map((p, i) => `${p.privateGroup} ${p.messages().length - base[i]!}/${total}`).join(', ')}`,
  );
  expectSameLines('agreed order', live.map((p, i) => ({ label: p.privateGroup, lines: p.messages().slice(base[i]!) })));
}

/** kill -9 of node `victim`; the survivors' clients see the same TRANSITION / REG_MEMB. */
export async function scenarioKill(ring: Ring, victim: number, times: ScenarioTimes): Promise<void> {
  const survivors = ring.probes.filter((p) => p.node !== victim);
  const base = survivors.map((p) => p.memberships().length);
  const t0 = Date.now();
  await ring.kill(victim);
  await ring.waitForRing(ring.nodes.length - 1, 30_000);
  times.killRecoveryMs = Date.now() - t0;
  const expected = ring.nodes.length - 1;
  await waitFor(
    () => survivors.every((p) => (p.lastView() as { members?: string[] } | undefined)?.members?.length === expected),
    15_000,
    () => `kill: views ${survivors.map((p) => `${p.privateGroup}: ${p.memberships().slice(-3).join(' | ')}`).join('\n')}`,
  );
  await sleep(200); // anything else that would follow
  const after = survivors.map((p, i) => ({ label: p.privateGroup, lines: p.memberships().slice(base[i]!) }));
  expectSameLines('kill', after);
  const lines = after[0]!.lines;
  if (!lines.some((l) => l.startsWith('REG_MEMB network'))) throw new Error(`kill: no CAUSED_BY_NETWORK view: ${lines.join(' | ')}`);
}

/** The killed daemon comes back; the ring of N forms again; a client there joins G. */
export async function scenarioRestart(ring: Ring, victim: number, times: ScenarioTimes): Promise<void> {
  const t0 = Date.now();
  await ring.restart(victim);
  await ring.waitForRing(ring.nodes.length, 40_000);
  times.restartMergeMs = Date.now() - t0;
  const survivors = ring.probes.filter((p) => p.node !== victim);
  const base = survivors.map((p) => p.memberships().length);
  const p = await ring.probe(victim, `r${victim}`);
  await p.conn.join(GROUP);
  const expected = survivors.length + 1;
  const all = [...survivors, p];
  const bases = [...base, 0];
  await waitFor(
    () => all.every((q) => (q.lastView() as { members?: string[] } | undefined)?.members?.length === expected),
    15_000,
    () => `restart join: ${all.map((q) => `${q.privateGroup}: ${q.memberships().slice(-3).join(' | ')}`).join('\n')}`,
  );
  await sleep(200);
  expectSameLines('restart', all.map((q, i) => ({ label: q.privateGroup, lines: q.memberships().slice(bases[i]!) })));
}

// ---------------------------------------------------------------------------------------------
// The reference's tools across a ring

export interface ToolRun {
  readonly code: number | null;
  readonly out: string;
  readonly timedOut: boolean;
}

/** Starts a program (output collected); `done` resolves on exit, or kills it by pid after `timeoutMs`. */
export function runTool(command: string, args: readonly string[], timeoutMs: number): { child: ChildProcess; output: () => string; done: Promise<ToolRun> } {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stdin?.on('error', () => {});
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }, timeoutMs);
  const done = new Promise<ToolRun>((res) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      res({ code: null, out: `${out}${err.message}`, timedOut });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ code, out, timedOut });
    });
  });
  return { child, output: () => out, done };
}

/**
 * The reference spflooder across the ring: a reader (`-ro`) at node `reader` joins `flooder`,
 * then a writer (`-wo`) at node `writer` multicasts `messages` RELIABLE messages of `bytes`
 * bytes; the reader must receive every one of them.
 *
 * The writer is write-only because spflooder's default mode joins `flooder` and exits with up
 * to 200 of its own messages unread in its socket: the kernel then answers the daemon with a
 * RST instead of a FIN, the daemon's next write to that client fails (EPIPE / ECONNRESET), and
 * the daemon (ours as the reference's) drops the session with the writer's last multicasts
 * still unread in its receive buffer: those were never accepted by the daemon, so EVS promises
 * nothing for them (the reference lost them too, 2 of 6 runs). A write-only writer leaves
 * nothing unread, closes with a FIN, and the daemon reads every message before the EOF.
 */
export async function scenarioFlooder(ring: Ring, spflooder: string, writer: number, reader: number, messages = 5000, bytes = 1000): Promise<void> {
  const r = runTool('stdbuf', ['-oL', spflooder, '-ro', '-m', String(messages), '-b', String(bytes), '-u', `rd${reader}`, '-s', ring.nodes[reader]!.spread], 90_000);
  try {
    await waitFor(() => r.output().includes('Only receiving messages'), 10_000, () => `flooder reader did not start: ${r.output()}`);
    await sleep(500); // the reader's JOIN is ordered before the first message
    const w = runTool('stdbuf', ['-oL', spflooder, '-wo', '-m', String(messages), '-b', String(bytes), '-u', `wr${writer}`, '-s', ring.nodes[writer]!.spread], 90_000);
    const [wr, rd] = await Promise.all([w.done, r.done]);
    const want = `completed multicast of ${messages} messages`;
    if (wr.code !== 0 || !wr.out.includes(want)) throw new Error(`flooder writer at ${ring.nodes[writer]!.name}: exit ${wr.code}${wr.timedOut ? ' (timed out)' : ''}\n${wr.out.slice(-2000)}\n${ring.logTails()}`);
    if (rd.code !== 0 || !rd.out.includes(want)) throw new Error(`flooder reader at ${ring.nodes[reader]!.name}: exit ${rd.code}${rd.timedOut ? ' (timed out)' : ''}\n${rd.out.slice(-2000)}\n${ring.logTails()}`);
  } finally {
    if (r.child.exitCode === null && r.child.pid !== undefined) {
      try {
        process.kill(r.child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/**
 * Runs the reference spmonitor on the ring's configuration as daemon `asNode`, waits for its
 * prompt, hands it to `body`, and always kills it and removes its files.
 */
async function withSpmonitor<T>(
  ring: Ring,
  spmonitor: string,
  asNode: string,
  extraArgs: readonly string[],
  timeoutMs: number,
  body: (m: ReturnType<typeof runTool>) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'spts-monitor-'));
  try {
    const conf = join(dir, 'spread.conf');
    writeFileSync(conf, ring.topology.confText);
    const port = await freePort();
    const m = runTool('stdbuf', ['-oL', spmonitor, '-c', conf, '-n', asNode, '-p', String(port), ...extraArgs], timeoutMs);
    try {
      await waitFor(() => m.output().includes('Monitor>'), 10_000, () => `spmonitor did not start: ${m.output().slice(-2000)}`);
      return await body(m);
    } finally {
      if (m.child.exitCode === null && m.child.pid !== undefined) {
        try {
          process.kill(m.child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The reference spmonitor asks node `target` for its status (menu 0, the daemon's name); the
 * report must show the version, OP / GOP and the ring of N with its leader.
 */
export async function scenarioMonitor(ring: Ring, spmonitor: string, target: number): Promise<string> {
  const name = ring.nodes[target]!.name;
  return withSpmonitor(ring, spmonitor, name, ['-t', '1'], 30_000, async (m) => {
    m.child.stdin?.write(`0\n${name}\n\n`);
    const n = ring.nodes.filter((x) => x.alive).length;
    const leader = ring.nodes.find((x) => x.alive)!.name;
    const status = `Status at ${name} V 4.04. 0 (state 1, gstate 1)`;
    const memb = `Membership  :  ${n}  procs in ${n} segments, leader is ${leader},`;
    await waitFor(
      () => m.output().includes(status) && m.output().includes(memb),
      10_000,
      () => `spmonitor: no "${status}" / "${memb}" report:\n${m.output().split('\n').filter((l) => !l.startsWith('|')).join('\n').slice(-3000)}`,
    );
    m.child.stdin?.write('9\n');
    await Promise.race([m.done, sleep(2000)]);
    const out = m.output();
    const i = out.lastIndexOf(status);
    return out.slice(i, out.indexOf('==========', i));
  });
}

// ---------------------------------------------------------------------------------------------
// Datagram loss (iptables, root only)

/** Whether datagram loss can be induced here (root with a working iptables). */
export function lossSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (iptables)' };
  try {
    execFileSync('iptables', ['-S', 'INPUT'], { stdio: 'pipe', timeout: 10_000 });
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `iptables unusable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}

/**
 * Drops a random `probability` of the UDP datagrams to node `i` (its data and token ports) while
 * `body` runs; the rule (marked with a comment) is always removed.
 */
export async function withLoss<T>(ring: Ring, i: number, probability: number, body: () => Promise<T>): Promise<T> {
  const n = ring.topology.nodes[i]!;
  const rule = [
    'INPUT', '-p', 'udp', '-d', n.address, '--dport', `${n.port}:${n.port + 1}`, '-m', 'statistic', '--mode', 'random',
    '--probability', String(probability), '-m', 'comment', '--comment', `spread-ts-rings-${process.pid}`, '-j', 'DROP',
  ];
  execFileSync('iptables', ['-A', ...rule], { stdio: 'pipe', timeout: 10_000 });
  try {
    return await body();
  } finally {
    execFileSync('iptables', ['-D', ...rule], { stdio: 'pipe', timeout: 10_000 });
  }
}

/** `scenarioOrder` while node `i` loses `probability` of its incoming datagrams: retransmissions across implementations. */
export async function scenarioLossyOrder(ring: Ring, i: number, probability = 0.05): Promise<void> {
  await withLoss(ring, i, probability, () => scenarioOrder(ring, 150));
}

// ---------------------------------------------------------------------------------------------
// Monitor partition (DangerousMonitor)

/** spread.conf lines for a ring whose monitor may partition it, with a short LookupTimeout so a healed partition merges in seconds. */
export const DANGEROUS_MONITOR_CONF = [
  'DangerousMonitor = true',
  'TokenTimeout = 1250', 'HurryTimeout = 500', 'AliveTimeout = 250', 'JoinTimeout = 250', 'RepTimeout = 625',
  'SegTimeout = 500', 'GatherTimeout = 1250', 'FormTimeout = 1250', 'LookupTimeout = 3000',
].join('\n');

/** Waits until the daemons of each group report one common ring of exactly that group's size. */
export async function waitForRings(ring: Ring, groups: readonly (readonly number[])[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    () =>
      groups.every((g) => {
        const st = g.map((i) => ring.status(i));
        return st.every((s) => s !== undefined && s.members === g.length) && new Set(st.map((s) => s!.id)).size === 1;
      }),
    timeoutMs,
    () => `rings ${JSON.stringify(groups)} not formed: ${ring.describeStatus()}`,
    50,
  );
}

/**
 * The reference spmonitor partitions the ring (DangerousMonitor): component 0 for every daemon
 * but `alone`, 1 for it. The two sides form their own rings; the clients of the larger side see
 * identical TRANSITION / CAUSED_BY_NETWORK views. Then the partition is cancelled and the ring
 * of all forms again (through the leader's lookup). Needs DANGEROUS_MONITOR_CONF in the ring's
 * configuration.
 */
export async function scenarioPartition(ring: Ring, spmonitor: string, alone: number): Promise<void> {
  await withSpmonitor(ring, spmonitor, ring.nodes[0]!.name, [], 60_000, async (m) => {
    const others = ring.nodes.filter((n) => n.index !== alone).map((n) => n.index);
    const side = ring.probes.filter((p) => p.node !== alone);
    const base = side.map((p) => p.memberships().length);
    const components = ring.nodes.map((n) => (n.index === alone ? '1' : '0')).join('\n');
    // The monitor reads its menu with select() on stdin but the partition with fgets(): a
    // command buffered together with the partition's numbers would never be seen.
    m.child.stdin?.write(`1\n${components}\n`);
    await waitFor(() => m.output().includes('Partition Map:'), 10_000, () => `spmonitor: no partition map:\n${m.output().slice(-1500)}`);
    await sleep(200);
    m.child.stdin?.write('2\n');
    await waitForRings(ring, [others, [alone]], 30_000);
    await waitFor(
      () => side.every((p) => (p.lastView() as { members?: string[] } | undefined)?.members?.length === side.length),
      15_000,
      () => `partition: views ${side.map((p) => `${p.privateGroup}: ${p.memberships().slice(-3).join(' | ')}`).join('\n')}`,
    );
    await sleep(200);
    expectSameLines('partition', side.map((p, i) => ({ label: p.privateGroup, lines: p.memberships().slice(base[i]!) })));
    m.child.stdin?.write('4\n');
    await waitForRings(ring, [ring.nodes.map((n) => n.index)], 40_000);
    m.child.stdin?.write('9\n');
    await Promise.race([m.done, sleep(2000)]);
  });
}

/** The reference spmonitor's "Terminate Spread Daemons" for node `victim`: the daemon exits (exit code 0). */
export async function scenarioTerminate(ring: Ring, spmonitor: string, victim: number): Promise<void> {
  await withSpmonitor(ring, spmonitor, ring.nodes[0]!.name, [], 30_000, async (m) => {
    const n = ring.nodes[victim]!;
    m.child.stdin?.write(`8\n${n.name}\n\n`);
    const info = await Promise.race([n.handle.exited, sleep(10_000).then(() => null)]);
    if (info === null) throw new Error(`terminate: ${n.name} (${n.impl}) still running:\n${ring.logTails(10)}`);
    n.alive = false;
    if (n.impl === 'ours' && info.code !== 0) throw new Error(`terminate: ${n.name} exited with ${JSON.stringify(info)}`);
    m.child.stdin?.write('9\n');
    await Promise.race([m.done, sleep(2000)]);
  });
}
