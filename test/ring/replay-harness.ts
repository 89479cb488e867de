/**
 * Replays one daemon of a reference capture through a RingEngine and compares what the engine
 * sends with what the reference daemon sent, datagram by datagram, byte for byte.
 *
 * Inputs are the captured datagrams addressed to that daemon (unicast to it, or broadcast on
 * its segment by someone else), fed at their capture times; timers fire at the engine's own
 * deadlines. Client messages are not in the captures, but the daemon's own data packets carry
 * them: each message is submitted right before the token visit at which the reference sent
 * it, or — when the reference woke the ring up for it — at the moment it did so (a HURRY
 * packet from a non-leader, or an out-of-schedule token resend from the leader).
 *
 * The replay starts in an idle ring (every packet stable), at a moment when the leader's hurry
 * timer re-sends the held token; the daemon's token round counter is learnt from its first
 * data packet in a first pass.
 */
import { readFileSync } from 'node:fs';
import { RingEngine } from '../../src/daemon/ring/engine.js';
import { packetTypeOf, type DataPacketType } from '../../src/daemon/ring/constants.js';
import type { RingAction } from '../../src/daemon/ring/actions.js';
import { getArq, getRetrans, procIdOf, PacketType } from '../../src/wire/daemon/constants.js';
import { referenceCapturesDir } from '../vectors/reference.js';

export interface Captured {
  /** Milliseconds. */
  t: number;
  dstIp: string;
  dstPort: number;
  bytes: Uint8Array;
}

export function loadRingCapture(name: string): Captured[] {
  const j = JSON.parse(readFileSync(`${referenceCapturesDir()}${name}.json`, 'utf8')) as {
    udp_datagrams: { t: number; src: string; dst: string; hex: string }[];
  };
  return j.udp_datagrams.map((d) => {
    const [ip, port] = d.dst.split(':') as [string, string];
    return { t: d.t * 1000, dstIp: ip, dstPort: Number(port), bytes: Uint8Array.from(Buffer.from(d.hex, 'hex')) };
  });
}

const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const i32 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
const i16 = (b: Uint8Array, o: number): number => ((b[o]! | (b[o + 1]! << 8)) << 16) >> 16;

export function transmitter(b: Uint8Array): number {
  return i32(b, 4);
}

export function isToken(c: Captured): boolean {
  return c.dstPort % 2 === 0; // 4804 in every capture here
}

function isHurry(c: Captured): boolean {
  return !isToken(c) && (u32(c.bytes, 0) & PacketType.HURRY) !== 0;
}

function isRegularData(c: Captured): boolean {
  return !isToken(c) && (u32(c.bytes, 0) & PacketType.REGULAR) !== 0;
}

export interface ReplaySpec {
  capture: string;
  /** Window in seconds: [from, to). `from` must be the leader's hurry re-send of a held token. */
  from: number;
  to: number;
  /** Segments: daemon IPs per segment, and each segment's broadcast address. */
  segments: { address: string; daemons: string[] }[];
  accelerated: boolean;
  /** The daemon to replay. */
  me: string;
  /** Ring members (default: every configured daemon), in configuration order. */
  members?: string[];
  /** How long an idle reference daemon takes to wake up for a datagram, ms (default 0.1). */
  wakeLatency?: number;
  /** How long before an output the reference daemon started working on it, ms (default 0.01). */
  reactionTime?: number;
}

export interface ReplayResult {
  compared: number;
  /** Identical back-to-back copies the capture keeps only once. */
  copies: number;
  /** Datagrams of each kind compared. */
  tokens: number;
  data: number;
  retransmissions: number;
  hurries: number;
  /** HURRY packets the reference sent. */
  expectedHurries: number;
  mismatches: string[];
  /** Output index of the first mismatch, or null. */
  firstMismatch: number | null;
  decisionPoints: DecisionPoint[];
  submitted: number;
  /** Outputs the reference sent that the engine did not (or vice versa), at the end. */
  leftover: string[];
}

interface Msg {
  bytes: Uint8Array;
  packetType: DataPacketType;
}

function ipOf(id: number): string {
  return `${(id >>> 24) & 0xff}.${(id >>> 16) & 0xff}.${(id >>> 8) & 0xff}.${id & 0xff}`;
}

/** Data packets up to this long (ms) after a token may have been read before it. */
const AMBIGUOUS = 0.2;

export interface DecisionPoint {
  /** Index of the token in the inputs. */
  input: number;
  /** Data packets that may have been read before it, and how many were. */
  options: number;
  chosen: number;
  /** Outputs compared before it. */
  exp: number;
}

export function replay(
  spec: ReplaySpec,
  tokenRoundsGuess?: number,
  decisions: ReadonlyMap<number, number> = new Map(),
): ReplayResult & { roundOffset: number | null } {
  const all = loadRingCapture(spec.capture).filter((c) => c.t >= spec.from * 1000 && c.t < spec.to * 1000);
  const me = procIdOf(spec.me);
  const mySeg = spec.segments.findIndex((s) => s.daemons.includes(spec.me));
  const segAddr = spec.segments.map((s) => s.address);
  const order = (spec.members ?? spec.segments.flatMap((s) => s.daemons)).map(procIdOf);
  const leader = order[0]!;
  const isLeader = leader === me;

  // What the operational ring sends: regular tokens, data packets, HURRY (not membership).
  const ringDatagram = (c: Captured): boolean => {
    const type = u32(c.bytes, 0);
    return isToken(c) ? (type & PacketType.FORM) === 0 : (type & (PacketType.REGULAR | PacketType.HURRY)) !== 0 && (type & 0x0f000700) === 0;
  };
  const outputs = all.filter((c) => transmitter(c.bytes) === me && ringDatagram(c));
  // The daemon's part ends with its last ring datagram (it may be killed, or lose the token).
  const end = outputs.length > 0 ? outputs[outputs.length - 1]!.t + 1 : -Infinity;
  const inputs = all.filter((c) => c.t <= end && transmitter(c.bytes) !== me && (c.dstIp === spec.me || c.dstIp === segAddr[mySeg]));
  const first = all.find((c) => isToken(c) && transmitter(c.bytes) === leader)!;
  const seq0 = i32(first.bytes, 20);
  const arq0 = getArq(u32(first.bytes, 0));
  const ringId = { procId: i32(first.bytes, 12), time: i32(first.bytes, 16) };
  const confHash = u32(first.bytes, 36);

  // Messages this daemon originated, grouped by the token visit at which they went out: the
  // visit is the first token it sent whose seq covers the packet, and that token answered the
  // first copy of the latest matching token it received before.
  const inputTokens = inputs.filter(isToken);
  const outTokens = outputs.filter(isToken);
  const visitOf = (seq: number): number => {
    const o = outTokens.find((c) => i32(c.bytes, 20) >= seq);
    if (o === undefined) return -1;
    const arq = (getArq(u32(o.bytes, 0)) + (isLeader ? 15 : 0)) & 0xf;
    let k = -1;
    for (let i = 0; i < inputTokens.length && inputTokens[i]!.t <= o.t; i++) {
      if (getArq(u32(inputTokens[i]!.bytes, 0)) !== arq) continue;
      const runContinues = i > 0 && getArq(u32(inputTokens[i - 1]!.bytes, 0)) === arq && k >= 0;
      if (!runContinues) k = i;
    }
    return k;
  };
  const plan = new Map<number, Msg[]>();
  const seen = new Set<number>();
  let chain: Uint8Array[] = [];
  let chainType = 0;
  for (const c of outputs) {
    if (!isRegularData(c)) continue;
    const b = c.bytes;
    if (i32(b, 8) !== me) continue;
    const seq = i32(b, 20);
    if (seen.has(seq)) continue;
    seen.add(seq);
    const type = u32(b, 0) & PacketType.REGULAR;
    const k = visitOf(seq);
    const list = plan.get(k) ?? [];
    plan.set(k, list);
    const dataLen = i16(b, 32);
    const firstIndex = i16(b, 36);
    const firstLen = i16(b, 38);
    const body = b.subarray(40, 40 + dataLen);
    if (firstIndex === 1 || firstIndex === -1) {
      chain = [];
      chainType = type;
    }
    chain.push(body.subarray(0, firstLen));
    if (firstIndex === 1) list.push({ bytes: new Uint8Array(0), packetType: type as DataPacketType }); // placeholder, filled when complete
    if (firstIndex < 0) {
      const whole = Buffer.concat(chain);
      if (firstIndex === -1) list.push({ bytes: whole, packetType: chainType as DataPacketType });
      else fillPlaceholder(plan, whole, chainType);
    }
    let p = firstLen;
    while (p < dataLen) {
      const h = p + ((4 - (p & 3)) & 3);
      const len = i16(body, h + 2);
      const m = body.slice(h + 4, h + 4 + len);
      const own = packetTypeOf(u32(m, 0) & 0x7fffff7f);
      list.push({ bytes: m, packetType: own ?? (type as DataPacketType) });
      p = h + 4 + len;
    }
  }
  const visits = [...plan.keys()].sort((a, b) => a - b);
  let nextVisit = 0;

  const engine = new RingEngine({
    myId: me,
    segments: spec.segments.map((s) => ({ daemons: s.daemons.map(procIdOf) })),
    confHash,
    accelerated: spec.accelerated,
  });
  const t0 = first.t;
  const lastArq = isLeader ? arq0 : (arq0 + 15) & 0xf;
  engine.install({
    ringId,
    members: order,
    resume: {
      seq: seq0,
      tokenRounds: tokenRoundsGuess ?? 0,
      tokenCounter: 5,
      lastToken: { type: (lastArq << 16) | (isLeader ? 0 : 1 << 20), seq: seq0, aru: seq0, aruLastId: me, flowControl: 0 },
    },
  }, isLeader ? t0 - 500 : t0 - 1);
  const deadlines: Record<string, number | null> = { tokenLoss: null, hurry: null };

  const expected = outputs.filter((c) => !isHurry(c));
  const hurryTimes = outputs.filter(isHurry).map((c) => c.t);
  let exp = 0;
  const res: ReplayResult & { roundOffset: number | null } = {
    compared: 0, copies: 0, tokens: 0, data: 0, retransmissions: 0, hurries: 0, expectedHurries: 0, mismatches: [], firstMismatch: null, decisionPoints: [],
    submitted: 0, leftover: [], roundOffset: null,
  };

  let prevBytes: Uint8Array | null = null;
  let prevDst = '';
  const collect = (now: number): void => {
    const acts: readonly RingAction[] = engine.takeActions();
    for (const a of acts) {
      if (a.kind === 'timer') deadlines[a.timer] = a.at;
      if (a.kind === 'violation' || a.kind === 'tokenLost') {
        if (res.firstMismatch === null) res.firstMismatch = exp;
        res.mismatches.push(`t=${now.toFixed(1)} engine ${a.kind} ${JSON.stringify(a)}`);
      }
      if (a.kind !== 'send') continue;
      if (a.channel === 'data' && (u32(a.bytes, 0) & PacketType.HURRY) !== 0) {
        res.hurries++;
        continue;
      }
      const dst = a.to === 'segment' ? `${segAddr[a.target]}:4803` : `${ipOf(a.target)}:${a.channel === 'token' ? 4804 : 4803}`;
      // The capture files keep one of several identical datagrams sent back to back (the
      // reference sends a token with RETRANS > 1 three times).
      if (prevBytes !== null && dst === prevDst && same(a.bytes, prevBytes) && !(expected[exp] && same(expected[exp]!.bytes, a.bytes))) {
        res.copies++;
        continue;
      }
      prevBytes = a.bytes;
      prevDst = dst;
      const want = expected[exp++];
      if (want === undefined) {
        if (res.firstMismatch === null) res.firstMismatch = exp - 1;
        res.leftover.push(`engine sent extra ${describe(a.channel, a.bytes)} to ${dst} at ${now.toFixed(1)}`);
        continue;
      }
      res.compared++;
      const wdst = `${want.dstIp}:${want.dstPort}`;
      const ours = a.bytes;
      const theirs = want.bytes;
      const data = a.channel === 'data';
      if (data && res.roundOffset === null && ours.length >= 28 && theirs.length >= 28 && i32(theirs, 8) === me) {
        res.roundOffset = i32(theirs, 24) - i32(ours, 24);
      }
      if (data) {
        if (i32(theirs, 8) === me && i32(theirs, 20) > seq0) res.data++;
        else res.retransmissions++;
      } else res.tokens++;
      if (dst !== wdst || !same(ours, theirs)) {
        if (res.firstMismatch === null) res.firstMismatch = exp - 1;
        res.mismatches.push(
          `#${exp - 1} t=${want.t.toFixed(1)}ms (ours at ${now.toFixed(1)}): reference ${describe(isToken(want) ? 'token' : 'data', theirs)} -> ${wdst}\n` +
          `      ours      ${describe(a.channel, ours)} -> ${dst}\n      ref  ${hex(theirs)}\n      ours ${hex(ours)}`,
        );
      }
    }
  };
  res.expectedHurries = hurryTimes.length;
  collect(t0);

  const fireTimers = (upTo: number): void => {
    for (;;) {
      let best: 'tokenLoss' | 'hurry' | null = null;
      for (const k of ['hurry', 'tokenLoss'] as const) {
        const d = deadlines[k];
        if (d !== null && d !== undefined && d <= upTo && (best === null || d < deadlines[best]!)) best = k;
      }
      if (best === null) return;
      const at = deadlines[best]!;
      deadlines[best] = null;
      engine.handleTimer(best, at);
      collect(at);
    }
  };
  const submitNext = (now: number): void => {
    if (nextVisit >= visits.length) return;
    const msgs = plan.get(visits[nextVisit++]!)!;
    for (const m of msgs) {
      engine.submit(m.bytes, m.packetType, now);
      res.submitted++;
    }
    collect(now);
  };

  // The reference reads one datagram per event-loop turn, pending data before a pending token
  // unless the accelerated ring gave the token priority. Which data packets arriving right
  // after a token (before the daemon answered it) were already pending is a matter of
  // microseconds the capture cannot show: `decisions` says, per token, how many of them go
  // first (default: those within `wakeLatency` of the token and `reactionTime` before the
  // answer). replaySearch() tries the alternatives where the default does not match.
  const D = spec.reactionTime ?? 0.01;
  const W = spec.wakeLatency ?? 0.1;
  const done = new Uint8Array(inputs.length);
  let firstOpen = 0;
  let clock = -Infinity;
  let hurryIdx = 0;
  let outIdx = 0;
  const process1 = (idx: number): void => {
    done[idx] = 1;
    const input = inputs[idx]!;
    const t = (clock = Math.max(clock, input.t));
    // A holding leader lets the token go for a message by re-sending it at once: when the
    // reference re-sent the token right before a visit with new messages, they came then (or
    // before its hurry timer, which the re-send replaced).
    if (isLeader && nextVisit < visits.length) {
      const v = visits[nextVisit]!;
      const from = v > 0 ? inputTokens[v - 1]!.t : -Infinity;
      const resend = outTokens.filter((c) => c.t > from && c.t < inputTokens[v]!.t && getRetrans(u32(c.bytes, 0)) > 0).pop();
      if (resend !== undefined && resend.t <= t) {
        const hd = deadlines['hurry'];
        submitNext(hd !== null && hd !== undefined ? Math.min(hd, resend.t) : resend.t);
      }
    }
    fireTimers(t);
    // A non-leader wakes the ring up for a message with a HURRY: the message came then.
    while (hurryIdx < hurryTimes.length && hurryTimes[hurryIdx]! <= t) submitNext(hurryTimes[hurryIdx++]!);
    const k = isToken(input) ? inputTokens.indexOf(input) : -1;
    if (k >= 0) while (nextVisit < visits.length && visits[nextVisit]! <= k) submitNext(t);
    engine.handleDatagram(isToken(input) ? 'token' : 'data', input.bytes, t);
    collect(t);
  };
  for (;;) {
    while (firstOpen < inputs.length && done[firstOpen]) firstOpen++;
    if (firstOpen >= inputs.length) break;
    const i = firstOpen;
    const item = inputs[i]!;
    if (!isToken(item)) {
      process1(i);
      continue;
    }
    while (outIdx < outputs.length && outputs[outIdx]!.t < item.t) outIdx++;
    const nextOut = outIdx < outputs.length ? outputs[outIdx]!.t : Infinity;
    const cands: number[] = [];
    let byDefault = 0;
    for (let j = i + 1; j < inputs.length && inputs[j]!.t < Math.min(item.t + AMBIGUOUS, nextOut); j++) {
      if (done[j] || isToken(inputs[j]!)) continue;
      cands.push(j);
      if (inputs[j]!.t < Math.min(item.t + W, nextOut - D)) byDefault = cands.length;
    }
    const c = Math.min(cands.length, decisions.get(i) ?? byDefault);
    if (cands.length > 0) res.decisionPoints.push({ input: i, options: cands.length, chosen: c, exp });
    for (let q = 0; q < c; q++) {
      process1(cands[q]!);
      if (engine.tokenHasPriority) break;
    }
    process1(i);
  }
  fireTimers(Math.min(spec.to * 1000, end));
  for (; exp < expected.length; exp++) {
    const w = expected[exp]!;
    res.leftover.push(`reference sent ${describe(isToken(w) ? 'token' : 'data', w.bytes)} at ${w.t.toFixed(1)}, engine did not`);
  }
  return res;
}

function fillPlaceholder(plan: Map<number, Msg[]>, whole: Uint8Array, type: number): void {
  for (const list of plan.values()) {
    for (const m of list) {
      if (m.bytes.length === 0) {
        m.bytes = whole;
        m.packetType = type as DataPacketType;
        return;
      }
    }
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.subarray(0, 40)).toString('hex') + (b.length > 40 ? `…(+${b.length - 40})` : '');
}

export function describe(channel: 'data' | 'token', b: Uint8Array): string {
  const type = u32(b, 0);
  if (channel === 'token') {
    return `TOKEN seq=${i32(b, 20)} aru=${i32(b, 24)} aru_last=${ipOf(i32(b, 28))} fc=${i16(b, 32)} rtr_len=${i16(b, 34)} arq=${getArq(type)} rt=${getRetrans(type)}`;
  }
  return `DATA type=0x${(type & 0x7fffff7f).toString(16)} seq=${i32(b, 20)} round=${i32(b, 24)} proc=${ipOf(i32(b, 8))} trans=${ipOf(i32(b, 4))} len=${b.length}`;
}

export interface SearchResult {
  result: ReplayResult & { roundOffset: number | null };
  runs: number;
  /** Tokens whose read order had to differ from the default to match. */
  adjusted: number;
}

/**
 * Replays with the default read order, then — wherever the first mismatch follows a token
 * with near-simultaneous data packets — tries the other orders for the latest such tokens.
 * Stops when everything matches, or when no alternative moves the first mismatch further.
 */
export function replaySearch(spec: ReplaySpec, maxRuns = 400): SearchResult {
  const first = replay(spec);
  const rounds = first.roundOffset ?? 0;
  const decisions = new Map<number, number>();
  let best = replay(spec, rounds, decisions);
  let runs = 2;
  const progress = (r: ReplayResult): number => r.firstMismatch ?? Infinity;
  outer: while (best.firstMismatch !== null && runs < maxRuns) {
    const bound = best.firstMismatch;
    const points = best.decisionPoints.filter((p) => p.exp <= bound).slice(-4).reverse();
    for (const p of points) {
      const original = decisions.get(p.input);
      for (let v = 0; v <= p.options; v++) {
        if (v === p.chosen) continue;
        decisions.set(p.input, v);
        const r = replay(spec, rounds, decisions);
        runs++;
        if (progress(r) > bound) {
          best = r;
          continue outer;
        }
        if (runs >= maxRuns) break outer;
      }
      if (original === undefined) decisions.delete(p.input);
      else decisions.set(p.input, original);
    }
    break;
  }
  return { result: best, runs, adjusted: decisions.size };
}
