/**
 * Example: a chat room. Every line typed is multicast (AGREED: everyone sees the same order);
 * messages and membership changes of the room are printed. Reconnects on its own and says so.
 *
 *   npx tsx examples/chat.ts alice lobby [4803]
 */
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { connect } from 'spread-ts';
import type { SpreadConnection, SubscriptionEvent } from 'spread-ts';

/** One line of output for a room event. */
export function describeChatEvent(ev: SubscriptionEvent): string {
  if (ev.kind === 'message') return `<${ev.sender}> ${Buffer.from(ev.data).toString('utf8')}`;
  if (ev.reconnect !== undefined) return `* reconnected to ${ev.reconnect.daemon}: messages may have been missed`;
  if (ev.reason === 'join' || ev.reason === 'leave' || ev.reason === 'disconnect') {
    return `* ${ev.changedMember ?? '?'} ${ev.reason === 'join' ? 'joined' : 'left'} (${ev.members.length} here)`;
  }
  return `* ${ev.reason}: ${ev.members.join(', ')}`;
}

/** Joins `room` and prints its events until the connection closes. */
export async function chat(conn: SpreadConnection, room: string, print: (line: string) => void): Promise<void> {
  const sub = await conn.subscribe(room);
  for await (const ev of sub) print(describeChatEvent(ev));
}

async function main(): Promise<void> {
  const [name = 'guest', room = 'lobby', spread = '4803'] = process.argv.slice(2);
  const conn = await connect({ spread, name });
  void (async () => {
    for await (const s of conn.status()) if (s.type !== 'reconnecting') console.error(`[${s.type}]`);
  })();
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => void conn.multicast(room, line).catch((e: unknown) => console.error(String(e))));
  input.on('close', () => void conn.drain());
  await chat(conn, room, (l) => console.log(l));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
