/**
 * The examples (examples/) run against our daemon: leader election agrees and moves on when the
 * leader goes; the work queue hands each SAFE job to exactly one worker; the chat prints what a
 * room sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oursDaemonBuilt, oursDaemonPath, startDaemon } from '../../interop/launcher.js';
import type { DaemonHandle } from '../../interop/launcher.js';
import { connect } from '../../src/client/index.js';
import type { SpreadConnection } from '../../src/client/index.js';
import { chat } from '../../examples/chat.js';
import { followLeader } from '../../examples/leader-election.js';
import { assignee, produce, worker } from '../../examples/work-queue.js';
import { uname, waitOperational } from './helpers/daemons.js';

const built = oursDaemonBuilt();
if (!built) console.log(`SKIP: examples against our daemon: ${oursDaemonPath()} not built (npm run build)`);

/** Resolves once `pred()` holds (bounded by the test's timeout). */
async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 10));
}

describe.skipIf(!built)('examples ⇄ our daemon', () => {
  let d: DaemonHandle;
  const conns: SpreadConnection[] = [];
  beforeAll(async () => {
    d = await startDaemon({ impl: 'ours', readyTimeoutMs: 20_000 });
    await waitOperational(d);
  }, 60_000);
  afterAll(async () => {
    for (const c of conns) await c.disconnect();
    await d?.stop();
  });
  async function client(prefix: string): Promise<SpreadConnection> {
    const c = await connect({ spread: d.spreadTcp, name: uname(prefix), timeoutMs: 5000 });
    conns.push(c);
    return c;
  }

  it('leader election: both members name the first member; when it leaves, the other leads', async () => {
    const [a, b] = [await client('a'), await client('b')];
    const seen: Record<string, string[]> = { a: [], b: [] };
    const fa = followLeader(a, 'ex-leaders', (l) => seen.a!.push(l));
    await until(() => seen.a!.length === 1);
    void followLeader(b, 'ex-leaders', (l) => seen.b!.push(l));
    await until(() => seen.b!.length === 1);
    expect(seen.b).toEqual([a.privateGroup]);
    await a.disconnect();
    await fa;
    await until(() => seen.b!.length === 2);
    expect(seen.b).toEqual([a.privateGroup, b.privateGroup]);
    expect(seen.a).toEqual([a.privateGroup]);
  });

  it('work queue: every SAFE job is done by exactly the worker the shared membership names', async () => {
    const w = [await client('w'), await client('x')];
    const done: [string, number][] = [];
    const jobs = 20;
    const teams = new Map<SpreadConnection, number>();
    const running = w.map((c) =>
      worker(c, (id) => void done.push([c.privateGroup, id]), {
        stop: (id) => id === jobs - 1,
        onMembers: (m) => teams.set(c, m.length),
      }),
    );
    // Both workers see both before the first job.
    await until(() => w.every((c) => teams.get(c) === 2));
    const p = await client('p');
    await produce(p, jobs, (id) => `job ${id}`);
    await Promise.all(running);
    const members = [...w.map((c) => c.privateGroup)].sort();
    expect(done.map(([, id]) => id).sort((x, y) => x - y)).toEqual(Array.from({ length: jobs }, (_, i) => i));
    for (const [who, id] of done) expect(who).toBe(assignee(id, members));
  });

  it('chat: a room member prints the joins and the lines of others', async () => {
    const [a, b] = [await client('c'), await client('d')];
    const lines: string[] = [];
    void chat(a, 'ex-chat', (l) => lines.push(l));
    await until(() => lines.length === 1);
    const sub = await b.subscribe('ex-chat');
    await until(() => lines.length === 2);
    await b.multicast('ex-chat', 'hello');
    await until(() => lines.length === 3);
    await sub.unsubscribe();
    await until(() => lines.length === 4);
    expect(lines).toEqual([
      `* ${a.privateGroup} joined (1 here)`,
      `* ${b.privateGroup} joined (2 here)`,
      `<${b.privateGroup}> hello`,
      `* ${b.privateGroup} left (1 here)`,
    ]);
  });
});
