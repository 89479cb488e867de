/**
 * My GROUPS frames across a cascade (SPEC.md Part VII §4): an unchanged table is re-sent with
 * the new ring id on copies (frames of the earlier ring may still be in flight and must not
 * change), byte for byte what a fresh build for that ring gives; and a received message's
 * groups are read from its bytes only at the merge, the same as a whole decode.
 */
import { describe, expect, it } from 'vitest';
import { GroupsExchange, parseGroupsMessage } from '../../src/daemon/core/groups-exchange.js';
import { ConfOrder } from '../../src/daemon/core/groups-model.js';
import { GroupTable } from '../../src/daemon/core/groups-table.js';
import { decodeGroupsMessage, readGroupsEntries } from '../../src/wire/daemon/index.js';

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
