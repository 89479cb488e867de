/**
 * The fuzzers (fuzz/, SPEC.md Part V §13.3) at CI size: every decoder fed a few thousand
 * mutated captures and noise returns or throws its typed error, never anything else; and the
 * mutator really mutates (the decoders see both accepted and refused inputs).
 */
import { describe, expect, it } from 'vitest';
import { fuzzTarget } from '../fuzz/run.js';
import { targets } from '../fuzz/targets.js';

describe('fuzzing every decoder (CI size)', () => {
  for (const t of targets()) {
    it(`${t.name}: 3000 mutated and noise inputs, only typed errors`, () => {
      expect(t.seeds.length).toBeGreaterThan(0);
      const r = fuzzTarget(t, 3000, 12);
      expect(r.failures).toEqual([]);
      expect(r.inputs).toBe(3000);
      expect(r.accepted).toBeGreaterThan(0);
      if (t.name !== 'client handshake') expect(r.typedErrors).toBeGreaterThan(0);
    }, 120_000);
  }
});
