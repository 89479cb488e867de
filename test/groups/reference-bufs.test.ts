/**
 * Group state larger than one GROUPS message (test/groups/captures/groups-lo2-bufs.pcap,
 * recorded by run-bufs.sh beside it, [RUN]): #big#lo1 in 1100 groups lo1g0000…lo1g1099, #y#lo2
 * in every 100th; a monitor partition {lo1 | lo2}, then a heal. lo1 sends its state in two
 * GROUPS messages: 1063 groups in the first built (99 939-byte body: one more 94-byte group
 * would leave less than the 96 bytes a group entry needs), 37 in the second, which is sent
 * first (RELIABLE); the first built, with the synced set, goes last (AGREED). Each message is
 * reassembled here from its fragments (70 and 3 packets).
 */
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/wire/client/index.js';
import { decodeGroupsMessage } from '../../src/wire/daemon/index.js';
import { loadCapture, ringMessages } from './pcap.js';
import { Cluster, hex } from './cluster.js';

const L1 = 0x7f000001;
const L2 = 0x7f000002;
const id = (procId: number, t: number): { procId: number; time: number } => ({ procId, time: 1795720000 + t });
const name = (i: number): string => `lo1g${String(i).padStart(4, '0')}`;

describe('reference run: GROUPS state over two messages (groups-lo2-bufs.pcap)', () => {
  const captured = ringMessages(loadCapture('groups-lo2-bufs.pcap'), `${L1},${id(L1, 451).time}`).filter(
    (m) => (new DataView(m.bytes.buffer, m.bytes.byteOffset).getUint32(0, true) & ServiceType.GROUPS_MESS) !== 0,
  );
  const c = new Cluster([
    ['lo1', '127.0.0.1'],
    ['lo2', '127.0.0.2'],
    ['lo3', '127.0.0.3'],
  ]);
  const both = ['lo1', 'lo2'];
  c.start('lo1', id(L1, 408));
  c.start('lo2', id(L2, 409));
  c.form(both, id(L1, 410));
  c.orderGroups(both);
  for (let i = 0; i < 1100; i++) c.join(both, '#big#lo1', name(i));
  for (let i = 0; i < 1100; i += 100) c.join(both, '#y#lo2', name(i));
  c.form(['lo1'], id(L1, 419), 418);
  c.form(['lo2'], id(L2, 419), 418);
  c.form(both, id(L1, 451), 450);
  const fromLo1 = c.node('lo1').outbox.map((m) => m);
  const fromLo2 = c.node('lo2').outbox.map((m) => m);
  c.orderGroups(both);

  it('the captured messages: lo1 RELIABLE (37 groups), lo2 AGREED, lo1 AGREED (1063 groups)', () => {
    const summary = captured.map((m) => {
      const g = decodeGroupsMessage(m.bytes, 0, m.bytes.length).value;
      return [m.sender, g.type, g.groups.length, m.bytes.length];
    });
    expect(summary).toEqual([
      [L1, ServiceType.GROUPS_MESS | ServiceType.RELIABLE_MESS, 37, 48 + 9 + 37 * 94],
      [L2, ServiceType.GROUPS_MESS | ServiceType.AGREED_MESS, 11, 48 + 17 + 11 * 94],
      [L1, ServiceType.GROUPS_MESS | ServiceType.AGREED_MESS, 1063, 48 + 17 + 1063 * 94],
    ]);
  });

  it('each daemon submits exactly its captured messages, in the captured order', () => {
    expect(fromLo1.map((m) => hex(m.frame))).toEqual(captured.filter((m) => m.sender === L1).map((m) => hex(m.bytes)));
    expect(fromLo2.map((m) => hex(m.frame))).toEqual(captured.filter((m) => m.sender === L2).map((m) => hex(m.bytes)));
    expect(fromLo1.map((m) => m.service)).toEqual(['reliable', 'agreed']);
  });

  it('after the exchange both agree; only the groups with members on both sides changed', () => {
    for (const n of both) expect(c.node(n).layer.stateName).toBe('GOP');
    for (const i of [0, 1, 99, 100, 1062, 1063, 1099]) {
      const views = c.views(both, name(i));
      expect(views[1]).toEqual(views[0]);
      const shared = i % 100 === 0;
      expect(c.node('lo1').layer.groupId(name(i))).toEqual({ ringId: shared ? id(L1, 451) : id(L1, 410), index: 1 });
      expect(c.node('lo1').layer.members(name(i))).toEqual(shared ? ['#big#lo1', '#y#lo2'] : ['#big#lo1']);
    }
  });
});
