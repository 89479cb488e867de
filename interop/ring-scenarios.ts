/**
 * The scenarios every multi-daemon ring runs, whatever runs the daemons (loopback processes in
 * test/rings, containers in interop/docker): a `RingLike` gives the daemons, kill and restart
 * and the ring status; `Probe` is a TS client recording every event as a comparable line.
 *
 *   formation  every daemon reports the same ring of N (ring id included)
 *   join       one client per daemon joins G, one after the other; every client sees the same
 *              REG_MEMB sequence from its own join on (members, group id, vs_sets, cause)
 *   order      every client multicasts AGREED and SAFE messages at once; every client receives
 *              all of them in one identical order
 *   kill       kill -9 of one daemon; the others form a ring of N−1; every surviving client sees
 *              the same TRANSITION and REG_MEMB (CAUSED_BY_NETWORK, same vs_sets)
 *   restart    the killed daemon comes back (same name, address, configuration); the ring of N
 *              forms again; a client there joins G and every client sees the same REG_MEMB
 *
 * Every wait is bounded.
 */
import { connect, type SpreadConnection, type SpreadEvent } from '../src/client/index.js';
import type { Impl } from './launcher.js';
import type { RingStatus } from './topology-conf.js';

/** One daemon of a ring as the scenarios see it. */
export interface RingNodeLike {
  readonly index: number;
  readonly impl: Impl;
  readonly name: string;
  /** Where a client connects (`port@address`). */
  readonly spread: string;
  alive: boolean;
}

/** A ring of daemons the scenarios can drive. */
export interface RingLike {
  readonly nodes: readonly RingNodeLike[];
  readonly probes: Probe[];
  readonly startedAt: number;
  probe(i: number, name: string): Promise<Probe>;
  /** kill -9 of daemon i (marks it dead). */
  kill(i: number): Promise<void>;
  /** Daemon i again, same name, address and configuration (marks it alive). */
  restart(i: number): Promise<void>;
  /** Waits until every live daemon reports the same ring of `members`. */
  waitForRing(members: number, timeoutMs?: number): Promise<readonly RingStatus[]>;
}

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
    const conn = await connect({ spread, name, timeoutMs, signal: AbortSignal.timeout(timeoutMs), reconnect: false });
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


/** Opens a probe on daemon i of the ring and keeps it in `ring.probes`. */
export async function openProbe(ring: Pick<RingLike, 'nodes' | 'probes'>, i: number, name: string): Promise<Probe> {
  const p = await Probe.open(i, ring.nodes[i]!.spread, name);
  ring.probes.push(p);
  return p;
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

export async function scenarioFormation(ring: RingLike, times: ScenarioTimes): Promise<void> {
  const st = await ring.waitForRing(ring.nodes.length, 30_000);
  times.formationMs = Date.now() - ring.startedAt;
  if (new Set(st.map((s) => s.id)).size !== 1) throw new Error(`ring ids differ: ${JSON.stringify(st)}`);
}

/** One client per daemon joins G in turn; every client's REG_MEMB sequence is a suffix of one history. */
export async function scenarioJoin(ring: RingLike): Promise<void> {
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
export async function scenarioOrder(ring: RingLike, perClient = 100): Promise<void> {
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
export async function scenarioKill(ring: RingLike, victim: number, times: ScenarioTimes): Promise<void> {
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
export async function scenarioRestart(ring: RingLike, victim: number, times: ScenarioTimes): Promise<void> {
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
