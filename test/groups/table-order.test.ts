/**
 * The group table keeps its records in name order as groups come and go (SPEC.md Part VII §1):
 * names(), inOrder() and a KILL's result must always be in byte order, whatever the sequence of
 * joins, leaves and kills. A seeded random churn is checked against a sort of the live names.
 */
import { describe, expect, it } from 'vitest';
import { ConfOrder, sortedNames } from '../../src/daemon/core/groups-model.js';
import { GroupTable } from '../../src/daemon/core/groups-table.js';

const RING = { procId: 0x7f000001, time: 1 };

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('GroupTable name order', () => {
  it('stays sorted through random joins, leaves and kills', () => {
    const conf = new ConfOrder([{ name: 'a', procId: 0x7f000001 }, { name: 'b', procId: 0x7f000002 }]);
    const table = new GroupTable(conf, 'a');
    const rnd = prng(7);
    const members = Array.from({ length: 12 }, (_, i) => `#m${i}#${i % 2 === 0 ? 'a' : 'b'}`);
    const daemonOf = (m: string) => ({ procId: m.endsWith('#a') ? 0x7f000001 : 0x7f000002, local: m.endsWith('#a') });
    let kills = 0;
    for (let step = 0; step < 3000; step++) {
      const m = members[Math.floor(rnd() * members.length)]!;
      const group = `g${Math.floor(rnd() * 40).toString(36)}${rnd() < 0.5 ? 'x' : ''}`;
      const r = rnd();
      if (r < 0.6) table.join(m, group, daemonOf(m), RING, true);
      else if (r < 0.9) table.leave(m, group, daemonOf(m));
      else {
        const remaining = table.kill(m, daemonOf(m)).map((g) => g.name);
        expect(remaining).toEqual([...remaining].sort());
        kills++;
      }
      const names = table.names();
      expect(names).toEqual([...names].sort());
      expect(table.inOrder().map((g) => g.name)).toEqual(names);
      expect(names.length).toBe(table.size);
      for (const n of names) expect(table.get(n)?.name).toBe(n);
    }
    expect(kills).toBeGreaterThan(100);
    expect(table.size).toBeGreaterThan(0);
  });

  it('replaces a record in place and drops a deleted one', () => {
    const table = new GroupTable(new ConfOrder([{ name: 'a', procId: 1 }]), 'a');
    for (const g of ['c', 'a', 'b']) table.join('#x#a', g, { procId: 1, local: true }, RING, true);
    expect(table.names()).toEqual(['a', 'b', 'c']);
    const b = table.get('b')!;
    table.add({ ...b, changed: true });
    expect(table.inOrder()[1]!.changed).toBe(true);
    table.delete('b');
    table.delete('zz');
    expect(table.names()).toEqual(['a', 'c']);
    expect(table.kill('#x#a', { procId: 1, local: true })).toEqual([]);
    expect(table.names()).toEqual([]);
  });
});

describe('sortedNames', () => {
  it('sorts an unsorted member list in byte order, keeps a sorted one as it is', () => {
    const sorted = ['#a#x', '#b#x', '#b#x', '#c#y'];
    expect(sortedNames(sorted)).toBe(sorted);
    expect(sorted).toEqual(['#a#x', '#b#x', '#b#x', '#c#y']);
    expect(sortedNames(['#c#y', '\u00e9', '#a#x', 'Z', '#b#x'])).toEqual(['#a#x', '#b#x', '#c#y', 'Z', '\u00e9']);
  });
});
