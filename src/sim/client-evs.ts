/**
 * Extended virtual synchrony at the clients (SPEC.md Part V §13.2; the EVS specification of
 * Moser, Amir, Melliar-Smith and Agarwal as Spread presents it to clients): what every client
 * of a fault-sweep run received, checked against what every client sent and asked for.
 *
 *   views       every client that installs a group view (group id) sees the same members and
 *               vs_sets, and is itself a member; no message of a group reaches a non-member
 *   together    clients that go from one view to the same next view delivered the same
 *               FIFO-or-stronger messages in the first (transitional part included), in the
 *               same order
 *   vs_sets     clients in one vs_set of a network-caused view came from the same view
 *   order       any two clients deliver their common ring-ordered messages (FIFO or stronger,
 *               and (UN)RELIABLE ones too long for one packet: mayOvertake) in one order, and
 *               those of one sender in sending order; no message arrives twice
 *   self        a client connected to the end receives every non-UNRELIABLE message it sent
 *               to a group it was in
 *   safe        a SAFE message delivered in a regular view (before its TRANSITION) reaches every
 *               member of that view that stayed connected to the end
 *   final       once healed, every connected client's last view of each of its groups lists
 *               exactly the connected clients that joined it and did not leave
 */
import { decodeMembershipBody, ServiceType as T } from '../wire/client/index.js';
import { messageLength, type WireMessage } from '../wire/client/message.js';
import type { SimClient } from './client.js';
import { mayOvertake } from './scenario.js';

export interface SentMessage {
  readonly text: string;
  readonly service: number;
  readonly group: string;
  /**
   * Whether the sender was in `group` when it sent: it asked to join and not to leave, and its
   * join took effect (its last notice for the group is a view; a message sent before that may
   * overtake the join — a RELIABLE one on the fast path — and need not come back).
   */
  readonly member: boolean;
}

export interface ClientRecord {
  readonly client: SimClient;
  readonly sent: SentMessage[];
  /** Groups it is in (ground truth: joined and not left since). */
  readonly joined: Set<string>;
}

interface View {
  readonly group: string;
  readonly id: string;
  readonly prev: string | null;
  readonly members: readonly string[];
  readonly vsSets: readonly (readonly string[])[];
  readonly myVsSet: number;
  readonly network: boolean;
  transitional: boolean;
  /** Ring-ordered messages delivered in it, in order. */
  readonly msgs: string[];
}

interface Delivery {
  readonly text: string;
  readonly service: number;
  /** Delivered in ring order (not mayOvertake). */
  readonly ordered: boolean;
  readonly sender: string;
  /** The view of its group it was delivered in (null: the client was not a member). */
  readonly view: View | null;
  /** Delivered before its view's TRANSITION. */
  readonly regular: boolean;
}

interface Stream {
  readonly name: string;
  readonly views: View[];
  readonly deliveries: Delivery[];
  readonly last: Map<string, View | null>;
}

const SERVICE_MASK = 0x3f;
const UTF8 = new TextDecoder();

/** A client's frames as views and deliveries. */
function streamOf(rec: ClientRecord): Stream {
  const s: Stream = { name: rec.client.privateGroup, views: [], deliveries: [], last: new Map() };
  for (const f of rec.client.received) {
    if ((f.header.type & T.REJECT_MESS) !== 0) continue;
    if ((f.header.type & T.MEMBERSHIP_MESS) !== 0) membership(s, f);
    else {
      const g = f.groups[0] ?? '';
      const view = s.last.get(g) ?? null;
      const text = UTF8.decode(f.data);
      const ordered = !mayOvertake(f.header.type, messageLength(f));
      s.deliveries.push({ text, service: f.header.type & SERVICE_MASK, ordered, sender: f.header.name, view, regular: view !== null && !view.transitional });
      if (ordered) view?.msgs.push(text);
    }
  }
  return s;
}

function membership(s: Stream, f: WireMessage): void {
  const g = f.header.name;
  const cur = s.last.get(g) ?? null;
  if ((f.header.type & T.TRANSITION_MESS) !== 0) {
    if (cur !== null) cur.transitional = true;
    return;
  }
  if ((f.header.type & T.REG_MEMB_MESS) === 0) {
    s.last.set(g, null); // self-leave
    return;
  }
  const body = decodeMembershipBody(f.data, 0, f.data.length, true).value;
  const id = `${body.groupId.procId}:${body.groupId.time}:${body.groupId.index}`;
  const v: View = {
    group: g, id, prev: cur?.id ?? null, members: [...f.groups], vsSets: body.vsSets, myVsSet: body.myVsSet,
    network: (f.header.type & T.CAUSED_BY_NETWORK) !== 0, transitional: false, msgs: [],
  };
  s.views.push(v);
  s.last.set(g, v);
}

/** The client-level EVS properties; `healed`: the run ended in one ring (the final views are checked). */
export function checkClients(records: readonly ClientRecord[], healed: boolean): string[] {
  const problems: string[] = [];
  const streams = records.filter((r) => r.client.privateGroup !== '').map((r) => ({ rec: r, s: streamOf(r) }));
  checkViews(streams.map((x) => x.s), problems);
  checkOrder(streams.map((x) => x.s), problems);
  const survivors = streams.filter((x) => x.rec.client.state === 'op');
  checkSelf(survivors, problems);
  checkSafe(streams.map((x) => x.s), new Map(survivors.map((x) => [x.s.name, x.s])), problems);
  if (healed) checkFinal(survivors, problems);
  return problems.slice(0, 50);
}

/**
 * Group ids are not unique over time: a group that empties and is created again in the same
 * ring gets the same id (the reference's too), also at one client that left and joined again.
 * Two views with one id at two clients are the same view when each lists the other's client;
 * only such pairs are compared.
 */
function sameInstance(a: { name: string; v: View }, b: { name: string; v: View }): boolean {
  return a.name !== b.name && a.v.members.includes(b.name) && b.v.members.includes(a.name);
}

function checkViews(streams: readonly Stream[], problems: string[]): void {
  const byId = new Map<string, { name: string; v: View; next: View | null }[]>();
  for (const s of streams) {
    for (const d of s.deliveries) if (d.view === null) problems.push(`${s.name} got ${d.text} from ${d.sender} without being in its group`);
    s.views.forEach((v, i) => {
      if (!v.members.includes(s.name)) problems.push(`view ${v.group} ${v.id} at ${s.name} does not list it`);
      const next = s.views.find((x, k) => k > i && x.group === v.group) ?? null;
      const key = `${v.group} ${v.id}`;
      byId.set(key, [...(byId.get(key) ?? []), { name: s.name, v, next: next?.prev === v.id ? next : null }]);
    });
  }
  for (const [key, seen] of byId) {
    for (let i = 0; i < seen.length; i++) {
      for (let j = i + 1; j < seen.length; j++) {
        const a = seen[i]!;
        const b = seen[j]!;
        if (!sameInstance(a, b)) continue;
        if (shape(a.v) !== shape(b.v)) problems.push(`view ${key}: ${shape(a.v)} at ${a.name}, ${shape(b.v)} at ${b.name}`);
        if (a.next === null || b.next === null || a.next.id !== b.next.id) continue;
        if (moved(a.v) !== moved(b.v)) problems.push(`${key} -> ${a.next.id}: ${a.name} and ${b.name} delivered different messages: ${moved(a.v)} vs ${moved(b.v)}`);
      }
    }
    checkVsSets(seen, problems);
  }
}

function shape(v: View): string {
  return `${v.members.join(',')} vs ${JSON.stringify(v.vsSets.map((x) => [...x].sort()).sort())}`;
}

/**
 * The messages delivered in a view, in order: ring-ordered ones only. A single-packet
 * (UN)RELIABLE message takes the fast path (mayOvertake) and may overtake a SAFE membership
 * change at its sender's daemon only, so it can fall into different views at different clients
 * (the reference's semantics too).
 */
function moved(v: View): string {
  return `[${v.msgs.join('|')}]`;
}

/** Clients in one vs_set of a network-caused view came from the same previous view. */
function checkVsSets(seen: readonly { name: string; v: View }[], problems: string[]): void {
  const prev = new Map(seen.map((x) => [x.name, x.v.prev]));
  for (const { name, v } of seen) {
    if (!v.network || v.prev === null) continue;
    for (const other of v.vsSets[v.myVsSet] ?? []) {
      const p = prev.get(other);
      if (p !== undefined && p !== null && p !== v.prev) problems.push(`view ${v.group} ${v.id}: ${name} (from ${v.prev}) and ${other} (from ${p}) share a vs_set`);
    }
  }
}

function checkOrder(streams: readonly Stream[], problems: string[]): void {
  const ordered = streams.map((s) => s.deliveries.filter((d) => d.ordered).map((d) => d.text));
  const pos = ordered.map((o) => new Map(o.map((t, i) => [t, i])));
  for (const s of streams) {
    if (new Set(s.deliveries.map((d) => d.text)).size !== s.deliveries.length) problems.push(`${s.name} received a message twice`);
    const bySender = new Map<string, number>();
    for (const d of s.deliveries) {
      if (!d.ordered) continue;
      const n = Number(d.text.slice(d.text.lastIndexOf(':') + 1));
      if ((bySender.get(d.sender) ?? 0) > n) problems.push(`${s.name}: ${d.text} from ${d.sender} after a later message of that sender`);
      bySender.set(d.sender, n);
    }
  }
  for (let i = 0; i < streams.length; i++) {
    for (let j = i + 1; j < streams.length; j++) {
      const common = ordered[i]!.filter((t) => pos[j]!.has(t));
      for (let k = 1; k < common.length; k++) {
        if (pos[j]!.get(common[k - 1]!)! > pos[j]!.get(common[k]!)!) {
          problems.push(`${streams[i]!.name} and ${streams[j]!.name} delivered ${common[k - 1]} and ${common[k]} in different orders`);
          break;
        }
      }
    }
  }
}

function checkSelf(survivors: readonly { rec: ClientRecord; s: Stream }[], problems: string[]): void {
  for (const { rec, s } of survivors) {
    const got = new Set(s.deliveries.map((d) => d.text));
    for (const m of rec.sent) {
      if (m.member && m.service !== T.UNRELIABLE_MESS && !got.has(m.text)) problems.push(`${s.name} never received its own ${m.text} (service ${m.service}) to ${m.group}`);
    }
  }
}

function checkSafe(streams: readonly Stream[], survivors: ReadonlyMap<string, Stream>, problems: string[]): void {
  const got = new Map([...survivors].map(([n, s]) => [n, new Set(s.deliveries.map((d) => d.text))]));
  for (const s of streams) {
    for (const d of s.deliveries) {
      if (d.service !== T.SAFE_MESS || d.view === null || !d.regular) continue;
      for (const m of d.view.members) if (got.has(m) && !got.get(m)!.has(d.text)) problems.push(`SAFE ${d.text} delivered to ${s.name} in regular view ${d.view.id} never reached member ${m}`);
    }
  }
}

function checkFinal(survivors: readonly { rec: ClientRecord; s: Stream }[], problems: string[]): void {
  const groups = new Set(survivors.flatMap((x) => [...x.rec.joined]));
  for (const g of groups) {
    const expected = survivors.filter((x) => x.rec.joined.has(g)).map((x) => x.s.name).sort().join(',');
    for (const x of survivors.filter((y) => y.rec.joined.has(g))) {
      const v = x.s.last.get(g) ?? null;
      const got = v === null ? 'no view' : [...v.members].sort().join(',');
      if (got !== expected) problems.push(`${x.s.name}'s last view of ${g}: ${got}; the connected members are ${expected}`);
    }
  }
}
