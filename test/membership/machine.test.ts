/**
 * The membership machine alone, on a scripted RingPort: the representative rules, start-up,
 * timeouts from spread.conf, FORM edge cases, EVS commit / completion / MAX_EVS_ROUNDS,
 * foreign packets, monitor PARTITION and RELOAD.
 */
import { describe, expect, it } from 'vitest';
import { LAN_TIMEOUTS, WAN_TIMEOUTS, parseConfig } from '../../src/daemon/config/index.js';
import {
  MAX_EVS_ROUNDS, MembState, Membership, MembershipConf, insertRep, membershipSettingsFromConfig, smallestRep, sortMembers,
  sortReps, type EvsDeliveries, type EvsRing, type MembershipAction, type MembershipSettings, type RingPort,
} from '../../src/daemon/membership/index.js';
import type { DeliverAction, SendAction } from '../../src/daemon/ring/actions.js';
import { decodePacketHeader } from '../../src/wire/daemon/header.js';
import { readerFor } from '../../src/wire/bytes.js';
import {
  MONITOR_HASH, MONITOR_MAGIC, PacketType, RepType, decodeDatagram, encodeDatagram, encodePacketHeaderInto, procIdOf,
  type Datagram, type Form1Token, type RingRecord,
} from '../../src/wire/daemon/index.js';

const A = procIdOf('10.0.0.1');
const B = procIdOf('10.0.0.2');
const C = procIdOf('10.0.0.3');
const D = procIdOf('10.0.0.4');
const HASH = 77;

class ScriptPort implements RingPort {
  highestSeq = 0;
  myAru = 0;
  aru = 0;
  lastDiscarded = 0;
  tokenRounds = 0;
  readonly have = new Set<number>();
  readonly calls: string[] = [];
  installed: EvsRing | null = null;
  commitGiven: readonly number[] = [];
  hasReceived(seq: number): boolean {
    return this.have.has(seq);
  }
  standby(): void {
    this.calls.push('standby');
  }
  loseToken(): void {
    this.calls.push('loseToken');
  }
  stopToken(): void {
    this.calls.push('stopToken');
  }
  backoff(): void {
    this.calls.push('backoff');
  }
  installEvs(ring: EvsRing): readonly DeliverAction[] {
    this.calls.push('installEvs');
    this.installed = ring;
    return [{ kind: 'deliver', message: new Uint8Array([1]), packetType: PacketType.AGREED, sender: A, seq: 1 }];
  }
  completeEvs(commit: readonly number[]): EvsDeliveries {
    this.calls.push('completeEvs');
    this.commitGiven = commit;
    return {
      beforeTransitional: [{ kind: 'deliver', message: new Uint8Array([2]), packetType: PacketType.AGREED, sender: A, seq: 2 }],
      afterTransitional: [{ kind: 'deliver', message: new Uint8Array([3]), packetType: PacketType.AGREED, sender: A, seq: 3 }],
    };
  }
}

/** Decodes a sent datagram; a data packet (opaque test body) by its header only. */
function decode(a: SendAction): Datagram {
  const type = a.bytes[0]! | (a.bytes[1]! << 8);
  if (a.channel === 'data' && (type & PacketType.REGULAR) !== 0 && (type & PacketType.MEMBERSHIP) === 0) {
    const header = decodePacketHeader(readerFor(a.bytes, 0, a.bytes.length, 'packet_header'), 0).value;
    return { kind: 'data', littleEndian: true, header, fragments: [] };
  }
  return decodeDatagram(a.bytes, a.channel);
}

/** A membership machine with a scripted ring and a clock that runs its timers. */
class Rig {
  readonly port = new ScriptPort();
  readonly m: Membership;
  now = 0;
  readonly actions: MembershipAction[] = [];
  private readonly timers = new Map<string, number>();
  constructor(segments: number[][], me: number, opts: Pick<MembershipSettings, 'dangerousMonitor' | 'reloadByEdge'> = {}) {
    this.m = new Membership({
      myId: me, segments: segments.map((daemons) => ({ daemons })), confHash: HASH, timeouts: LAN_TIMEOUTS,
      wallClock: (now) => 1000 + now / 1000, ...opts,
    }, this.port);
  }
  take(): readonly MembershipAction[] {
    const a = this.m.takeActions();
    for (const x of a) {
      if (x.kind === 'timer') {
        if (x.at === null) this.timers.delete(x.timer);
        else this.timers.set(x.timer, x.at);
      }
    }
    this.actions.push(...a);
    return a;
  }
  /** Advance the clock to `t`, firing due timers in order. */
  runTo(t: number): void {
    for (;;) {
      let best: string | null = null;
      let at = Infinity;
      for (const [k, v] of this.timers) if (v < at) [best, at] = [k, v];
      if (best === null || at > t) break;
      this.timers.delete(best);
      this.now = at;
      this.m.handleTimer(best as never, at);
      this.take();
    }
    this.now = t;
  }
  sends(): (SendAction & { d: Datagram })[] {
    return this.actions.filter((a): a is SendAction => a.kind === 'send').map((a) => ({ ...a, d: decode(a) }));
  }
  feed(channel: 'data' | 'token', bytes: Uint8Array): readonly MembershipAction[] {
    this.m.handleDatagram(channel, bytes, this.now);
    return this.take();
  }
}

function join(from: number, reps: { procId: number; type: number; segIndex: number }[], members: number[] = [from]): Uint8Array {
  return encodeDatagram({
    kind: 'join', littleEndian: true, members, numPending: 0, reps, repIndex: 0,
    header: { type: PacketType.JOIN, transmitterId: from, procId: from, membId: { procId: 0, time: 0 }, seq: 0, tokenRound: 0, confHash: HASH, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0 },
  });
}

describe('representatives (Insert_rep, Smallest_rep, sorts)', () => {
  const conf = new MembershipConf(A, [{ daemons: [A, B] }, { daemons: [C, D] }]);
  it('one rep per segment where possible', () => {
    const r: { procId: number; type: number; segIndex: number }[] = [];
    expect(insertRep(r, { procId: C, type: RepType.POTENTIAL_REP, segIndex: 1 }, conf)).toBe(true);
    expect(insertRep(r, { procId: D, type: RepType.POTENTIAL_REP, segIndex: 1 }, conf)).toBe(false); // segment taken
    expect(insertRep(r, { procId: D, type: RepType.SEG_REP, segIndex: 1 }, conf)).toBe(true); // replaces the POTENTIAL
    expect(r).toEqual([{ procId: D, type: RepType.SEG_REP, segIndex: 1 }]);
    expect(insertRep(r, { procId: D, type: RepType.RING_REP, segIndex: 1 }, conf)).toBe(true); // upgraded
    expect(r[0]!.type).toBe(RepType.RING_REP);
    expect(insertRep(r, { procId: D, type: RepType.SEG_REP, segIndex: 1 }, conf)).toBe(true); // lost its ring
    expect(r[0]!.type).toBe(RepType.SEG_REP);
    expect(insertRep(r, { procId: C, type: RepType.SEG_REP, segIndex: 1 }, conf)).toBe(true); // two SEG_REPs of a segment
    expect(insertRep(r, { procId: procIdOf('9.9.9.9'), type: RepType.SEG_REP, segIndex: 0 }, conf)).toBe(false);
    expect(r.length).toBe(2);
  });
  it('SEG_REPs are smaller than RING_REPs; ties keep the reference order', () => {
    const reps = [
      { procId: A, type: RepType.RING_REP, segIndex: 0 },
      { procId: D, type: RepType.SEG_REP, segIndex: 1 },
      { procId: C, type: RepType.SEG_REP, segIndex: 1 },
      { procId: B, type: RepType.SEG_REP, segIndex: 0 },
    ];
    expect(reps[smallestRep(reps, conf)]!.procId).toBe(B);
    // Selection sort with swap-with-last removal: D and C tie, and come out D, C.
    expect(sortReps(reps, conf).map((r) => r.procId)).toEqual([B, D, C, A]);
    expect(sortMembers([D, B, C, A], conf)).toEqual([A, B, C, D]);
  });
});

describe('settings from spread.conf', () => {
  const text = (extra: string, second = '10.1.0.1'): string =>
    `Spread_Segment 10.0.0.255:4803 {\n a 10.0.0.1\n b 10.0.0.2\n}\nSpread_Segment 10.0.1.255:4803 {\n c ${second}\n}\n${extra}`;
  it('LAN defaults when every segment leader shares segment 0\'s /16, WAN defaults otherwise', () => {
    expect(membershipSettingsFromConfig(parseConfig(text('', '10.0.1.1'), 'x'), A).timeouts).toEqual(LAN_TIMEOUTS);
    expect(membershipSettingsFromConfig(parseConfig(text('', '10.9.1.1'), 'x'), A).timeouts).toEqual(WAN_TIMEOUTS);
  });
  it('all nine configured timeouts are used as given', () => {
    const nine = 'TokenTimeout = 5000\nHurryTimeout = 1000\nAliveTimeout = 300\nJoinTimeout = 300\nRepTimeout = 900\n' +
      'SegTimeout = 600\nGatherTimeout = 2000\nFormTimeout = 2100\nLookupTimeout = 60000\n';
    const s = membershipSettingsFromConfig(parseConfig(text(nine), 'x'), A);
    expect(s.timeouts).toEqual({ token: 5000, hurry: 1000, alive: 300, join: 300, rep: 900, seg: 600, gather: 2000, form: 2100, lookup: 60000 });
    expect(() => parseConfig(text('TokenTimeout = 5000\n'), 'x')).toThrow(/all/);
  });
});

describe('start-up', () => {
  it('SEG with ALIVEs on a shared segment, then GATHER as the smallest, JOINs to the other segment\'s first daemon', () => {
    const rig = new Rig([[A, B], [C, D]], A);
    rig.m.start(0);
    rig.take();
    expect(rig.m.memberState).toBe(MembState.SEG);
    expect(rig.port.calls).toEqual(['standby', 'loseToken']);
    rig.runTo(499);
    const alives = rig.sends().filter((s) => s.d.kind === 'alive');
    expect(alives.map((s) => [s.to, s.target])).toEqual([['segment', 0], ['segment', 0]]);
    rig.runTo(501);
    expect(rig.m.memberState).toBe(MembState.GATHER);
    const joins = rig.sends().filter((s) => s.d.kind === 'join');
    expect(joins.map((s) => [s.to, s.target])).toEqual([['segment', 0], ['proc', C]]);
    expect((joins[0]!.d as { reps: unknown[] }).reps).toEqual([{ procId: A, type: RepType.SEG_REP, segIndex: 0 }]);
  });

  it('a daemon that hears a smaller one becomes REPRESENTED and answers JOINs from elsewhere with a REFER', () => {
    const rig = new Rig([[A, B], [C]], B);
    rig.m.start(0);
    rig.take();
    rig.feed('data', encodeDatagram({
      kind: 'alive', littleEndian: true, members: [A], numPending: 0,
      header: { type: PacketType.ALIVE, transmitterId: A, procId: A, membId: { procId: 0, time: 0 }, seq: 0, tokenRound: 0, confHash: HASH, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0 },
    }));
    rig.runTo(600);
    expect(rig.m.memberState).toBe(MembState.REPRESENTED);
    rig.feed('data', join(A, [{ procId: A, type: RepType.SEG_REP, segIndex: 0 }]));
    rig.feed('data', join(C, [{ procId: C, type: RepType.SEG_REP, segIndex: 1 }]));
    const refer = rig.sends().find((s) => s.d.kind === 'refer')!;
    expect(refer.target).toBe(C);
    expect(refer.d.header.membId).toEqual({ procId: A, time: RepType.SEG_REP });
    rig.runTo(600 + 700); // no word from A for a Rep timeout: back to SEG
    expect(rig.m.memberState).toBe(MembState.SEG);
  });

  it('the first Seg period runs from the process start it is given, never shorter than one Alive period from now', () => {
    const segEnd = (now: number, since?: number): number => {
      const rig = new Rig([[A, B], [C]], A);
      rig.now = now;
      rig.m.start(now, since);
      rig.take();
      const seg = rig.actions.filter((a) => a.kind === 'timer' && a.timer === 'seg').pop();
      return seg?.kind === 'timer' ? seg.at! : NaN;
    };
    expect(segEnd(130)).toBe(130 + LAN_TIMEOUTS.seg); // no origin given: from now
    expect(segEnd(130, 0)).toBe(LAN_TIMEOUTS.seg); // started 130 ms earlier: the same end as a start at 0
    expect(segEnd(400, 0)).toBe(400 + LAN_TIMEOUTS.alive); // a slow start: at least one Alive period
    expect(segEnd(130, 200)).toBe(130 + LAN_TIMEOUTS.seg); // an origin after now means now
  });
});

describe('a singleton ring, end to end on the scripted port', () => {
  function singleton(): { rig: Rig; form2: Uint8Array } {
    const rig = new Rig([[A], [B]], A);
    rig.m.start(0);
    rig.take();
    rig.runTo(500 + 1250 + 1);
    const f2 = rig.sends().filter((s) => s.d.kind === 'form2');
    expect(f2.length).toBe(2); // sent twice, to myself
    expect(f2[0]!.target).toBe(A);
    expect(rig.m.memberState).toBe(MembState.FORM);
    return { rig, form2: f2[0]!.bytes };
  }

  it('FORM2 → EVS → transitional, deliveries, regular; Last_time_used makes ids strictly increasing', () => {
    const { rig, form2 } = singleton();
    const before = rig.actions.length;
    rig.feed('token', form2);
    expect(rig.m.memberState).toBe(MembState.EVS);
    const ring = rig.port.installed!;
    expect(ring.members).toEqual([A]);
    expect(ring.oldRingId).toEqual({ procId: A, time: -1 });
    expect(ring.tokenRounds).toBe(1);
    // Create_form1 took second 1001, Read_form2 1002 (transitional) and 1003 (ring id).
    expect(ring.ringId).toEqual({ procId: A, time: 1003 });
    const first = rig.sends().slice(-2);
    expect(first.map((s) => s.d.kind)).toEqual(['token', 'token']);
    expect(first[0]!.bytes).toEqual(encodeDatagram({ kind: 'token', littleEndian: true, rtr: [], header: { type: 0, transmitterId: A, procId: A, membId: { procId: A, time: 1003 }, seq: 0, aru: 0x7fffffff, aruLastId: -1, flowControl: 0, rtrLen: 0, confHash: HASH } }));
    rig.port.myAru = ring.lastSeq;
    rig.port.aru = ring.lastSeq;
    rig.m.ringProgress(rig.now);
    const after = rig.take();
    expect(after.map((a) => a.kind).filter((k) => k !== 'log' && k !== 'timer')).toEqual(['deliver', 'transitional', 'deliver', 'regular']);
    const trans = after.find((a) => a.kind === 'transitional')!;
    expect(trans).toMatchObject({ members: [A], id: { procId: A, time: 1002 }, commit: [A] });
    expect(rig.m.memberState).toBe(MembState.OP);
    expect(rig.m.ringId).toEqual({ procId: A, time: 1003 });
    expect(rig.actions.slice(before).some((a) => a.kind === 'deliver')).toBe(true);
    expect(rig.m.timerDeadline('lookup')).toBe(rig.now + LAN_TIMEOUTS.lookup);
  });

  it(`more than ${MAX_EVS_ROUNDS} token rounds in EVS: backoff and a new gather`, () => {
    const { rig, form2 } = singleton();
    rig.feed('token', form2);
    rig.port.tokenRounds = MAX_EVS_ROUNDS;
    rig.m.ringProgress(rig.now);
    expect(rig.m.memberState).toBe(MembState.EVS);
    rig.port.tokenRounds = MAX_EVS_ROUNDS + 1;
    rig.m.ringProgress(rig.now);
    rig.take();
    expect(rig.m.memberState).toBe(MembState.SEG);
    expect(rig.port.calls.slice(-2)).toEqual(['backoff', 'loseToken']);
  });

  it('a FORM2 of another attempt is dropped; the FORM timeout means token loss', () => {
    const { rig, form2 } = singleton();
    const other = form2.slice();
    other[16] = other[16]! ^ 1; // memb_id.time
    rig.feed('token', other);
    expect(rig.m.memberState).toBe(MembState.FORM);
    rig.runTo(rig.now + LAN_TIMEOUTS.form + 1);
    expect(rig.m.memberState).toBe(MembState.SEG);
  });
});

describe('FORM1 edge cases', () => {
  it('a daemon whose ring record would be the 21st takes itself off the token', () => {
    const rig = new Rig([[A], [B]], B);
    rig.m.start(0);
    rig.take();
    rig.runTo(501);
    expect(rig.m.memberState).toBe(MembState.GATHER);
    const rings: RingRecord[] = Array.from({ length: 20 }, (_, k) => ({
      membId: { procId: procIdOf(`10.9.0.${k + 1}`), time: k }, transTime: 0, aru: 0, highestSeq: 0, holes: [], commit: [A], numTrans: 1,
    }));
    const t: Form1Token = {
      kind: 'form1', littleEndian: true,
      header: { type: PacketType.FORM1, transmitterId: A, procId: A, membId: { procId: A, time: 5 }, seq: 3333, aru: 0, aruLastId: 0, flowControl: 0, rtrLen: 0, confHash: HASH },
      members: { numMembers: 1, numPending: 0, members: [A] },
      reps: { repIndex: 1, reps: [{ procId: A, type: RepType.SEG_REP, segIndex: 0 }, { procId: B, type: RepType.SEG_REP, segIndex: 1 }] },
      rings,
    };
    rig.feed('token', encodeDatagram(t));
    const out = rig.sends().filter((s) => s.d.kind === 'form2');
    expect(out.length).toBe(2);
    const f2 = out[0]!.d as Extract<Datagram, { kind: 'form2' }>;
    expect(out[0]!.target).toBe(A);
    expect(f2.members.members).toEqual([A]);
    expect(f2.rings.length).toBe(20);
    expect(rig.m.memberState).toBe(MembState.FORM);
  });
});

describe('monitor and foreign packets', () => {
  function partition(components: number[], from = A): Uint8Array {
    return encodeDatagram({
      kind: 'partition', littleEndian: true, components: Array.from({ length: 128 }, (_, i) => components[i] ?? 0),
      header: { type: PacketType.PARTITION, transmitterId: 0, procId: from, membId: { procId: MONITOR_MAGIC, time: 0 }, seq: 0, tokenRound: 0, confHash: MONITOR_HASH, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0 },
    });
  }
  function fromB(): Uint8Array {
    return join(B, [{ procId: B, type: RepType.SEG_REP, segIndex: 1 }]);
  }

  it('PARTITION only with DangerousMonitor; admits() then drops the other component; −1 exits', () => {
    const safe = new Rig([[A], [B], [C]], A);
    safe.feed('data', partition([0, 1, 1]));
    expect(safe.m.admits('data', fromB())).toBe(true);
    const rig = new Rig([[A], [B], [C]], A, { dangerousMonitor: true });
    rig.feed('data', partition([0, 1, 1]));
    expect(rig.m.admits('data', fromB())).toBe(false);
    expect(rig.m.admits('data', partition([0, 1, 1], B))).toBe(true); // monitor packets pass
    expect(rig.m.timerDeadline('partition')).toBe(60_000);
    rig.runTo(60_001);
    expect(rig.m.admits('data', fromB())).toBe(true);
    rig.feed('data', partition([-1]));
    expect(rig.take().concat(rig.actions).some((a) => a.kind === 'exit')).toBe(true);
  });

  it('a foreign packet: the segment leader shows it to its ring leader, twice, once per ring', () => {
    // A ring {A, B} on one segment, B its segment... leader is A; make B the first of segment 1.
    const rig = new Rig([[A], [B, C]], B);
    rig.m.start(0);
    rig.take();
    // Bring B into a ring {A, B} through the scripted protocol: FORM1 from A with B pending.
    rig.runTo(501);
    const t: Form1Token = {
      kind: 'form1', littleEndian: true,
      header: { type: PacketType.FORM1, transmitterId: A, procId: A, membId: { procId: A, time: 7 }, seq: 3333, aru: 0, aruLastId: 0, flowControl: 0, rtrLen: 0, confHash: HASH },
      members: { numMembers: 1, numPending: 0, members: [A] },
      reps: { repIndex: 1, reps: [{ procId: A, type: RepType.SEG_REP, segIndex: 0 }, { procId: B, type: RepType.SEG_REP, segIndex: 1 }] },
      rings: [{ membId: { procId: A, time: -1 }, transTime: 0, aru: 0, highestSeq: 0, holes: [], commit: [A], numTrans: 1 }],
    };
    rig.feed('token', encodeDatagram(t));
    const f2 = rig.sends().filter((s) => s.d.kind === 'form2')[0]!;
    expect(f2.target).toBe(A);
    // A reads it (as the leader) and sends it back; B reads it and sends the first token.
    const f2d = f2.d as Extract<Datagram, { kind: 'form2' }>;
    f2d.members.numMembers = 1;
    f2d.members.numPending = 1;
    f2d.newRingId = { procId: A, time: 9 };
    f2d.header.transmitterId = A;
    rig.feed('token', encodeDatagram(f2d));
    expect(rig.m.memberState).toBe(MembState.EVS);
    rig.port.myAru = rig.port.installed!.lastSeq;
    rig.port.aru = rig.port.installed!.lastSeq;
    rig.m.ringProgress(rig.now);
    rig.take();
    expect(rig.m.memberState).toBe(MembState.OP);
    expect(rig.m.status().members).toEqual([A, B]);

    // A data packet of another ring, sent by C (a daemon of my segment in its own ring).
    const pkt = new Uint8Array(40 + 4);
    encodePacketHeaderInto({
      type: PacketType.AGREED | PacketType.ROUTED, transmitterId: C, procId: C, membId: { procId: C, time: 3 }, seq: 1, tokenRound: 0,
      confHash: HASH, dataLen: 4, padding: 0, fragIndex: -1, fragLen: 4,
    }, 4, pkt, 0);
    rig.actions.length = 0;
    rig.feed('data', pkt);
    rig.feed('data', pkt);
    const fwd = rig.sends();
    expect(fwd.map((s) => [s.channel, s.target])).toEqual([['data', A], ['data', A]]);
    expect(fwd[0]!.d.header).toMatchObject({ transmitterId: B, procId: C, type: PacketType.AGREED });
  });

  const reload = encodeDatagram({
    kind: 'reload', littleEndian: true,
    header: { type: PacketType.RELOAD, transmitterId: 0, procId: A, membId: { procId: MONITOR_MAGIC, time: 0 }, seq: 0, tokenRound: 0, confHash: MONITOR_HASH, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0 },
  });
  /** The first ring, A alone: its FORM2 to itself read, EVS complete (OP). */
  const singletonRing = (rig: Rig): void => {
    rig.runTo(500 + 1250 + 1);
    const f2 = rig.sends().filter((s) => s.d.kind === 'form2')[0]!;
    rig.feed('token', f2.bytes);
    rig.port.myAru = rig.port.installed!.lastSeq;
    rig.port.aru = rig.port.installed!.lastSeq;
    rig.m.ringProgress(rig.now);
    rig.take();
  };

  it('RELOAD: at once in OP (reload action, then token loss), else when OP is reached', () => {
    const rig = new Rig([[A], [B]], A);
    rig.m.start(0);
    rig.take();
    rig.runTo(501);
    rig.feed('data', reload); // GATHER: pending
    expect(rig.actions.some((a) => a.kind === 'reload')).toBe(false);
    singletonRing(rig);
    expect(rig.actions.some((a) => a.kind === 'reload')).toBe(true);
    expect(rig.m.memberState).toBe(MembState.SEG);
  });

  it('RELOAD answered by the edge: the new conf and hash are taken, then the token is lost', () => {
    const rig = new Rig([[A], [B]], A, { reloadByEdge: true });
    rig.m.start(0);
    rig.take();
    singletonRing(rig);
    expect(rig.m.memberState).toBe(MembState.OP);
    rig.feed('data', reload);
    expect(rig.actions.filter((a) => a.kind === 'reload')).toHaveLength(1);
    expect(rig.m.memberState).toBe(MembState.OP); // the file is being read
    const sent = rig.actions.length;
    rig.m.reloadLoaded({ segments: [{ daemons: [A] }, { daemons: [B] }, { daemons: [C] }], confHash: 99, dangerousMonitor: false, needPartition: false }, rig.now);
    rig.take();
    expect(rig.m.memberState).toBe(MembState.SEG);
    expect(rig.m.conf.numProcs).toBe(3);
    rig.runTo(rig.now + 3000);
    const toC = rig.actions.slice(sent).filter((a): a is SendAction => a.kind === 'send' && a.to === 'proc' && a.target === C).map((a) => decode(a));
    expect(toC.some((d) => d.kind === 'join' && d.header.confHash === 99)).toBe(true);
  });
});
