/**
 * The expected-failures list of the ring tests (expected-failures.json): a listed case must
 * still fail, so that a fix is noticed and the entry removed. The list may only shrink.
 */
import { readFileSync } from 'node:fs';

const file = new URL('./expected-failures.json', import.meta.url);
const parsed = JSON.parse(readFileSync(file, 'utf8')) as { failures: Record<string, string> };

export const EXPECTED_FAILURES: Readonly<Record<string, string>> = parsed.failures;

/** Whether case `name` (e.g. `loopback/ROR/kill`) is listed. */
export function expectedToFail(name: string): boolean {
  return Object.hasOwn(EXPECTED_FAILURES, name);
}

/**
 * Runs `body` for case `name`: a normal case must pass; a listed one must still fail (then the
 * failure is printed as a note).
 */
export async function runCase(name: string, body: () => Promise<void>): Promise<void> {
  if (!expectedToFail(name)) {
    await body();
    return;
  }
  let failed: unknown = null;
  try {
    await body();
  } catch (err) {
    failed = err;
  }
  if (failed === null) {
    throw new Error(`${name} is listed in test/rings/expected-failures.json but passes now: remove it from the list`);
  }
  console.log(`EXPECTED FAILURE ${name} (${EXPECTED_FAILURES[name]}): ${String(failed).split('\n')[0]}`);
}
