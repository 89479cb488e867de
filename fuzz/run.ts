/**
 * The fuzz loop and its CLI (fuzz/README.md): `npm run fuzz -- [--count N] [--seed S] [--only name]`
 * feeds every target of targets.ts `count` inputs (default 10^6): captured inputs mutated at
 * random (bit flips, random bytes, boundary integers, inserted, deleted and duplicated ranges,
 * truncation, splices of two inputs) and pure noise. An input that throws anything but a typed
 * error, or takes over a second, is printed (hex) and the run fails. Exit 0 clean, 1 a failure.
 */
import { Prng } from '../src/sim/prng.js';
import { isTypedError, targets, type FuzzTarget } from './targets.js';

const BOUNDARY = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 1 << 20];
const SLOW_MS = 1000;

export function mutate(seeds: readonly Uint8Array[], r: Prng): Uint8Array {
  if (seeds.length === 0 || r.chance(0.1)) {
    const noise = new Uint8Array(r.int(0, 2048));
    r.fill(noise);
    return noise;
  }
  let b: Uint8Array = Uint8Array.from(r.pick(seeds));
  for (let k = r.int(1, 4); k > 0; k--) b = mutateOnce(b, seeds, r);
  return b;
}

function mutateOnce(b: Uint8Array, seeds: readonly Uint8Array[], r: Prng): Uint8Array {
  const at = b.length === 0 ? 0 : r.int(0, b.length - 1);
  switch (r.int(0, 6)) {
    case 0:
      if (b.length > 0) b[at]! ^= 1 << r.int(0, 7);
      return b;
    case 1:
      if (b.length > 0) b[at] = r.int(0, 255);
      return b;
    case 2: {
      const v = r.pick(BOUNDARY);
      const o = at & ~3;
      if (o + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(o, v >>> 0, r.chance(0.5));
      return b;
    }
    case 3:
      return b.subarray(0, r.int(0, b.length));
    case 4: {
      const ins = new Uint8Array(r.int(1, 64));
      r.fill(ins);
      return concat(b.subarray(0, at), ins, b.subarray(at));
    }
    case 5: {
      const end = Math.min(b.length, at + r.int(1, 64));
      return r.chance(0.5) ? concat(b.subarray(0, at), b.subarray(end)) : concat(b.subarray(0, end), b.subarray(at));
    }
    default: {
      const other = r.pick(seeds);
      return concat(b.subarray(0, at), other.subarray(r.int(0, other.length)));
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export interface FuzzResult {
  readonly target: string;
  readonly inputs: number;
  readonly accepted: number;
  readonly typedErrors: number;
  /** Inputs that crashed or hung: what happened and the input in hex. */
  readonly failures: readonly string[];
}

export function fuzzTarget(t: FuzzTarget, count: number, seed: number): FuzzResult {
  const r = new Prng(seed);
  let accepted = 0;
  let typedErrors = 0;
  const failures: string[] = [];
  for (let i = 0; i < count && failures.length < 5; i++) {
    const input = mutate(t.seeds, r);
    const t0 = performance.now();
    try {
      t.run(input, r.fork());
      accepted++;
    } catch (e) {
      if (isTypedError(e)) typedErrors++;
      else failures.push(`${t.name}: input ${i}: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n  ${Buffer.from(input).toString('hex').slice(0, 4000)}`);
    }
    const ms = performance.now() - t0;
    if (ms > SLOW_MS) failures.push(`${t.name}: input ${i} took ${ms.toFixed(0)} ms\n  ${Buffer.from(input).toString('hex').slice(0, 4000)}`);
  }
  return { target: t.name, inputs: accepted + typedErrors + failures.length, accepted, typedErrors, failures };
}

function main(argv: string[]): number {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const count = Number(arg('--count') ?? 1_000_000);
  const seed = Number(arg('--seed') ?? 1);
  const only = arg('--only');
  let failed = 0;
  for (const t of targets().filter((x) => only === undefined || x.name.includes(only))) {
    const t0 = Date.now();
    const res = fuzzTarget(t, count, seed);
    console.log(`${t.name}: ${res.inputs} inputs, ${res.accepted} decoded, ${res.typedErrors} typed errors, ${res.failures.length} failures (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    for (const f of res.failures) console.log(f);
    failed += res.failures.length;
  }
  return failed > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
