/** The `spread` command's start-up drill (SPEC.md Part VIII §11). */
import { describe, expect, it } from 'vitest';
import { WarmUp, warmUpInSlices } from '../../src/daemon/runtime/warm-up.js';

describe('start-up drill', () => {
  it('delivers every message it passes at each of its three engines', () => {
    const drill = new WarmUp(1200);
    let slices = 0;
    while (drill.step()) slices++;
    expect(drill.done).toBe(true);
    expect(drill.report()).toEqual({ messages: 1200, deliveries: 3 * 1200 });
    expect(slices).toBe(2); // 400 messages a slice: two more after the first
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
    expect(report).toEqual({ messages: 2000, deliveries: 6000 });
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
  });
});
