/**
 * A running loopback ring grown by one daemon and shrunk back by configuration reload (SPEC.md
 * Part IX §6; interop/README.md, "reload"): every daemon's spread.conf is rewritten, the new
 * daemon starts on the new file, and a monitor's RELOAD (our spmonitor's `reload`, or the
 * reference spmonitor's menu `r`) makes the running daemons take it without restarting; the
 * daemon the smaller file leaves out exits with the reference's message.
 *
 * Only processes started here are signalled, by pid; every wait is bounded.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot, startDaemon, type Impl } from './launcher.js';
import type { Ring, RingNode } from './loopback-ring.js';
import { GROUP, scenarioOrder, waitFor, type Probe, type RingLike, type RingNodeLike } from './ring-scenarios.js';
import { exit, runSession, start, waitFor as waitForText, write, type Step } from './session.js';
import { loopbackAddress, loopbackConf, type ConfNode } from './topology-conf.js';

/** Sends RELOAD to every daemon of `confText`; resolves with the monitor's output. */
export type ReloadSender = (confText: string) => Promise<string>;

/** The message a daemon left out of the reloaded file exits with (its `-n` name not found: the reference's loader). */
export const removedMessage = (name: string): string => `Conf_load_conf_file: My proc ${name} is not in configuration`;

/**
 * Runs a monitor on a temporary copy of `confText` until its RELOAD has left: `sent` on its
 * stdout (then it is killed, by pid) or, without `sent`, its exit with code 0. Fails after
 * `timeoutMs`.
 */
async function runMonitor(confText: string, argv: (conf: string, port: number) => string[], input: string, sent?: string, timeoutMs = 15_000): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'spts-reload-'));
  try {
    const conf = join(dir, 'spread.conf');
    writeFileSync(conf, confText);
    const [command, ...args] = argv(conf, await freePort());
    const steps: Step[] = [start('m')];
    if (input !== '') steps.push(write('m', input));
    steps.push(sent !== undefined ? waitForText('m', sent, 1, timeoutMs) : exit('m', timeoutMs));
    // exitTimeoutMs 0: a monitor still running once its RELOAD has left is killed at once.
    const res = await runSession([{ id: 'm', command: command!, args }], steps, { exitTimeoutMs: 0, totalTimeoutMs: timeoutMs + 5000 });
    const r = res.clients['m']!;
    const out = r.stdout + r.stderr;
    if (sent !== undefined ? !r.stdout.includes(sent) : r.code !== 0) throw new Error(`monitor failed (exit ${r.code}): ${out.slice(-1500)}`);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our spmonitor, non-interactive: `spmonitor -c FILE -n AS -p PORT reload`; it exits once its datagrams have left. */
export function ourReloadSender(as: string): ReloadSender {
  const bin = join(repoRoot(), 'bin', 'spmonitor.js');
  return (confText) => runMonitor(confText, (conf, port) => [process.execPath, bin, '-c', conf, '-n', as, '-p', String(port), 'reload'], '');
}

/**
 * The reference spmonitor's menu: `r` (Reload Configuration File). It prints "send conf reload
 * command" before sending, "… reset by configuration reload!" after.
 */
export function referenceReloadSender(spmonitor: string, as: string): ReloadSender {
  return (confText) => runMonitor(confText, (conf, port) => ['stdbuf', '-oL', spmonitor, '-c', conf, '-n', as, '-p', String(port)], 'r\n', 'reset by configuration reload');
}

/** The ring's configuration for the nodes given, then `extra` (loopback topology, default settings). */
export function ringConf(nodes: readonly RingNode[], extra: readonly ConfNode[] = []): string {
  const conf = nodes.map((n) => ({ name: n.name, address: loopbackAddress(n.index), port: Number(n.spread.split('@')[0]) }));
  return loopbackConf([...conf, ...extra]);
}

/** Writes `text` as every one of `nodes`' spread.conf. */
export function writeAll(nodes: readonly RingNode[], text: string): void {
  for (const n of nodes) writeFileSync(n.handle.confPath, text, { mode: 0o644 });
}

/**
 * One more daemon (`impl`) in the ring: the larger file for everyone, the new daemon started on
 * it, RELOAD to every daemon; resolves with the new node once the ring has them all.
 */
export async function growRing(ring: Ring, impl: Impl, send: ReloadSender): Promise<RingNode> {
  const live = ring.nodes.filter((n) => n.alive);
  const index = ring.nodes.length;
  const name = `n${index}`;
  const port = await freePort();
  const address = loopbackAddress(index);
  const text = ringConf(live, [{ name, address, port }]);
  writeAll(live, text);
  const handle = await startDaemon({ impl, name, port, configText: text, host: address, readyTimeoutMs: 20_000 });
  const node = ring.adopt(impl, name, handle, `${port}@${address}`);
  await send(text);
  await ring.waitForRing(live.length + 1, 40_000);
  return node;
}

/**
 * Node `victim` leaves: the file without it for everyone (it too), RELOAD to every daemon of
 * the current file; it exits with the reference's message, the others form a ring without it.
 */
export async function shrinkRing(ring: Ring, victim: number, send: ReloadSender): Promise<string> {
  const live = ring.nodes.filter((n) => n.alive);
  const gone = ring.nodes[victim]!;
  const before = ringConf(live);
  writeAll(live, ringConf(live.filter((n) => n !== gone)));
  gone.alive = false;
  await send(before);
  const exit = await Promise.race([gone.handle.exited, new Promise<null>((res) => setTimeout(() => res(null), 20_000))]);
  if (exit === null) throw new Error(`${gone.name} did not exit after the reload: ${gone.handle.log().slice(-2000)}`);
  if (!gone.handle.log().includes(removedMessage(gone.name))) throw new Error(`${gone.name} exited without "${removedMessage(gone.name)}": ${gone.handle.log().slice(-2000)}`);
  await ring.waitForRing(live.length - 1, 40_000);
  return `${gone.name} exited (code ${exit.code}, signal ${exit.signal})`;
}

const viewSize = (p: Probe): number => (p.lastView() as { members?: string[] } | undefined)?.members?.length ?? 0;

export interface ReloadTimes {
  /** From writing the larger file until every daemon reports the ring with the new one. */
  growMs?: number;
  /** From the RELOAD of the smaller file until the others report the ring without it. */
  shrinkMs?: number;
}

/** How a backend grows its ring by one daemon and shrinks it again (both end with the ring re-formed). */
export interface RingGrowth {
  grow(): Promise<RingNodeLike>;
  shrink(victim: number): Promise<unknown>;
}

/** growRing / shrinkRing on a loopback ring. */
export function loopbackGrowth(ring: Ring, impl: Impl, send: ReloadSender): RingGrowth {
  return { grow: () => growRing(ring, impl, send), shrink: (v) => shrinkRing(ring, v, send) };
}

/**
 * The reload scenario on a ring whose clients are in GROUP (one per daemon; scenarioJoin):
 * a daemon joins by reload, its client joins the group and its message reaches every other
 * client, whose sessions and group membership were kept (no reconnection: a lost session fails
 * its probe); then the daemon leaves by reload and one agreed order runs on the ring left.
 */
export async function scenarioReload(ring: RingLike, growth: RingGrowth, times: ReloadTimes = {}): Promise<void> {
  const old = ring.probes.filter((p) => ring.nodes[p.node]!.alive);
  const n = old.length;
  const t0 = Date.now();
  const node = await growth.grow();
  times.growMs = Date.now() - t0;
  const fresh = await ring.probe(node.index, `c${node.index}`);
  await fresh.conn.join(GROUP);
  const all = [...old, fresh];
  await waitFor(() => all.every((p) => viewSize(p) === n + 1), 15_000, () => `join at ${node.name}: ${all.map((p) => `${p.privateGroup}: ${p.memberships().slice(-2).join(' | ')}`).join('\n')}`);
  await fresh.conn.multicast(GROUP, `hello from ${node.name}`, { service: 'agreed' });
  await waitFor(() => old.every((p) => p.messages().some((l) => l.endsWith(`hello from ${node.name}`))), 15_000, () => `message from ${node.name}: ${old.map((p) => `${p.privateGroup}: ${p.messages().length}`).join(', ')}`);
  for (const p of old) if (p.error !== null) throw new Error(`${p.privateGroup} lost its session: ${String(p.error)}`);
  ring.probes.splice(ring.probes.indexOf(fresh), 1);
  const t1 = Date.now();
  await growth.shrink(node.index);
  times.shrinkMs = Date.now() - t1;
  await fresh.close();
  await waitFor(() => old.every((p) => viewSize(p) === n), 15_000, () => `leave of ${node.name}: ${old.map((p) => `${p.privateGroup}: ${p.memberships().slice(-2).join(' | ')}`).join('\n')}`);
  await scenarioOrder(ring, 20);
  for (const p of old) if (p.error !== null) throw new Error(`${p.privateGroup} lost its session: ${String(p.error)}`);
}
