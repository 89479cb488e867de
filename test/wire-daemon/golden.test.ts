/**
 * Specific golden values: the PROTOCOL-NOTES vectors (I.2–I.5, B.5.2, F.1) and fields read off
 * the reference's captures (decoded.txt lines, our own capture ring-lo3-mixed.pcap).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeMembershipBody, decodeMessage, hintMessType } from '../../src/wire/client/index.js';
import {
  canPackTogether,
  decodeDatagram,
  decodeGroupsMessage,
  encodeDatagram,
  firstRegularToken,
  fragmentIndex,
  fragmentMessage,
  getArq,
  getRetrans,
  ipString,
  MONITOR_HASH,
  MONITOR_MAGIC,
  PacketType,
  procIdOf,
  RepType,
  safeDecode,
  setArq,
  setRetrans,
  tokenPort,
  type DataPacket,
  type Datagram,
  type Form1Token,
  type Form2Token,
} from '../../src/wire/daemon/index.js';
import { readCapture } from '../../src/wire/pcap/index.js';
import { fromHex, hex, I3_GROUPS_DATAGRAM, LOCAL, vectors } from './support.js';

function pad(s: string, n: number): string {
  return hex(new TextEncoder().encode(s)).padEnd(2 * n, '0');
}

describe('PROTOCOL-NOTES vectors', () => {
  it('I.3 GROUPS datagram: packet header, message header and body fields', () => {
    expect(I3_GROUPS_DATAGRAM.length).toBe(199);
    const d = decodeDatagram(I3_GROUPS_DATAGRAM, 'data', { confHash: 573995379 }) as DataPacket;
    expect(d.kind).toBe('data');
    expect(d.header).toMatchObject({
      type: PacketType.AGREED | PacketType.ROUTED, transmitterId: procIdOf('127.0.0.1'), procId: procIdOf('127.0.0.1'),
      membId: { procId: procIdOf('127.0.0.1'), time: 0x6b086a2c }, seq: 1, tokenRound: 2, confHash: 573995379,
      dataLen: 159, padding: 0, fragIndex: -1, fragLen: 159,
    });
    expect(d.fragments).toHaveLength(1);
    expect(d.fragments[0]!.message).toMatchObject({ type: 0x00080010, name: 'd1', numGroups: 0, dataLen: 111 });
    const g = decodeGroupsMessage(d.fragments[0]!.data, 0, 159).value;
    expect(g).toMatchObject({
      type: 0x00080010, daemonName: 'd1', syncedSetSize: 1, hint: 0x80000080,
      membId: { procId: procIdOf('127.0.0.1'), time: 0x6b086a2c }, syncedSet: [procIdOf('127.0.0.1')],
    });
    expect(g.groups).toEqual([
      {
        name: 'grp', groupId: { membId: { procId: procIdOf('127.0.0.1'), time: 0x6b086a0d }, index: 1 }, changed: 0,
        daemons: [{ procId: procIdOf('127.0.0.1'), membId: { procId: procIdOf('127.0.0.1'), time: 0x6b086a0d }, members: ['#alice#d1'] }],
      },
    ]);
    expect(hex(encodeDatagram(d))).toBe(hex(I3_GROUPS_DATAGRAM));
    // The first flag sits at body offset 8, so the synced-set size is an unaligned uint32 at 9.
    expect(d.fragments[0]!.data[48 + 8]).toBe(1);
  });

  it('I.4 idle singleton token: ARQ 5, RETRANS 1', () => {
    const b = fromHex('80001580 0200007f 0200007f 0200007f 0d6a086b 00000000 00000000 0200007f 0000 0000 73793622');
    const t = decodeDatagram(b, 'token', { confHash: 573995379 });
    expect(t.kind).toBe('token');
    if (t.kind !== 'token') return;
    expect(getArq(t.header.type)).toBe(5);
    expect(getRetrans(t.header.type)).toBe(1);
    expect(t.header).toMatchObject({ seq: 0, aru: 0, aruLastId: procIdOf('127.0.0.2'), flowControl: 0, rtrLen: 0, confHash: 573995379 });
    expect(t.rtr).toEqual([]);
    expect(setRetrans(setArq(0, 5), 1)).toBe(t.header.type);
    expect(hex(encodeDatagram(t))).toBe(hex(b));
  });

  it('I.5 STATUS request and reply header', () => {
    const req = fromHex('80000081 00000000 0100007f bbace500 00000000 af670000 00000000 4c040000 0000 0000 00000000');
    const d = decodeDatagram(req, 'data', { confHash: 1 });
    expect(d.kind).toBe('status-request');
    expect(d.kind === 'status-request' && d.header).toMatchObject({
      seq: 26543, procId: procIdOf('127.0.0.1'), membId: { procId: MONITOR_MAGIC, time: 0 }, confHash: MONITOR_HASH, transmitterId: 0,
    });
    expect(hex(encodeDatagram(d))).toBe(hex(req));
    const reply = new Uint8Array(136);
    reply.set(fromHex('80000081 00000000 0100007f'), 0);
    reply.set(fromHex('6000 0000 00000000'), 32);
    const r = decodeDatagram(reply, 'data');
    expect(r.kind).toBe('status-reply');
    expect(hex(encodeDatagram(r))).toBe(hex(reply));
  });

  it('F.1 PARTITION example: 40-byte header + int16[128]', () => {
    const b = new Uint8Array(296);
    b.set(fromHex('80000082 00000000 0100007f bbace500 00000000 00000000 00000000 4c040000 0001 0000 00000000'), 0);
    const d = decodeDatagram(b, 'data');
    expect(d.kind).toBe('partition');
    if (d.kind !== 'partition') return;
    expect(d.components).toHaveLength(128);
    expect(d.components.every((c) => c === 0)).toBe(true);
    expect(hex(encodeDatagram(d))).toBe(hex(b));
  });

  it('I.2 REG_MEMB|CAUSED_BY_NETWORK delivered to bob (client codec on the same bytes)', () => {
    const b = fromHex(
      `80180080 ${pad('grp', 32)} 02000000 80000080 5c000000 ${pad('#alice#d1', 32)} ${pad('#bob#d2', 32)}` +
        `0100007f 2c6a086b 01000000 02000000 24000000 01000000 ${pad('#alice#d1', 32)} 01000000 ${pad('#bob#d2', 32)}`,
    );
    const m = decodeMessage(b, 0, b.length);
    expect(m.value.header).toMatchObject({ type: 0x1800, name: 'grp', numGroups: 2, dataLen: 92 });
    expect(hintMessType(m.value.header.hint)).toBe(0);
    const body = decodeMembershipBody(m.value.data, 0, m.value.data.length, true).value;
    expect(body.vsSets).toEqual([['#alice#d1'], ['#bob#d2']]);
    expect(body.myVsSet).toBe(1);
  });

  it('B.5.2 JOIN of 127.0.0.2 as segment rep of segment 1 (ring-lo-acc)', () => {
    const v = vectors('ring-lo-acc').find((x) => x.bytes.length === 60 && hex(x.bytes.subarray(8, 12)) === '0200007f')!;
    expect(hex(v.bytes.subarray(40))).toBe('010000000200007f010000000200007f01000100');
    const d = decodeDatagram(v.bytes, 'data');
    expect(d).toMatchObject({
      kind: 'join', members: [procIdOf('127.0.0.2')], numPending: 0, repIndex: 0,
      reps: [{ procId: procIdOf('127.0.0.2'), type: RepType.SEG_REP, segIndex: 1 }],
    });
  });

  it('B.3 observed first bytes of each type', () => {
    const first: Record<string, Set<string>> = {};
    for (const name of ['ring-lo-acc', 'ring-ns-unspec', 'ring-ns-acc-bulk']) {
      for (const v of vectors(name)) {
        const d = decodeDatagram(v.bytes, v.channel);
        (first[d.kind] ??= new Set()).add(hex(v.bytes.subarray(0, 4)));
      }
    }
    expect([...first.join!]).toEqual(['80020080']);
    expect([...first.form1!]).toEqual(['80100080']);
    expect([...first.form2!]).toEqual(['80200080']);
    expect([...first.hurry!]).toEqual(['c0000080']);
    expect([...first['status-request']!]).toEqual(['80000081']);
    expect([...first['status-reply']!]).toEqual(['80000081']);
    expect([...first.alive!]).toEqual(['80010080']);
    expect([...first.refer!]).toEqual(['80040080']);
    // One-segment ring broadcasts (no ROUTED bit); loopback segments route to each other.
    expect([...first.data!].sort()).toEqual(['84000080', '88000080', '90000080', 'a8000080', 'b0000080']);
    // Regular tokens: only the ARQ/RETRANS nibbles besides the marker.
    for (const t of first.token!) expect(t).toMatch(/^8000[0-9a-f]{2}80$/);
    expect(first.token!.has('80002880')).toBe(true); // arq 8, retrans 2
  });
});

describe('capture values', () => {
  const lo = vectors('ring-lo-acc').map((v) => decodeDatagram(v.bytes, v.channel));

  it('FORM1 body: 516 + 204 + rings (756 for one ring with one commit member)', () => {
    const f1 = lo.filter((d): d is Form1Token => d.kind === 'form1');
    expect(f1.length).toBe(6);
    for (const f of f1) {
      expect(f.header.rtrLen).toBe(516 + 204 + 4 + f.rings.reduce((n, g) => n + 28 + 4 * (g.holes.length + g.commit.length), 0));
      expect(f.header.seq).toBeGreaterThanOrEqual(3333); // Highest_seq + 3333
      expect(f.header.aru).toBe(0);
    }
    expect(f1[0]!.header.rtrLen).toBe(756);
    expect(f1[0]!.members).toMatchObject({ numMembers: 1, numPending: 0, members: [procIdOf('127.0.0.2')] });
    expect(f1[0]!.reps.reps).toEqual([
      { procId: procIdOf('127.0.0.2'), type: RepType.SEG_REP, segIndex: 1 },
      { procId: procIdOf('127.0.0.1'), type: RepType.RING_REP, segIndex: 0 },
    ]);
    expect(f1[0]!.reps.repIndex).toBe(1);
    expect(f1[0]!.members.stale!.length).toBe(512 - 4);
  });

  it('FORM2: new ring id still holds reps_info bytes until the first member fills it', () => {
    const f2 = lo.filter((d): d is Form2Token => d.kind === 'form2');
    expect(f2[0]!.header.rtrLen).toBe(560);
    // Singleton: the 8 bytes are F_reps' num_reps, rep_index and reps[0].proc_id.
    expect(f2[0]!.members).toMatchObject({ numMembers: 0, numPending: 1 });
    expect(f2[0]!.newRingId).toEqual({ procId: 0x00010001, time: procIdOf('127.0.0.1') });
    const filled = f2.find((f) => f.members.numMembers === 1 && f.rings.length === 2)!;
    expect(filled.header.rtrLen).toBe(592);
    expect(filled.newRingId).toEqual({ procId: procIdOf('127.0.0.1'), time: 1795713693 });
    expect(filled.rings[1]).toMatchObject({ membId: { procId: procIdOf('127.0.0.1'), time: 1795713691 }, transTime: 1795713692, numTrans: 1 });
  });

  it('first regular token of a new ring', () => {
    const i = lo.findIndex((d) => d.kind === 'token' && d.header.aru === 0x7fffffff);
    const t = lo[i]!;
    expect(t.kind === 'token' && t.header).toMatchObject({ type: 0, seq: 0, aru: 0x7fffffff, aruLastId: -1, flowControl: 0, rtrLen: 0 });
    if (t.kind !== 'token') return;
    const built = firstRegularToken(t.header.membId, t.header.procId, t.header.confHash);
    expect(hex(encodeDatagram(built))).toBe(hex(vectors('ring-lo-acc')[i]!.bytes));
  });

  it('REFER: memb_id names the referred ring leader and its rep type', () => {
    const refers = lo.filter((d) => d.kind === 'refer');
    expect(refers).toHaveLength(10);
    for (const r of refers) expect(r.header.membId).toEqual({ procId: procIdOf('127.0.0.1'), time: RepType.RING_REP });
  });

  it('HURRY: header only, proc_id = sender', () => {
    const h = lo.find((d) => d.kind === 'hurry')!;
    expect(h.kind === 'hurry' && h.header).toMatchObject({ type: PacketType.HURRY, dataLen: 0, seq: 0, tokenRound: 0 });
  });

  it('STATUS reply: 96-byte status (2 daemons in the ring at that moment), version 4.4.0', () => {
    const r = vectors('ring-ns-unspec').map((v) => decodeDatagram(v.bytes, v.channel)).filter((d) => d.kind === 'status-reply');
    expect(r).toHaveLength(2);
    for (const d of r) {
      if (d.kind !== 'status-reply') continue;
      expect(d.header).toMatchObject({ confHash: 0, dataLen: 96, transmitterId: 0, seq: 0 });
      expect(d.status).toMatchObject({ majorVersion: 4, minorVersion: 4, patchVersion: 0, numProcs: 2, numSegments: 1, acceleratedRing: 0, acceleratedWindow: 15, window: 160, personalWindow: 20 });
      expect(d.status.leaderId).toBe(d.status.myId);
      expect(ipString(d.status.myId)).toBe('10.77.0.1');
    }
  });

  it('fragments of 5000-byte messages: indices 1, 2, 3, -4 with 1432-byte pieces (bulk)', () => {
    const data = vectors('ring-ns-acc-bulk').map((v) => decodeDatagram(v.bytes, v.channel)).filter((d): d is DataPacket => d.kind === 'data');
    const multi = data.filter((d) => d.fragments[0]!.index !== -1);
    expect(multi.map((d) => `${d.fragments[0]!.index}:${d.fragments[0]!.data.length}`).slice(0, 4)).toEqual(['1:1432', '2:1432', '3:1432', '-4:784']);
    const first = multi[0]!.fragments[0]!.message!;
    expect(first).toMatchObject({ numGroups: 1, dataLen: 5000 });
    expect(3 * 1432 + 784).toBe(48 + 32 * first.numGroups + first.dataLen);
    expect(multi.slice(1, 4).every((d) => d.fragments[0]!.message === null)).toBe(true);
  });

  it('fragmentation rule: a 3152-byte message gives (1,1432) (2,1432) (-3,288)', () => {
    const f = fragmentMessage(new Uint8Array(48 + 32 + 3072));
    expect(f.map((x) => [x.index, x.data.length])).toEqual([[1, 1432], [2, 1432], [-3, 288]]);
    expect(fragmentMessage(new Uint8Array(2864)).map((x) => [x.index, x.data.length])).toEqual([[1, 1432], [-2, 1432]]);
    expect(fragmentMessage(new Uint8Array(100)).map((x) => x.index)).toEqual([-1]);
    expect([0, 1, 2].map((k) => fragmentIndex(k, 3))).toEqual([1, 2, -3]);
  });

  it('packing: ten 100-byte messages in 2 packets, in-body headers 4-aligned with index -1', () => {
    const data = vectors('ring-ns-acc-bulk').map((v) => decodeDatagram(v.bytes, v.channel)).filter((d): d is DataPacket => d.kind === 'data');
    const packed = data.filter((d) => d.fragments.length > 1);
    expect(packed.map((d) => d.fragments.length)).toEqual([7, 3]);
    for (const p of packed) {
      let off = p.fragments[0]!.data.length;
      for (const f of p.fragments.slice(1)) {
        expect(f.index).toBe(-1);
        off += (4 - (off % 4)) % 4;
        expect(off % 4).toBe(0);
        off += 4 + f.data.length;
      }
      expect(off).toBe(p.header.dataLen);
      expect(p.header.type).toBe(PacketType.FIFO);
      expect(p.fragments.every((f) => f.message!.type === 0x4)).toBe(true); // FIFO_MESS
    }
    expect(packed.map((p) => p.header.dataLen)).toEqual([7 * 180 + 6 * 4, 3 * 180 + 2 * 4]);
    expect(canPackTogether(PacketType.FIFO, PacketType.AGREED)).toBe(true);
    expect(canPackTogether(PacketType.RELIABLE, PacketType.UNRELIABLE)).toBe(false);
    expect(canPackTogether(PacketType.SAFE, PacketType.AGREED)).toBe(false);
  });

  it('a reassembled message per originating daemon is consistent with its header (bulk)', () => {
    const pending = new Map<number, Uint8Array[]>();
    let messages = 0;
    for (const v of vectors('ring-ns-acc-bulk')) {
      const d = decodeDatagram(v.bytes, v.channel);
      if (d.kind !== 'data') continue;
      for (const f of d.fragments) {
        const list = pending.get(d.header.procId) ?? [];
        list.push(f.data);
        pending.set(d.header.procId, list);
        if (f.index < 0) {
          const whole = Buffer.concat(list);
          const m = decodeMessage(whole, 0, whole.length);
          expect(m.offset).toBe(whole.length);
          expect(list.length).toBe(-f.index);
          pending.delete(d.header.procId);
          messages++;
        }
        // Only the first fragment of a packet can be a non-last fragment.
        if (f !== d.fragments[0]) expect(f.index).toBe(-1);
      }
    }
    expect(messages).toBeGreaterThan(2000);
  });
});

describe('our capture ring-lo3-mixed.pcap (reference, 3 loopback segments, ports 26803/26813/26823)', () => {
  const cap = readCapture(readFileSync(`${LOCAL}ring-lo3-mixed.pcap`));
  const decoded: Datagram[] = [];
  for (const u of cap.udp) {
    const ch = u.dst.port === 26804 || u.dst.port === 26814 || u.dst.port === 26824 ? 'token' : 'data';
    const r = safeDecode(u.payload, ch);
    expect(r.ok).toBe(true);
    if (r.ok) decoded.push(r.value);
  }

  it('has the expected mix', () => {
    expect(cap.format).toBe('pcap');
    expect(decoded).toHaveLength(778);
    const kinds: Record<string, number> = {};
    for (const d of decoded) kinds[d.kind] = (kinds[d.kind] ?? 0) + 1;
    expect(kinds).toMatchObject({ partition: 12, fc: 6, reload: 3 });
    expect(kinds['status-request']).toBeGreaterThan(10);
    expect(kinds['status-reply']).toBe(kinds['status-request']);
  });

  it('monitor FC and PARTITION bodies', () => {
    const fc = decoded.find((d) => d.kind === 'fc')!;
    expect(fc.kind === 'fc' && [fc.windows.slice(0, 4), fc.acceleratedWindows.slice(0, 4)]).toEqual([[20, 20, 20, 160], [15, 15, 15, 0]]);
    expect(fc.header).toMatchObject({ membId: { procId: MONITOR_MAGIC, time: 0 }, confHash: MONITOR_HASH, seq: 6543, dataLen: 512 });
    const parts = decoded.filter((d) => d.kind === 'partition').map((d) => (d.kind === 'partition' ? d.components.slice(0, 3).join(',') : ''));
    expect(new Set(parts)).toEqual(new Set(['0,0,1', '0,0,0']));
  });

  it('retransmission requests on tokens', () => {
    const rtr = decoded.filter((d) => d.kind === 'token' && d.rtr.length > 0);
    expect(rtr.length).toBeGreaterThan(0);
    for (const t of rtr) {
      if (t.kind !== 'token') continue;
      expect(t.header.rtrLen).toBe(t.rtr.reduce((n, r) => n + 16 + 4 * r.seqs.length, 0));
      for (const r of t.rtr) {
        expect(r.membId).toEqual(t.header.membId);
        expect(r.seqs.length).toBeGreaterThan(0);
        for (const s of r.seqs) expect(s).toBeLessThanOrEqual(t.header.seq);
      }
    }
  });

  it('15000-byte messages: 11 fragments 1..10, -11; 101-byte messages packed with 3-byte pads', () => {
    const firsts = decoded.filter((d): d is DataPacket => d.kind === 'data').map((d) => d.fragments[0]!.index);
    for (let k = 1; k <= 10; k++) expect(firsts).toContain(k);
    expect(firsts).toContain(-11);
    const packed = decoded.filter((d): d is DataPacket => d.kind === 'data' && d.fragments.length > 1);
    expect(packed.length).toBeGreaterThan(0);
    expect(packed.some((p) => p.fragments.some((f) => (f.pad?.length ?? 0) === 3))).toBe(true);
  });

  it('ports: token = data + 1', () => {
    expect(tokenPort(26803)).toBe(26804);
  });
});

describe('our capture ring-lo2-hash-mismatch.pcap (two daemons whose configurations hash differently)', () => {
  const cap = readCapture(readFileSync(`${LOCAL}ring-lo2-hash-mismatch.pcap`));
  const LO1 = 2955079723; // AcceleratedRing = true (as logged by the reference)
  const LO2 = 2065040914; // AcceleratedRing = false: same segments, different hash

  it('each side sees the other as another configuration; the reference drops those datagrams', () => {
    let foreign = 0;
    for (const u of cap.udp) {
      const ch = u.dst.port % 10 === 4 ? 'token' : 'data';
      const d = decodeDatagram(u.payload, ch);
      const hash = d.header.confHash;
      expect([LO1, LO2]).toContain(hash);
      const mine = hash === LO1 ? LO1 : LO2;
      const other = hash === LO1 ? LO2 : LO1;
      expect(safeDecode(u.payload, ch, { confHash: mine }).ok).toBe(true);
      const r = safeDecode(u.payload, ch, { confHash: other });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.field).toBe('conf_hash');
      if (u.dst.ip !== u.src.ip || d.header.procId !== procIdOf(u.dst.ip)) foreign++;
    }
    expect(cap.udp).toHaveLength(60);
    expect(foreign).toBeGreaterThan(0);
  });

  it('no ring forms: each daemon only ever sends FORM2 to itself (singleton)', () => {
    for (const u of cap.udp) {
      const d = decodeDatagram(u.payload, u.dst.port % 10 === 4 ? 'token' : 'data');
      expect(d.kind === 'form1').toBe(false);
      if (d.kind === 'form2') expect(d.members.members).toEqual([d.header.procId]);
    }
  });
});
