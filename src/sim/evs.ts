/**
 * What the whole-daemon simulator checks (SPEC.md Part V §13 and Part IV, extended virtual
 * synchrony), on the daemons' logs and their membership state:
 *
 * - stableRings / settle: every live daemon is operational in a ring all of whose members
 *   agree on it;
 * - checkEvs: every daemon that installed a regular ring saw the same member list; daemons that
 *   go from the same old ring to the same new ring report the same transitional configuration
 *   (a subset of the new ring) and delivered exactly the same messages of the old ring, in the
 *   same order; any two daemons of one ring delivered their common messages in the same order.
 */
import { ipString } from '../wire/daemon/index.js';
import { idKey, type DaemonSim, type SimDaemon } from './daemons.js';

/** In its ring: OP, or a ring leader's lookup GATHER while its ring goes on. */
function operational(d: SimDaemon): boolean {
  const st = d.node.membership.status();
  return st.state === 1 || (st.state === 4 && st.tokenAlive);
}

/** The regular rings currently installed at the live daemons: ring key → member IPs. */
export function currentRings(sim: DaemonSim): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of sim.daemons) {
    if (!d.alive || !operational(d)) continue;
    const st = d.node.membership.status();
    const key = idKey(st.ringId);
    const members = st.members.map(ipString);
    const seen = out.get(key);
    if (seen !== undefined && seen.join() !== members.join()) throw new Error(`ring ${key}: members differ (${seen} vs ${members})`);
    out.set(key, members);
  }
  return out;
}

/** Live daemons grouped by ring, when every one is operational in a ring all of whose members agree. */
export function stableRings(sim: DaemonSim): string[][] | null {
  const rings = currentRings(sim);
  const live = sim.daemons.filter((d) => d.alive);
  if (live.some((d) => !operational(d))) return null;
  for (const [key, members] of rings) {
    for (const ip of members) {
      const d = sim.daemon(ip);
      if (!d.alive || idKey(d.node.membership.status().ringId) !== key) return null;
    }
  }
  return [...rings.values()].sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Runs until every live daemon is operational in an agreed ring (or `until`); returns the rings. */
export function settle(sim: DaemonSim, until: number, step = 50): string[][] | null {
  for (;;) {
    const r = stableRings(sim);
    if (r !== null || sim.now >= until) return r;
    sim.run(Math.min(until, sim.now + step));
  }
}

/** Runs until the `n` daemons are in one ring (returns null) or `until` (returns the rings then). */
export function oneRing(sim: DaemonSim, n: number, until: number): string[][] | null {
  for (;;) {
    const rings = settle(sim, until);
    if (rings !== null && rings.length === 1 && rings[0]!.length === n) return null;
    if (sim.now >= until) return rings ?? [];
    sim.run(Math.min(until, sim.now + 50));
  }
}

interface Span {
  daemon: string;
  old: string;
  next: string;
  trans: string;
  /**
   * Messages delivered in ring order (FIFO and stronger, and (UN)RELIABLE ones too long for one
   * packet), in order. Single-packet (UN)RELIABLE ones are left out (mayOvertake): delivered on
   * arrival (the fast path, SPEC Part V §11), one can reach a daemon before a hole no survivor
   * fills while its mate discards it after the transitional configuration (its sender not in
   * the commit set) — the reference's semantics too.
   */
  msgs: string[];
}

/** Extended virtual synchrony on the logs; returns the violations (empty = fine). */
export function checkEvs(sim: DaemonSim): string[] {
  const problems: string[] = [];
  const ringMembers = new Map<string, string>();
  const spans = spansOf(sim, ringMembers, problems);
  const groups = new Map<string, Span[]>();
  for (const s of spans) {
    if (s.old === '') continue;
    const k = `${s.old} -> ${s.next}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const [k, g] of groups) {
    const first = g[0]!;
    for (const s of g.slice(1)) {
      if (s.trans !== first.trans) problems.push(`${k}: ${first.daemon} has transitional ${first.trans}, ${s.daemon} has ${s.trans}`);
      else if (s.msgs.join('|') !== first.msgs.join('|')) {
        problems.push(`${k}: ${first.daemon} delivered ${first.msgs.length} messages, ${s.daemon} ${s.msgs.length} (or another order)`);
      }
    }
    const members = new Set(first.trans.replace(/^.*\[|\]$/g, '').split(','));
    const next = new Set((ringMembers.get(first.next) ?? '').split(','));
    for (const ip of members) if (!next.has(ip)) problems.push(`${k}: transitional member ${ip} is not in the new ring`);
  }
  sameRelativeOrder(spans, problems);
  return problems;
}

/** Each daemon's log cut at its regular configurations: what it delivered in each ring it left. */
function spansOf(sim: DaemonSim, ringMembers: Map<string, string>, problems: string[]): Span[] {
  const spans: Span[] = [];
  for (const d of sim.daemons) {
    let msgs: string[] = [];
    let trans = '';
    for (const e of d.log) {
      if (e.kind === 'deliver') {
        if (e.ordered) msgs.push(e.text);
      }
      else if (e.kind === 'transitional') trans = `${e.id} [${e.members.map(ipString)}]`;
      else {
        const members = e.members.map(ipString).join();
        const seen = ringMembers.get(e.id);
        if (seen !== undefined && seen !== members) problems.push(`ring ${e.id}: members ${seen} at one daemon, ${members} at ${d.ip}`);
        ringMembers.set(e.id, members);
        if (trans === '') problems.push(`${d.ip}: regular ${e.id} without a transitional configuration`);
        spans.push({ daemon: d.ip, old: e.ring, next: e.id, trans, msgs });
        msgs = [];
        trans = '';
      }
    }
  }
  return spans;
}

/**
 * Any two daemons of one old ring delivered the messages they both delivered in the same order
 * (texts that are not unique in a span — a client's JOIN and LEAVE frames carry no data — are
 * left out: they cannot be matched across daemons).
 */
function sameRelativeOrder(spans: readonly Span[], problems: string[]): void {
  const byOld = new Map<string, Span[]>();
  for (const s of spans) if (s.old !== '') byOld.set(s.old, [...(byOld.get(s.old) ?? []), s]);
  for (const [old, g] of byOld) {
    const uniq = g.map((s) => unique(s.msgs));
    for (let i = 0; i < g.length; i++) {
      for (let j = i + 1; j < g.length; j++) {
        const ca = g[i]!.msgs.filter((x) => uniq[i]!.has(x) && uniq[j]!.has(x));
        const cb = g[j]!.msgs.filter((x) => uniq[i]!.has(x) && uniq[j]!.has(x));
        if (ca.join('|') !== cb.join('|')) problems.push(`ring ${old}: ${g[i]!.daemon} and ${g[j]!.daemon} delivered common messages in different orders`);
      }
    }
  }
}

function unique(msgs: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const m of msgs) (seen.has(m) ? twice : seen).add(m);
  for (const m of twice) seen.delete(m);
  return seen;
}
