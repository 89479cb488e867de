/**
 * Replays one daemon of a reference capture through the membership machine and compares every
 * membership datagram it sends (ALIVE, JOIN, REFER, FORM1, FORM2, the first regular token)
 * with what the reference daemon sent: same order, same destination, same bytes outside the
 * ranges the reference leaves uninitialised (SPEC.md Part IV §13), about the same time.
 *
 * Inputs are the captured datagrams addressed to that daemon (unicast to it, or broadcast on its
 * segment by another daemon), fed at their capture times, after the monitor-partition filter.
 * Wall-clock seconds are the capture's own timestamps (the pcap clock is the daemons' clock).
 *
 * The ring engine is played by CaptureRing: its counters follow the ring traffic the daemon
 * received and sent in the capture (data packets give Highest_seq; every token the daemon
 * processed — visible as the token it sent — gives Aru by the reference's rule), its token-loss
 * timer is re-armed by tokens and packets of its ring, and in EVS it applies the commit rule
 * (My_aru := Last_seq) and lets membership complete once Aru reaches Last_seq.
 *
 * Timers fire TIMER_LATENCY after their deadline: the reference's event loop runs a timer about
 * 0.45 ms late (its JOINs go out every ~250.45 ms). Races between a timer and a datagram that
 * arrives within a fraction of a millisecond are decided by the reference's own clock: when the
 * reference's next membership datagram went out within SYNC_WINDOW of our timer's deadline, the
 * timer runs SEND_LATENCY before that datagram's time (datagrams captured earlier go first),
 * and the next deadlines count from there, as the reference's did.
 */
import { readFileSync } from 'node:fs';
import { parseConfig, configHash, effectiveTimeouts, type SpreadConfig } from '../../src/daemon/config/index.js';
import { Membership } from '../../src/daemon/membership/membership.js';
import type { MembershipAction, MembershipTimer } from '../../src/daemon/membership/actions.js';
import type { EvsDeliveries, EvsRing, RingPort } from '../../src/daemon/membership/ring-port.js';
import { membershipSettingsFromConfig } from '../../src/daemon/membership/settings.js';
import type { DeliverAction } from '../../src/daemon/ring/actions.js';
import {
  decodeDatagram, firstDifferenceOutside, getArq, ipString, procIdOf, sameRingId, uninitialisedRanges,
  type Channel, type Datagram, type RingId,
} from '../../src/wire/daemon/index.js';
import { readCapture } from '../../src/wire/pcap/index.js';

export const TIMER_LATENCY = 0.45;
/** A timer whose deadline is this close (ms) to the reference's next output runs at that output's time. */
export const SYNC_WINDOW = 10;
/**
 * From a timer's run to its datagram on the wire, as the capture saw it (ms). Races in the
 * captures (an input captured this long before the reference's timer-driven send):
 * - namespaces on a bridge: 0, 19, 85, 99, 107, 112 µs did not influence the send; 118, 122,
 *   181, 359 µs did (the bridge adds its own delay between capture and reception);
 * - loopback: 0 and 40 µs did not, 90 µs did.
 * Races closer than that are scheduling noise; none is left in the captures used.
 */
export const SEND_LATENCY = { bridge: 0.117, loopback: 0.02 } as const;

export interface Wire {
  /** ms since the first datagram of the capture. */
  t: number;
  dstIp: string;
  dstPort: number;
  channel: Channel;
  bytes: Uint8Array;
  transmitter: number;
  d: Datagram;
}

export interface LoadedCapture {
  /** Wall-clock seconds of t = 0. */
  t0: number;
  wires: Wire[];
}

export function loadPcap(path: string): LoadedCapture {
  const cap = readCapture(readFileSync(path));
  const t0 = cap.udp[0]!.time;
  const wires: Wire[] = [];
  for (const u of cap.udp) {
    const channel: Channel = u.dst.port % 2 === 0 ? 'token' : 'data';
    let d: Datagram;
    try {
      d = decodeDatagram(u.payload, channel, { copy: true });
    } catch {
      continue;
    }
    if (d.kind === 'status-reply') continue;
    wires.push({
      t: (u.time - t0) * 1000, dstIp: u.dst.ip, dstPort: u.dst.port, channel, bytes: new Uint8Array(u.payload), d,
      transmitter: d.header.transmitterId,
    });
  }
  return { t0, wires };
}

export function loadConf(path: string): SpreadConfig {
  return parseConfig(readFileSync(path, 'utf8'), path);
}

const FIRST_TOKEN_ARU = 0x7fffffff;

function isFirstToken(d: Datagram): boolean {
  return d.kind === 'token' && d.header.seq === 0 && d.header.aru === FIRST_TOKEN_ARU && d.header.aruLastId === -1;
}

/** A membership datagram the daemon sent (what the comparison is about). */
export function isMembershipOutput(d: Datagram): boolean {
  return d.kind === 'alive' || d.kind === 'join' || d.kind === 'refer' || d.kind === 'form1' || d.kind === 'form2' || isFirstToken(d);
}

/** RingPort played from the capture (see the file comment). */
export class CaptureRing implements RingPort {
  highestSeq = 0;
  myAru = 0;
  aru = 0;
  lastDiscarded = 0;
  tokenRounds = 0;
  alive = false;
  evs = false;
  lastSeq = 0;
  /** Data packets' ring id (the old one during EVS). */
  ringId: RingId;
  /** The token's ring id and ring. */
  tokenRingId: RingId;
  members: number[];
  tokenDeadline: number | null = null;
  private readonly received = new Set<number>();
  private lastSentAru = 0;
  private lastSentArq = 0;
  readonly log: string[] = [];

  constructor(readonly myId: number, readonly tokenTimeout: number) {
    this.ringId = { procId: myId, time: -1 };
    this.tokenRingId = this.ringId;
    this.members = [myId];
  }

  hasReceived(seq: number): boolean {
    return this.received.has(seq);
  }

  standby(ringId: RingId, members: readonly number[]): void {
    this.ringId = { ...ringId };
    this.tokenRingId = { ...ringId };
    this.members = members.slice();
    this.alive = false;
  }

  loseToken(): void {
    if (this.evs) this.backoff();
    this.alive = false;
    this.evs = false;
    this.tokenDeadline = null;
    this.lastSentAru = 0;
    this.lastSentArq = 0;
  }

  stopToken(): void {
    this.alive = false;
    this.tokenDeadline = null;
  }

  backoff(): void {
    this.evs = false;
    this.aru = this.lastDiscarded;
    this.myAru = this.lastDiscarded;
    while (this.myAru < this.highestSeq && this.received.has(this.myAru + 1)) this.myAru++;
  }

  installEvs(ring: EvsRing, now: number): readonly DeliverAction[] {
    this.tokenRingId = ring.ringId;
    this.members = ring.members.slice();
    this.highestSeq = ring.highestSeq;
    this.aru = ring.aru;
    this.lastDiscarded = Math.max(this.lastDiscarded, ring.aru);
    for (const h of ring.holes) this.received.add(h);
    this.tokenRounds = ring.tokenRounds;
    this.alive = true;
    this.tokenDeadline = now + this.tokenTimeout;
    this.lastSentAru = 0;
    this.lastSentArq = 0;
    this.aru = 0;
    this.evs = true;
    this.lastSeq = ring.lastSeq;
    this.log.push(`install (${ring.ringId.procId >>> 0},${ring.ringId.time}) at ${now.toFixed(1)}`);
    return [];
  }

  completeEvs(_commit: readonly number[]): EvsDeliveries {
    this.evs = false;
    this.ringId = this.tokenRingId;
    this.highestSeq = 0;
    this.myAru = 0;
    this.aru = 0;
    this.lastDiscarded = 0;
    this.received.clear();
    return { beforeTransitional: [], afterTransitional: [] };
  }

  private advanceMyAru(): void {
    while (this.myAru < this.highestSeq && this.received.has(this.myAru + 1)) this.myAru++;
  }

  /** A datagram that reached the daemon (after the filters). Returns whether the ring consumed it. */
  input(w: Wire, now: number): void {
    const d = w.d;
    if (d.kind === 'data') {
      if (!sameRingId(d.header.membId, this.ringId)) return;
      if (this.alive) this.tokenDeadline = now + this.tokenTimeout;
      if (d.header.seq > this.lastDiscarded) this.received.add(d.header.seq);
      if (d.header.seq > this.highestSeq) this.highestSeq = d.header.seq;
      this.advanceMyAru();
    } else if (d.kind === 'token') {
      if (!this.alive || !sameRingId(d.header.membId, this.tokenRingId)) return;
      const i = this.members.indexOf(this.myId);
      const pred = this.members[(i - 1 + this.members.length) % this.members.length]!;
      if (w.transmitter !== pred) return;
      if (!this.evs && d.header.seq > this.highestSeq) this.highestSeq = d.header.seq;
      this.tokenDeadline = now + this.tokenTimeout;
    }
  }

  /**
   * A singleton ring's own token, played here when the capture cannot see it: the token visit
   * of Prot_handle_token reduced to the counters (My_aru, the E5 commit rule, token aru, Aru).
   * Returns whether it was processed.
   */
  selfToken(d: Datagram): boolean {
    if (d.kind !== 'token' || !this.alive || !sameRingId(d.header.membId, this.tokenRingId)) return false;
    this.tokenRounds++;
    this.advanceMyAru();
    if (this.evs && this.myAru >= this.highestSeq) this.myAru = this.lastSeq;
    let a = d.header.aru;
    if (a > this.myAru || d.header.aruLastId === this.myId) a = this.myAru;
    d.header.aru = a;
    d.header.aruLastId = this.myId;
    this.aru = a > this.lastSentAru ? this.lastSentAru : a;
    this.lastSentAru = a;
    return true;
  }

  /** A datagram the daemon itself sent (the engine's output). Returns true when it was a processed token. */
  output(w: Wire): boolean {
    const d = w.d;
    if (d.kind === 'data') {
      if (sameRingId(d.header.membId, this.ringId) && d.header.procId === this.myId) {
        this.received.add(d.header.seq);
        if (d.header.seq > this.highestSeq) this.highestSeq = d.header.seq;
        this.advanceMyAru();
      }
      return false;
    }
    if (d.kind !== 'token' || isFirstToken(d) || !this.alive || !sameRingId(d.header.membId, this.tokenRingId)) return false;
    const arq = getArq(d.header.type);
    if (arq === this.lastSentArq) return false; // a resend of the last token (hurry, retransmission)
    this.lastSentArq = arq;
    this.tokenRounds++;
    this.advanceMyAru();
    if (this.evs && this.myAru >= this.highestSeq) this.myAru = this.lastSeq;
    const a = d.header.aru;
    this.aru = a > this.lastSentAru ? this.lastSentAru : a;
    this.lastSentAru = a;
    return true;
  }
}

export interface Sent {
  t: number;
  dstIp: string;
  dstPort: number;
  bytes: Uint8Array;
}

/** What a timer's run can send first (a timer is synchronised only to such a datagram). */
const TIMER_OUTPUTS: Record<MembershipTimer | 'token', readonly string[]> = {
  alive: ['alive'],
  join: ['join'],
  seg: ['join'],
  rep: ['alive'],
  gather: ['form1', 'form2', 'join'],
  form: ['alive'],
  lookup: ['join'],
  partition: [],
  reload: ['alive', 'join'],
  token: ['alive'],
};

export interface Installed {
  t: number;
  kind: 'transitional' | 'regular';
  members: readonly number[];
  id: RingId;
}

export interface ReplayResult {
  ours: Sent[];
  theirs: Sent[];
  events: string[];
  configurations: Installed[];
  membership: Membership;
  ring: CaptureRing;
}

export interface ReplayOptions {
  capture: LoadedCapture;
  config: SpreadConfig;
  /** The replayed daemon's IP. */
  ip: string;
  /** ms: when the daemon starts (Memb_init). */
  start: number;
  /** ms: when it stops (killed), default the end of the capture. */
  end?: number;
  /**
   * Whether the capture saw what the daemon sent to itself. On loopback it did (use the captured
   * copies as inputs); on a bridge between namespaces it did not: then our own sends to
   * ourselves are fed back, left out of the comparison, and a singleton ring's token (which
   * never leaves the host) is played by the ring double.
   */
  selfVisible: boolean;
}

/** Runs the replay; compare `ours` with `theirs` with compareSends. */
export function replay(o: ReplayOptions): ReplayResult {
  return new Replay(o).run();
}

type SendAction = Extract<MembershipAction, { kind: 'send' }>;
type TheirSend = Sent & { kind: string };

/** One daemon's replay: the machine, the ring double, the timers the machine armed, what it sent. */
class Replay {
  private readonly myId: number;
  private readonly m: Membership;
  private readonly ring: CaptureRing;
  private readonly addrOf = new Map<number, { ip: string; port: number }>();
  private readonly seg: { address: string; port: number };
  private readonly end: number;
  private readonly ours: Sent[] = [];
  private readonly theirs: TheirSend[];
  private readonly events: string[] = [];
  private readonly configurations: Installed[] = [];
  private readonly timers = new Map<MembershipTimer, number>();
  /** Our own sends to ourselves, to be received (selfVisible = false). */
  private readonly loop: Wire[] = [];
  private clock: number;

  constructor(private readonly o: ReplayOptions) {
    const config = o.config;
    this.myId = procIdOf(o.ip);
    this.ring = new CaptureRing(this.myId, effectiveTimeouts(config).token);
    const settings = { ...membershipSettingsFromConfig(config, this.myId), wallClock: (now: number): number => o.capture.t0 + now / 1000 };
    this.m = new Membership(settings, this.ring);
    const me = config.daemons.find((d) => (d.id | 0) === this.myId)!;
    this.seg = config.segments[me.segmentIndex]!;
    for (const d of config.daemons) this.addrOf.set(d.id | 0, { ip: d.address, port: d.port });
    this.end = o.end ?? (o.capture.wires.at(-1)?.t ?? 0) + 1;
    this.theirs = o.capture.wires
      .filter((w) => w.transmitter === this.myId && w.t >= o.start && w.t < this.end && isMembershipOutput(w.d))
      .filter((w) => o.selfVisible || w.dstIp !== o.ip)
      .map((w) => ({ t: w.t, dstIp: w.dstIp, dstPort: w.dstPort, bytes: w.bytes, kind: w.d.kind }));
    this.clock = o.start;
  }

  run(): ReplayResult {
    const wires = this.o.capture.wires;
    let i = 0;
    while (i < wires.length && wires[i]!.t < this.o.start) i++;
    this.m.start(this.o.start);
    this.take(this.o.start);
    for (let steps = 0; ; steps++) {
      if (steps > 1_000_000) throw new Error(`replay does not progress (at ${i} of ${wires.length})`);
      const looped = this.loop.shift();
      if (looped !== undefined) {
        this.receive(looped, looped.t);
        continue;
      }
      const { timer, tt } = this.nextTimer();
      const w = wires[i];
      const wt = w === undefined ? Infinity : w.t;
      if (Math.min(tt, wt) >= this.end) break;
      if (timer !== null && tt < wt) {
        this.clock = tt;
        this.runTimer(timer, tt);
      } else {
        i++;
        this.datagram(w!);
      }
    }
    return { ours: this.ours, theirs: this.theirs, events: this.events, configurations: this.configurations, membership: this.m, ring: this.ring };
  }

  /**
   * The timer that runs next and when: TIMER_LATENCY after its deadline, or, when the
   * reference's next output is one that timer sends and is within SYNC_WINDOW, just before
   * that output (see the file comment).
   */
  private nextTimer(): { timer: MembershipTimer | 'token' | null; tt: number } {
    let timer: MembershipTimer | 'token' | null = null;
    let tt = Infinity;
    for (const [k, at] of this.timers) {
      if (at + TIMER_LATENCY < tt) {
        tt = at + TIMER_LATENCY;
        timer = k;
      }
    }
    const tokenDeadline = this.ring.tokenDeadline;
    if (tokenDeadline !== null && tokenDeadline + TIMER_LATENCY < tt) {
      tt = tokenDeadline + TIMER_LATENCY;
      timer = 'token';
    }
    const next = this.theirs[this.ours.length];
    if (timer !== null && next !== undefined && Math.abs(next.t - tt) <= SYNC_WINDOW && TIMER_OUTPUTS[timer].includes(next.kind)) {
      tt = Math.max(next.t - (this.o.selfVisible ? SEND_LATENCY.loopback : SEND_LATENCY.bridge), this.clock);
    }
    return { timer, tt };
  }

  /** Runs a timer in the reference's order, but never before its deadline on the machine's clock. */
  private runTimer(timer: MembershipTimer | 'token', tt: number): void {
    if (timer !== 'token') {
      const at = Math.max(tt, this.timers.get(timer)!);
      this.timers.delete(timer);
      this.m.handleTimer(timer, at);
      this.take(at);
      return;
    }
    const at = Math.max(tt, this.ring.tokenDeadline!);
    this.ring.tokenDeadline = null;
    if (this.ring.alive && (this.o.selfVisible || this.ring.members.length > 1)) {
      this.ring.loseToken();
      this.events.push(`${at.toFixed(1)} token lost`);
      this.m.tokenLost(at);
      this.take(at);
      return;
    }
    this.take(tt);
  }

  /** A captured datagram: the daemon's own transmission (the engine's output), or one it receives. */
  private datagram(w: Wire): void {
    const now = w.t;
    this.clock = now;
    if (w.transmitter === this.myId) {
      if (this.ring.output(w)) {
        this.m.ringProgress(now);
        this.take(now);
      }
      // Tokens to myself are inputs too (Net_recv_token keeps them; Net_recv drops my own data packets).
      if (!(w.channel === 'token' && w.dstIp === this.o.ip)) return;
    }
    const toMe = w.dstIp === this.o.ip || (w.dstIp === this.seg.address && w.dstPort === this.seg.port);
    if (toMe) this.receive(w, now);
  }

  /** A datagram reaching the daemon. */
  private receive(w: Wire, now: number): void {
    const d = w.d;
    const m = this.m;
    if (d.kind === 'partition' || d.kind === 'reload') {
      m.handleDatagram('data', w.bytes, now);
      this.take(now);
      return;
    }
    if (!m.admits(w.channel, w.bytes)) return;
    if (d.kind === 'data' || d.kind === 'token') this.ring.input(w, now);
    if (!this.o.selfVisible && d.kind === 'token' && this.ring.members.length === 1 && w.transmitter === this.myId) {
      // A singleton ring's token, invisible to the capture: process it here (E5 and the Aru rule).
      if (this.ring.selfToken(d)) {
        m.ringProgress(now);
        this.take(now);
        if (this.ring.evs) this.loop.push({ ...w, t: now });
      }
      return;
    }
    const foreign = d.kind === 'data' && !sameRingId(d.header.membId, m.ringId);
    if (d.kind === 'alive' || d.kind === 'join' || d.kind === 'refer' || d.kind === 'form1' || d.kind === 'form2' || foreign) {
      m.handleDatagram(w.channel, w.bytes, now);
      this.take(now);
    }
  }

  private take(now: number): void {
    for (const a of this.m.takeActions()) this.apply(a, now);
  }

  private apply(a: MembershipAction, now: number): void {
    switch (a.kind) {
      case 'send':
        this.send(a, now);
        break;
      case 'timer':
        if (a.at === null) this.timers.delete(a.timer);
        else this.timers.set(a.timer, a.at);
        break;
      case 'transitional':
      case 'regular': {
        const id = a.kind === 'regular' ? a.ringId : a.id;
        this.configurations.push({ t: now, kind: a.kind, members: a.members, id });
        this.events.push(`${now.toFixed(1)} ${a.kind} [${a.members.map(ipString)}] (${ipString(id.procId)},${id.time})`);
        break;
      }
      case 'exit':
      case 'reload':
        this.events.push(`${now.toFixed(1)} ${a.kind}`);
        break;
      default:
        break;
    }
  }

  private send(a: SendAction, now: number): void {
    const config = this.o.config;
    const dst = a.to === 'segment'
      ? { ip: config.segments[a.target]!.address, port: config.segments[a.target]!.port }
      : { ip: this.addrOf.get(a.target)!.ip, port: this.addrOf.get(a.target)!.port + (a.channel === 'token' ? 1 : 0) };
    if (!this.o.selfVisible && dst.ip === this.o.ip) {
      const d = decodeDatagram(a.bytes, a.channel);
      this.loop.push({ t: now, dstIp: dst.ip, dstPort: dst.port, channel: a.channel, bytes: a.bytes, transmitter: this.myId, d });
    } else {
      this.ours.push({ t: now, dstIp: dst.ip, dstPort: dst.port, bytes: a.bytes });
    }
  }
}

export interface Comparison {
  matched: number;
  maxSkew: number;
  /** First problem, or null. */
  error: string | null;
}

function describe(s: Sent): string {
  const channel: Channel = s.dstPort % 2 === 0 ? 'token' : 'data';
  try {
    return decodeDatagram(s.bytes, channel).kind;
  } catch {
    return 'undecodable';
  }
}

/** Same sequence of datagrams: destination, bytes outside the uninitialised ranges, time within `tolerance` ms. */
export function compareSends(ours: readonly Sent[], theirs: readonly Sent[], tolerance: number): Comparison {
  let maxSkew = 0;
  const n = Math.min(ours.length, theirs.length);
  for (let k = 0; k < n; k++) {
    const a = ours[k]!;
    const b = theirs[k]!;
    const channel: Channel = b.dstPort % 2 === 0 ? 'token' : 'data';
    const where = `#${k} (ours ${a.t.toFixed(1)} ms → ${a.dstIp}:${a.dstPort} ${describe(a)}, reference ${b.t.toFixed(1)} ms → ${b.dstIp}:${b.dstPort} ${describe(b)})`;
    if (a.dstIp !== b.dstIp || a.dstPort !== b.dstPort) return { matched: k, maxSkew, error: `destination differs at ${where}` };
    const ranges = [...uninitialisedRanges(decodeDatagram(b.bytes, channel)), ...uninitialisedRanges(decodeDatagram(a.bytes, channel))];
    const diff = firstDifferenceOutside(a.bytes, b.bytes, ranges);
    if (diff >= 0) {
      return {
        matched: k, maxSkew,
        error: `bytes differ at offset ${diff} in ${where}:\n ours ${Buffer.from(a.bytes).toString('hex')}\n  ref ${Buffer.from(b.bytes).toString('hex')}`,
      };
    }
    const skew = Math.abs(a.t - b.t);
    if (skew > maxSkew) maxSkew = skew;
    if (skew > tolerance) return { matched: k, maxSkew, error: `time differs by ${skew.toFixed(2)} ms at ${where}` };
  }
  if (ours.length !== theirs.length) {
    const extra = ours.length > theirs.length ? ours[n]! : theirs[n]!;
    return {
      matched: n, maxSkew,
      error: `${ours.length} datagrams sent, the reference sent ${theirs.length}; first unmatched (${ours.length > theirs.length ? 'ours' : 'reference'}) at ${extra.t.toFixed(1)} ms to ${extra.dstIp}:${extra.dstPort}`,
    };
  }
  return { matched: n, maxSkew, error: null };
}

export { configHash };
