/**
 * Example: leader election from membership. Every member of a group receives the same
 * membership notices in the same order, each listing the members in the same order, so "the
 * first member" is a leader every member agrees on, with no extra messages. When the leader
 * leaves, crashes or is partitioned away, the next notice names the new one.
 *
 *   npx tsx examples/leader-election.ts node1 [4803]
 */
import { pathToFileURL } from 'node:url';
import { connect } from 'spread-ts';
import type { MembershipMessage, SpreadConnection } from 'spread-ts';

/** The leader for a regular membership: its first member (undefined for other notices). */
export function leaderOf(ev: MembershipMessage): string | undefined {
  if (ev.transitional || ev.selfLeave || ev.members.length === 0) return undefined;
  return ev.members[0];
}

/**
 * Follows `group`'s memberships and calls `onChange(leader, isMe)` each time the leader
 * changes. Resolves when the subscription ends.
 */
export async function followLeader(
  conn: SpreadConnection,
  group: string,
  onChange: (leader: string, isMe: boolean) => void,
): Promise<void> {
  const sub = await conn.subscribe(group);
  let current: string | undefined;
  for await (const ev of sub) {
    if (ev.kind !== 'membership') continue;
    if (ev.reconnect !== undefined) current = undefined; // a new view follows
    const leader = leaderOf(ev);
    if (leader === undefined || leader === current) continue;
    current = leader;
    onChange(leader, leader === conn.privateGroup);
  }
}

async function main(): Promise<void> {
  const [name = 'node', spread = '4803'] = process.argv.slice(2);
  const conn = await connect({ spread, name });
  await followLeader(conn, 'leaders', (leader, isMe) => console.log(isMe ? 'I am the leader' : `leader: ${leader}`));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
