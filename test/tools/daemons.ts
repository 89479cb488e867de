/**
 * Daemons for the tool tests: which implementations to run against, and one daemon per suite.
 */
import { afterAll, beforeAll } from 'vitest';
import { referencePrefix, startDaemon, type DaemonHandle, type Impl, type StartDaemonOptions } from '../../interop/launcher.js';

/** Ours when the tool is built; the reference's too when SPREAD_REF is set. */
export function daemonImpls(built: boolean): Impl[] {
  if (!built) return [];
  return referencePrefix() === undefined ? ['ours'] : ['ours', 'reference'];
}

/** Starts a daemon before the suite and stops it after; the getter returns it. */
export function daemonPerSuite(impl: Impl, opts: Omit<StartDaemonOptions, 'impl'> = {}): () => DaemonHandle {
  let d: DaemonHandle | undefined;
  beforeAll(async () => {
    d = await startDaemon({ impl, ...opts });
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
  });
  return () => d!;
}
