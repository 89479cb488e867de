/**
 * The reference's own GROUPS messages (ring captures, [RUN]): the scenario each capture
 * records is replayed through one GroupsLayer per daemon, and the GROUPS messages they submit
 * must be byte for byte the ones the reference daemons put on the ring, in ring order.
 *
 *   ring-ns-acc / ring-ns-orig / ring-ns-unspec (sp1..sp3 = 10.77.0.1..3) and ring-lo-acc
 *   (lo1..lo3 = 127.0.0.1..3): d1 alone; d2 starts ⇒ merge; d3 starts ⇒ merge (d1 represents
 *   {d1, d2}); alice@d1 and bob@d3 join grpR; d2 is killed ⇒ partition {d1, d3} (grpR has no
 *   member at d2: no notice, no exchange); d2 restarts ⇒ merge, d1 sends grpR unchanged with
 *   the id it got at the 3-daemon ring, index 2; alice and bob are disconnected.
 *
 *   ring-lo3-mixed (test/wire-daemon/captures, lo1..lo3): the same merges; flooders and spuser
 *   join, leave and disconnect; a monitor partition cuts lo3 off and heals ⇒ merge of {lo1, lo2}
 *   (represented by lo1) and {lo3}.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/wire/client/index.js';
import { decodeDatagram, decodeGroupsMessage } from '../../src/wire/daemon/index.js';
import { readCapture } from '../../src/wire/pcap/index.js';
import { Cluster, hex } from './cluster.js';

interface Datagram {
  bytes: Uint8Array;
  channel: 'data' | 'token';
}

/** GROUPS messages (whole message bytes) in ring order; a retransmitted packet counts once. */
function groupsMessages(datagrams: Iterable<Datagram>): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const v of datagrams) {
    if (v.channel !== 'data') continue;
    const d = decodeDatagram(v.bytes, 'data');
    if (d.kind !== 'data') continue;
    const key = `${d.header.membId.procId},${d.header.membId.time},${d.header.seq}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const f of d.fragments) {
      if (f.index === -1 && f.message != null && f.message.type & ServiceType.GROUPS_MESS) out.push(f.data);
    }
  }
  return out;
}

function jsonCapture(name: string): Datagram[] {
  const j = JSON.parse(readFileSync(`/work/shared/reference/captures/${name}.json`, 'utf8')) as {
    udp_datagrams: Array<{ dst: string; hex: string }>;
  };
  return j.udp_datagrams.map((d) => ({
    bytes: new Uint8Array(Buffer.from(d.hex, 'hex')),
    channel: d.dst.endsWith(':4804') ? 'token' : 'data',
  }));
}

function membIdOf(m: Uint8Array): { procId: number; time: number } {
  return decodeGroupsMessage(m, 0, m.length).value.membId;
}

/** Singleton ring ids are not on the wire (their groups are empty): any distinct values do. */
function single(c: Cluster, name: string, time: number): { procId: number; time: number } {
  return { procId: c.procId(name), time };
}

describe('GROUPS messages of the reference captures, reproduced', () => {
  const three: Array<[string, string, string]> = [
    ['ring-ns-acc', 'sp', '10.77.0.'],
    ['ring-ns-orig', 'sp', '10.77.0.'],
    ['ring-ns-unspec', 'sp', '10.77.0.'],
    ['ring-lo-acc', 'lo', '127.0.0.'],
  ];
  for (const [capture, prefix, net] of three) {
    it(capture, () => {
      const captured = groupsMessages(jsonCapture(capture));
      expect(captured).toHaveLength(6);
      const [d1, d2, d3] = [1, 2, 3].map((i) => `${prefix}${i}`) as [string, string, string];
      const c = new Cluster([
        [d1, `${net}1`],
        [d2, `${net}2`],
        [d3, `${net}3`],
      ]);
      const rings = [0, 2, 4].map((i) => membIdOf(captured[i]!));
      const sent: Uint8Array[] = [];
      c.start(d1, single(c, d1, 100));
      c.start(d2, single(c, d2, 101));
      c.form([d1, d2], rings[0]!);
      sent.push(...c.orderGroups([d1, d2]).map((m) => m.frame));
      c.start(d3, single(c, d3, 102));
      c.form([d1, d2, d3], rings[1]!);
      sent.push(...c.orderGroups([d1, d2, d3]).map((m) => m.frame));
      c.join([d1, d2, d3], `#alice#${d1}`, 'grpR');
      c.join([d1, d2, d3], `#bob#${d3}`, 'grpR');
      const grpR = c.node(d1).layer.groupId('grpR');
      expect(grpR).toEqual({ ringId: rings[1], index: 2 });
      // d2 dies: {d1, d3} form a ring; grpR has nobody at d2.
      c.crash(d2);
      c.form([d1, d3], { procId: c.procId(d1), time: rings[1]!.time + 10 });
      expect(c.node(d1).outbox).toEqual([]);
      expect(c.node(d1).layer.stateName).toBe('GOP');
      expect(c.node(d1).noticesOf(`#alice#${d1}`).map((n) => n.type)).toEqual([
        ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_JOIN,
        ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_JOIN,
      ]);
      c.start(d2, single(c, d2, 103));
      c.form([d1, d2, d3], rings[2]!);
      sent.push(...c.orderGroups([d1, d2, d3]).map((m) => m.frame));
      expect(sent.map(hex)).toEqual(captured.map(hex));
      // Unchanged by the merge: same id everywhere, no notice.
      expect(c.views([d1, d2, d3], 'grpR')).toEqual(Array(3).fill({ id: grpR, members: [`#alice#${d1}`, `#bob#${d3}`] }));
      expect(c.node(d1).noticesOf(`#alice#${d1}`)).toHaveLength(2);
      c.kill([d1, d2, d3], `#alice#${d1}`);
      c.kill([d1, d2, d3], `#bob#${d3}`);
      for (const n of [d1, d2, d3]) {
        expect(c.node(n).layer.size).toBe(0);
        expect(c.node(n).warnings).toEqual([]);
      }
    });
  }

  it('ring-lo3-mixed (monitor partition and heal)', () => {
    const cap = readCapture(readFileSync(fileURLToPath(new URL('../wire-daemon/captures/ring-lo3-mixed.pcap', import.meta.url))));
    const captured = groupsMessages(
      cap.udp.map((u) => ({ bytes: u.payload, channel: u.dst.port % 10 === 4 ? ('token' as const) : ('data' as const) })),
    );
    expect(captured).toHaveLength(6);
    const c = new Cluster([
      ['lo1', '127.0.0.1'],
      ['lo2', '127.0.0.2'],
      ['lo3', '127.0.0.3'],
    ]);
    const all = ['lo1', 'lo2', 'lo3'];
    const rings = [0, 2, 4].map((i) => membIdOf(captured[i]!));
    const sent: Uint8Array[] = [];
    c.start('lo1', single(c, 'lo1', 100));
    c.start('lo2', single(c, 'lo2', 101));
    c.form(['lo1', 'lo2'], rings[0]!);
    sent.push(...c.orderGroups(['lo1', 'lo2']).map((m) => m.frame));
    c.start('lo3', single(c, 'lo3', 102));
    c.form(all, rings[1]!);
    sent.push(...c.orderGroups(all).map((m) => m.frame));
    for (const m of ['#fa#lo1', '#fb#lo2', '#fc#lo3']) {
      c.join(all, m, 'flooder');
      c.kill(all, m); // the daemon's KILL|SAFE when the flooder quits
    }
    c.join(all, '#us#lo1', 'grp');
    c.leave(all, '#us#lo1', 'grp');
    c.kill(all, '#us#lo1');
    // PARTITION {0, 0, 1}: {lo1, lo2} and {lo3}, then healed.
    c.form(['lo1', 'lo2'], { procId: c.procId('lo1'), time: rings[2]!.time - 2 });
    c.node('lo3').take(c.node('lo3').layer.transitional({ members: [c.procId('lo3')], id: single(c, 'lo3', 104) }));
    c.node('lo3').take(c.node('lo3').layer.regular({ members: [c.procId('lo3')], ringId: single(c, 'lo3', 104) }));
    c.node('lo3').ring = [c.procId('lo3')];
    expect(c.node('lo1').outbox).toEqual([]);
    c.form(all, rings[2]!);
    sent.push(...c.orderGroups(all).map((m) => m.frame));
    expect(sent.map(hex)).toEqual(captured.map(hex));
    for (const n of all) {
      expect(c.node(n).layer.stateName).toBe('GOP');
      expect(c.node(n).layer.synced).toEqual([0x7f000001, 0x7f000002, 0x7f000003]);
      expect(c.node(n).warnings).toEqual([]);
    }
  });
});
