/**
 * What a chaos run's clients must show (interop/chaos/README.md; the client-level EVS checks of
 * src/sim/client-evs.ts, on real clients' event lines): no duplicate; any two clients deliver
 * their common messages in one order (every service the clients send is FIFO or stronger);
 * FIFO per sender; a client alive to the end got every message it sent while in the group;
 * two clients that list each other in a view with one id see the same members; every
 * surviving client's last view lists exactly the surviving clients.
 */
export type ChaosEvent =
  | { e: 'ready'; me: string }
  | { e: 'sent'; text: string; service: string; member: boolean }
  | { e: 'msg'; text: string; sender: string; service: string }
  | { e: 'view'; members: string[]; id: string | null; trans: boolean }
  | { e: 'end'; why: string };

export interface ChaosClient {
  readonly node: number;
  readonly name: string;
  me: string;
  readonly events: ChaosEvent[];
  ended: boolean;
}

export function checkChaos(clients: readonly ChaosClient[]): string[] {
  const problems: string[] = [];
  const got = clients.map((c) => c.events.flatMap((e) => (e.e === 'msg' ? [e.text] : [])));
  const pos = got.map((g) => new Map(g.map((t, i) => [t, i])));
  clients.forEach((c, i) => {
    if (pos[i]!.size !== got[i]!.length) problems.push(`${c.me || c.name} received a message twice`);
    const last = new Map<string, number>();
    for (const t of got[i]!) {
      const [who, n] = t.split(':');
      if ((last.get(who!) ?? 0) > Number(n)) problems.push(`${c.me}: ${t} after a later message of ${who}`);
      last.set(who!, Number(n));
    }
  });
  for (let i = 0; i < clients.length; i++) {
    for (let j = i + 1; j < clients.length; j++) {
      const common = got[i]!.filter((t) => pos[j]!.has(t));
      const k = common.findIndex((t, x) => x > 0 && pos[j]!.get(common[x - 1]!)! > pos[j]!.get(t)!);
      if (k > 0) problems.push(`${clients[i]!.me} and ${clients[j]!.me} delivered ${common[k - 1]} and ${common[k]} in different orders`);
    }
  }
  const survivors = clients.filter((c) => c.events.at(-1)?.e === 'end' && (c.events.at(-1) as { why: string }).why === 'stdin closed');
  for (const c of survivors) {
    const mine = new Set(got[clients.indexOf(c)]!);
    for (const e of c.events) if (e.e === 'sent' && e.member && !mine.has(e.text)) problems.push(`${c.me} never received its own ${e.text}`);
  }
  checkViews(clients, survivors, problems);
  return problems;
}

function checkViews(clients: readonly ChaosClient[], survivors: readonly ChaosClient[], problems: string[]): void {
  const views = new Map<string, { me: string; members: string[] }[]>();
  for (const c of clients) {
    for (const e of c.events) {
      if (e.e !== 'view' || e.trans || e.id === null) continue;
      const seen = views.get(e.id) ?? [];
      for (const o of seen) {
        if (o.me !== c.me && o.members.includes(c.me) && e.members.includes(o.me) && o.members.join() !== e.members.join()) {
          problems.push(`view ${e.id}: [${o.members}] at ${o.me}, [${e.members}] at ${c.me}`);
        }
      }
      views.set(e.id, [...seen, { me: c.me, members: e.members }]);
    }
  }
  const expected = survivors.map((c) => c.me).sort().join();
  for (const c of survivors) {
    const last = c.events.filter((e): e is Extract<ChaosEvent, { e: 'view' }> => e.e === 'view' && !e.trans).at(-1);
    const members = last === undefined ? 'none' : [...last.members].sort().join();
    if (members !== expected) problems.push(`${c.me}'s last view: ${members}; the surviving clients are ${expected}`);
  }
}
