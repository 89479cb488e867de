/**
 * Multi-daemon ring tests: a ring of daemons (ours and/or the reference) on loopback segments,
 * clients on every daemon (the TS client library). The scenarios every arrangement runs
 * (formation, join, order, kill, restart) live in interop/ring-scenarios.ts; here are the
 * loopback `Ring`, the reference's tools across it (spflooder, spmonitor), datagram loss and
 * the monitor partition.
 *
 * Every wait is bounded; every daemon and client started here is stopped.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../interop/launcher.js';
import type { Ring } from '../../interop/loopback-ring.js';
import { expectSameLines, scenarioOrder, sleep, waitFor } from '../../interop/ring-scenarios.js';

export { Ring, type RingNode } from '../../interop/loopback-ring.js';
export {
  eventLine, expectSameLines, GROUP, Probe, scenarioFormation, scenarioJoin, scenarioKill, scenarioOrder, scenarioRestart, sleep, waitFor,
  type ScenarioTimes,
} from '../../interop/ring-scenarios.js';



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
