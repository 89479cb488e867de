/**
 * Real-process chaos (interop/chaos/README.md, SPEC.md Part V §13.4): `npm run chaos -- [--runs
 * N] [--seed S] [--mixed]` starts three daemons in network namespaces on a private bridge
 * (interop/topology.ts), a client process on every daemon (client.ts), and plays a seeded
 * schedule of faults: kill -9 and restart, SIGSTOP / SIGCONT, random UDP loss in a namespace
 * (iptables statistic), a link cut at the bridge and its repair. Then everything heals, the
 * ring of three must form again, every surviving client sends five SAFE messages, and the
 * clients' records must show: no duplicate, one order of common messages, FIFO per sender,
 * self-delivery, one member list per group view, final views of every surviving client.
 * Needs root, iproute2 and iptables; `--mixed` needs SPREAD_REF. Exit 0 green, 1 a run failed.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startDaemon, type Impl } from '../launcher.js';
import { privateTmpWrap } from '../netns-bridge.js';
import { sleep } from '../ring-scenarios.js';
import { netnsSupport, startTopology, tsxLoader, type Topology } from '../topology.js';
import { Prng } from '../../src/sim/prng.js';
import { checkChaos, type ChaosClient } from './check.js';

class ChaosRun {
  readonly clients: ChaosClient[] = [];
  private readonly procs = new Map<ChaosClient, ChildProcess>();
  readonly log: string[] = [];
  private names = 0;
  constructor(readonly t: Topology, readonly r: Prng) {}

  client(i: number): void {
    const name = `k${++this.names}`;
    const p = this.t.spawn(i, process.execPath, ['--import', tsxLoader(), 'interop/chaos/client.ts', this.t.nodes[i]!.spreadTcp, name]);
    const c: ChaosClient = { node: i, name, me: '', events: [], ended: false };
    createInterface({ input: p.stdout! }).on('line', (l) => {
      try {
        const ev = JSON.parse(l) as ChaosClient['events'][number];
        if (ev.e === 'ready') c.me = ev.me;
        if (ev.e === 'end') c.ended = true;
        c.events.push(ev);
      } catch {
        /* not ours */
      }
    });
    p.on('exit', () => void (c.ended = true));
    this.clients.push(c);
    this.procs.set(c, p);
  }

  ns(i: number, ...cmd: string[]): void {
    execFileSync('ip', ['netns', 'exec', this.t.nodes[i]!.namespace!, ...cmd], { stdio: 'pipe', timeout: 10_000 });
  }

  link(i: number, up: boolean): void {
    execFileSync('ip', ['-n', `${this.t.tag}-br`, 'link', 'set', `v${i}`, up ? 'up' : 'down'], { stdio: 'pipe', timeout: 10_000 });
  }

  signal(i: number, sig: NodeJS.Signals): void {
    try {
      process.kill(this.t.nodes[i]!.daemon.pid, sig);
    } catch {
      /* gone */
    }
  }

  final(): void {
    for (const [c, p] of this.procs) if (!c.ended) p.stdin?.write('final\n');
  }

  endClients(): void {
    for (const [c, p] of this.procs) if (!c.ended) p.stdin?.end();
  }
}

/** One seeded fault for 1.5–4 s, healed after. */
async function fault(run: ChaosRun, dead: Set<number>, restart: (i: number) => Promise<void>): Promise<void> {
  const r = run.r;
  const i = r.int(0, run.t.nodes.length - 1);
  const x = r.int(0, 3);
  const hold = 1500 + r.int(0, 2500);
  if (x === 0 && !dead.has(i)) {
    run.log.push(`kill -9 n${i}`);
    run.signal(i, 'SIGKILL');
    dead.add(i);
    await sleep(hold);
    run.log.push(`restart n${i}`);
    await restart(i);
    dead.delete(i);
  } else if (x === 1 && !dead.has(i)) {
    const ms = r.pick([300, 1000, 3000]);
    run.log.push(`SIGSTOP n${i} ${ms} ms`);
    run.signal(i, 'SIGSTOP');
    await sleep(ms);
    run.signal(i, 'SIGCONT');
  } else if (x === 2) {
    const p = r.pick([0.02, 0.05, 0.1]);
    const rule = ['INPUT', '-p', 'udp', '-m', 'statistic', '--mode', 'random', '--probability', String(p), '-j', 'DROP'];
    run.log.push(`loss ${p} at n${i} for ${hold} ms`);
    run.ns(i, 'iptables', '-A', ...rule);
    await sleep(hold);
    run.ns(i, 'iptables', '-D', ...rule);
  } else {
    run.log.push(`link n${i} cut for ${hold} ms`);
    run.link(i, false);
    await sleep(hold);
    run.link(i, true);
  }
  await sleep(500 + r.int(0, 1500));
}

export async function chaosRun(seed: number, impls: readonly Impl[]): Promise<{ ok: boolean; report: string }> {
  const t = await startTopology({ kind: 'netns', nodes: impls, readyTimeoutMs: 20_000 });
  const run = new ChaosRun(t, new Prng(seed));
  const nodes = t.nodes.map((n) => n.daemon);
  // Restarted daemons get a private /tmp too: their configuration lives outside it.
  const workDir = mkdtempSync('/var/tmp/spts-chaos-');
  chmodSync(workDir, 0o755);
  try {
    await t.waitForRing(impls.length, { timeoutMs: 30_000 });
    t.nodes.forEach((_, i) => run.client(i));
    await sleep(1500);
    const dead = new Set<number>();
    const restart = async (i: number): Promise<void> => {
      const n = t.nodes[i]!;
      await nodes[i]!.stop();
      nodes[i] = await startDaemon({ impl: n.impl, name: n.name, port: n.port, configText: t.confText, host: n.address, readyTimeoutMs: 20_000,
        wrap: privateTmpWrap(n.namespace!), workDir, privateTmp: true });
      (n as { daemon: unknown }).daemon = nodes[i];
      await sleep(300);
      run.client(i);
    };
    for (let k = run.r.int(3, 6); k > 0; k--) await fault(run, dead, restart);
    await t.waitForRing(impls.length, { timeoutMs: 60_000 });
    await sleep(2000);
    run.final();
    await sleep(4000);
    run.endClients();
    await sleep(1000);
    const problems = checkChaos(run.clients);
    const msgs = run.clients.reduce((n, c) => n + c.events.filter((e) => e.e === 'msg').length, 0);
    return { ok: problems.length === 0, report: `seed ${seed} [${impls.join(',')}] ${run.clients.length} clients, ${msgs} deliveries: ${run.log.join('; ')}\n${problems.slice(0, 20).map((p) => `  ${p}`).join('\n')}` };
  } catch (e) {
    return { ok: false, report: `seed ${seed} [${impls.join(',')}]: ${run.log.join('; ')}\n  ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    run.endClients();
    await Promise.allSettled(nodes.map((d) => d.stop()));
    await t.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const arg = (n: string): string | undefined => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : undefined);
  const runs = Number(arg('--runs') ?? 5);
  const seed = Number(arg('--seed') ?? 1);
  const mixed = argv.includes('--mixed');
  const support = await netnsSupport();
  if (!support.ok) {
    console.log(`SKIP: chaos: ${support.reason}`);
    return 0;
  }
  if (mixed && process.env['SPREAD_REF'] === undefined) {
    console.log('SKIP: chaos --mixed: SPREAD_REF not set');
    return 0;
  }
  let failed = 0;
  for (let s = seed; s < seed + runs; s++) {
    const impls: Impl[] = mixed ? [s % 2 === 0 ? 'ours' : 'reference', s % 2 === 0 ? 'reference' : 'ours', 'ours'] : ['ours', 'ours', 'ours'];
    const t0 = Date.now();
    const res = await chaosRun(s, impls);
    if (!res.ok) failed++;
    console.log(`${res.ok ? 'ok' : 'FAILED'} (${((Date.now() - t0) / 1000).toFixed(0)} s) ${res.report}`);
  }
  console.log(`chaos: ${runs - failed}/${runs} runs green (seeds ${seed}..${seed + runs - 1}${mixed ? ', mixed' : ''})`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2)).then((c) => (process.exitCode = c));
