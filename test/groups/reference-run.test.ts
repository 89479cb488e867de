/**
 * A run of three reference daemons through partitions and merges
 * (test/groups/captures/groups-lo3.pcap, recorded by run-groups.sh beside it, [RUN]):
 *
 *   lo1 / lo2 / lo3 = 127.0.0.1 / .2 / .3, one segment each. spusers a@lo1, b@lo2, d@lo2,
 *   c@lo3 join grp; x@lo1 joins solo. spmonitor partitions:
 *     P1 {lo1, lo2 | lo3}    TRANSITION (old id) + NETWORK (new ring, 1) on both sides
 *     P2 {lo1, lo3 | lo2}    lo1 loses lo2 and merges with lo3 in one change: TRANSITION at lo1
 *                            only, GROUPS exchange (lo1's grp changed, on its transitional id),
 *                            NETWORK with 2 vs_sets; lo2's side: TRANSITION + NETWORK
 *     P3 {lo1 | lo2 | lo3}   everyone alone
 *     heal                   three singleton rings merge: 3 vs_sets, no TRANSITION
 *   then the clients quit (KILLs, lightweight CAUSED_BY_DISCONNECT).
 *
 * Replayed through three GroupsLayers, every byte every client received must come out the same,
 * and every GROUPS message the same as on the ring, in ring order. Ring ids are taken from the
 * capture; transitional ids are not on the wire except lo1's at P2 (in its GROUPS message).
 */
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/wire/client/index.js';
import { clientFrames, groupsOnRing, loadCapture } from './pcap.js';
import { Cluster, hex } from './cluster.js';

const cap = loadCapture('groups-lo3.pcap');

const L1 = 0x7f000001;
const L2 = 0x7f000002;
const L3 = 0x7f000003;
const id = (procId: number, t: number): { procId: number; time: number } => ({ procId, time: 1795719000 + t });

describe('reference run: partitions and merges (groups-lo3.pcap)', () => {
  const c = new Cluster([
    ['lo1', '127.0.0.1'],
    ['lo2', '127.0.0.2'],
    ['lo3', '127.0.0.3'],
  ]);
  const all = ['lo1', 'lo2', 'lo3'];
  const sent = new Map<string, string[]>();
  const order = (names: string[], ring: { procId: number; time: number }): void => {
    sent.set(`${ring.procId},${ring.time}`, c.orderGroups(names).map((m) => hex(m.frame)));
  };
  // Start-up: lo1 alone, lo2 joins, lo3 joins.
  c.start('lo1', id(L1, 629));
  c.start('lo2', id(L2, 630));
  c.form(['lo1', 'lo2'], id(L1, 631));
  order(['lo1', 'lo2'], id(L1, 631));
  c.start('lo3', id(L3, 633));
  c.form(all, id(L1, 634));
  order(all, id(L1, 634));
  for (const [m, g] of [['#a#lo1', 'grp'], ['#b#lo2', 'grp'], ['#d#lo2', 'grp'], ['#c#lo3', 'grp'], ['#x#lo1', 'solo']] as const) {
    c.join(all, m, g);
  }
  // P1.
  c.form(['lo1', 'lo2'], id(L1, 648), 647);
  c.form(['lo3'], id(L3, 648), 647);
  // P2: {lo1} ∪ {lo3} (lo2 lost by lo1), {lo2} alone.
  c.form(['lo1', 'lo3'], id(L1, 655), 0, { lo1: id(L1, 654), lo3: id(L3, 654) });
  order(['lo1', 'lo3'], id(L1, 655));
  c.form(['lo2'], id(L2, 655), 654);
  // P3.
  c.form(['lo1'], id(L1, 662), 661);
  c.form(['lo3'], id(L3, 662), 661);
  // Heal.
  c.form(all, id(L1, 687), 686);
  order(all, id(L1, 687));
  // The clients quit in this order.
  for (const m of ['#c#lo3', '#d#lo2', '#b#lo2', '#x#lo1', '#a#lo1']) c.kill(all, m);

  it('every client received exactly what the reference sent it', () => {
    const captured = clientFrames(cap);
    expect([...captured.keys()].sort()).toEqual(['#a#lo1', '#b#lo2', '#c#lo3', '#d#lo2', '#x#lo1']);
    for (const [member, frames] of captured) {
      const node = c.node(member.slice(member.lastIndexOf('#') + 1));
      const ours = node.received.filter((r) => r.to === member).map((r) => hex(r.notice.frame));
      expect(ours, member).toEqual(frames);
    }
    // The interesting ones, spelled out: c got no TRANSITION at P2 (lo3 lost nobody).
    const kinds = (m: string): string[] =>
      captured.get(m)!.map((f) => {
        const t = Buffer.from(f.slice(0, 8), 'hex').readUInt32LE(0) & ~0x80000080;
        return t === ServiceType.TRANSITION_MESS ? 'T' : (t & ServiceType.CAUSED_BY_NETWORK) !== 0 ? 'N' : t & ServiceType.CAUSED_BY_JOIN ? 'J' : 'D';
      });
    expect(kinds('#a#lo1')).toEqual(['J', 'J', 'J', 'J', 'T', 'N', 'T', 'N', 'T', 'N', 'N', 'D', 'D', 'D']);
    expect(kinds('#c#lo3')).toEqual(['J', 'T', 'N', 'N', 'T', 'N', 'N']);
    expect(kinds('#b#lo2')).toEqual(['J', 'J', 'J', 'T', 'N', 'T', 'N', 'N', 'D', 'D']);
    expect(kinds('#x#lo1')).toEqual(['J']);
  });

  it('every GROUPS message is the one the reference put on the ring, in ring order', () => {
    const ring = groupsOnRing(cap);
    expect([...ring.keys()].sort()).toEqual([...sent.keys()].sort());
    for (const [k, msgs] of ring) expect(sent.get(k), k).toEqual(msgs);
    // P2: lo1 sends grp changed, rebased on its transitional id (1795719654, 1).
    expect(ring.get(`${L1},1795719655`)!.length).toBe(2);
  });

  it('all three agree at the end and are back in GOP', () => {
    for (const n of all) {
      expect(c.node(n).layer.stateName).toBe('GOP');
      expect(c.node(n).layer.size).toBe(0);
      expect(c.node(n).warnings).toEqual([]);
    }
  });
});
