/**
 * A client that joins a group on one daemon and reports the first regular membership of that
 * group with the expected number of members. Used in-process (loopback topologies) and as a
 * program inside a namespace (member-client.ts).
 */
import { connect } from '../../src/client/index.js';

export interface ViewReport {
  /** The spread address used. */
  spread: string;
  privateGroup: string;
  group: string;
  members: string[];
  groupId: { procId: number; time: number; index: number };
}

export async function joinAndWait(spread: string, group: string, expected: number, timeoutMs: number, name?: string): Promise<ViewReport> {
  const signal = AbortSignal.timeout(timeoutMs);
  const conn = await connect({ spread, timeoutMs, signal, reconnect: false, ...(name !== undefined ? { name } : {}) });
  try {
    await conn.join(group, { signal });
    for (;;) {
      const ev = await conn.receive({ signal });
      if (ev.kind !== 'membership' || ev.group !== group || ev.transitional || ev.groupId === undefined) continue;
      if (ev.members.length !== expected) continue;
      return { spread, privateGroup: conn.privateGroup, group, members: ev.members, groupId: { ...ev.groupId } };
    }
  } finally {
    await conn.disconnect();
  }
}
