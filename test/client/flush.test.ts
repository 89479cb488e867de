/**
 * The flush layer (src/client/flush) against our daemon (and the reference's, with SPREAD_REF):
 * several TS flush clients in one group.
 * Views agree, a view waits for every member's flush, messages sent in a view are delivered in
 * that view to every survivor, and the FL_* error conditions. Every wait is bounded; every
 * connection is closed; the daemon is started here and stopped by pid.
 */
import { describe, expect, it } from 'vitest';
import { oursDaemonBuilt, oursDaemonPath, referencePrefix, skipLine } from '../../interop/launcher.js';
import type { Impl } from '../../interop/launcher.js';
import { IllegalGroupError, ServiceType } from '../../src/client/index.js';
import { FlushError, flushConnect, FlushServiceType } from '../../src/client/flush/index.js';

import { uniqueGroup, useFlushDaemon, viewKey } from './helpers/flush-driver.js';
import type { FlushMember, MemberOptions } from './helpers/flush-driver.js';

const available: Record<Impl, boolean> = { ours: oursDaemonBuilt(), reference: referencePrefix() !== undefined };
if (!available.ours) console.log(`SKIP: flush layer against our daemon: ${oursDaemonPath()} not built (npm run build)`);
if (!available.reference) skipLine('flush layer against the reference daemon');

for (const impl of ['ours', 'reference'] as const) describe.skipIf(!available[impl])(`flush layer ⇄ ${impl} daemon`, () => {
  const fx = useFlushDaemon(impl);
  const member = (prefix: string, opts?: MemberOptions): Promise<FlushMember> => fx.member(prefix, opts);

  /** `m` joins `group` and waits for its first view there; then every other member has that view too. */
  async function joinAll(group: string, ms: FlushMember[]): Promise<void> {
    for (let i = 0; i < ms.length; i++) {
      await ms[i]!.fc.join(group);
      const n = i + 1;
      for (const m of ms.slice(0, n)) await m.until(`view of ${n} in ${group}`, (x) => x.lastView(group)?.members.length === n);
    }
  }

  it('views agree: each join is flushed by the old members and installed at all with one id', async () => {
    const g = uniqueGroup('agree');
    const [a, b, c] = [await member('a'), await member('b'), await member('c')];
    await joinAll(g, [a, b, c]);
    const last = viewKey(a.lastView(g)!);
    expect(viewKey(b.lastView(g)!)).toBe(last);
    expect(viewKey(c.lastView(g)!)).toBe(last);
    // a saw three views (its own join, b's, c's); b the last two; c the last; the shared ones agree.
    expect(a.views(g).map(viewKey).slice(1)).toEqual(b.views(g).map(viewKey));
    expect(b.views(g).map(viewKey).slice(1)).toEqual(c.views(g).map(viewKey));
    const v = c.lastView(g)!;
    expect(v.reason).toBe('join');
    expect(v.vsSet).toEqual([c.name]);
    expect(v.changedMember).toBe(c.name);
    expect(v.members).toEqual([a.name, b.name, c.name]);
    expect(v.members[v.myIndex]).toBe(c.name);
    expect(v.serviceType).toBe(ServiceType.REG_MEMB_MESS | ServiceType.CAUSED_BY_JOIN);
    // Old members were asked to flush before each later view.
    expect(a.events.filter((e) => e.kind === 'flush-request' && e.group === g)).toHaveLength(2);
    expect(c.events.filter((e) => e.kind === 'flush-request')).toHaveLength(0);
  });

  it('a view waits for the last member to flush; a flushed member may not send until then', async () => {
    const g = uniqueGroup('wait');
    const a = await member('a');
    const b = await member('b', { autoFlush: false });
    await a.fc.join(g);
    await a.until('own view', (x) => x.lastView(g)?.members.length === 1);
    await b.fc.join(g);
    await a.until('view of 2', (x) => x.lastView(g)?.members.length === 2);
    await b.until('view of 2', (x) => x.lastView(g)?.members.length === 2);
    const c = await member('c');
    await c.fc.join(g);
    await b.until('flush request', (x) => x.events.some((e) => e.kind === 'flush-request'));
    // b holds its flush until a's and c's FLUSH_OKs reached it: the view cannot exist yet anywhere.
    await b.until("a's and c's FLUSH_OKs", (x) => x.fc.machine.group(g)?.current?.floks.size === 2);
    expect(a.lastView(g)!.members).toHaveLength(2);
    expect(c.views(g)).toHaveLength(0);
    expect(a.fc.machine.group(g)?.state).toBe('agree');
    await expect(a.fc.multicast(g, 'too early')).rejects.toMatchObject({ name: 'FlushError', code: 'ILLEGAL_STATE', errno: -27 });
    await b.fc.flush(g);
    for (const m of [a, b, c]) await m.until('view of 3', (x) => x.lastView(g)?.members.length === 3);
    expect(new Set([a, b, c].map((m) => viewKey(m.lastView(g)!))).size).toBe(1);
  });

  it('messages sent in a view are delivered in that view to every survivor (leave)', async () => {
    const g = uniqueGroup('msgs');
    const sendOld = async (m: FlushMember): Promise<void> => {
      // Sent after the flush request, before flushing: FIFO goes out marked vulnerable.
      for (let i = 0; i < 3; i++) await m.fc.multicast(g, `late-${i}`, { service: 'fifo', messType: 7 });
    };
    const a = await member('a', { beforeFlush: () => sendOld(a) });
    const b = await member('b', { beforeFlush: () => sendOld(b) });
    const c = await member('c');
    await joinAll(g, [a, b, c]);
    const v3 = a.lastView(g)!;
    for (const m of [a, b, c]) {
      for (let i = 0; i < 5; i++) {
        await m.fc.multicast(g, `agreed-${i}`);
        await m.fc.multicast(g, `fifo-${i}`, { service: 'fifo' });
      }
    }
    const inV3 = (m: FlushMember): number => m.messagesInView(g, v3).length;
    for (const m of [a, b, c]) await m.until('30 messages', (x) => inV3(x) >= 30);
    await c.fc.leave(g);
    await c.until('self-leave', (x) => x.events.some((e) => e.kind === 'self-leave' && e.group === g));
    for (const m of [a, b]) await m.until('view of 2', (x) => x.lastView(g)?.members.length === 2);
    const v4 = a.lastView(g)!;
    expect(viewKey(b.lastView(g)!)).toBe(viewKey(v4));
    expect(v4.reason).toBe('leave');
    expect(v4.vsSet).toEqual([c.name]);
    // After the new view: FIFO sends by both, possibly arriving before the other installed it.
    for (const m of [a, b]) for (let i = 0; i < 3; i++) await m.fc.multicast(g, `new-${i}`, { service: 'fifo' });
    for (const m of [a, b]) await m.until('6 messages in the new view', (x) => x.messagesInView(g, v4).length >= 6);

    const sorted = (xs: string[]): string[] => [...xs].sort();
    const expected3 = sorted(
      [a, b, c].flatMap((m) => [0, 1, 2, 3, 4].flatMap((i) => [`${m.name}:agreed-${i}`, `${m.name}:fifo-${i}`])).concat(
        [a, b].flatMap((m) => [0, 1, 2].map((i) => `${m.name}:late-${i}`)),
      ),
    );
    expect(sorted(a.texts(g, v3))).toEqual(expected3);
    expect(sorted(b.texts(g, v3))).toEqual(expected3);
    const expected4 = sorted([a, b].flatMap((m) => [0, 1, 2].map((i) => `${m.name}:new-${i}`)));
    expect(sorted(a.texts(g, v4))).toEqual(expected4);
    expect(sorted(b.texts(g, v4))).toEqual(expected4);
    // The vulnerable messages arrive with their own mess type, trailers removed.
    const late = a.messagesInView(g, v3).filter((m) => Buffer.from(m.data).toString().startsWith('late-'));
    expect(late.every((m) => m.messType === 7 && m.data.length === 6)).toBe(true);
  });

  it('a disconnect: flush request, transition signal, then the view without the member', async () => {
    const g = uniqueGroup('disc');
    const [a, b] = [await member('a'), await member('b')];
    await joinAll(g, [a, b]);
    const before = a.events.length;
    await b.stop();
    await a.until('view of 1', (x) => x.lastView(g)?.members.length === 1);
    const tail = a.events.slice(before).map((e) => e.kind);
    expect(tail).toEqual(['flush-request', 'transition', 'view']);
    const v = a.lastView(g)!;
    expect(v.reason).toBe('disconnect');
    expect(v.vsSet).toEqual([b.name]);
    expect(v.members).toEqual([a.name]);
  });

  it('subgroupcast and unicast reach only the receivers, in the view, with the group last', async () => {
    const g = uniqueGroup('sub');
    const [a, b, c] = [await member('a'), await member('b'), await member('c')];
    await joinAll(g, [a, b, c]);
    await a.fc.subgroupcast(g, [b.name, c.name], 'to b and c', { messType: 3 });
    await a.fc.unicast(g, c.name, 'to c');
    await a.fc.multicast(g, 'to all');
    for (const m of [a, b, c]) await m.until('"to all"', (x) => x.texts(g).includes(`${a.name}:to all`));
    expect(a.texts(g)).toEqual([`${a.name}:to all`]);
    expect(b.texts(g)).toEqual([`${a.name}:to b and c`, `${a.name}:to all`]);
    expect(c.texts(g)).toEqual([`${a.name}:to b and c`, `${a.name}:to c`, `${a.name}:to all`]);
    const sub = b.messagesInView(g, b.lastView(g)!)[0]!;
    expect(sub.subgroup).toBe(true);
    expect(sub.groups).toEqual([b.name, c.name, g]);
    expect(sub.messType).toBe(3);
    expect(sub.serviceType & FlushServiceType.SUBGROUP_CAST).not.toBe(0);
    await expect(a.fc.unicast(g, '#nobody#localhost', 'x')).rejects.toMatchObject({ code: 'ILLEGAL_RECEIVERS', errno: -28 });
  });

  it('receive: an abort rejects with its reason while another receive waits; nothing is lost', async () => {
    const g = uniqueGroup('abort');
    const fc = await flushConnect({ spread: fx.daemon.spreadTcp, timeoutMs: 5000 });
    fx.track(() => fc.disconnect());
    const first = fc.receive();
    const ac = new AbortController();
    const second = fc.receive({ signal: ac.signal });
    ac.abort(new Error('stop waiting'));
    await expect(second).rejects.toThrow('stop waiting');
    await fc.join(g);
    const ev = await first;
    expect(ev).toMatchObject({ kind: 'view', group: g, members: [fc.privateGroup], reason: 'join' });
    expect(fc.pending).toBe(0);
  });

  it('FL_* errors: join twice, leave or send when not joined, flush with no request, reserved types', async () => {
    const g = uniqueGroup('err');
    const a = await member('a');
    await a.fc.join(g);
    await a.until('own view', (x) => x.lastView(g) !== undefined);
    await expect(a.fc.join(g)).rejects.toBeInstanceOf(IllegalGroupError);
    await expect(a.fc.leave('fl-not-joined')).rejects.toBeInstanceOf(IllegalGroupError);
    await expect(a.fc.multicast('fl-not-joined', 'x')).rejects.toBeInstanceOf(IllegalGroupError);
    await expect(a.fc.flush(g)).rejects.toMatchObject({ code: 'ILLEGAL_STATE' });
    await expect(a.fc.multicast(g, 'x', { messType: -32766 })).rejects.toBeInstanceOf(FlushError);
    await expect(a.fc.multicast(g, 'x', { messType: -32766 })).rejects.toMatchObject({ code: 'ILLEGAL_MESSAGE_TYPE', errno: -26 });
    // Private groups need no membership: a message to ourselves arrives with no group.
    await a.fc.multicast(a.name, 'me', { messType: -32765 });
    await a.until('private message', (x) => x.events.some((e) => e.kind === 'message' && e.group === undefined));
    await a.fc.leave(g);
    await expect(a.fc.leave(g)).rejects.toBeInstanceOf(IllegalGroupError);
    await a.until('self-leave', (x) => x.events.some((e) => e.kind === 'self-leave'));
  });
});

