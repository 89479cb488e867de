/**
 * A chaos-run client (interop/chaos/README.md), run where a daemon's clients run: connects to
 * the daemon given, joins group `chaos`, multicasts `<name>:<k>` every 25 ms (services cycle
 * FIFO, CAUSAL, AGREED, SAFE) and prints every event as a JSON line:
 *   {"e":"ready","me":"#name#daemon"} {"e":"sent","text":…,"service":…}
 *   {"e":"msg","text":…,"sender":…,"service":…} {"e":"view","members":[…],"id":…,"trans":bool}
 *   {"e":"end","why":…}
 * "final" on stdin: five SAFE messages, then it keeps reading; stdin closing ends it.
 */
import { createInterface } from 'node:readline';
import { connect } from '../../src/client/index.js';

const [spread, name] = process.argv.slice(2) as [string, string];
const out = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const SERVICES = ['fifo', 'causal', 'agreed', 'safe'] as const;

async function main(): Promise<void> {
  // One session per process, as a C client: a daemon's death ends it (the runner starts a new client).
  const conn = await connect({ spread, name, timeoutMs: 10_000, reconnect: false });
  out({ e: 'ready', me: conn.privateGroup });
  await conn.join('chaos');
  let k = 0;
  let inView = false;
  const send = async (service: (typeof SERVICES)[number]): Promise<void> => {
    const text = `${name}:${++k}`;
    out({ e: 'sent', text, service, member: inView });
    await conn.multicast('chaos', text, { service });
  };
  const timer = setInterval(() => void send(SERVICES[k % SERVICES.length]!).catch(() => undefined), 25);
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l.trim() !== 'final') return;
    clearInterval(timer);
    for (let i = 0; i < 5; i++) void send('safe').catch(() => undefined);
  }).on('close', () => {
    out({ e: 'end', why: 'stdin closed' });
    process.exit(0);
  });
  try {
    for await (const ev of conn) {
      if (ev.kind === 'message') out({ e: 'msg', text: Buffer.from(ev.data).toString(), sender: ev.sender, service: ev.service });
      else if (ev.kind === 'membership' && ev.group === 'chaos') {
        const trans = ev.transitional === true;
        if (!trans) inView = ev.members.includes(conn.privateGroup);
        out({ e: 'view', members: ev.members, id: ev.groupId === undefined ? null : `${ev.groupId.procId}:${ev.groupId.time}:${ev.groupId.index}`, trans });
      }
    }
    out({ e: 'end', why: 'connection closed' });
  } catch (e) {
    out({ e: 'end', why: e instanceof Error ? e.message : String(e) });
  }
  clearInterval(timer);
}

main().catch((e: unknown) => {
  out({ e: 'end', why: `connect: ${e instanceof Error ? e.message : String(e)}` });
  process.exit(0);
});
