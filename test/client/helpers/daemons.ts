/**
 * Helpers for client tests against real daemons (ours or the reference, started through
 * interop/launcher): unique names and groups, and a readiness probe.
 */
import type { DaemonHandle } from '../../../interop/launcher.js';
import { connect } from '../../../src/client/index.js';
import type { SpreadConnection } from '../../../src/client/index.js';

let seq = 0;
/** A fresh private name (≤ 10 chars) starting with `prefix` (which decides member order). */
export function uname(prefix: string): string {
  seq++;
  return `${prefix}${process.pid % 1000}x${seq}`.slice(0, 10);
}
export function ugroup(what: string): string {
  seq++;
  return `${what}-${process.pid}-${seq}`;
}

/** Polls until the daemon delivers a self-join: its ring is operational. */
export async function waitOperational(d: DaemonHandle, totalMs = 20_000): Promise<void> {
  const deadline = Date.now() + totalMs;
  let last: unknown;
  while (Date.now() < deadline) {
    let conn: SpreadConnection | undefined;
    try {
      conn = await connect({ spread: d.spreadTcp, timeoutMs: 2000 });
      const g = ugroup('probe');
      await conn.join(g);
      const ev = await conn.receive({ signal: AbortSignal.timeout(Math.min(3000, Math.max(100, deadline - Date.now()))) });
      if (ev.kind === 'membership' && ev.group === g && ev.reason === 'join') return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await conn?.disconnect();
    }
  }
  throw new Error(`${d.impl} daemon not operational after ${totalMs} ms: ${String(last)}`);
}

