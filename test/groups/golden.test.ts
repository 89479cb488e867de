/**
 * Golden bytes from the reference (PROTOCOL-NOTES I.2 / I.3, both [RUN]): alice@d1 and bob@d2,
 * each alone in its own singleton ring, merge into ring (127.0.0.1, 0x6b086a2c); configuration
 * order d1, d2. d1 sends one GROUPS message; bob and alice get REG_MEMB|CAUSED_BY_NETWORK with
 * two vs_sets, my_vs_set_offset 36 for bob and 0 for alice, and no TRANSITION.
 */
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/wire/client/index.js';
import { Cluster, fromHex, hex, padHex } from './cluster.js';

const D1_RING = { procId: 0x7f000001, time: 0x6b086a0d };
const D2_RING = { procId: 0x7f000002, time: 0x6b086a1f };
const MERGED = { procId: 0x7f000001, time: 0x6b086a2c };

/** I.3 without its 40-byte packet header: the message header and the 111-byte body. */
const I3_MESSAGE = fromHex(
  `90000880 ${padHex('d1', 28)} 01000000 00000000 80000080 6f000000` +
    '0100007f2c6a086b 01 01000000 0100007f' +
    `${padHex('grp', 32)} 0100007f0d6a086b01000000 0000 0100` +
    `0100007f 0100007f0d6a086b 0100 ${padHex('#alice#d1', 32)}`,
);

/** I.2: what bob@d2 receives. */
const I2_BOB = fromHex(
  `80180080 ${padHex('grp', 32)} 02000000 80000080 5c000000` +
    `${padHex('#alice#d1', 32)} ${padHex('#bob#d2', 32)}` +
    '0100007f 2c6a086b 01000000 02000000 24000000' +
    `01000000 ${padHex('#alice#d1', 32)} 01000000 ${padHex('#bob#d2', 32)}`,
);

function scenario(): Cluster {
  const c = new Cluster([
    ['d1', '127.0.0.1'],
    ['d2', '127.0.0.2'],
  ]);
  c.start('d1', D1_RING);
  c.start('d2', D2_RING);
  c.join(['d1'], '#alice#d1', 'grp');
  c.join(['d2'], '#bob#d2', 'grp');
  for (const n of c.nodes.values()) n.clear();
  return c;
}

describe('I.2 / I.3: two singleton rings merge', () => {
  it('the group id before the merge is (d1 ring, 1) at d1', () => {
    const c = scenario();
    expect(c.node('d1').layer.groupId('grp')).toEqual({ ringId: D1_RING, index: 1 });
    expect(c.node('d2').layer.groupId('grp')).toEqual({ ringId: D2_RING, index: 1 });
  });

  it('d1 sends exactly the I.3 GROUPS message (199-byte datagram = 40 + 48 + 111)', () => {
    const c = scenario();
    c.form(['d1', 'd2'], MERGED);
    const d1 = c.node('d1');
    expect(d1.outbox).toHaveLength(1);
    const m = d1.outbox[0]!;
    expect(40 + m.frame.length).toBe(199);
    expect(hex(m.frame)).toBe(hex(I3_MESSAGE));
    expect(m.service).toBe('agreed');
    expect(m.type).toBe(ServiceType.GROUPS_MESS | ServiceType.AGREED_MESS);
    expect(m.sender).toBe('d1');
    expect(m.dataLen).toBe(111);
    // d2 sends its own set's state the same way.
    const d2 = c.node('d2').outbox;
    expect(d2).toHaveLength(1);
    expect(d2[0]!.frame.subarray(48, 57)).toEqual(I3_MESSAGE.subarray(48, 57));
  });

  it('gathering: clients paused, GROUPS queue, AGREED threshold; then all back', () => {
    const c = scenario();
    c.form(['d1', 'd2'], MERGED);
    const d1 = c.node('d1');
    expect(d1.layer.stateName).toBe('GGATHER');
    expect(d1.layer.clientReadingPaused).toBe(true);
    expect(d1.layer.mayDeliver('reliable')).toBe(false);
    expect(d1.layer.mayDeliver('fifo')).toBe(false);
    expect(d1.layer.mayDeliver('agreed')).toBe(true);
    expect(d1.layer.mayDeliver('safe')).toBe(true);
    expect(d1.actions.map((a) => (a.kind === 'submit' ? `submit:${a.message.service}` : JSON.stringify(a)))).toEqual([
      '{"kind":"client-reading","paused":true}',
      '{"kind":"down-queue","queue":"groups"}',
      '{"kind":"delivery","level":"agreed"}',
      'submit:agreed',
    ]);
    d1.clear();
    c.orderGroups(['d1', 'd2'], 1);
    expect(d1.layer.stateName).toBe('GGATHER');
    expect(d1.layer.exchange).toEqual({ messages: 1, daemons: 1, expected: 2 });
    c.orderGroups(['d1', 'd2']);
    expect(d1.layer.stateName).toBe('GOP');
    expect(d1.actions.map((a) => JSON.stringify(a))).toEqual([
      '{"kind":"down-queue","queue":"normal"}',
      '{"kind":"client-reading","paused":false}',
      '{"kind":"delivery","level":"all"}',
    ]);
    expect(d1.layer.mayDeliver('reliable')).toBe(true);
    expect(d1.layer.synced).toEqual([0x7f000001, 0x7f000002]);
  });

  it('bob gets exactly I.2 (offset 36); alice the same with offset 0; no TRANSITION', () => {
    const c = scenario();
    c.form(['d1', 'd2'], MERGED);
    c.orderGroups(['d1', 'd2']);
    const bob = c.node('d2').noticesOf('#bob#d2');
    const alice = c.node('d1').noticesOf('#alice#d1');
    expect(bob).toHaveLength(1);
    expect(alice).toHaveLength(1);
    expect(hex(bob[0]!.frame)).toBe(hex(I2_BOB));
    const aliceExpected = Uint8Array.from(I2_BOB);
    aliceExpected.set([0, 0, 0, 0], 48 + 64 + 16);
    expect(hex(alice[0]!.frame)).toBe(hex(aliceExpected));
    expect(alice[0]!.body!.myVsSet).toBe(0);
    expect(bob[0]!.body!.myVsSet).toBe(1);
    // Both agree on the group.
    expect(c.views(['d1', 'd2'], 'grp')).toEqual([
      { id: { ringId: MERGED, index: 1 }, members: ['#alice#d1', '#bob#d2'] },
      { id: { ringId: MERGED, index: 1 }, members: ['#alice#d1', '#bob#d2'] },
    ]);
    for (const n of ['d1', 'd2']) {
      expect(c.node(n).layer.group('grp')!.daemons.map((d) => d.membId)).toEqual([MERGED, MERGED]);
      expect(c.node(n).warnings).toEqual([]);
    }
  });

  it('after the merge a join is lightweight again with the new id', () => {
    const c = scenario();
    c.form(['d1', 'd2'], MERGED);
    c.orderGroups(['d1', 'd2']);
    c.join(['d1', 'd2'], '#carol#d2', 'grp');
    const n = c.node('d1').noticesOf('#alice#d1').at(-1)!;
    expect(n.type).toBe(ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_JOIN);
    expect(n.groupId).toEqual({ procId: MERGED.procId, time: MERGED.time, index: 2 });
    expect(n.members).toEqual(['#alice#d1', '#bob#d2', '#carol#d2']);
  });
});
