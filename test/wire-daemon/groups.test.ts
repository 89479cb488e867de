/**
 * GROUPS messages (daemon-generated, inside data packets): every one in the captures decodes
 * and re-encodes exactly; fields; a big-endian flip by layout.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/wire/client/index.js';
import {
  decodeDatagram,
  decodeGroupsMessage,
  encodeGroupsMessage,
  ipString,
  safeDecode,
  type GroupsMessage,
} from '../../src/wire/daemon/index.js';
import { ProtocolError } from '../../src/wire/errors.js';
import { readCapture } from '../../src/wire/pcap/index.js';
import { hex, I3_GROUPS_DATAGRAM, LOCAL, vectors } from './support.js';

function groupsMessagesOf(datagrams: Iterable<{ bytes: Uint8Array; channel: 'data' | 'token' }>): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const v of datagrams) {
    if (v.channel !== 'data') continue;
    const d = decodeDatagram(v.bytes, v.channel);
    if (d.kind !== 'data') continue;
    for (const f of d.fragments) {
      if (f.index === -1 && f.message !== null && f.message !== undefined && f.message.type & ServiceType.GROUPS_MESS) out.push(f.data);
    }
  }
  return out;
}

function allGroupsMessages(): Uint8Array[] {
  const list: Uint8Array[] = [];
  for (const n of ['ring-lo-acc', 'ring-ns-acc', 'ring-ns-orig', 'ring-ns-unspec'] as const) list.push(...groupsMessagesOf(vectors(n)));
  const cap = readCapture(readFileSync(`${LOCAL}ring-lo3-mixed.pcap`));
  list.push(...groupsMessagesOf(cap.udp.map((u) => ({ bytes: u.payload, channel: u.dst.port % 10 === 4 ? ('token' as const) : ('data' as const) }))));
  list.push(I3_GROUPS_DATAGRAM.subarray(40));
  return list;
}

/** Flips a little-endian GROUPS message to big-endian by its layout (names stay as bytes). */
function groupsToBigEndian(src: Uint8Array): Uint8Array {
  const b = new Uint8Array(src);
  const dv = new DataView(b.buffer);
  const sw32 = (o: number): void => dv.setUint32(o, dv.getUint32(o, true), false);
  const sw16 = (o: number): void => dv.setUint16(o, dv.getUint16(o, true), false);
  dv.setUint32(0, (dv.getUint32(0, true) & ~0x80000080) >>> 0, false);
  sw32(32);
  sw32(36);
  sw32(44);
  const end = 48 + dv.getInt32(44, false);
  let o = 48;
  sw32(o);
  sw32(o + 4);
  const first = b[o + 8];
  o += 9;
  if (first === 1) {
    const n = dv.getUint32(o, true);
    sw32(o);
    o += 4;
    for (let i = 0; i < n; i++, o += 4) sw32(o);
  }
  while (o < end) {
    o += 32;
    sw32(o);
    sw32(o + 4);
    sw32(o + 8);
    sw16(o + 12);
    const nd = dv.getUint16(o + 14, true);
    sw16(o + 14);
    o += 16;
    for (let d = 0; d < nd; d++) {
      sw32(o);
      sw32(o + 4);
      sw32(o + 8);
      const nm = dv.getUint16(o + 12, true);
      sw16(o + 12);
      o += 14 + 32 * nm;
    }
  }
  return b;
}

describe('GROUPS messages', () => {
  const msgs = allGroupsMessages();

  it('every captured GROUPS message decodes and re-encodes exactly', () => {
    expect(['ring-lo-acc', 'ring-ns-acc', 'ring-ns-orig', 'ring-ns-unspec'].map((n) => groupsMessagesOf(vectors(n)).length)).toEqual([10, 6, 6, 6]);
    expect(msgs.length).toBe(10 + 6 + 6 + 6 + 10 + 1); // + ring-lo3-mixed + the I.3 vector
    for (const m of msgs) {
      const g = decodeGroupsMessage(m, 0, m.length).value;
      expect(hex(encodeGroupsMessage(g))).toBe(hex(m));
      const { nameField: _n, ...clean } = g;
      expect(hex(encodeGroupsMessage(clean))).toBe(hex(m));
    }
  });

  it('header: daemon name, synced-set size in name bytes 28..31, the rest of the name field zero', () => {
    const names = new Set<string>();
    for (const m of msgs) {
      const g = decodeGroupsMessage(m, 0, m.length).value;
      names.add(g.daemonName);
      expect(g.type & ServiceType.GROUPS_MESS).toBeTruthy();
      expect(g.hint).toBe(0x80000080);
      const tail = m.subarray(4 + g.daemonName.length, 32);
      expect(tail.every((x) => x === 0)).toBe(true); // memset in the reference: initialised
      if (g.syncedSet !== null) {
        expect(g.syncedSet.length).toBe(g.syncedSetSize);
        // Only the first-built buffer carries the set; it is sent last, as AGREED.
        expect(g.type & ServiceType.AGREED_MESS).toBeTruthy();
      } else {
        expect(g.type & ServiceType.RELIABLE_MESS).toBeTruthy();
      }
      for (const e of g.groups) {
        expect(e.changed === 0 || e.changed === 1).toBe(true);
        for (const d of e.daemons) expect(d.members.length).toBeGreaterThan(0);
      }
    }
    expect([...names].sort()).toEqual(['d1', 'lo1', 'lo2', 'lo3', 'sp1', 'sp2', 'sp3'].filter((n) => names.has(n)));
    expect(names.has('lo1') && names.has('sp1')).toBe(true);
  });

  it('ns-acc: groups listed with their daemons and members', () => {
    const g = groupsMessagesOf(vectors('ring-ns-acc')).map((m) => decodeGroupsMessage(m, 0, m.length).value);
    const withGroups = g.filter((x) => x.groups.length > 0);
    expect(withGroups.length).toBeGreaterThan(0);
    const e = withGroups[0]!.groups[0]!;
    expect(e.daemons.map((d) => ipString(d.procId)).every((ip) => ip.startsWith('10.77.0.'))).toBe(true);
    expect(e.daemons[0]!.members.every((m) => m.startsWith('#'))).toBe(true);
  });

  it('a big-endian GROUPS message decodes to the same values', () => {
    for (const m of msgs) {
      const le = decodeGroupsMessage(m, 0, m.length).value;
      const be = decodeGroupsMessage(groupsToBigEndian(m), 0, m.length).value;
      expect(be.littleEndian).toBe(false);
      const strip = (g: GroupsMessage): unknown => ({ ...g, littleEndian: null, nameField: null });
      expect(strip(be)).toEqual(strip(le));
      expect(hex(encodeGroupsMessage(be))).toBe(hex(m));
    }
  });

  it('malformed GROUPS messages', () => {
    const m = msgs.find((x) => decodeGroupsMessage(x, 0, x.length).value.groups.length > 0)!;
    const cases: Array<[string, (b: Uint8Array) => Uint8Array, string]> = [
      ['short header', (b) => b.subarray(0, 47), 'groups_message.header at offset 0: truncated: expected 48, got 47'],
      ['not GROUPS', (b) => { b[2] = 0; return b; }, 'groups_message.type at offset 0: illegal value: expected GROUPS_MESS bit, got 0x10'],
      ['num_groups', (b) => { b[36] = 1; return b; }, 'groups_message.num_groups at offset 36: illegal value: expected 0, got 1'],
      ['first flag 2', (b) => { b[56] = 2; return b; }, 'groups_message.first at offset 56: illegal value: expected 0 or 1, got 2'],
      ['body cut', (b) => b.subarray(0, b.length - 1), `groups_message.body at offset 48: truncated: expected ${m.length - 48}, got ${m.length - 49}`],
    ];
    for (const [what, mutate, msg] of cases) {
      const b = mutate(new Uint8Array(m));
      expect(() => decodeGroupsMessage(b, 0, b.length), what).toThrow(ProtocolError);
      expect(() => decodeGroupsMessage(b, 0, b.length), what).toThrow(msg);
    }
    // A data_len that cuts a member name short.
    const b = new Uint8Array(m);
    new DataView(b.buffer).setInt32(44, m.length - 48 - 1, true);
    expect(() => decodeGroupsMessage(b, 0, b.length)).toThrow(/groups_daemon\.members .*truncated/);
    expect(safeDecode(I3_GROUPS_DATAGRAM, 'data').ok).toBe(true);
  });
});
