/**
 * Example: a work queue. Producers multicast jobs to the workers' group with SAFE delivery;
 * every worker receives the jobs and the membership changes in one total order, so each job
 * can be assigned by a rule all workers apply to the same membership: job i goes to the
 * member at index (i mod number of members). No coordinator, no duplicate, and SAFE means a
 * job is delivered only once every worker's daemon has it (a crash cannot make one worker
 * see a job the others never see). Jobs that reach the group while it has no worker are lost.
 *
 *   npx tsx examples/work-queue.ts worker w1 [4803]
 *   npx tsx examples/work-queue.ts produce 10 [4803]
 */
import { pathToFileURL } from 'node:url';
import { connect } from 'spread-ts';
import type { SpreadConnection } from 'spread-ts';

export const WORKERS = 'workers';

/** The worker that takes job `id` under `members` (every worker computes the same answer). */
export function assignee(id: number, members: readonly string[]): string | undefined {
  return members.length === 0 ? undefined : members[id % members.length];
}

/** Sends jobs 0..count-1 (messType = job id, data = its payload). */
export async function produce(conn: SpreadConnection, count: number, payload: (id: number) => string): Promise<void> {
  for (let id = 0; id < count; id++) await conn.multicast(WORKERS, payload(id), { service: 'safe', messType: id });
}

export interface WorkerHooks {
  /** After job `id`: true to stop working. */
  stop?: (id: number) => boolean;
  /** Each new membership of the workers' group. */
  onMembers?: (members: readonly string[]) => void;
}

/**
 * Joins the workers and runs `work` for each job assigned to this worker, until the
 * subscription ends or `hooks.stop(id)` says so.
 */
export async function worker(
  conn: SpreadConnection,
  work: (id: number, payload: string) => void | Promise<void>,
  hooks: WorkerHooks = {},
): Promise<void> {
  const sub = await conn.subscribe(WORKERS);
  let members: readonly string[] = [];
  for await (const ev of sub) {
    if (ev.kind === 'membership') {
      if (!ev.transitional && !ev.selfLeave) {
        members = ev.members;
        hooks.onMembers?.(members);
      }
      continue;
    }
    const id = ev.messType;
    if (assignee(id, members) === conn.privateGroup) await work(id, Buffer.from(ev.data).toString('utf8'));
    if (hooks.stop?.(id) === true) break;
  }
  await sub.unsubscribe();
}

async function main(): Promise<void> {
  const [role = 'worker', arg = 'w1', spread = '4803'] = process.argv.slice(2);
  if (role === 'produce') {
    const conn = await connect({ spread });
    await produce(conn, Number(arg), (id) => `job ${id}`);
    await conn.drain();
    return;
  }
  const conn = await connect({ spread, name: arg });
  await worker(conn, (id, payload) => console.log(`${arg}: ${payload} (#${id})`));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
