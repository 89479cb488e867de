/**
 * Ring changes through the groups layer, several daemons at once (SPEC.md Part VII):
 * partition, pure merge, a merge that also loses a daemon, joins and leaves while a group is
 * changed, and cascades (a new transitional configuration while gathering).
 */
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/wire/client/index.js';
import { Cluster, type Notice } from './cluster.js';

const T = ServiceType;
const NETWORK = T.REG_MEMB_MESS | T.CAUSED_BY_NETWORK;

function ring(procId: number, time: number): { procId: number; time: number } {
  return { procId, time };
}

/** A short form of a notice for comparisons. */
function brief(n: Notice): unknown {
  if (n.type === T.TRANSITION_MESS) return { transition: n.groupId };
  if (n.body === null) return { type: n.type };
  return {
    type: n.type,
    id: n.groupId,
    members: n.members,
    sets: n.body.vsSets,
    mine: n.body.myVsSet,
  };
}

const gid = (r: { procId: number; time: number }, index: number): { procId: number; time: number; index: number } => ({ ...r, index });

/** d1, d2, d3 in one ring R1 with alice@d1, bob@d2, carol@d3 in g. */
function threeInOne(): { c: Cluster; R1: { procId: number; time: number } } {
  const c = new Cluster([
    ['d1', '10.0.0.1'],
    ['d2', '10.0.0.2'],
    ['d3', '10.0.0.3'],
  ]);
  const [p1, p2, p3] = [c.procId('d1'), c.procId('d2'), c.procId('d3')];
  c.start('d1', ring(p1, 10));
  c.start('d2', ring(p2, 11));
  c.start('d3', ring(p3, 12));
  const R1 = ring(p1, 20);
  c.form(['d1', 'd2', 'd3'], R1);
  c.orderGroups(['d1', 'd2', 'd3']);
  c.join(['d1', 'd2', 'd3'], '#alice#d1', 'g');
  c.join(['d1', 'd2', 'd3'], '#bob#d2', 'g');
  c.join(['d1', 'd2', 'd3'], '#carol#d3', 'g');
  for (const n of c.nodes.values()) n.clear();
  return { c, R1 };
}

describe('partition', () => {
  it('TRANSITION with the old group id, then REG_MEMB NETWORK with (new ring, 1); no exchange', () => {
    const { c, R1 } = threeInOne();
    expect(c.node('d1').layer.groupId('g')).toEqual({ ringId: R1, index: 3 });
    const R2 = ring(c.procId('d1'), 30);
    const R3 = ring(c.procId('d3'), 31);
    c.transitional(['d1', 'd2'], 29);
    // Between the configurations: the group is changed, rebased on the transitional id.
    const g = c.node('d1').layer.group('g')!;
    expect(g.changed).toBe(true);
    expect(g.id).toEqual({ ringId: ring(c.procId('d1'), 29), index: 1 });
    expect(g.daemons.map((d) => d.membId)).toEqual([ring(c.procId('d1'), 29), ring(c.procId('d1'), 29), { procId: -1, time: -1 }]);
    expect(c.node('d1').layer.stateName).toBe('GTRANS');
    c.regular(['d1', 'd2'], R2);
    c.form(['d3'], R3);
    for (const n of ['d1', 'd2', 'd3']) {
      expect(c.node(n).outbox).toEqual([]);
      expect(c.node(n).layer.stateName).toBe('GOP');
      expect(c.node(n).actions.map((a) => a.kind)).toEqual(['delivery']);
    }
    const old = gid(R1, 3);
    expect(c.node('d1').noticesOf('#alice#d1').map(brief)).toEqual([
      { transition: old },
      { type: NETWORK, id: gid(R2, 1), members: ['#alice#d1', '#bob#d2'], sets: [['#alice#d1', '#bob#d2']], mine: 0 },
    ]);
    expect(c.node('d2').noticesOf('#bob#d2').map(brief)).toEqual(c.node('d1').noticesOf('#alice#d1').map(brief));
    expect(c.node('d3').noticesOf('#carol#d3').map(brief)).toEqual([
      { transition: old },
      { type: NETWORK, id: gid(R3, 1), members: ['#carol#d3'], sets: [['#carol#d3']], mine: 0 },
    ]);
    expect(c.node('d1').layer.synced).toEqual([c.procId('d1'), c.procId('d2')]);
    expect(c.node('d3').layer.synced).toEqual([c.procId('d3')]);
  });

  it('groups without a daemon outside the transitional configuration are untouched', () => {
    const { c, R1 } = threeInOne();
    c.join(['d1', 'd2', 'd3'], '#dave#d1', 'h');
    c.node('d1').clear();
    c.form(['d1', 'd2'], ring(c.procId('d1'), 30));
    expect(c.node('d1').noticesOf('#dave#d1')).toEqual([]);
    expect(c.node('d1').layer.groupId('h')).toEqual({ ringId: R1, index: 1 });
  });

  it('a group left with only partitioned daemons disappears', () => {
    const { c } = threeInOne();
    c.join(['d1', 'd2', 'd3'], '#erin#d3', 'only3');
    c.form(['d1', 'd2'], ring(c.procId('d1'), 30));
    expect(c.node('d1').layer.groupNames()).toEqual(['g']);
  });
});

describe('merge', () => {
  it('after a partition heals: no TRANSITION; one vs_set per old ring, ordered by memb id', () => {
    const { c } = threeInOne();
    const R2 = ring(c.procId('d1'), 30);
    const R3 = ring(c.procId('d3'), 31);
    c.form(['d1', 'd2'], R2);
    c.form(['d3'], R3);
    for (const n of c.nodes.values()) n.clear();
    const R4 = ring(c.procId('d1'), 40);
    c.form(['d1', 'd2', 'd3'], R4);
    // The representatives are d1 (of {d1, d2}) and d3.
    expect(c.node('d1').outbox.map((m) => m.service)).toEqual(['agreed']);
    expect(c.node('d2').outbox).toEqual([]);
    expect(c.node('d3').outbox.map((m) => m.service)).toEqual(['agreed']);
    c.orderGroups(['d1', 'd2', 'd3']);
    const sets = [['#alice#d1', '#bob#d2'], ['#carol#d3']];
    const members = ['#alice#d1', '#bob#d2', '#carol#d3'];
    for (const [n, m, mine] of [['d1', '#alice#d1', 0], ['d2', '#bob#d2', 0], ['d3', '#carol#d3', 1]] as const) {
      expect(c.node(n).noticesOf(m).map(brief)).toEqual([{ type: NETWORK, id: gid(R4, 1), members, sets, mine }]);
      expect(c.node(n).layer.stateName).toBe('GOP');
      expect(c.node(n).layer.synced).toEqual(c.procIds(['d1', 'd2', 'd3']));
    }
    // my_vs_set_offset of carol: past the first set (4 + 2 × 32).
    const frame = c.node('d3').noticesOf('#carol#d3')[0]!.frame;
    expect(new DataView(frame.buffer, frame.byteOffset).getUint32(48 + 3 * 32 + 16, true)).toBe(68);
  });

  it('vs_sets follow the wrapping int32 order of memb ids, not the configuration order', () => {
    const c = new Cluster([
      ['a', '10.0.0.1'],
      ['b', '192.168.0.1'],
    ]);
    c.start('a', ring(c.procId('a'), 5));
    c.start('b', ring(c.procId('b'), 5));
    c.join(['a'], '#x#a', 'g');
    c.join(['b'], '#y#b', 'g');
    c.form(['a', 'b'], ring(c.procId('a'), 9));
    c.orderGroups(['a', 'b']);
    // (10.0.0.1 − 192.168.0.1) wraps positive: 192.168.0.1's ring sorts first.
    const n = c.node('a').noticesOf('#x#a').at(-1)!;
    expect(n.type).toBe(NETWORK);
    expect(n.members).toEqual(['#x#a', '#y#b']);
    expect(n.body!.vsSets).toEqual([['#y#b'], ['#x#a']]);
    expect(n.body!.myVsSet).toBe(1);
  });

  it('a merge that also loses a daemon: TRANSITION at the side that lost it, then three sets', () => {
    const c = new Cluster([
      ['d1', '10.0.0.1'],
      ['d2', '10.0.0.2'],
      ['d3', '10.0.0.3'],
      ['d4', '10.0.0.4'],
    ]);
    const p = (n: string): number => c.procId(n);
    c.start('d1', ring(p('d1'), 1));
    c.start('d2', ring(p('d2'), 1));
    c.start('d3', ring(p('d3'), 1));
    c.start('d4', ring(p('d4'), 1));
    const R12 = ring(p('d1'), 10);
    c.form(['d1', 'd2'], R12);
    c.orderGroups(['d1', 'd2']);
    c.join(['d1', 'd2'], '#alice#d1', 'g');
    c.join(['d1', 'd2'], '#bob#d2', 'g');
    c.join(['d3'], '#carol#d3', 'g');
    c.join(['d4'], '#dave#d4', 'g');
    for (const n of c.nodes.values()) n.clear();
    // d2 is cut off while {d1, d2}, {d3} and {d4} merge into {d1, d3, d4}.
    const R = ring(p('d1'), 20);
    c.form(['d1', 'd3', 'd4'], R, 19);
    expect(['d1', 'd3', 'd4'].map((n) => c.node(n).outbox.length)).toEqual([1, 1, 1]);
    const sent = c.orderGroups(['d1', 'd3', 'd4']);
    // d1 sends g changed, rebased on its transitional id, without d2.
    expect(sent[0]!.frame.subarray(48 + 8 + 1 + 4 + 4 + 32 + 12, 48 + 8 + 1 + 4 + 4 + 32 + 16)).toEqual(Uint8Array.of(1, 0, 1, 0));
    expect(c.node('d1').noticesOf('#alice#d1').map(brief)).toEqual([
      { transition: gid(R12, 2) },
      {
        type: NETWORK,
        id: gid(R, 1),
        members: ['#alice#d1', '#carol#d3', '#dave#d4'],
        sets: [['#alice#d1'], ['#carol#d3'], ['#dave#d4']],
        mine: 0,
      },
    ]);
    expect(c.node('d3').noticesOf('#carol#d3').map(brief)).toEqual([
      { type: NETWORK, id: gid(R, 1), members: ['#alice#d1', '#carol#d3', '#dave#d4'], sets: [['#alice#d1'], ['#carol#d3'], ['#dave#d4']], mine: 1 },
    ]);
    expect(c.node('d4').noticesOf('#dave#d4')[0]!.body!.myVsSet).toBe(2);
    expect(c.views(['d1', 'd3', 'd4'], 'g')).toEqual(
      Array(3).fill({ id: { ringId: R, index: 1 }, members: ['#alice#d1', '#carol#d3', '#dave#d4'] }),
    );
    expect(c.node('d1').layer.transitionalId).toEqual(ring(p('d1'), 19));
  });

  it('a group known to one side only keeps its id and gets no notice', () => {
    const c = new Cluster([
      ['d1', '10.0.0.1'],
      ['d2', '10.0.0.2'],
    ]);
    const R1 = ring(c.procId('d1'), 5);
    c.start('d1', R1);
    c.start('d2', ring(c.procId('d2'), 6));
    c.join(['d1'], '#a#d1', 'solo');
    c.join(['d1'], '#b#d1', 'solo');
    c.node('d1').clear();
    c.form(['d1', 'd2'], ring(c.procId('d1'), 9));
    c.orderGroups(['d1', 'd2']);
    expect(c.node('d1').received).toEqual([]);
    expect(c.views(['d1', 'd2'], 'solo')).toEqual(Array(2).fill({ id: { ringId: R1, index: 2 }, members: ['#a#d1', '#b#d1'] }));
    expect(c.node('d2').layer.group('solo')!.changed).toBe(false);
  });
});

describe('join / leave / kill while a group is changed (GTRANS)', () => {
  it('join: NETWORK with the joiner as a singleton last set (its copy points there), then TRANSITION', () => {
    const { c } = threeInOne();
    const T1 = ring(c.procId('d1'), 29);
    c.transitional(['d1', 'd2'], 29); // d3 partitioned
    c.node('d1').clear();
    // A join ordered in the old ring, delivered after the transitional configuration.
    c.join(['d1', 'd2'], '#erin#d1', 'g');
    const members = ['#alice#d1', '#erin#d1', '#bob#d2', '#carol#d3'];
    const sets = [['#alice#d1', '#bob#d2'], ['#carol#d3'], ['#erin#d1']];
    expect(c.node('d1').noticesOf('#alice#d1').map(brief)).toEqual([
      { type: NETWORK, id: gid(T1, 2), members, sets, mine: 0 },
      { transition: gid(T1, 2) },
    ]);
    expect(c.node('d1').noticesOf('#erin#d1').map(brief)).toEqual([
      { type: NETWORK, id: gid(T1, 2), members, sets, mine: 2 },
      { transition: gid(T1, 2) },
    ]);
    // Recipients and order: the others, then the joiner's copy, then TRANSITION to all.
    expect(c.node('d1').received.map((r) => r.to)).toEqual(['#alice#d1', '#erin#d1', '#alice#d1', '#erin#d1']);
    // The joiner's copy differs only in my_vs_set_offset (4 + 64 + 4 + 32 = 104).
    const [a, e] = [c.node('d1').noticesOf('#alice#d1')[0]!.frame, c.node('d1').noticesOf('#erin#d1')[0]!.frame];
    const off = 48 + 4 * 32 + 16;
    expect(new DataView(e.buffer, e.byteOffset).getUint32(off, true)).toBe(104);
    expect([...e.subarray(0, off), ...e.subarray(off + 4)]).toEqual([...a.subarray(0, off), ...a.subarray(off + 4)]);
  });

  it('leave and kill: NETWORK (partitioned daemons as singleton sets) then TRANSITION with the new index', () => {
    const { c } = threeInOne();
    const T1 = ring(c.procId('d1'), 29);
    c.join(['d1', 'd2', 'd3'], '#frank#d1', 'g');
    c.transitional(['d1', 'd2'], 29);
    c.node('d1').clear();
    c.leave(['d1', 'd2'], '#bob#d2', 'g');
    expect(c.node('d1').noticesOf('#alice#d1').map(brief)).toEqual([
      { type: NETWORK, id: gid(T1, 2), members: ['#alice#d1', '#frank#d1', '#carol#d3'], sets: [['#alice#d1', '#frank#d1'], ['#carol#d3']], mine: 0 },
      { transition: gid(T1, 2) },
    ]);
    c.node('d1').clear();
    c.kill(['d1', 'd2'], '#frank#d1');
    expect(c.node('d1').noticesOf('#alice#d1').map(brief)).toEqual([
      { type: NETWORK, id: gid(T1, 3), members: ['#alice#d1', '#carol#d3'], sets: [['#alice#d1'], ['#carol#d3']], mine: 0 },
      { transition: gid(T1, 3) },
    ]);
    expect(c.node('d1').noticesOf('#frank#d1')).toEqual([]);
    // The regular configuration then drops d3 and rebases.
    c.node('d1').clear();
    const R2 = ring(c.procId('d1'), 30);
    c.regular(['d1', 'd2'], R2);
    expect(c.node('d1').noticesOf('#alice#d1').map(brief)).toEqual([
      { type: NETWORK, id: gid(R2, 1), members: ['#alice#d1'], sets: [['#alice#d1']], mine: 0 },
    ]);
  });

  it('a join from a partitioned daemon changes an unchanged group; a new group takes the transitional id', () => {
    const { c, R1 } = threeInOne();
    c.join(['d1', 'd2', 'd3'], '#hank#d1', 'h');
    const T1 = ring(c.procId('d1'), 29);
    c.transitional(['d1', 'd2'], 29);
    c.node('d1').clear();
    expect(c.node('d1').layer.group('h')!.changed).toBe(false);
    c.join(['d1', 'd2'], '#ivy#d3', 'h'); // d3's join, ordered before it was cut off
    expect(c.node('d1').noticesOf('#hank#d1').map(brief)).toEqual([
      // d3's entry (partitioned, its own set) holds only the joiner, who moves to the last set.
      { type: NETWORK, id: gid(R1, 2), members: ['#hank#d1', '#ivy#d3'], sets: [['#hank#d1'], [], ['#ivy#d3']], mine: 0 },
      { transition: gid(R1, 2) },
    ]);
    c.join(['d1', 'd2'], '#jo#d1', 'fresh');
    expect(c.node('d1').noticesOf('#jo#d1').map(brief)).toEqual([
      { type: T.REG_MEMB_MESS | T.CAUSED_BY_JOIN, id: gid(T1, 1), members: ['#jo#d1'], sets: [['#jo#d1']], mine: 0 },
    ]);
    c.node('d1').clear();
    const R2 = ring(c.procId('d1'), 30);
    c.regular(['d1', 'd2'], R2);
    expect(c.node('d1').noticesOf('#hank#d1').map(brief)).toEqual([
      { type: NETWORK, id: gid(R2, 1), members: ['#hank#d1'], sets: [['#hank#d1']], mine: 0 },
    ]);
    expect(c.node('d1').noticesOf('#jo#d1')).toEqual([]);
    expect(c.node('d1').layer.groupId('fresh')).toEqual({ ringId: T1, index: 1 });
    expect(c.views(['d1', 'd2'], 'h')).toEqual(Array(2).fill({ id: { ringId: R2, index: 1 }, members: ['#hank#d1'] }));
  });

  it('requests are not taken while gathering (they cannot be ordered there)', () => {
    const c = new Cluster([
      ['d1', '10.0.0.1'],
      ['d2', '10.0.0.2'],
    ]);
    c.start('d1', ring(c.procId('d1'), 1));
    c.start('d2', ring(c.procId('d2'), 2));
    c.form(['d1', 'd2'], ring(c.procId('d1'), 3));
    expect(c.node('d1').layer.join('#a#d1', 'g')).toEqual([]);
    expect(c.node('d1').layer.size).toBe(0);
    expect(c.node('d1').warnings).toEqual(['join in GGATHER ignored']);
  });
});

describe('cascades', () => {
  /** {d1, d2} (alice, bob) and {d3} (carol) start merging into R4. */
  function merging(): { c: Cluster; R4: { procId: number; time: number } } {
    const { c } = threeInOne();
    c.form(['d1', 'd2'], ring(c.procId('d1'), 30));
    c.form(['d3'], ring(c.procId('d3'), 31));
    const R4 = ring(c.procId('d1'), 40);
    c.form(['d1', 'd2', 'd3'], R4);
    for (const n of c.nodes.values()) n.clear();
    return { c, R4 };
  }

  it('GGATHER → GGT → GGATHER: nothing complete, d2 lost; d1 rebuilds, d3 re-stamps; then GOP', () => {
    const { c } = merging();
    const stale1 = c.node('d1').outbox.splice(0);
    const stale3 = c.node('d3').outbox.splice(0);
    c.transitional(['d1', 'd3'], 49);
    expect(c.node('d1').layer.stateName).toBe('GGT');
    expect(c.node('d1').layer.group('g')!.changed).toBe(true);
    const R5 = ring(c.procId('d1'), 50);
    c.regular(['d1', 'd3'], R5);
    expect(c.node('d1').layer.stateName).toBe('GGATHER');
    // d3's buffers did not change: the same bytes with the new ring id.
    const again3 = c.node('d3').outbox[0]!.frame;
    expect([...again3.subarray(56)]).toEqual([...stale3[0]!.frame.subarray(56)]);
    expect([...again3.subarray(48, 56)]).toEqual([0x01, 0, 0, 0x0a, 50, 0, 0, 0]);
    // d1 lost d2: its synced set and its buffers changed.
    const again1 = c.node('d1').outbox[0]!.frame;
    expect(again1.length).toBe(stale1[0]!.frame.length - 4 - 46);
    expect(c.node('d1').layer.synced).toEqual([c.procId('d1')]);
    // The old ring's messages still arrive (re-sent from the GROUPS queue): ignored.
    for (const m of [...stale1, ...stale3]) for (const n of ['d1', 'd3']) c.node(n).take(c.node(n).layer.groupsMessage(m.frame));
    expect(c.node('d1').warnings).toHaveLength(2);
    c.orderGroups(['d1', 'd3']);
    const members = ['#alice#d1', '#carol#d3'];
    const sets = [['#alice#d1'], ['#carol#d3']];
    expect(c.node('d1').noticesOf('#alice#d1').map(brief)).toEqual([{ type: NETWORK, id: gid(R5, 1), members, sets, mine: 0 }]);
    expect(c.node('d3').noticesOf('#carol#d3').map(brief)).toEqual([{ type: NETWORK, id: gid(R5, 1), members, sets, mine: 1 }]);
    expect(c.views(['d1', 'd3'], 'g')).toEqual(Array(2).fill({ id: { ringId: R5, index: 1 }, members }));
    for (const n of ['d1', 'd3']) expect(c.node(n).layer.stateName).toBe('GOP');
  });

  it('the old exchange completes in GGT: NETWORK for the old ring, then the saved transitional (TRANSITION), then GTRANS', () => {
    const { c, R4 } = merging();
    const queued = c.orderGroups(['d1', 'd2', 'd3'], 1); // d1's message only
    expect(queued).toHaveLength(1);
    c.transitional(['d1', 'd3'], 49);
    expect(c.node('d1').layer.stateName).toBe('GGT');
    // d3's GROUPS message of R4 was ordered before the ring failed: delivered in EVS.
    c.orderGroups(['d1', 'd3']);
    expect(c.node('d1').layer.stateName).toBe('GTRANS');
    const members = ['#alice#d1', '#bob#d2', '#carol#d3'];
    const T = ring(c.procId('d1'), 49);
    expect(c.node('d1').noticesOf('#alice#d1').map(brief)).toEqual([
      { type: NETWORK, id: gid(R4, 1), members, sets: [['#alice#d1', '#bob#d2'], ['#carol#d3']], mine: 0 },
      { transition: gid(R4, 1) },
    ]);
    expect(c.node('d1').actions.map((a) => a.kind)).toEqual(['down-queue', 'client-reading', 'delivery']);
    expect(c.node('d1').layer.group('g')!.id).toEqual({ ringId: T, index: 1 });
    const R5 = ring(c.procId('d1'), 50);
    c.regular(['d1', 'd3'], R5);
    // Nothing merged (both were in R4): a pure partition.
    for (const n of ['d1', 'd3']) {
      expect(c.node(n).outbox).toEqual([]);
      expect(c.node(n).layer.stateName).toBe('GOP');
    }
    expect(c.node('d3').noticesOf('#carol#d3').map(brief).slice(-2)).toEqual([
      { transition: gid(R4, 1) },
      { type: NETWORK, id: gid(R5, 1), members: ['#alice#d1', '#carol#d3'], sets: [['#alice#d1', '#carol#d3']], mine: 0 },
    ]);
    expect(c.views(['d1', 'd3'], 'g')).toEqual(Array(2).fill({ id: { ringId: R5, index: 1 }, members: ['#alice#d1', '#carol#d3'] }));
  });

  it('complete sets are merged at the cascade regular configuration; incomplete ones are dropped', () => {
    // Four daemons: {d1, d2}, {d3}, {d4} merge; d1's and d3's messages arrive, d4's does not.
    const c = new Cluster([
      ['d1', '10.0.0.1'],
      ['d2', '10.0.0.2'],
      ['d3', '10.0.0.3'],
      ['d4', '10.0.0.4'],
    ]);
    const p = (n: string): number => c.procId(n);
    for (const n of ['d1', 'd2', 'd3', 'd4']) c.start(n, ring(p(n), 1));
    c.form(['d1', 'd2'], ring(p('d1'), 5));
    c.orderGroups(['d1', 'd2']);
    c.join(['d1', 'd2'], '#alice#d1', 'g');
    c.join(['d3'], '#carol#d3', 'g');
    c.join(['d4'], '#dave#d4', 'g');
    const all = ['d1', 'd2', 'd3', 'd4'];
    c.form(all, ring(p('d1'), 10));
    c.orderGroups(all, 2); // d1's and d3's (d4's is still queued when d4 fails)
    const d4stale = c.node('d4').outbox.splice(0);
    expect(d4stale).toHaveLength(1);
    expect(c.node('d1').layer.exchange).toEqual({ messages: 2, daemons: 3, expected: 4 });
    // d4 fails: the rest go on as {d1, d2, d3}.
    const R = ring(p('d1'), 20);
    c.form(['d1', 'd2', 'd3'], R, 19);
    // d1 merged d3's state and synced set: it now represents {d1, d2, d3} alone.
    expect(c.node('d1').layer.synced).toEqual([p('d1'), p('d2'), p('d3')]);
    expect(c.node('d3').layer.synced).toEqual([p('d1'), p('d2'), p('d3')]);
    expect(c.node('d3').outbox).toEqual([]);
    expect(c.node('d1').outbox).toHaveLength(1);
    c.orderGroups(['d1', 'd2', 'd3']);
    const members = ['#alice#d1', '#carol#d3'];
    // The memb ids merged at the cascade are those of the old rings: who came with whom.
    for (const [n, m, mine] of [['d1', '#alice#d1', 0], ['d3', '#carol#d3', 1]] as const) {
      expect(c.node(n).noticesOf(m).map(brief)).toEqual([
        { type: T.REG_MEMB_MESS | T.CAUSED_BY_JOIN, id: n === 'd1' ? gid(ring(p('d1'), 5), 1) : gid(ring(p('d3'), 1), 1), members: [m], sets: [[m]], mine: 0 },
        { type: NETWORK, id: gid(R, 1), members, sets: [['#alice#d1'], ['#carol#d3']], mine },
      ]);
    }
    expect(c.views(['d1', 'd2', 'd3'], 'g')).toEqual(Array(3).fill({ id: { ringId: R, index: 1 }, members }));
    for (const n of ['d1', 'd2', 'd3']) expect(c.node(n).layer.stateName).toBe('GOP');
  });
});
