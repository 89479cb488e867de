/**
 * My GROUPS frames across a cascade (SPEC.md Part VII §4): an unchanged table is re-sent with
 * the new ring id on copies (frames of the earlier ring may still be in flight and must not
 * change), byte for byte what a fresh build for that ring gives; and a received message's
 * groups are read from its bytes only at the merge, the same as a whole decode; and a daemon's
 * member list that does not fit what is left of a buffer goes whole into the next one, after a
 * repeat of its group's entry.
 */
import { describe, expect, it } from 'vitest';
import { GroupsExchange, parseGroupsMessage } from '../../src/daemon/core/groups-exchange.js';
import { ConfOrder } from '../../src/daemon/core/groups-model.js';
import { GroupTable } from '../../src/daemon/core/groups-table.js';
import { decodeGroupsMessage, groupsBodyLength, readGroupsEntries } from '../../src/wire/daemon/index.js';

const A = 0x7f000001;
const B = 0x7f000002;
const RING1 = { procId: A, time: 11 };
const RING2 = { procId: A, time: 12 };

function table(): GroupTable {
  const t = new GroupTable(new ConfOrder([{ name: 'a', procId: A }, { name: 'b', procId: B }]), 'a');
  // Enough groups for several 100 kB buffers, so RELIABLE frames and the AGREED one are both re-stamped.
  for (let i = 0; i < 2500; i++) {
    t.join(`#s${i % 97}#a`, `group-${i}`, { procId: A, local: true }, RING1, true);
    if (i % 3 === 0) t.join(`#r${i % 13}#b`, `group-${i}`, { procId: B, local: false }, RING1, true);
  }
  return t;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const C = 0x7f000003;

/**
 * Four groups whose member lists (28.8 kB for 900 members) cannot all share one 100,000-byte
 * buffer. In the first, c's 1321 members (42,286 bytes) would fit the 42,307 bytes left after
 * a's and b's, but not with the 48 bytes the rule keeps free.
 */
function bigTable(): GroupTable {
  const t = new GroupTable(new ConfOrder([{ name: 'a', procId: A }, { name: 'b', procId: B }, { name: 'c', procId: C }]), 'a');
  for (let g = 0; g < 4; g++) {
    for (let m = 0; m < (g === 0 ? 1321 : 900); m++) {
      if (m < 900) t.join(`#a${m}#a`, `big-${g}`, { procId: A, local: true }, RING1, true);
      if (g !== 1 && m < 900) t.join(`#b${m}#b`, `big-${g}`, { procId: B, local: false }, RING1, true);
      t.join(`#c${m}#c`, `big-${g}`, { procId: C, local: false }, RING1, true);
    }
  }
  return t;
}

/**
 * The buffer rule written out on its own (SPEC.md Part VII §4): a group entry (48 bytes) only
 * if 96 bytes are left, a daemon (14 + 32 per member) only if it and 48 more bytes fit; the
 * first buffer starts with the synced set. Each buffer as [group, daemons in it] pairs.
 */
function expectedLayout(groups: readonly { name: string; daemons: readonly { procId: number; members: readonly string[] }[] }[], synced: number): [string, number[]][][] {
  const out: [string, number[]][][] = [];
  let gi = 0;
  let di = 0;
  do {
    let left = 100000 - 9 - (out.length === 0 ? 4 + 4 * synced : 0);
    const buf: [string, number[]][] = [];
    while (gi < groups.length && left >= 96) {
      const g = groups[gi]!;
      const entry: [string, number[]] = [g.name, []];
      buf.push(entry);
      left -= 48;
      while (di < g.daemons.length && left >= 14 + 32 * g.daemons[di]!.members.length + 48) {
        left -= 14 + 32 * g.daemons[di]!.members.length;
        entry[1].push(g.daemons[di++]!.procId);
      }
      if (di < g.daemons.length) break;
      gi++;
      di = 0;
    }
    out.push(buf);
  } while (gi < groups.length);
  return out;
}

describe('GROUPS frames', () => {
  it('re-stamps unchanged frames on copies, as a fresh build would write them', () => {
    const mine = new GroupsExchange(table(), A, 'a', () => undefined);
    const first = mine.send(RING1, true).map((m) => m.frame);
    const before = first.map(hex);
    expect(first.length).toBeGreaterThan(2);
    const again = mine.send(RING2, false);
    expect(first.map(hex)).toEqual(before);
    const fresh = new GroupsExchange(table(), A, 'a', () => undefined).send(RING2, true);
    expect(again.map((m) => hex(m.frame))).toEqual(fresh.map((m) => hex(m.frame)));
    expect(again.map((m) => m.type)).toEqual(fresh.map((m) => m.type));
    for (const m of again) expect(decodeGroupsMessage(m.frame, 0, m.frame.length).value.membId).toEqual(RING2);
  });

  it('reads a received message\'s groups lazily, equal to a whole decode', () => {
    const frames = new GroupsExchange(table(), A, 'a', () => undefined).send(RING1, true).map((m) => m.frame);
    for (const f of frames) {
      const got = parseGroupsMessage(f);
      if (typeof got === 'string') throw new Error(got);
      const whole = decodeGroupsMessage(f, 0, f.length).value;
      expect(readGroupsEntries(got.body)).toEqual(whole.groups);
      expect(got.syncedSet).toEqual(whole.syncedSet);
    }
  });

  it('puts a member list that does not fit into the next buffer whole, repeating its group entry', () => {
    const t = bigTable();
    const sent = new GroupsExchange(t, A, 'a', () => undefined).send(RING1, true);
    const built = sent.map((m) => decodeGroupsMessage(m.frame, 0, m.frame.length).value).reverse();
    const layout = built.map((b) => b.groups.map((e): [string, number[]] => [e.name, e.daemons.map((d) => d.procId)]));
    const views = t.names().map((n) => t.view(n)!);
    expect(layout).toEqual(expectedLayout(views, 1));
    // The split really happens: some group's daemons span two buffers.
    expect(layout.some((b, i) => i > 0 && b[0]![0] === layout[i - 1]!.at(-1)![0])).toBe(true);
    for (const b of built) expect(groupsBodyLength(b)).toBeLessThanOrEqual(100000);
    // Every daemon's members arrive once, whole, in name order.
    for (const v of views) {
      const got = built.flatMap((b) => b.groups.filter((e) => e.name === v.name).flatMap((e) => e.daemons));
      expect(got.map((d) => [d.procId, d.members])).toEqual(v.daemons.map((d) => [d.procId, d.members]));
    }
  });

  it('refuses a message whose group entries overrun its body, before any is read', () => {
    const f = new GroupsExchange(table(), A, 'a', () => undefined).send(RING1, true).map((m) => m.frame).at(-1)!;
    const cut = f.slice(0, f.length - 7);
    // The body length in the header still claims the full body.
    expect(parseGroupsMessage(cut)).toMatch(/^groups_message\.body at offset 48: truncated/);
    const shortBody = f.slice();
    new DataView(shortBody.buffer).setInt32(44, f.length - 48 - 7, true);
    expect(parseGroupsMessage(shortBody.subarray(0, f.length - 7))).toMatch(/^groups_daemon\.members at offset \d+: truncated: expected 32, got 25$/);
  });
});
