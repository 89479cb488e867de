/** The `spread` command's start-up drill (SPEC.md Part VIII §11). */
import { describe, expect, it } from 'vitest';
import { WarmUp, warmUpInSlices } from '../../src/daemon/runtime/warm-up.js';

describe('start-up drill', () => {
  it('delivers every message it passes at each of its three engines, and once to its core\'s reader', () => {
    const run = (n: number): { slices: number; report: ReturnType<WarmUp['report']> } => {
      const drill = new WarmUp(n);
      let slices = 0;
      while (drill.step()) slices++;
      expect(drill.done).toBe(true);
      return { slices, report: drill.report() };
    };
    const big = run(1200);
    const small = run(600);
    expect(big.slices).toBe(2); // 400 messages a slice: two more after the first
    expect(big.report).toMatchObject({ messages: 1200, deliveries: 3 * 1200 });
    expect(small.report).toMatchObject({ messages: 600, deliveries: 3 * 600 });
    // The 600 more messages, in writes of 20 cycling 100 B, 1000 B and 100 B SAFE, each reach the
    // reader as a 48-byte header, one 32-byte group name and the data (both runs share the join notice).
    const per = (data: number): number => 200 * (48 + 32 + data);
    expect(big.report.readerBytes - small.report.readerBytes).toBe(per(100) + per(1000) + per(100));
  });

  it('runs in slices between event-loop turns, and SPREAD_TS_WARMUP sets or stops it', async () => {
    // Another task that takes one step per event-loop turn: it must get a turn between slices.
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const report = await warmUpInSlices({ SPREAD_TS_WARMUP: '2000' });
    running = false;
    expect(report).toMatchObject({ messages: 2000, deliveries: 6000 });
    expect(turns).toBeGreaterThanOrEqual(4); // five slices of 400, one per turn
    await expect(warmUpInSlices({ SPREAD_TS_WARMUP: '0' })).resolves.toBeNull();
  });

  it('stops at the next slice once its signal is aborted (the daemon is stopping)', async () => {
    const abort = new AbortController();
    const drill = warmUpInSlices({ SPREAD_TS_WARMUP: '100000' }, abort.signal);
    setImmediate(() => abort.abort()); // after the first slice
    const report = await drill;
    expect(report!.messages).toBeGreaterThan(0);
    expect(report!.messages).toBeLessThan(100_000);
    expect(report!.deliveries).toBe(3 * report!.messages);
    expect(report!.readerBytes).toBeGreaterThan(0);
  });
});
