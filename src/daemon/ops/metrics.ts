/**
 * `spread --metrics [HOST:]PORT` (SPEC Part IX §4): an HTTP server, never on the Spread wire,
 * with Prometheus metrics at /metrics (prom-client, loaded here only, so a daemon without
 * --metrics never loads it) and /healthz: 200 with {"op":true,...} while the daemon is in a
 * ring (membership state OP), 503 otherwise. Every value is read from the daemon's own
 * counters at scrape time.
 */
import type { Server } from 'node:http';
import type { RunningDaemon } from '../daemon.js';
import { MembState } from '../membership/state.js';
import { UDP_DROP_REASONS } from '../net/udp-screen.js';
import type { CoreLog } from '../core/daemon-core.js';
import { SERVICES } from './counters.js';
import type { MessageCounters } from './counters.js';

export interface MetricsAddress {
  readonly host: string;
  readonly port: number;
}

export interface MetricsServer {
  /** Where it listens (the port is the real one when 0 was asked). */
  readonly url: string;
  close(): Promise<void>;
}

type PromClient = typeof import('prom-client');

export interface Health {
  readonly op: boolean;
  readonly state: string;
  readonly members: number;
  readonly ring: string | null;
}

export function health(daemon: RunningDaemon): Health {
  const m = daemon.node.membership.status();
  const op = m.state === MembState.OP && daemon.ringId !== null;
  const ring = daemon.ringId === null ? null : `${daemon.ringId.procId >>> 0}:${daemon.ringId.time}`;
  return { op, state: daemon.node.stateName, members: m.regularMembers.length, ring };
}

/** One collect-time counter whose values are set from `read` (label values → total). */
function counterFrom(p: PromClient, registers: [import('prom-client').Registry], name: string, help: string, labelNames: string[], read: () => [Record<string, string>, number][]): void {
  new p.Counter({
    name, help, labelNames, registers,
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.inc(labels, v);
    },
  });
}

function gaugeFrom(p: PromClient, registers: [import('prom-client').Registry], name: string, help: string, read: () => number): void {
  new p.Gauge({ name, help, registers, collect() { this.set(read()); } });
}

function perService(values: Float64Array): [Record<string, string>, number][] {
  return SERVICES.map((service, i) => [{ service }, values[i]!]);
}

/** Token rotation: the mean time of the rounds since the last scrape. */
function rotationReader(daemon: RunningDaemon): () => number {
  let lastRounds = daemon.node.engine.tokenRounds;
  let lastAt = performance.now();
  let last = 0;
  return () => {
    const rounds = daemon.node.engine.tokenRounds;
    const at = performance.now();
    if (rounds > lastRounds) last = (at - lastAt) / 1000 / (rounds - lastRounds);
    lastRounds = rounds;
    lastAt = at;
    return last;
  };
}

function register(p: PromClient, daemon: RunningDaemon, counters: MessageCounters): import('prom-client').Registry {
  const reg = new p.Registry();
  const r: [import('prom-client').Registry] = [reg];
  p.collectDefaultMetrics({ register: reg });
  const ring = daemon.node.engine;
  gaugeFrom(p, r, 'spread_sessions', 'Client sessions (past the handshake)', () => daemon.stats.sessions);
  gaugeFrom(p, r, 'spread_connections', 'Client connections', () => daemon.stats.connections);
  gaugeFrom(p, r, 'spread_groups', 'Groups known to this daemon', () => daemon.stats.groups);
  gaugeFrom(p, r, 'spread_ring_op', '1 while the daemon is in a ring (membership OP)', () => (health(daemon).op ? 1 : 0));
  gaugeFrom(p, r, 'spread_ring_members', 'Daemons in the current regular ring', () => health(daemon).members);
  counterFrom(p, r, 'spread_messages_in_total', 'Messages this daemon\'s sessions submitted, by service', ['service'], () => perService(counters.messagesIn));
  counterFrom(p, r, 'spread_message_bytes_in_total', 'Payload bytes this daemon\'s sessions submitted, by service', ['service'], () => perService(counters.bytesIn));
  counterFrom(p, r, 'spread_messages_out_total', 'Messages the ring delivered to this daemon, by service', ['service'], () => perService(counters.messagesOut));
  counterFrom(p, r, 'spread_message_bytes_out_total', 'Payload bytes the ring delivered to this daemon, by service', ['service'], () => perService(counters.bytesOut));
  counterFrom(p, r, 'spread_retransmissions_total', 'Packets this daemon retransmitted, by kind', ['kind'], () => [
    [{ kind: 'unicast' }, ring.stats.retransUnicast], [{ kind: 'segment' }, ring.stats.retransSegment], [{ kind: 'broadcast' }, ring.stats.retransBroadcast],
  ]);
  counterFrom(p, r, 'spread_token_rounds_total', 'Token rounds', [], () => [[{}, ring.tokenRounds]]);
  gaugeFrom(p, r, 'spread_token_rotation_seconds', 'Mean token rotation time since the previous scrape', rotationReader(daemon));
  counterFrom(p, r, 'spread_membership_changes_total', 'Regular configurations installed, by cause', ['cause'], () => [...counters.changes].map(([cause, n]) => [{ cause }, n]));
  gaugeFrom(p, r, 'spread_ordering_backlog', 'Client messages waiting for the ring', () => daemon.stats.orderingBacklog);
  gaugeFrom(p, r, 'spread_ring_queue_packets', 'Packets in the ring engine\'s send queue', () => ring.queueLength);
  gaugeFrom(p, r, 'spread_ring_queued_messages', 'Messages in the ring engine\'s down queues', () => ring.queuedMessages);
  gaugeFrom(p, r, 'spread_slow_readers', 'Sessions holding back reading because they read slowly', () => daemon.stats.slowReaders);
  counterFrom(p, r, 'spread_udp_dropped_total', 'Datagrams dropped on receive, by channel and reason', ['channel', 'reason'], () => {
    const u = daemon.udpStats;
    if (u === null) return [];
    return (['data', 'token'] as const).flatMap((channel) => UDP_DROP_REASONS.map((reason): [Record<string, string>, number] => [{ channel, reason }, u[channel].dropped[reason]]));
  });
  counterFrom(p, r, 'spread_udp_send_dropped_total', 'Datagrams not sent, by reason', ['reason'], () => {
    const u = daemon.udpStats;
    return u === null ? [] : [[{ reason: 'queue_full' }, u.sendQueueFull], [{ reason: 'unknown_target' }, u.unknownTarget], [{ reason: 'refused' }, u.sendRefused], [{ reason: 'os_buffer_full' }, u.sendWouldBlock]];
  });
  return reg;
}

export async function startMetrics(address: MetricsAddress, daemon: RunningDaemon, counters: MessageCounters, log: CoreLog): Promise<MetricsServer> {
  const [p, http] = await Promise.all([import('prom-client'), import('node:http')]);
  const reg = register(p, daemon, counters);
  const server: Server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      reg.metrics().then(
        (text) => res.writeHead(200, { 'content-type': reg.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === '/healthz') {
      const h = health(daemon);
      res.writeHead(h.op ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(h)}\n`);
    } else {
      res.writeHead(404).end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const url = `http://${host}:${port}/metrics`;
  log.info({ url }, `metrics on ${url}`);
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
