/**
 * A ring-test client for a node's network namespace:
 *   node --import tsx test/rings/ns-client.ts SPREAD GROUP MEMBERS COUNT TIMEOUT_MS NAME
 * Joins GROUP, waits for a view of MEMBERS, multicasts COUNT messages (AGREED, every fourth
 * SAFE), waits for MEMBERS × COUNT messages, and prints one JSON line: the view lines and the
 * message lines it received (support.ts eventLine). Exit 0, or 1 with the error.
 */
import { connect } from '../../src/client/index.js';
import { eventLine } from './support.js';

const [spread, group, membersArg, countArg, timeoutArg, name] = process.argv.slice(2);
if (spread === undefined || group === undefined || membersArg === undefined || countArg === undefined || timeoutArg === undefined || name === undefined) {
  process.stderr.write('usage: ns-client.ts SPREAD GROUP MEMBERS COUNT TIMEOUT_MS NAME\n');
  process.exit(64);
}
const members = Number(membersArg);
const count = Number(countArg);
const signal = AbortSignal.timeout(Number(timeoutArg));
try {
  const conn = await connect({ spread, name, timeoutMs: Number(timeoutArg), signal, reconnect: false });
  await conn.join(group, { signal });
  const views: string[] = [];
  const messages: string[] = [];
  let sent = false;
  while (messages.length < members * count) {
    const ev = await conn.receive({ signal });
    const line = eventLine(ev);
    if (ev.kind === 'message') messages.push(line);
    else views.push(line);
    if (!sent && ev.kind === 'membership' && ev.group === group && !ev.transitional && ev.members.length === members) {
      sent = true;
      for (let k = 0; k < count; k++) await conn.multicast(group, `${conn.privateGroup} #${k}`, { service: k % 4 === 3 ? 'safe' : 'agreed', signal });
    }
  }
  process.stdout.write(`${JSON.stringify({ privateGroup: conn.privateGroup, views, messages })}\n`);
  await conn.disconnect();
  process.exit(0);
} catch (err) {
  process.stderr.write(`ns-client: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  process.exit(1);
}
