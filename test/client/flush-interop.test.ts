/**
 * The flush layer with the reference's C flush library (its `flush_user` example, FL_* over
 * libspread) in one group, on the reference daemon and on ours: the same views (id, members,
 * cause, vs set), each other's messages in the view they were sent in, vulnerable FIFO messages
 * with their trailers removed, and leaves. Runs only with SPREAD_REF (one SKIP line otherwise).
 */
import { describe, expect, it } from 'vitest';
import { oursDaemonBuilt, referencePrefix, skipLine } from '../../interop/launcher.js';
import type { Impl } from '../../interop/launcher.js';
import type { FlushView } from '../../src/client/flush/index.js';
import { groupIdKey } from '../../src/client/flush/wire.js';
import { CFlushUser, flushUserPath } from './helpers/flush-c-user.js';
import type { CEvent } from './helpers/flush-c-user.js';
import { uniqueGroup, uniqueName, useFlushDaemon } from './helpers/flush-driver.js';
import type { FlushMember, MemberOptions } from './helpers/flush-driver.js';

const prefix = referencePrefix();
const binary = flushUserPath(prefix);
if (prefix === undefined) skipLine('flush layer ⇄ C flush_user');
else if (binary === undefined) console.log(`SKIP: flush layer ⇄ C flush_user: no ${prefix}/bin/flush_user (build the reference's examples, or set SPREAD_FLUSH_USER)`);

const impls: Impl[] = ['reference', 'ours'];
type CView = Extract<CEvent, { kind: 'view' }>;
const isView = (e: CEvent): e is CView => e.kind === 'view';
const sameView = (c: CView, t: FlushView): void => {
  expect({ gid: c.gid, members: c.members, cause: c.cause, vsSet: c.vsSet }).toEqual({
    gid: groupIdKey(t.groupId),
    members: t.members,
    cause: t.reason,
    vsSet: t.vsSet,
  });
};

for (const impl of impls) {
  const ready = binary !== undefined && (impl === 'reference' || oursDaemonBuilt());
  describe.skipIf(!ready)(`flush layer ⇄ C flush_user on the ${impl} daemon`, () => {
    const fx = useFlushDaemon(impl);
    const tsMember = (p: string, opts?: MemberOptions): Promise<FlushMember> => fx.member(p, opts);
    async function cUser(p: string): Promise<CFlushUser> {
      const c = await CFlushUser.start(binary!, fx.daemon.spreadTcp, uniqueName(p));
      fx.track(() => c.quit());
      return c;
    }

    it('C first, then TS: the same views and each other\'s messages in them', async () => {
      const g = uniqueGroup('views');
      const c = await cUser('c');
      await c.join(g);
      const v1 = (await c.until(isView)) as CView;
      expect(v1).toMatchObject({ members: [c.privateGroup], cause: 'join', vsSet: [c.privateGroup] });

      // t sends a FIFO message after its flush request and before flushing: vulnerable on the wire.
      const t = await tsMember('t', { beforeFlush: (grp) => t.fc.multicast(grp, 'late from ts', { service: 'fifo', messType: 5 }).then(() => undefined) });
      await t.fc.join(g);
      const cv2 = (await c.until(isView)) as CView;
      await t.until('view of 2', (x) => x.lastView(g)?.members.length === 2);
      sameView(cv2, t.lastView(g)!);
      expect(c.events.map((e) => e.kind)).toEqual(['view', 'flush-request', 'view']);

      await c.send(g, 'hello from c');
      await t.fc.multicast(g, 'hello from ts', { service: 'safe', messType: 4 });
      await t.until("c's message", (x) => x.texts(g).includes(`${c.privateGroup}:hello from c\n`));
      const fromTs = await c.until((e) => e.kind === 'message' && e.sender === t.name);
      expect(fromTs).toMatchObject({ service: 'SAFE', messType: 4, groups: 1, text: 'hello from ts' });
      const inV2 = t.messagesInView(g, t.lastView(g)!).find((m) => m.sender === c.privateGroup)!;
      expect(inV2).toMatchObject({ messType: 1, subgroup: false, group: g });

      // A second TS member: c and t are asked to flush; their vulnerable FIFO messages, sent
      // between the request and the flush, reach the other in the old view.
      const u = await tsMember('u');
      await u.fc.join(g);
      await c.until((e) => e.kind === 'flush-request', false);
      await c.burst(g, 20);
      await c.flush(g);
      const cv3 = (await c.until(isView)) as CView;
      for (const m of [t, u]) await m.until('view of 3', (x) => x.lastView(g)?.members.length === 3);
      sameView(cv3, t.lastView(g)!);
      sameView(cv3, u.lastView(g)!);
      const sinceV2 = c.events.slice(c.events.indexOf(cv2) + 1, c.events.indexOf(cv3));
      const late = sinceV2.find((e) => e.kind === 'message' && e.text === 'late from ts');
      expect(late).toMatchObject({ service: 'FIFO', messType: 5, sender: t.name });
      const burst = t.messagesInView(g, t.views(g).at(-2)!).filter((m) => m.messType === 2);
      expect(burst.map((m) => [m.sender, m.data.length, Buffer.from(m.data.subarray(0, 8)).toString()])).toEqual(
        Array.from({ length: 10 }, () => [c.privateGroup, 20, 'mess num']),
      );
      expect(u.events.filter((e) => e.kind === 'message' && e.sender === c.privateGroup)).toEqual([]);

      // c leaves: the TS members install the view without it, c sees its self-leave.
      await c.leave(g);
      await c.until((e) => e.kind === 'self-leave');
      for (const m of [t, u]) await m.until('view of 2', (x) => x.lastView(g)?.members.length === 2);
      expect(t.lastView(g)).toMatchObject({ reason: 'leave', vsSet: [c.privateGroup], members: [t.name, u.name] });
    });

    it('TS first, then C joins and disconnects: TS flushes for it, views agree, then a disconnect view', async () => {
      const g = uniqueGroup('disc');
      const t = await tsMember('t');
      await t.fc.join(g);
      await t.until('own view', (x) => x.lastView(g) !== undefined);
      const c = await cUser('c');
      await c.join(g);
      const cv = (await c.until(isView)) as CView;
      await t.until('view of 2', (x) => x.lastView(g)?.members.length === 2);
      sameView(cv, t.lastView(g)!);
      expect(cv.members[cv.myIndex]).toBe(c.privateGroup);
      expect(c.events.map((e) => e.kind)).toEqual(['view']); // the joiner flushed without being asked
      await t.fc.multicast(g, 'to c', { service: 'fifo' });
      expect(await c.until((e) => e.kind === 'message')).toMatchObject({ sender: t.name, text: 'to c', service: 'FIFO' });
      await c.quit();
      await t.until('view of 1', (x) => x.lastView(g)?.members.length === 1);
      expect(t.lastView(g)).toMatchObject({ reason: 'disconnect', vsSet: [c.privateGroup], members: [t.name] });
    });
  });
}
