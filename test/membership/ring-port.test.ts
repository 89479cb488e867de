/**
 * The contract between membership and the ring engine: RingEngine implements RingPort (checked
 * by the compiler here), and the engine's EVS entry points behave as ring-port.ts says on a
 * trivial ring.
 */
import { describe, expect, it } from 'vitest';
import type { RingPort } from '../../src/daemon/membership/ring-port.js';
import { RingEngine } from '../../src/daemon/ring/engine.js';
import { procIdOf } from '../../src/wire/daemon/index.js';

describe('RingPort', () => {
  it('is implemented by the RingEngine', () => {
    const me = procIdOf('10.0.0.1');
    const engine = new RingEngine({ myId: me, segments: [{ daemons: [me] }], confHash: 1 });
    const port: RingPort = engine;
    port.standby({ procId: me, time: -1 }, [me]);
    port.loseToken();
    const delivered = port.installEvs({
      ringId: { procId: me, time: 5 }, members: [me], oldRingId: { procId: me, time: -1 },
      highestSeq: 0, aru: 0, holes: [], lastSeq: 3333, tokenRounds: 1,
    }, 0);
    expect(delivered).toEqual([]);
    expect(port.aru).toBe(0);
    expect(port.tokenRounds).toBe(1);
    const d = port.completeEvs([me]);
    expect(d.beforeTransitional).toEqual([]);
    expect(d.afterTransitional).toEqual([]);
    expect(port.highestSeq).toBe(0);
  });
});
