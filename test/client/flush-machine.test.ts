/**
 * The flush layer without a daemon: the trailer codec's bytes (the layout fl.c puts on the wire,
 * SPEC.md "Flush layer" §FL.1) and the sans-I/O machine driven by synthetic Spread events through
 * the interleavings a single daemon rarely produces (held vulnerable messages, collapsed
 * memberships, partitions).
 */
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/client/index.js';
import type { GroupId, MembershipMessage, MembershipReason, SpreadMessage } from '../../src/client/index.js';
import { FlushMachine, FlushMessType, FlushServiceType } from '../../src/client/flush/index.js';
import type { FlushEvent } from '../../src/client/flush/index.js';
import { decodeTrailers, encodeControlBody, encodeWithTrailers } from '../../src/client/flush/wire.js';
import { ProtocolError } from '../../src/wire/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const G = 'grp';
const A = '#a#d1';
const B = '#b#d1';
const C = '#c#d2';
const gid = (index: number): GroupId => ({ procId: 0x7f000001, time: 1700000000, index });

const CAUSE: Record<string, number> = {
  join: ServiceType.CAUSED_BY_JOIN,
  leave: ServiceType.CAUSED_BY_LEAVE,
  disconnect: ServiceType.CAUSED_BY_DISCONNECT,
  network: ServiceType.CAUSED_BY_NETWORK,
};

/** A REG_MEMB as the client decodes it; `vs` is our vs set (network) or the changed member. */
function memb(reason: MembershipReason, members: string[], id: GroupId, me: string, vs: string[]): MembershipMessage {
  return {
    kind: 'membership',
    serviceType: ServiceType.REG_MEMB_MESS | CAUSE[reason]!,
    group: G,
    reason,
    members,
    groupId: id,
    vsSets: [vs],
    myVsSet: 0,
    myVsSetMembers: vs,
    changedMember: reason === 'network' ? undefined : vs[0],
    transitional: false,
    selfLeave: false,
    messType: members.indexOf(me),
    data: new Uint8Array(0),
  };
}

function transition(): MembershipMessage {
  return { ...memb('network', [], gid(0), '', []), serviceType: ServiceType.TRANSITION_MESS, reason: 'transition', transitional: true, members: [], vsSets: [], myVsSetMembers: [] };
}

function message(sender: string, data: Uint8Array, messType: number, serviceType: number = ServiceType.AGREED_MESS, groups = [G]): SpreadMessage {
  return { kind: 'message', serviceType, service: undefined, selfDiscard: false, sender, groups, messType, endianMismatch: false, data };
}
const flok = (sender: string, id: GroupId): SpreadMessage => message(sender, encodeControlBody(id), FlushMessType.FLUSH_OK, ServiceType.FIFO_MESS);
const frecv = (sender: string, id: GroupId): SpreadMessage => message(sender, encodeControlBody(id), FlushMessType.FLUSH_RECV, ServiceType.FIFO_MESS);
const text = (sender: string, s: string): SpreadMessage => message(sender, Buffer.from(s), 1);
const vulnerable = (sender: string, s: string, id: GroupId): SpreadMessage =>
  message(sender, encodeWithTrailers(Buffer.from(s), { vulnerable: { messType: 9, viewId: id } }), FlushMessType.VULNERABLE, ServiceType.FIFO_MESS);

/** Drains both outboxes: deliveries as short strings, sends as `OK:index` / `RECV:index`. */
function drain(m: FlushMachine): { out: string[]; sent: string[] } {
  const out = m.deliveries.splice(0).map(show);
  const sent = m.sends.splice(0).map((s) => `${s.messType === FlushMessType.FLUSH_OK ? 'OK' : 'RECV'}:${decodeTrailers(s.body, 0, s.messType, true).viewId!.index}`);
  return { out, sent };
}
function show(e: FlushEvent): string {
  if (e.kind === 'view') return `view:${e.groupId.index}:${e.reason}:${e.members.join(',')}:vs=${e.vsSet.join(',')}`;
  if (e.kind === 'message') return `msg:${e.sender}:${Buffer.from(e.data).toString()}:${e.messType}`;
  return e.kind;
}

/** A machine for `me` installed in view `id` of `members` (me joined last, everyone flushed). */
function installed(me: string, members: string[], id: GroupId): FlushMachine {
  const m = new FlushMachine(me);
  m.receive(memb('join', members, id, me, [me]));
  for (const x of members) m.receive(flok(x, id));
  for (const x of members) m.receive(frecv(x, id));
  drain(m);
  expect(m.group(G)!.state).toBe('steady');
  return m;
}

describe('flush trailers: the bytes fl.c appends', () => {
  it('FLUSH_OK / FLUSH_RECV body: the view id, three int32 in the sender order', () => {
    expect(hex(encodeControlBody({ procId: 1, time: 0x01020304, index: -1 }))).toBe('01000000' + '04030201' + 'ffffffff');
  });

  it('vulnerable: data ‖ int16 mess type ‖ view id; subgroup: … ‖ group[32]', () => {
    const body = encodeWithTrailers(Buffer.from('hi'), { vulnerable: { messType: -2, viewId: { procId: 1, time: 2, index: 3 } }, subgroup: 'g1' });
    expect(hex(body)).toBe('6869' + 'feff' + '01000000' + '02000000' + '03000000' + '6731' + '00'.repeat(30));
    const t = decodeTrailers(body, FlushServiceType.SUBGROUP_CAST | ServiceType.FIFO_MESS, FlushMessType.VULNERABLE, true);
    expect(t).toMatchObject({ messType: -2, viewId: { procId: 1, time: 2, index: 3 }, vulnerable: true, subgroup: 'g1' });
    expect(Buffer.from(t.data).toString()).toBe('hi');
  });

  it('decodes a big-endian sender, at any data length, and leaves ordinary messages alone', () => {
    const body = Buffer.concat([Buffer.from('xyz'), Buffer.from('fffe' + '00000001' + '00000002' + '00000003', 'hex')]);
    const t = decodeTrailers(body, ServiceType.FIFO_MESS, FlushMessType.VULNERABLE, false);
    expect(t.messType).toBe(-2);
    expect(t.viewId).toEqual({ procId: 1, time: 2, index: 3 });
    expect(Buffer.from(t.data).toString()).toBe('xyz');
    const plain = decodeTrailers(Buffer.from('abc'), ServiceType.SAFE_MESS, 5, true);
    expect(plain).toMatchObject({ messType: 5, viewId: undefined, vulnerable: false, subgroup: undefined });
    expect(plain.data.length).toBe(3);
  });

  it('a body too short for its trailer is a ProtocolError naming it', () => {
    expect(() => decodeTrailers(new Uint8Array(11), ServiceType.FIFO_MESS, FlushMessType.FLUSH_OK, true)).toThrow(ProtocolError);
    expect(() => decodeTrailers(new Uint8Array(13), ServiceType.FIFO_MESS, FlushMessType.VULNERABLE, true)).toThrow(/flush_vulnerable_trailer/);
    expect(() => decodeTrailers(new Uint8Array(31), FlushServiceType.SUBGROUP_CAST | 1, 0, true)).toThrow(/flush_subgroup_trailer/);
  });
});

describe('flush machine', () => {
  it('a joiner flushes by itself and installs once every member flushed, then steadies on FLUSH_RECVs', () => {
    const m = new FlushMachine(B);
    m.receive(memb('join', [A, B], gid(1), B, [B]));
    expect(drain(m)).toEqual({ out: [], sent: ['OK:1'] });
    m.receive(flok(B, gid(1)));
    expect(drain(m).out).toEqual([]);
    m.receive(flok(A, gid(1)));
    expect(drain(m)).toEqual({ out: [`view:1:join:${A},${B}:vs=${B}`], sent: ['RECV:1'] });
    expect(m.group(G)).toMatchObject({ member: 'joined', state: 'verify' });
    m.receive(frecv(A, gid(1)));
    m.receive(frecv(B, gid(1)));
    expect(m.group(G)!.state).toBe('steady');
  });

  it('an old member gets a flush request; flushing sends FLUSH_OK and forbids sends until the view', () => {
    const m = installed(A, [A], gid(1));
    m.receive(memb('join', [A, B], gid(2), A, [B]));
    expect(drain(m)).toEqual({ out: ['flush-request'], sent: [] });
    expect(m.prepareSend(G, ServiceType.FIFO_MESS, 4, Buffer.from('v')).messType).toBe(FlushMessType.VULNERABLE);
    expect(m.prepareSend(G, ServiceType.AGREED_MESS, 4, Buffer.from('v')).messType).toBe(4);
    m.flush(G);
    expect(drain(m).sent).toEqual(['OK:2']);
    expect(() => m.prepareSend(G, ServiceType.AGREED_MESS, 0, Buffer.from('x'))).toThrow(/ILLEGAL_STATE|flushed/);
    expect(m.prepareSend(B, ServiceType.AGREED_MESS, 0, Buffer.from('x')).groups).toEqual([B]);
  });

  it('holds a vulnerable message for the next view until it is installed; one for the old view is delivered at once', () => {
    const m = installed(A, [A, B], gid(1));
    m.receive(memb('join', [A, B, C], gid(2), A, [C]));
    m.receive(vulnerable(B, 'old', gid(1)));
    m.flush(G);
    m.receive(flok(A, gid(2)));
    m.receive(flok(B, gid(2)));
    m.receive(flok(C, gid(2)));
    // C installed first and sent FIFO marked with the new view: it overtook B's FLUSH_OK in reality.
    expect(drain(m).out).toEqual(['flush-request', `msg:${B}:old:9`, `view:2:join:${A},${B},${C}:vs=${C}`]);
    const m2 = installed(A, [A, B], gid(1));
    m2.receive(memb('join', [A, B, C], gid(2), A, [C]));
    m2.flush(G);
    m2.receive(flok(A, gid(2)));
    m2.receive(flok(C, gid(2)));
    m2.receive(vulnerable(C, 'new', gid(2)));
    m2.receive(text(C, 'agreed'));
    expect(drain(m2).out).toEqual(['flush-request']);
    m2.receive(flok(B, gid(2)));
    expect(drain(m2).out).toEqual([`view:2:join:${A},${B},${C}:vs=${C}`, `msg:${C}:new:9`]);
  });

  it('collapses a change a member left before flushing into the next, reported as a network change', () => {
    const m = installed(A, [A, B], gid(1));
    m.receive(memb('join', [A, B, C], gid(2), A, [C]));
    m.flush(G);
    m.receive(flok(A, gid(2)));
    m.receive(flok(B, gid(2)));
    m.receive(memb('disconnect', [A, B], gid(3), A, [C]));
    // Still flushed (agree): the next change is flushed automatically, no second request.
    expect(drain(m)).toEqual({ out: ['flush-request'], sent: ['OK:2', 'OK:3'] });
    m.receive(flok(A, gid(3)));
    m.receive(flok(B, gid(3)));
    expect(drain(m)).toEqual({ out: [`view:3:network:${A},${B}:vs=${A},${B}`], sent: ['RECV:3'] });
    expect(m.group(G)!.pending.size).toBe(0);
  });

  it('a partition: a flush request, then the view with who came along (no transition signal, as in fl.c)', () => {
    const m = installed(A, [A, B, C], gid(1));
    // fl.c marks the latest Spread view "in transition", which is the installed flush view
    // itself when no change is pending: the signal it would give is suppressed.
    m.receive(transition());
    m.receive(memb('network', [A, B], gid(2), A, [A, B]));
    expect(drain(m).out).toEqual(['flush-request']);
    m.receive(text(C, 'from the other side'));
    m.receive(text(B, 'still here'));
    expect(drain(m).out).toEqual([`msg:${B}:still here:1`]);
    expect(m.dropped).toBe(1);
    m.flush(G);
    m.receive(flok(A, gid(2)));
    m.receive(flok(B, gid(2)));
    expect(drain(m)).toEqual({ out: [`view:2:network:${A},${B}:vs=${A},${B}`], sent: ['OK:2', 'RECV:2'] });
  });

  it('a Spread transition while a change is pending: one transition signal for the installed view', () => {
    const m = installed(A, [A, B, C], gid(1));
    m.receive(memb('join', [A, B, C, '#d#d3'], gid(2), A, ['#d#d3']));
    m.receive(transition());
    m.receive(transition());
    expect(drain(m).out).toEqual(['flush-request', 'transition']);
  });

  it('a leave without a Spread transition: flush request, then the transition signal', () => {
    const m = installed(A, [A, B], gid(1));
    m.receive(memb('leave', [A], gid(2), A, [B]));
    expect(drain(m).out).toEqual(['flush-request', 'transition']);
  });

  it('delivers private messages, drops other groups and malformed control messages, forgets a group on self-leave', () => {
    const m = installed(A, [A], gid(1));
    m.receive(message(B, Buffer.from('p'), 0, ServiceType.AGREED_MESS, [A]));
    m.receive(message(B, Buffer.from('q'), 0, ServiceType.AGREED_MESS, ['other']));
    m.receive(message(B, new Uint8Array(3), FlushMessType.FLUSH_OK, ServiceType.FIFO_MESS));
    expect(drain(m).out).toEqual([`msg:${B}:p:0`]);
    expect(m.dropped).toBe(2);
    m.leaving(G);
    expect(() => m.leaving(G)).toThrow(/not a joined member/);
    m.receive({ ...transition(), serviceType: ServiceType.CAUSED_BY_LEAVE, reason: 'self-leave', transitional: false, selfLeave: true });
    expect(drain(m).out).toEqual(['self-leave']);
    expect(m.group(G)).toBeUndefined();
  });
});
