/**
 * Reconnection against real daemons (README "Reconnection"): a client keeps its groups across
 * its daemon's kill -9 and restart on the same port, ours and (SPREAD_REF) the reference's. The
 * application sees one reconnect notice per group, then the fresh join memberships, and the
 * groups work again. The phases' durations are printed (not asserted: speed lives in bench/).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { oursDaemonBuilt, oursDaemonPath, referencePrefix, skipLine, startDaemon } from '../../interop/launcher.js';
import type { DaemonHandle, Impl } from '../../interop/launcher.js';
import { connect, ServiceType } from '../../src/client/index.js';
import type { ConnectionStatus, MembershipMessage, SpreadConnection, SpreadEvent } from '../../src/client/index.js';
import { ugroup, uname, waitOperational } from './helpers/daemons.js';

const available: Record<Impl, boolean> = { ours: oursDaemonBuilt(), reference: referencePrefix() !== undefined };
if (!available.ours) console.log(`SKIP: reconnection across a daemon restart (ours): ${oursDaemonPath()} not built (npm run build)`);
if (!available.reference) skipLine('reconnection across a reference daemon restart');

const EVENT_MS = 20_000;
const daemons: DaemonHandle[] = [];
const conns: SpreadConnection[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) await c.disconnect();
  for (const d of daemons.splice(0)) await d.stop();
});

function next(conn: SpreadConnection): Promise<SpreadEvent> {
  return conn.receive({ signal: AbortSignal.timeout(EVENT_MS) });
}

async function memberships(conn: SpreadConnection, n: number): Promise<MembershipMessage[]> {
  const out: MembershipMessage[] = [];
  while (out.length < n) {
    const ev = await next(conn);
    expect(ev.kind).toBe('membership');
    out.push(ev as MembershipMessage);
  }
  return out;
}

async function start(impl: Impl, port?: number): Promise<DaemonHandle> {
  const d = await startDaemon({ impl, readyTimeoutMs: 30_000, ...(port === undefined ? {} : { port }) });
  daemons.push(d);
  return d;
}

for (const impl of ['ours', 'reference'] as const) {
  describe.skipIf(!available[impl])(`reconnection ⇄ ${impl} daemon`, () => {
    it('keeps its groups across kill -9 and a restart; sees a notice per group, then fresh memberships', async () => {
      const d1 = await start(impl);
      await waitOperational(d1);
      const name = uname('r');
      const conn = await connect({ spread: d1.spreadTcp, name, timeoutMs: 5000, reconnect: { initialDelayMs: 20, maxDelayMs: 200, attemptTimeoutMs: 2000 } });
      conns.push(conn);
      const groups = [ugroup('keep'), ugroup('keep')];
      for (const g of groups) await conn.join(g);
      expect((await memberships(conn, 2)).map((m) => [m.group, m.reason, m.members])).toEqual(groups.map((g) => [g, 'join', [conn.privateGroup]]));
      const status: ConnectionStatus[] = [];
      const watching = (async () => {
        for await (const s of conn.status()) status.push(s);
      })();

      const killedAt = Date.now();
      process.kill(d1.pid, 'SIGKILL');
      await d1.exited;
      await d1.stop();
      const d2 = await start(impl, d1.port);
      const readyAt = Date.now();

      // What the application sees: a reconnect notice per group, then the new daemon's joins.
      const notices = await memberships(conn, 2);
      expect(notices.map((m) => [m.group, m.reason, m.reconnect?.groups])).toEqual(groups.map((g) => [g, 'transition', groups]));
      expect(notices[0]!.reconnect).toMatchObject({ previousPrivateGroup: `#${name}#localhost`, privateGroup: `#${name}#localhost` });
      const joins = await memberships(conn, 2);
      const rejoinedAt = Date.now();
      expect(joins.map((m) => [m.group, m.reason, m.members]).sort()).toEqual(groups.map((g) => [g, 'join', [conn.privateGroup]]).sort());
      expect(status.map((s) => s.type)).toContain('rejoined');
      expect(status[0]).toMatchObject({ type: 'disconnect' });

      // The groups work: another client's message reaches it.
      const other = await connect({ spread: d2.spreadTcp, name: uname('o'), timeoutMs: 5000 });
      conns.push(other);
      await other.multicast(groups[1]!, 'back', { messType: 3 });
      expect(await next(conn)).toMatchObject({ kind: 'message', messType: 3, groups: [groups[1]] });
      const attempts = status.filter((s) => s.type === 'reconnecting').length;
      const reconnected = status.find((s) => s.type === 'reconnected');
      console.log(
        `reconnect (${impl}): kill → daemon ready ${readyAt - killedAt} ms; ready → groups rejoined ${rejoinedAt - readyAt} ms; ` +
          `downtime seen by the client ${reconnected?.type === 'reconnected' ? reconnected.downtimeMs : '?'} ms over ${attempts} attempts`,
      );
      await conn.disconnect();
      await watching;
    }, 90_000);

    it('a session the daemon cuts (two service bits) comes back on the same daemon with its groups', async () => {
      const d = await start(impl);
      await waitOperational(d);
      const conn = await connect({ spread: d.spreadTcp, name: uname('c'), timeoutMs: 5000, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
      conns.push(conn);
      const g = ugroup('cut');
      await conn.join(g);
      expect((await memberships(conn, 1))[0]).toMatchObject({ group: g, reason: 'join' });
      const cutAt = Date.now();
      await conn.multicastRaw(ServiceType.AGREED_MESS | ServiceType.SAFE_MESS, g, 'x');
      const [notice, join] = await memberships(conn, 2);
      const rejoinedAt = Date.now();
      expect(notice).toMatchObject({ group: g, reason: 'transition', reconnect: { groups: [g] } });
      // The same name again (the daemon may first refuse it while it drops the old session).
      expect(join).toMatchObject({ group: g, reason: 'join', members: [conn.privateGroup] });
      expect(conn.privateGroup).toBe(notice!.reconnect!.previousPrivateGroup);
      console.log(`reconnect (${impl}, daemon up): cut → groups rejoined ${rejoinedAt - cutAt} ms over ${notice!.reconnect!.attempts} attempts`);
    }, 60_000);
  });
}
