/**
 * Network namespaces on a private bridge, for multi-daemon tests on one host.
 *
 *   namespace <tag>-br   bridge br0, one veth end v<i> per node (the bridge lives in its own
 *                        namespace: nothing is created or changed on the host's interfaces)
 *   namespace <tag>-<i>  the veth's other end eth0 with <subnet>.(i+1)/24, broadcast
 *                        <subnet>.255; lo up
 *
 * The subnet (a 10.213.x.0/24) exists only inside these namespaces, so no packet leaves the
 * machine. `destroy()` deletes every namespace this module created (which deletes the veth
 * pairs and the bridge with them); it is also run from a process 'exit' hook as a last resort.
 *
 * Processes run in a node's namespace with `ip netns exec NS …`. That gives a private mount
 * namespace (mounts do not propagate back) and a fresh /sys, but the host's /tmp: daemons that
 * share a port also need a private /tmp for their unix socket /tmp/<port>, see
 * `privateTmpWrap`.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NetnsNode {
  readonly index: number;
  readonly namespace: string;
  readonly address: string;
}

export interface NetnsBridge {
  /** Prefix of every name: `spts-<random>`. */
  readonly tag: string;
  /** First three octets of the /24, e.g. `10.213.42`. */
  readonly subnet: string;
  readonly bridgeNamespace: string;
  readonly nodes: readonly NetnsNode[];
  /** Deletes every namespace created. Idempotent; never rejects; returns what failed. */
  destroy(): Promise<string[]>;
}

const IP_TIMEOUT_MS = 10_000;

function run(cmd: string, args: readonly string[], timeoutMs = IP_TIMEOUT_MS): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
      res({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

async function ip(args: readonly string[]): Promise<void> {
  const r = await run('ip', args);
  if (r.code !== 0) throw new Error(`netns: ip ${args.join(' ')} failed (${r.code}): ${r.out}`);
}

// Namespaces not yet destroyed, for the exit hook.
const live = new Set<string>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const ns of live) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
      } catch {
        /* best effort */
      }
    }
    live.clear();
  });
}

/** A random tag `spts-<8 hex>` for namespace names. */
export function randomTag(): string {
  return `spts-${randomBytes(4).toString('hex')}`;
}

export type NetnsSupport = { ok: true } | { ok: false; reason: string };

let support: Promise<NetnsSupport> | undefined;

/**
 * Whether this process can build namespace topologies: Linux, root, `ip` present, and a probe
 * (namespace, bridge, veth pair, tmpfs on /tmp inside) works. Cached.
 */
export function netnsSupport(): Promise<NetnsSupport> {
  support ??= (async (): Promise<NetnsSupport> => {
    if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
    if (process.getuid?.() !== 0) return { ok: false, reason: 'not root' };
    const v = await run('ip', ['-V']);
    if (v.code !== 0) return { ok: false, reason: `ip (iproute2) not usable: ${v.out || 'not found'}` };
    const ns = `${randomTag()}-probe`;
    const add = await run('ip', ['netns', 'add', ns]);
    if (add.code !== 0) return { ok: false, reason: `ip netns add failed: ${add.out}` };
    live.add(ns);
    installExitHook();
    try {
      const steps: [string, string[]][] = [
        ['ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']],
        ['ip', ['-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb']],
        ['ip', ['netns', 'exec', ns, 'sh', '-c', 'mount -t tmpfs -o mode=1777 spts-probe /tmp']],
      ];
      for (const [cmd, args] of steps) {
        const r = await run(cmd, args);
        if (r.code !== 0) return { ok: false, reason: `${cmd} ${args.join(' ')} failed: ${r.out}` };
      }
      return { ok: true };
    } finally {
      await run('ip', ['netns', 'del', ns]);
      live.delete(ns);
    }
  })();
  return support;
}

export interface CreateBridgeOptions {
  readonly nodes: number;
  /** Default `spts-<random>`. */
  readonly tag?: string;
  /** Default 10.213.<random 1..254>. */
  readonly subnet?: string;
}

/** Builds the namespaces, bridge and veth pairs. On failure, removes what it made and rejects. */
export async function createBridge(opts: CreateBridgeOptions): Promise<NetnsBridge> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 253) throw new RangeError(`netns: 1..253 nodes, got ${opts.nodes}`);
  const tag = opts.tag ?? randomTag();
  const subnet = opts.subnet ?? `10.213.${1 + (randomBytes(1)[0]! % 254)}`;
  const br = `${tag}-br`;
  const created: string[] = [];
  installExitHook();

  let destroyed: Promise<string[]> | undefined;
  const destroy = (): Promise<string[]> => {
    destroyed ??= (async () => {
      const problems: string[] = [];
      // Nodes first, then the bridge (deleting it removes the veth ends left there).
      for (const ns of [...created].reverse()) {
        const r = await run('ip', ['netns', 'del', ns]);
        if (r.code !== 0 && !/No such file|not found|Invalid argument/i.test(r.out)) problems.push(`ip netns del ${ns}: ${r.out}`);
        live.delete(ns);
      }
      return problems;
    })();
    return destroyed;
  };

  const addNs = async (ns: string): Promise<void> => {
    await ip(['netns', 'add', ns]);
    created.push(ns);
    live.add(ns);
  };

  const nodes: NetnsNode[] = [];
  try {
    await addNs(br);
    await ip(['-n', br, 'link', 'set', 'lo', 'up']);
    await ip(['-n', br, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', br, 'link', 'set', 'br0', 'up']);
    for (let i = 0; i < opts.nodes; i++) {
      const ns = `${tag}-${i}`;
      const address = `${subnet}.${i + 1}`;
      await addNs(ns);
      await ip(['-n', br, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await ip(['-n', br, 'link', 'set', `v${i}`, 'master', 'br0']);
      await ip(['-n', br, 'link', 'set', `v${i}`, 'up']);
      await ip(['-n', ns, 'addr', 'add', `${address}/24`, 'brd', '+', 'dev', 'eth0']);
      await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      nodes.push({ index: i, namespace: ns, address });
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { tag, subnet, bridgeNamespace: br, nodes, destroy };
}

/** `ip netns exec NS` — prefix for a command in the namespace (host /tmp). */
export function netnsExecPrefix(namespace: string): string[] {
  return ['ip', 'netns', 'exec', namespace];
}

/**
 * Prefix for a daemon in the namespace with its own empty /tmp (a tmpfs mounted in the mount
 * namespace `ip netns exec` creates; nothing propagates to the host). Every step execs the
 * next, so the spawned pid is the daemon's.
 */
export function privateTmpWrap(namespace: string): string[] {
  return [...netnsExecPrefix(namespace), 'sh', '-c', privateTmpScript(keptUnderTmp()), 'sh'];
}

/**
 * The shell step that gives a process an empty /tmp. Paths under /tmp that it still needs (the
 * project itself, when it was cloned there) are bound back from the host's /tmp, which is kept
 * reachable at /mnt inside this private mount namespace first.
 */
export function privateTmpScript(keep: readonly string[]): string {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const binds = keep.map((p) => `mkdir -p ${quote(p)} && mount --bind ${quote(`/mnt${p.slice('/tmp'.length)}`)} ${quote(p)}`);
  const steps = keep.length > 0 ? ['mount --bind /tmp /mnt', 'mount -t tmpfs -o mode=1777 spts-tmp /tmp', ...binds] : ['mount -t tmpfs -o mode=1777 spts-tmp /tmp'];
  return `${steps.join(' && ')} && exec "$@"`;
}

/** The project root (the folder with package.json above this module), if it lies under /tmp. */
function keptUnderTmp(): string[] {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  const root = realpathSync(dir);
  return root === '/tmp' || root.startsWith('/tmp/') ? [root] : [];
}

/**
 * Prefix for a command that joins a running process's network AND mount namespaces (so it
 * sees that daemon's private /tmp and its unix socket), e.g. a client using `/tmp/<port>`.
 * Entering a mount namespace resets the working directory: `cwd` sets it again.
 */
export function joinProcessPrefix(pid: number, cwd: string): string[] {
  return ['nsenter', `--target=${pid}`, '--net', '--mount', `--wd=${cwd}`, '--'];
}
