/**
 * A client for run-bufs.sh: connects without membership notices, joins `count` groups named
 * `<prefix>NNNN` (every `step`-th one), then stays connected until `quitFile` exists.
 *   npx tsx joiner.ts <port@host> <name> <prefix> <count> <step> <quitFile>
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../../../src/client/index.js';

const [spread, name, prefix, count, step, quitFile] = process.argv.slice(2) as [string, string, string, string, string, string];
const conn = await connect({ spread, name, membership: false, timeoutMs: 10_000 });
for (let i = 0; i < Number(count); i += Number(step)) await conn.join(`${prefix}${String(i).padStart(4, '0')}`);
process.stdout.write(`${conn.privateGroup} joined\n`);
while (!existsSync(quitFile)) await sleep(200);
await conn.disconnect();
