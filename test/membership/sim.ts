/**
 * A deterministic multi-daemon harness for the membership machine: one virtual clock, one
 * event heap, one seeded PRNG; each daemon is a Membership on a FakeRing; the network delays
 * (uniformly in [latency]), loses (per datagram, per receiver) and partitions datagrams.
 *
 * The edge logic mirrors the reference's receive path: the monitor-partition filter
 * (Membership.admits) first, then data channel → ALIVE/JOIN/REFER/PARTITION/RELOAD to
 * membership, data packets to the ring (foreign ones on to membership); token channel →
 * FORM1/FORM2 to membership, regular tokens to the ring, then Membership.ringProgress.
 * Every daemon's log records deliveries and configuration changes for the EVS checks.
 */
import { LAN_TIMEOUTS, type MembershipTimeouts } from '../../src/daemon/config/index.js';
import { Membership } from '../../src/daemon/membership/membership.js';
import type { MembershipAction, MembershipTimer } from '../../src/daemon/membership/actions.js';
import type { DeliverAction, SendAction } from '../../src/daemon/ring/actions.js';
import { encodeDatagram, ipString, procIdOf, PacketType, MONITOR_MAGIC, MONITOR_HASH, type MembershipId } from '../../src/wire/daemon/index.js';
import { RingEngine } from '../../src/daemon/ring/engine.js';
import { DeliveryThreshold } from '../../src/daemon/ring/constants.js';
import type { RingAction, RingTimer } from '../../src/daemon/ring/actions.js';
import type { RingPort } from '../../src/daemon/membership/ring-port.js';
import { FakeRing } from './fake-ring.js';

export const CONF_HASH = 0x1234abcd;

/** mulberry32: small, seeded, good enough for scheduling noise. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

export type LogEntry =
  | { t: number; kind: 'deliver'; ring: string; sender: number; text: string }
  | { t: number; kind: 'transitional'; ring: string; members: number[]; id: string }
  | { t: number; kind: 'regular'; ring: string; members: number[]; id: string };

export class SimDaemon {
  alive = false;
  membership!: Membership;
  /** The ring double (engine: 'fake'). */
  ring!: FakeRing;
  /** The real ring engine (engine: 'real'). */
  engine!: RingEngine;
  /** Current regular ring ('' before the first). */
  ringKey = '';
  readonly log: LogEntry[] = [];
  readonly timers = new Map<string, number>();
  sent = 0;
  incarnation = 0;
  constructor(readonly id: number, readonly ip: string, readonly seg: number) {}
}

interface Ev {
  t: number;
  n: number;
  run: () => void;
}

export interface SimOptions {
  /** IPs per segment (the configuration). */
  segments: string[][];
  seed: number;
  latency?: [number, number];
  /** Probability that one datagram to one receiver is lost. */
  loss?: number;
  timeouts?: MembershipTimeouts;
  dangerousMonitor?: boolean;
  /** Ring counters after each install (2^30 − 5 exercises the sequence-wrap membership). */
  initialSeq?: number;
  /** Which ring runs under membership: the test double (default) or src/daemon/ring's RingEngine. */
  engine?: 'fake' | 'real';
}

export function idKey(m: MembershipId): string {
  return `${ipString(m.procId)}/${m.time}`;
}

export class Sim {
  now = 0;
  readonly daemons: SimDaemon[] = [];
  readonly byId = new Map<number, SimDaemon>();
  readonly rng: Rng;
  private heap: Ev[] = [];
  private order = 0;
  private blocked: ((a: number, b: number) => boolean) | null = null;
  private readonly segIds: number[][];
  readonly timeouts: MembershipTimeouts;
  /** Wall clock (s) at now = 0: ids are made of it. */
  readonly epoch = 1_700_000_000;
  datagrams = 0;
  /** The real engine's violation actions (what the reference treats as fatal). */
  readonly violations: string[] = [];

  constructor(readonly opts: SimOptions) {
    this.rng = new Rng(opts.seed);
    this.timeouts = opts.timeouts ?? LAN_TIMEOUTS;
    this.segIds = opts.segments.map((s) => s.map(procIdOf));
    opts.segments.forEach((ips, seg) => {
      for (const ip of ips) {
        const d = new SimDaemon(procIdOf(ip), ip, seg);
        this.daemons.push(d);
        this.byId.set(d.id, d);
      }
    });
  }

  daemon(ip: string): SimDaemon {
    return this.byId.get(procIdOf(ip))!;
  }

  // ---------------------------------------------------------------------------------------------
  // Scenario steps.

  at(t: number, fn: () => void): void {
    this.push(t, fn);
  }

  start(ip: string, t = this.now): void {
    this.at(t, () => {
      const d = this.daemon(ip);
      d.alive = true;
      d.incarnation++;
      d.timers.clear();
      d.ringKey = '';
      let port: RingPort;
      if (this.real) {
        d.engine = new RingEngine({
          myId: d.id, segments: this.segIds.map((daemons) => ({ daemons })), confHash: CONF_HASH,
          tokenTimeout: this.timeouts.token, hurryTimeout: this.timeouts.hurry,
        });
        port = d.engine;
      } else {
        d.ring = new FakeRing(d.id, {
          segments: this.segIds, tokenTimeout: this.timeouts.token, hurryTimeout: this.timeouts.hurry, confHash: CONF_HASH,
          ...(this.opts.initialSeq !== undefined ? { initialSeq: this.opts.initialSeq } : {}),
        });
        port = d.ring;
      }
      d.membership = new Membership({
        myId: d.id, segments: this.segIds.map((daemons) => ({ daemons })), confHash: CONF_HASH, timeouts: this.timeouts,
        dangerousMonitor: this.opts.dangerousMonitor ?? false,
        wallClock: (now) => this.epoch + now / 1000,
      }, port);
      d.membership.start(this.now);
      this.flush(d);
    });
  }

  crash(ip: string, t = this.now): void {
    this.at(t, () => {
      const d = this.daemon(ip);
      d.alive = false;
      d.timers.clear();
    });
  }

  /** Network partition: datagrams between different groups are dropped (null heals). */
  partition(groups: string[][] | null, t = this.now): void {
    this.at(t, () => {
      if (groups === null) {
        this.blocked = null;
        return;
      }
      const g = new Map<number, number>();
      groups.forEach((ips, k) => ips.forEach((ip) => g.set(procIdOf(ip), k)));
      this.blocked = (a, b) => g.get(a) !== g.get(b);
    });
  }

  /** spmonitor PARTITION (sent twice to every daemon), components by conf index. */
  monitorPartition(components: number[], t = this.now): void {
    this.at(t, () => {
      const h = { type: PacketType.PARTITION, transmitterId: 0, procId: this.daemons[0]!.id, membId: { procId: MONITOR_MAGIC, time: 0 },
        seq: 0, tokenRound: 0, confHash: MONITOR_HASH, dataLen: 256, padding: 0, fragIndex: 0, fragLen: 0 };
      const bytes = encodeDatagram({ kind: 'partition', littleEndian: true, header: h, components: Array.from({ length: 128 }, (_, i) => components[i] ?? 0) });
      for (const d of this.daemons) {
        for (let k = 0; k < 2; k++) this.push(this.now + 0.05, () => this.receive(d, 'data', bytes, 0));
      }
    });
  }

  /** Queue `count` messages at `ip`, one every `every` ms. */
  traffic(ip: string, from: number, count: number, every: number, safe = false): void {
    for (let k = 0; k < count; k++) {
      this.at(from + k * every, () => {
        const d = this.daemon(ip);
        if (!d.alive) return;
        const text = new TextEncoder().encode(`${ip}#${d.incarnation}.${++d.sent}`);
        if (this.real) {
          // A ring message: a 48-byte message header (opaque here), then the text.
          const message = new Uint8Array(48 + text.length);
          message.set(text, 48);
          d.engine.submit(message, safe ? PacketType.SAFE : PacketType.AGREED, this.now);
          this.flush(d);
        } else {
          d.ring.submit(text, safe);
        }
      });
    }
  }

  run(until: number): void {
    while (this.heap.length > 0 && this.heap[0]!.t <= until) {
      const e = this.pop();
      this.now = e.t;
      e.run();
    }
    this.now = until;
  }

  // ---------------------------------------------------------------------------------------------
  // The edge.

  private get real(): boolean {
    return this.opts.engine === 'real';
  }

  private receive(d: SimDaemon, channel: 'data' | 'token', bytes: Uint8Array, incarnation: number): void {
    if (!d.alive || (incarnation !== 0 && incarnation !== d.incarnation)) return;
    const now = this.now;
    const m = d.membership;
    const type = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
    if (channel === 'data' && type & (PacketType.PARTITION | PacketType.RELOAD)) {
      m.handleDatagram('data', bytes, now);
    } else if (!m.admits(channel, bytes)) {
      return;
    } else if (this.real) {
      // The engine screens everything and hands membership its datagrams up (upward actions).
      const before = d.engine.stats.tokensProcessed;
      d.engine.handleDatagram(channel, bytes, now);
      this.drainEngine(d);
      if (d.engine.stats.tokensProcessed !== before) m.ringProgress(now);
    } else if (channel === 'data') {
      if (type & PacketType.MEMBERSHIP) m.handleDatagram('data', bytes, now);
      else if (type & PacketType.REGULAR) {
        if (d.ring.handleData(bytes, now) === 'foreign') m.handleDatagram('data', bytes, now);
      }
    } else if (type & PacketType.FORM) {
      m.handleDatagram('token', bytes, now);
    } else if (d.ring.handleToken(bytes, now)) {
      this.flushRing(d);
      m.ringProgress(now);
    }
    this.flush(d);
  }

  private flushRing(d: SimDaemon): void {
    const out = d.ring.out;
    d.ring.out = [];
    for (const a of out) this.apply(d, a);
  }

  private flush(d: SimDaemon): void {
    if (this.real) {
      for (let k = 0; k < 100; k++) {
        const a = d.membership.takeActions();
        for (const x of a) this.apply(d, x);
        if (!this.drainEngine(d) && a.length === 0) break;
      }
      return;
    }
    this.flushRing(d);
    for (const a of d.membership.takeActions()) this.apply(d, a);
    this.flushRing(d);
    this.syncRingTimers(d);
  }

  /** Carries out the engine's actions; returns whether there were any. */
  private drainEngine(d: SimDaemon): boolean {
    const out: RingAction[] = d.engine.takeActions();
    for (const a of out) {
      switch (a.kind) {
        case 'send':
        case 'deliver':
          this.apply(d, a);
          break;
        case 'timer': {
          const timer: RingTimer = a.timer;
          this.armTimer(d, `e:${timer}`, a.at, () => {
            d.engine.handleTimer(timer, this.now);
            this.flush(d);
          });
          break;
        }
        case 'tokenLost':
          d.membership.tokenLost(this.now);
          break;
        case 'upward':
          if (a.what !== 'control') d.membership.handleDatagram(a.channel, a.bytes, this.now);
          break;
        case 'violation':
          this.violations.push(`${d.ip} ${a.code}: ${a.message}`);
          break;
        default:
          break;
      }
    }
    return out.length > 0;
  }

  private apply(d: SimDaemon, a: MembershipAction | SendAction | DeliverAction): void {
    switch (a.kind) {
      case 'send':
        this.send(d, a);
        break;
      case 'deliver':
        d.log.push({ t: this.now, kind: 'deliver', ring: d.ringKey, sender: a.sender, text: new TextDecoder().decode(this.real ? a.message.subarray(48) : a.message) });
        break;
      case 'timer':
        this.armTimer(d, `m:${a.timer}`, a.at, () => {
          d.membership.handleTimer(a.timer as MembershipTimer, this.now);
          this.flush(d);
        });
        break;
      case 'transitional':
        d.log.push({ t: this.now, kind: 'transitional', ring: d.ringKey, members: a.members.slice(), id: idKey(a.id) });
        break;
      case 'regular':
        d.log.push({ t: this.now, kind: 'regular', ring: d.ringKey, members: a.members.slice(), id: idKey(a.ringId) });
        d.ringKey = idKey(a.ringId);
        // The groups layer reopens delivery once it is back in GOP; here at once.
        if (this.real) d.engine.setDeliveryThreshold(DeliveryThreshold.ALL);
        break;
      case 'exit':
        d.alive = false;
        break;
      default:
        break;
    }
  }

  private syncRingTimers(d: SimDaemon): void {
    this.armTimer(d, 'r:token', d.ring.tokenDeadline, () => {
      if (d.ring.tokenTimer()) d.membership.tokenLost(this.now);
      this.flush(d);
    });
    this.armTimer(d, 'r:hurry', d.ring.hurryDeadline, () => {
      d.ring.hurry(this.now);
      this.flush(d);
    });
  }

  /** Lazy timers: an event per arming; it runs only if the deadline is still the same. */
  private armTimer(d: SimDaemon, name: string, at: number | null, fire: () => void): void {
    if (at === null) {
      d.timers.delete(name);
      return;
    }
    if (d.timers.get(name) === at) return;
    d.timers.set(name, at);
    const inc = d.incarnation;
    this.push(Math.max(at, this.now), () => {
      if (!d.alive || d.incarnation !== inc || d.timers.get(name) !== at) return;
      d.timers.delete(name);
      if (name.startsWith('r:')) {
        if (name === 'r:token') d.ring.tokenDeadline = null;
        else d.ring.hurryDeadline = null;
      }
      fire();
    });
  }

  private send(from: SimDaemon, a: SendAction): void {
    const targets = a.to === 'segment' ? this.segIds[a.target]!.filter((id) => id !== from.id) : [a.target];
    const [lo, hi] = this.opts.latency ?? [0.1, 0.6];
    for (const id of targets) {
      const to = this.byId.get(id);
      if (to === undefined) continue;
      this.datagrams++;
      if (this.blocked?.(from.id, id) === true) continue;
      if (to !== from && this.rng.next() < (this.opts.loss ?? 0)) continue;
      const inc = to.incarnation;
      this.push(this.now + lo + (hi - lo) * this.rng.next(), () => this.receive(to, a.channel, a.bytes, inc));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Binary heap ordered by (time, insertion).

  private push(t: number, run: () => void): void {
    const h = this.heap;
    h.push({ t, n: this.order++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): Ev {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  private less(a: Ev, b: Ev): boolean {
    return a.t < b.t || (a.t === b.t && a.n < b.n);
  }
}

// -----------------------------------------------------------------------------------------------
// Checks.

/** In its ring: OP, or a ring leader's lookup GATHER while its ring goes on. */
function operational(d: SimDaemon): boolean {
  const st = d.membership.status();
  return st.state === 1 || (st.state === 4 && st.tokenAlive);
}

/** The regular rings currently installed at the live daemons: ring key → member IPs. */
export function currentRings(sim: Sim): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of sim.daemons) {
    if (!d.alive || !operational(d)) continue;
    const st = d.membership.status();
    const key = idKey(st.ringId);
    const members = st.members.map(ipString);
    const seen = out.get(key);
    if (seen !== undefined && seen.join() !== members.join()) throw new Error(`ring ${key}: members differ (${seen} vs ${members})`);
    out.set(key, members);
  }
  return out;
}

/** Live daemons grouped by ring, when every one is operational in a ring all of whose members agree. */
export function stableRings(sim: Sim): string[][] | null {
  const rings = currentRings(sim);
  const live = sim.daemons.filter((d) => d.alive);
  if (live.some((d) => !operational(d))) return null;
  for (const [key, members] of rings) {
    for (const ip of members) {
      const d = sim.daemon(ip);
      if (!d.alive || idKey(d.membership.status().ringId) !== key) return null;
    }
  }
  return [...rings.values()].sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/**
 * Extended virtual synchrony, checked on the logs:
 * 1. every daemon that installed a regular ring saw the same member list (ring order);
 * 2. daemons that go from the same old ring to the same new ring report the same transitional
 *    configuration (members and id), a subset of both rings;
 * 3. such daemons delivered exactly the same messages of the old ring, in the same order;
 * 4. any two daemons of one ring delivered the messages they both delivered in the same order.
 * Returns a list of violations (empty = fine).
 */
export function checkEvs(sim: Sim): string[] {
  const problems: string[] = [];
  const ringMembers = new Map<string, string>();
  interface Span { daemon: string; old: string; next: string; trans: string; msgs: string[] }
  const spans: Span[] = [];
  for (const d of sim.daemons) {
    let msgs: string[] = [];
    let trans = '';
    for (const e of d.log) {
      if (e.kind === 'deliver') msgs.push(e.text);
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
  const groups = new Map<string, Span[]>();
  for (const s of spans) {
    if (s.old === '') continue;
    const k = `${s.old} -> ${s.next}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const [k, g] of groups) {
    for (const s of g.slice(1)) {
      if (s.trans !== g[0]!.trans) problems.push(`${k}: ${g[0]!.daemon} has transitional ${g[0]!.trans}, ${s.daemon} has ${s.trans}`);
      else if (s.msgs.join('|') !== g[0]!.msgs.join('|')) {
        problems.push(`${k}: ${g[0]!.daemon} delivered ${g[0]!.msgs.length} messages, ${s.daemon} ${s.msgs.length} (or another order)`);
      }
    }
    const members = new Set(g[0]!.trans.replace(/^.*\[|\]$/g, '').split(','));
    const next = new Set((ringMembers.get(g[0]!.next) ?? '').split(','));
    for (const ip of members) if (!next.has(ip)) problems.push(`${k}: transitional member ${ip} is not in the new ring`);
  }
  // Same relative order of common messages within one old ring.
  const byOld = new Map<string, Span[]>();
  for (const s of spans) if (s.old !== '') byOld.set(s.old, [...(byOld.get(s.old) ?? []), s]);
  for (const [old, g] of byOld) {
    for (let i = 0; i < g.length; i++) {
      for (let j = i + 1; j < g.length; j++) {
        const a = g[i]!.msgs;
        const bSet = new Set(g[j]!.msgs);
        const aSet = new Set(a);
        const ca = a.filter((x) => bSet.has(x));
        const cb = g[j]!.msgs.filter((x) => aSet.has(x));
        if (ca.join('|') !== cb.join('|')) problems.push(`ring ${old}: ${g[i]!.daemon} and ${g[j]!.daemon} delivered common messages in different orders`);
      }
    }
  }
  return problems;
}

/** Runs until every live daemon is operational in an agreed ring (or `until`); returns the rings. */
export function settle(sim: Sim, until: number, step = 50): string[][] | null {
  for (;;) {
    const r = stableRings(sim);
    if (r !== null || sim.now >= until) return r;
    sim.run(Math.min(until, sim.now + step));
  }
}
