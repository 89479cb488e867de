/**
 * Several GroupsLayer instances fed the same ordered streams agree: random joins, leaves,
 * kills, partitions, merges and cascades over four daemons. After every step that settles,
 * inside each ring
 *   - every daemon is in GOP and reading clients, with the same synced set (the whole ring);
 *   - all daemons have the same groups, group ids and member lists;
 *   - a group's members are exactly the members its ring's daemons have locally (ground truth
 *     kept here from the requests alone);
 *   - every current local member's last notice for the group is a REG_MEMB listing exactly the
 *     current members with the current id, and a CAUSED_BY_NETWORK one points its
 *     my_vs_set_offset at a set holding that member.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ServiceType } from '../../src/wire/client/index.js';
import { Cluster } from './cluster.js';

const NAMES = ['d1', 'd2', 'd3', 'd4'];
// Not in numeric order, so vs_set order (wrapping memb id compare) differs from conf order.
const IPS = ['10.0.0.1', '192.168.0.1', '10.0.0.2', '172.16.0.1'];
const GROUPS = ['g0', 'g1', 'g2'];

type Op =
  | { kind: 'join' | 'leave'; d: number; m: number; g: number }
  | { kind: 'kill'; d: number; m: number }
  /** New components (component index per daemon); `cascade`: interrupt the exchange and change again. */
  | { kind: 'reconf'; assign: number[]; cascade: { delivered: number; assign: number[]; evs: boolean[] } | null };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constantFrom('join' as const, 'leave' as const), d: fc.nat(3), m: fc.nat(2), g: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), d: fc.nat(3), m: fc.nat(2) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reconf' as const),
      assign: fc.array(fc.nat(2), { minLength: 4, maxLength: 4 }),
      cascade: fc.option(
        fc.record({
          delivered: fc.nat(4),
          assign: fc.array(fc.nat(2), { minLength: 4, maxLength: 4 }),
          evs: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        }),
        { freq: 3 },
      ),
    }),
  },
);

function componentsOf(assign: readonly number[]): string[][] {
  const out = new Map<number, string[]>();
  assign.forEach((c, i) => out.set(c, [...(out.get(c) ?? []), NAMES[i]!]));
  return [...out.values()];
}

class World {
  readonly c = new Cluster(NAMES.map((n, i) => [n, IPS[i]!] as const));
  /** The current rings (lists of daemon names). */
  rings: string[][] = NAMES.map((n) => [n]);
  /** Ground truth: group → members, per daemon (its own members only). */
  readonly truth = new Map<string, Map<string, Set<string>>>(NAMES.map((n) => [n, new Map()]));
  private clock = 1000;

  constructor() {
    for (const n of NAMES) this.c.start(n, { procId: this.c.procId(n), time: this.clock++ });
  }

  ringOf(name: string): string[] {
    return this.rings.find((r) => r.includes(name))!;
  }

  member(d: number, m: number): string {
    return `#m${m}#${NAMES[d]}`;
  }

  apply(op: Op): void {
    if (op.kind === 'reconf') return this.reconf(op);
    const d = NAMES[op.d]!;
    const member = this.member(op.d, op.m);
    const local = this.truth.get(d)!;
    const ring = this.ringOf(d);
    if (op.kind === 'kill') {
      this.c.kill(ring, member);
      for (const s of local.values()) s.delete(member);
      return;
    }
    const g = GROUPS[op.g]!;
    if (op.kind === 'join') {
      this.c.join(ring, member, g);
      local.set(g, (local.get(g) ?? new Set()).add(member));
    } else {
      this.c.leave(ring, member, g);
      local.get(g)?.delete(member);
    }
  }

  private newRingId(names: readonly string[]): { procId: number; time: number } {
    return { procId: this.c.procIds(names)[0]!, time: this.clock++ };
  }

  /** Transitional configurations for `comps` (each daemon: its ring ∩ its component). */
  private transitionals(comps: readonly string[][]): void {
    for (const comp of comps) this.c.transitional(comp, this.clock++);
  }

  private reconf(op: Extract<Op, { kind: 'reconf' }>): void {
    const comps = componentsOf(op.assign);
    this.transitionals(comps);
    const regs = comps.map((comp) => ({ comp, id: this.newRingId(comp) }));
    for (const { comp, id } of regs) this.c.regular(comp, id);
    this.rings = comps;
    if (op.cascade !== null) {
      // Part of the exchange happens, then each ring changes again.
      for (const comp of comps) this.c.orderGroups(comp, op.cascade.delivered);
      const next = componentsOf(op.cascade.assign);
      const pieces: string[][] = [];
      for (const comp of comps) for (const n of next) {
        const piece = comp.filter((x) => n.includes(x));
        if (piece.length > 0) pieces.push(piece);
      }
      this.transitionals(pieces);
      // EVS: what was ordered in the old ring before it failed is delivered, the same to every
      // daemon of one transitional configuration (here: all of it, or none of it).
      pieces.forEach((piece, i) => {
        const old = this.ringOf(piece[0]!);
        if (op.cascade!.evs[i % 3]) {
          const queued = old.flatMap((n) => [...this.c.node(n).outbox]);
          for (const m of queued) for (const n of piece) this.c.node(n).take(this.c.node(n).layer.groupsMessage(m.frame));
        }
      });
      // Messages of a ring that failed are never ordered in the next one (they would be ignored).
      for (const n of NAMES) this.c.node(n).outbox.length = 0;
      for (const comp of next) this.c.regular(comp, this.newRingId(comp));
      this.rings = next;
    }
    for (const comp of this.rings) this.c.orderGroups(comp);
  }

  check(): void {
    for (const ring of this.rings) {
      const ids = this.c.procIds(ring);
      for (const n of ring) {
        const l = this.c.node(n).layer;
        expect(l.stateName, n).toBe('GOP');
        expect(l.clientReadingPaused).toBe(false);
        expect(l.deliveryLevel).toBe('all');
        expect(l.synced, n).toEqual(ids);
        expect(this.c.node(n).outbox).toEqual([]);
      }
      const first = this.c.node(ring[0]!).layer;
      const names = first.groupNames();
      for (const n of ring) expect(this.c.node(n).layer.groupNames(), n).toEqual(names);
      for (const g of GROUPS) {
        // Ground truth: daemons in conf order, names in byte order.
        const expected = ring
          .slice()
          .sort((a, b) => NAMES.indexOf(a) - NAMES.indexOf(b))
          .flatMap((d) => [...(this.truth.get(d)!.get(g) ?? [])].sort());
        expect(first.members(g), g).toEqual(expected);
        expect(names.includes(g)).toBe(expected.length > 0);
        const views = this.c.views(ring, g);
        for (const v of views) expect(v).toEqual(views[0]);
        if (expected.length === 0) continue;
        const id = first.groupId(g)!;
        for (const d of ring) {
          const node = this.c.node(d);
          expect(node.layer.localMembers(g).slice().sort()).toEqual([...(this.truth.get(d)!.get(g) ?? [])].sort());
          for (const m of node.layer.localMembers(g)) {
            const last = node.noticesOf(m).filter((x) => x.group === g).at(-1);
            expect(last, `${m} in ${g}`).toBeDefined();
            expect(last!.type & ServiceType.REG_MEMB_MESS).toBeTruthy();
            expect(last!.members).toEqual(expected);
            expect(last!.groupId).toEqual({ procId: id.ringId.procId, time: id.ringId.time, index: id.index });
            if (last!.type & ServiceType.CAUSED_BY_NETWORK) {
              expect(last!.body!.vsSets[last!.body!.myVsSet]).toContain(m);
              expect(last!.body!.vsSets.flat().sort()).toEqual([...expected].sort());
            }
          }
        }
      }
    }
  }
}

describe('GroupsLayer instances agree', () => {
  it('random requests, partitions, merges and cascades', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const w = new World();
        for (const op of ops) {
          w.apply(op);
          w.check();
        }
        for (const n of NAMES) {
          for (const warning of w.c.node(n).warnings) expect(warning).toMatch(/^GROUPS message from \S+ of ring/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a fixed run: merge everything after every daemon was alone with members', () => {
    const w = new World();
    for (let d = 0; d < 4; d++) for (let m = 0; m < 2; m++) w.apply({ kind: 'join', d, m, g: 0 });
    w.apply({ kind: 'reconf', assign: [0, 0, 0, 0], cascade: null });
    w.check();
    const notes = w.c.node('d1').noticesOf('#m0#d1').filter((n) => n.group === 'g0');
    const last = notes.at(-1)!;
    expect(last.type).toBe(ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_NETWORK);
    // Each daemon's singleton ring id is its own set; the wrapping int32 order of the proc ids
    // is 172.16.0.1 < 192.168.0.1 < 10.0.0.1 < 10.0.0.2 (e.g. 0x0a000001 − 0xc0a80001 > 0).
    expect(last.body!.vsSets).toEqual([['#m0#d4', '#m1#d4'], ['#m0#d2', '#m1#d2'], ['#m0#d1', '#m1#d1'], ['#m0#d3', '#m1#d3']]);
    expect(last.body!.myVsSet).toBe(2);
  });
});
