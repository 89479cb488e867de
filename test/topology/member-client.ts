/**
 * Program form of joinAndWait, for clients inside a node's network namespace:
 *   node --import tsx test/topology/member-client.ts SPREAD GROUP EXPECTED TIMEOUT_MS [NAME]
 * Prints one JSON line (a ViewReport) and exits 0, or prints the error and exits 1.
 */
import { joinAndWait } from './membership.js';

const [spread, group, expected, timeoutMs, name] = process.argv.slice(2);
if (spread === undefined || group === undefined || expected === undefined || timeoutMs === undefined) {
  process.stderr.write('usage: member-client.ts SPREAD GROUP EXPECTED TIMEOUT_MS [NAME]\n');
  process.exit(64);
}
try {
  const report = await joinAndWait(spread, group, Number(expected), Number(timeoutMs), name);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`member-client: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  process.exit(1);
}
