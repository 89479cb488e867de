/**
 * Differential test against the reference: every daemon of every operational-ring stretch of
 * the reference captures is replayed through a RingEngine (test/ring/replay-harness.ts) and
 * every token, data packet and retransmission the engine sends must equal, byte for byte and
 * in order, what the reference daemon sent: token seq / aru / aru_last_id / flow_control /
 * ARQ / RETRANS, the hold-and-hurry pattern of idle rings, HURRY packets, packet headers with
 * token_round, fragmentation, packing, accelerated pre/post-token split, routed unicasts.
 */
import { describe, expect, it } from 'vitest';
import { replaySearch, type ReplaySpec } from './replay-harness.js';

const ns = [{ address: '10.77.0.255', daemons: ['10.77.0.1', '10.77.0.2', '10.77.0.3'] }];
const lo = [
  { address: '127.0.0.255', daemons: ['127.0.0.1'] },
  { address: '127.0.1.255', daemons: ['127.0.0.2'] },
  { address: '127.0.2.255', daemons: ['127.0.0.3'] },
];

type Window = Omit<ReplaySpec, 'me'> & { name: string };

// Each window starts at the leader's hurry re-send in an idle ring and ends with the capture
// or when the ring breaks (a daemon is killed; the survivors' part ends with their last token).
const windows: Window[] = [
  { name: 'bulk: 5000 B fragmented, 100 B packed, 2000 x 1000 B flood', capture: 'ring-ns-acc-bulk', from: 0, to: 1000, segments: ns, accelerated: true },
  { name: 'original ring, 3 daemons', capture: 'ring-ns-orig', from: 8.87, to: 19.0, segments: ns, accelerated: false },
  { name: 'original ring, 2 daemons', capture: 'ring-ns-orig', from: 19.8, to: 27.0, segments: ns, accelerated: false, members: ['10.77.0.1', '10.77.0.3'] },
  { name: 'original ring, rejoined', capture: 'ring-ns-orig', from: 27.5, to: 1000, segments: ns, accelerated: false },
  { name: 'accelerated ring, 3 daemons', capture: 'ring-ns-acc', from: 8.87, to: 19.0, segments: ns, accelerated: true },
  { name: 'accelerated ring, 2 daemons', capture: 'ring-ns-acc', from: 19.8, to: 28.0, segments: ns, accelerated: true, members: ['10.77.0.1', '10.77.0.3'] },
  { name: 'accelerated ring, rejoined', capture: 'ring-ns-acc', from: 28.5, to: 1000, segments: ns, accelerated: true },
  { name: 'AcceleratedRing unset (original)', capture: 'ring-ns-unspec', from: 8.87, to: 19.0, segments: ns, accelerated: false },
  { name: 'loopback, one segment per daemon (routed)', capture: 'ring-lo-acc', from: 8.37, to: 18.8, segments: lo, accelerated: true },
  { name: 'loopback, 2 daemons (routed)', capture: 'ring-lo-acc', from: 19.8, to: 25.0, segments: lo, accelerated: true, members: ['127.0.0.1', '127.0.0.3'] },
];

describe('replaying the reference captures', () => {
  for (const w of windows) {
    const members = w.members ?? w.segments.flatMap((s) => s.daemons);
    describe(`${w.capture} [${w.from}s, ${w.to}s): ${w.name}`, () => {
      for (const me of members) {
        it(`${me} sends what the reference sent`, () => {
          const { result: r } = replaySearch({ ...w, me });
          expect(r.mismatches.slice(0, 3)).toEqual([]);
          expect(r.leftover.slice(0, 3)).toEqual([]);
          expect(r.hurries).toBe(r.expectedHurries);
          expect(r.compared).toBeGreaterThan(10);
        });
      }
    });
  }

  it('the bulk capture exercises fragments, packing, the flood and its flow control', () => {
    const r2 = replaySearch({ ...windows[0]!, me: '10.77.0.2' }).result;
    expect(r2.data).toBe(2002); // 2000 x 1000 B plus two JOINs
    const r1 = replaySearch({ ...windows[0]!, me: '10.77.0.1' }).result;
    expect(r1.data).toBeGreaterThanOrEqual(45); // 5000 B messages in 4 fragments, 10 x 100 B packed in 2 packets
  });
});
