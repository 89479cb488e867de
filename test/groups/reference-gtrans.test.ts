/**
 * Reference daemons through the rarer paths (test/groups/captures/groups-lo3-gtrans.pcap,
 * recorded by run-gtrans.sh beside it, [RUN]); lo1 / lo2 / lo3 = 127.0.0.1 / .2 / .3.
 *
 *   a, e @lo1, b, d @lo2, c @lo3 in grp; x @lo1 in solo; f @lo1 connected.
 *   A  lo3 deaf (every datagram to its data port dropped): a's SAFE message cannot become
 *      stable, so f's JOIN, d's LEAVE and e's disconnect (KILL) ordered after it wait. The
 *      monitor cuts lo3 off: lo1 and lo2 deliver, after the transitional configuration
 *      (trans id (127.0.0.1, …183)): TRANSITION, then NETWORK + TRANSITION for each request
 *      in the changed group (f's join: f as a singleton last set, its copy pointing there),
 *      then the regular configuration's NETWORK.
 *   heal (merge).
 *   B  lo3 deaf to GROUPS messages only: a merge leaves lo3 in GGATHER (lo1 and lo2 complete);
 *      lo3 is cut off again: transitional in GGATHER (GGT), regular, buffers re-stamped, its own
 *      message completes the exchange; nothing changed, so no notice at lo3.
 *   heal, then the clients quit.
 */
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/wire/client/index.js';
import { clientFrames, groupsOnRing, loadCapture } from './pcap.js';
import { Cluster, hex } from './cluster.js';

const cap = loadCapture('groups-lo3-gtrans.pcap');
const L1 = 0x7f000001;
const L2 = 0x7f000002;
const L3 = 0x7f000003;
const id = (procId: number, t: number): { procId: number; time: number } => ({ procId, time: 1795720000 + t });

describe('reference run: requests in GTRANS and a cascade (groups-lo3-gtrans.pcap)', () => {
  const c = new Cluster([
    ['lo1', '127.0.0.1'],
    ['lo2', '127.0.0.2'],
    ['lo3', '127.0.0.3'],
  ]);
  const all = ['lo1', 'lo2', 'lo3'];
  const sent = new Map<string, string[]>();
  const key = (r: { procId: number; time: number }): string => `${r.procId},${r.time}`;
  c.start('lo1', id(L1, 159));
  c.start('lo2', id(L2, 160));
  c.form(['lo1', 'lo2'], id(L1, 161));
  sent.set(key(id(L1, 161)), c.orderGroups(['lo1', 'lo2']).map((m) => hex(m.frame)));
  c.start('lo3', id(L3, 163));
  c.form(all, id(L1, 165));
  sent.set(key(id(L1, 165)), c.orderGroups(all).map((m) => hex(m.frame)));
  for (const [m, g] of [['#a#lo1', 'grp'], ['#b#lo2', 'grp'], ['#d#lo2', 'grp'], ['#c#lo3', 'grp'], ['#e#lo1', 'grp'], ['#x#lo1', 'solo']] as const) {
    c.join(all, m, g);
  }
  // A: the transitional configuration, then the old ring's waiting requests (EVS), then the regular one.
  const lo12 = ['lo1', 'lo2'];
  c.transitional(lo12, 0, { lo1: id(L1, 183), lo2: id(L1, 183) });
  c.join(lo12, '#f#lo1', 'grp');
  c.leave(lo12, '#d#lo2', 'grp');
  c.kill(lo12, '#e#lo1');
  c.regular(lo12, id(L1, 184));
  c.form(['lo3'], id(L3, 184), 183);
  // Heal.
  c.form(all, id(L1, 216), 215);
  sent.set(key(id(L1, 216)), c.orderGroups(all).map((m) => hex(m.frame)));
  // B: partition, then a merge lo3 never completes.
  c.form(lo12, id(L1, 222), 221);
  c.form(['lo3'], id(L3, 222), 221);
  c.form(all, id(L1, 253), 252);
  const m253 = [...c.node('lo1').outbox.splice(0), ...c.node('lo3').outbox.splice(0)];
  sent.set(key(id(L1, 253)), m253.map((m) => hex(m.frame)));
  for (const m of m253) for (const n of lo12) c.node(n).take(c.node(n).layer.groupsMessage(m.frame));
  const lo3 = c.node('lo3');
  const lo3Seen = lo3.received.length;
  c.form(lo12, id(L1, 259), 258);
  lo3.take(lo3.layer.transitional({ members: [L3], id: id(L3, 258) }));
  const cascade = lo3.layer.stateName;
  lo3.take(lo3.layer.regular({ members: [L3], ringId: id(L3, 259) }));
  lo3.ring = [L3];
  const restamped = lo3.outbox.splice(0);
  for (const m of restamped) lo3.take(lo3.layer.groupsMessage(m.frame));
  const lo3Cascade = lo3.received.slice(lo3Seen);
  const lo3State = lo3.layer.stateName;
  // Heal, then the clients quit.
  c.form(all, id(L1, 290), 289);
  sent.set(key(id(L1, 290)), c.orderGroups(all).map((m) => hex(m.frame)));
  for (const m of ['#a#lo1', '#x#lo1', '#f#lo1', '#b#lo2', '#d#lo2', '#c#lo3']) c.kill(all, m);

  it('every client received exactly the reference notices (e: until it disconnected)', () => {
    const captured = clientFrames(cap, true);
    expect([...captured.keys()].sort()).toEqual(['#a#lo1', '#b#lo2', '#c#lo3', '#d#lo2', '#e#lo1', '#f#lo1', '#x#lo1']);
    for (const [member, frames] of captured) {
      const node = c.node(member.slice(member.lastIndexOf('#') + 1));
      const ours = node.received.filter((r) => r.to === member).map((r) => hex(r.notice.frame));
      // e's connection closed at its disconnect; the daemon kept its mailbox until its KILL.
      if (member === '#e#lo1') expect(ours.slice(0, frames.length), member).toEqual(frames);
      else expect(ours, member).toEqual(frames);
    }
    // f's own copy of its join in GTRANS points at the last (singleton) set.
    const f = c.node('lo1').noticesOf('#f#lo1');
    expect(f[0]!.type).toBe(ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_NETWORK);
    expect(f[0]!.body!.vsSets).toEqual([['#a#lo1', '#e#lo1', '#b#lo2', '#d#lo2'], ['#c#lo3'], ['#f#lo1']]);
    expect(f[0]!.body!.myVsSet).toBe(2);
    expect(f[0]!.groupId).toEqual({ ...id(L1, 183), index: 2 });
  });

  it('GROUPS messages as on the ring; the cascade re-stamps lo3\'s buffer and changes nothing', () => {
    const ring = groupsOnRing(cap);
    expect([...ring.keys()].sort()).toEqual([...sent.keys()].sort());
    for (const [k, msgs] of ring) expect(sent.get(k), k).toEqual(msgs);
    expect(cascade).toBe('GGT');
    expect(restamped).toHaveLength(1);
    const before = Buffer.from(sent.get(key(id(L1, 253)))![1]!, 'hex');
    const after = restamped[0]!.frame;
    expect(hex(after.subarray(56))).toBe(hex(before.subarray(56)));
    expect([...after.subarray(48, 56)]).toEqual([3, 0, 0, 0x7f, ...new Uint8Array(Int32Array.of(id(L3, 259).time).buffer)]);
    expect(lo3Cascade).toEqual([]);
    expect(lo3State).toBe('GOP');
  });

  it('all agree at the end', () => {
    for (const n of all) {
      expect(c.node(n).layer.stateName).toBe('GOP');
      expect(c.node(n).layer.size).toBe(0);
      expect(c.node(n).warnings).toEqual([]);
    }
  });
});
