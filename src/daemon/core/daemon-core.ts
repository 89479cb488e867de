/**
 * The daemon's sans-I/O core: client connections, the session registry, the groups layer and
 * the ordering layer, wired the way the reference's session.c wires them.
 *
 * Inputs are events (a connection opened, bytes arrived, the peer went away, a socket became
 * blocked or drained, the clock passed a deadline, the ordering layer has deliveries); each
 * that may act on time takes `now` (monotonic ms), like the ring engine's and membership's.
 * Outputs are actions tagged `kind` the edge takes with takeActions() and carries out (pump a
 * connection's output, close it, pause or resume reading clients, run the ordering layer) plus
 * the bytes it pulls with pollTransmit(). There are no sockets, timers or files in here; the
 * random source is injected. SPEC.md Part III (behaviour) and Part VIII §1 (wiring).
 *
 * Per-session output queue: a message for a client is queued here and pulled by the edge
 * while its socket accepts data. When the socket is blocked and MaxSessionMessages messages are
 * already queued, the next message kills the session (as the reference's Sess_write does).
 *
 * Slow readers: the reference writes each message to its socket as it is delivered and its
 * token-paced ring rarely outruns a client that keeps reading; our ordering delivers in batches
 * and can. So a session with half of MaxSessionMessages queued gets a grace period
 * (`slowReaderGraceMs`) to catch up: meanwhile clients are not read and ordered messages are not
 * delivered (senders wait, nothing is dropped). An edge that is not blocked drains it at once;
 * if it drains to a quarter of MaxSessionMessages in time, everything resumes; if not, it stops
 * holding the others back, and is cut at MaxSessionMessages exactly as the reference cuts it.
 */
import { ServiceType } from '../../wire/client/index.js';
import type { AuthPolicy } from './auth.js';
import { buildKill } from './frames.js';
import type { RingMessage } from './frames.js';
import { GroupsLayer } from './groups.js';
import type { GroupsOutput, Notification } from './groups.js';
import { parsePrivateGroupStrict } from './names.js';
import { Fifo } from './ordering.js';
import type { GroupsControl, Ordering } from './ordering.js';
import { SessionMachine } from './session.js';
import type { ReserveResult, SessionEffect, SessionHost } from './session.js';
import { procIdToIp } from './types.js';
import type { DaemonRef } from './types.js';

import { NO_ACTIONS } from '../no-actions.js';
import { WATER_MARK, WATER_MARK_BYTES } from '../ring/constants.js';

export type ConnId = number;

export type CoreAction =
  /** The connection has output: pull it with pollTransmit() while the socket takes it. */
  | { readonly kind: 'transmit'; readonly conn: ConnId }
  /**
   * Close the connection. flush: first write everything pollTransmit() still returns, then
   * end the stream (a handshake reject, or a killed session whose socket was not blocked:
   * the reference had already written those bytes). Otherwise destroy it at once (a killed
   * session that stopped reading: its queue is dropped).
   */
  | { readonly kind: 'close'; readonly conn: ConnId; readonly flush: boolean }
  /** Stop reading every client (the ordering layer's queue is full). */
  | { readonly kind: 'pause-reading' }
  | { readonly kind: 'resume-reading' }
  /** The ordering layer has work: call processOrdering() soon (not re-entrantly). */
  | { readonly kind: 'ordering-ready' };

export type Transport = 'tcp' | 'unix';

export interface PeerInfo {
  readonly transport: Transport;
  /** Host-order IPv4 value of a TCP client; 0 for unix-socket clients. */
  readonly address: number;
}

/** Minimal structured logger (pino's Logger fits). */
export interface CoreLog {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
  child(bindings: Record<string, unknown>): CoreLog;
}

export const silentLog: CoreLog = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLog;
  },
};

export interface CoreOptions {
  /** This daemon. */
  readonly daemon: DaemonRef;
  /** All daemons of the configuration in configuration order (this one included). */
  readonly daemons: readonly DaemonRef[];
  /** The ordering layer, with the groups layer's controls over it. */
  readonly ordering: Ordering & GroupsControl;
  readonly authPolicy: AuthPolicy;
  /** MaxSessionMessages (default 1000). */
  readonly maxSessionMessages?: number;
  /** Sessions at which new clients get REJECT_QUOTA (default 997). */
  readonly maxSessions?: number;
  /** Ordering backlog at which clients stop being read (default the ring's WATER_MARK, 500 as the reference's). */
  readonly waterMark?: number;
  /** Backlog bytes at which clients stop being read too (default the ring's WATER_MARK_BYTES). */
  readonly waterMarkBytes?: number;
  /** Time allowed for the whole connect message (default 1000 ms, the reference's accept window). */
  readonly connectTimeoutMs?: number;
  /** Time allowed for the 90-byte auth reply (default 30000 ms; the reference waits forever). */
  readonly authTimeoutMs?: number;
  /** How long a slow reader may hold back the others while it catches up (default 1000 ms). */
  readonly slowReaderGraceMs?: number;
  /** Uniform in [0, 1): used for generated private names. */
  readonly random?: () => number;
  readonly log?: CoreLog;
}

type SessionState = 'preauth' | 'op' | 'dead';

interface SessionRecord {
  readonly name: string;
  readonly privateGroup: string;
  state: SessionState;
  conn: Conn | null;
  log: CoreLog;
}

interface Conn {
  readonly id: ConnId;
  readonly peer: PeerInfo;
  readonly machine: SessionMachine;
  readonly out: Fifo<Uint8Array>;
  /** The socket refused more data; cleared when it drains. */
  blocked: boolean;
  /** A transmit action is outstanding. */
  signalled: boolean;
  open: boolean;
  deadline: number | null;
  session: SessionRecord | null;
  /** While this slow reader holds back the others: when it must have caught up by. */
  stallDeadline: number | null;
  /** Its grace ran out: it holds nobody back again until it drains something. */
  stalled: boolean;
}

export interface CoreStats {
  readonly connections: number;
  readonly sessions: number;
  readonly groups: number;
  readonly orderingBacklog: number;
  readonly readingPaused: boolean;
  /** Sessions currently holding back client reading because they are slow to read. */
  readonly slowReaders: number;
}

export class DaemonCore {
  private readonly conns = new Map<ConnId, Conn>();
  /** Every reserved private name: pre-auth, operational, and killed until their KILL is delivered. */
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly byPrivateGroup = new Map<string, SessionRecord>();
  private actions: CoreAction[] = [];
  private readonly groups: GroupsLayer;
  private readonly log: CoreLog;
  private readonly maxSessionMessages: number;
  private readonly maxSessions: number;
  private readonly waterMark: number;
  private readonly waterMarkBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly authTimeoutMs: number;
  private readonly random: () => number;
  private readonly slowReaderMark: number;
  private readonly slowReaderGraceMs: number;
  /** Sessions catching up on a deep queue: while any, clients are not read nor messages delivered. */
  private readonly slowReaders = new Set<Conn>();
  private paused = false;
  /** The groups layer stopped client reading (exchanging state after a merge). */
  private groupsPaused = false;
  /** A transitional configuration was delivered and its regular one has not come yet. */
  private inTransition = false;
  private orderingSignalled = false;
  /** The time of the input being handled (monotonic ms). */
  private now = 0;

  constructor(private readonly options: CoreOptions) {
    this.log = options.log ?? silentLog;
    this.maxSessionMessages = options.maxSessionMessages ?? 1000;
    this.maxSessions = options.maxSessions ?? 997;
    this.waterMark = options.waterMark ?? WATER_MARK;
    this.waterMarkBytes = options.waterMarkBytes ?? WATER_MARK_BYTES;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 1000;
    this.authTimeoutMs = options.authTimeoutMs ?? 30000;
    this.random = options.random ?? Math.random;
    this.slowReaderMark = Math.max(1, Math.floor(this.maxSessionMessages / 2));
    this.slowReaderGraceMs = options.slowReaderGraceMs ?? 1000;
    this.groups = new GroupsLayer({
      myDaemon: options.daemon.name,
      daemons: options.daemons,
      warn: (msg) => this.log.warn({}, msg),
    });
  }

  get stats(): CoreStats {
    return {
      connections: this.conns.size,
      sessions: this.sessions.size,
      groups: this.groups.size,
      orderingBacklog: this.options.ordering.backlog,
      readingPaused: this.paused,
      slowReaders: this.slowReaders.size,
    };
  }

  /** The ordering layer has events (or its backlog changed): process it soon. */
  orderingReady(): void {
    this.signalOrdering();
  }

  /** The groups layer, read-only use (tests, status). */
  get groupsLayer(): GroupsLayer {
    return this.groups;
  }

  /** A reloaded configuration's daemons, in its order (SPEC.md Part IX §6: Sess_signal_conf_reload). */
  reconfigure(daemons: readonly DaemonRef[]): void {
    this.groups.reconfigure(daemons);
  }

  /** Actions produced since the last call, in order. */
  takeActions(): readonly CoreAction[] {
    const a = this.actions;
    if (a.length === 0) return NO_ACTIONS;
    this.actions = [];
    return a;
  }

  // ------------------------------------------------------------------------------------------
  // Connection events

  /** A client connected. */
  connect(id: ConnId, peer: PeerInfo, now: number): void {
    if (this.conns.has(id)) throw new Error(`connection ${id} already exists`);
    this.now = now;
    const conn: Conn = {
      id,
      peer,
      machine: new SessionMachine(this.hostFor(id), { address: peer.address }),
      out: new Fifo<Uint8Array>(),
      blocked: false,
      signalled: false,
      open: true,
      deadline: now + this.connectTimeoutMs,
      session: null,
      stallDeadline: null,
      stalled: false,
    };
    this.conns.set(id, conn);
    if (this.sessions.size >= this.maxSessions) {
      this.log.info({ conn: id }, 'rejecting session due to quota');
      this.enqueue(conn, Uint8Array.of(0xfd));
      this.closeConn(conn, true);
    }
  }

  /** Bytes from a client. */
  receive(id: ConnId, bytes: Uint8Array, now: number): void {
    const conn = this.conns.get(id);
    if (conn === undefined || !conn.open) return;
    this.now = now;
    this.apply(conn, conn.machine.receive(bytes));
  }

  /** The socket closed (EOF, error, or our own close). Operational sessions are killed. */
  disconnected(id: ConnId, now: number, reason = 'connection closed'): void {
    const conn = this.conns.get(id);
    if (conn === undefined) return;
    this.now = now;
    const session = conn.session;
    if (session !== null && session.state === 'op') {
      this.kill(session, reason);
    } else if (session !== null && session.state === 'preauth') {
      // The reference's auth read fails and the session is denied: its name is freed.
      this.release(session.name);
    }
    conn.machine.shutdown();
    conn.open = false;
    conn.out.clear();
    if (conn.session !== null) conn.session.conn = null;
    this.conns.delete(id);
    this.releaseSlowReader(conn);
  }

  /** The socket refused data (write returned false) or drained. */
  setBlocked(id: ConnId, blocked: boolean): void {
    const conn = this.conns.get(id);
    if (conn !== undefined) conn.blocked = blocked;
  }

  /** The next chunk of output for a connection, or null. */
  pollTransmit(id: ConnId): Uint8Array | null {
    const conn = this.conns.get(id);
    if (conn === undefined) return null;
    conn.signalled = false;
    const chunk = conn.out.shift() ?? null;
    if (chunk !== null) {
      conn.stalled = false;
      if (conn.stallDeadline !== null && conn.out.length <= this.slowReaderMark / 2) this.releaseSlowReader(conn);
    }
    return chunk;
  }

  /** Messages queued for a connection and not yet pulled. */
  queued(id: ConnId): number {
    return this.conns.get(id)?.out.length ?? 0;
  }

  /** The earliest handshake or slow-reader deadline, or null. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const c of this.conns.values()) {
      if (c.deadline !== null && (next === null || c.deadline < next)) next = c.deadline;
    }
    for (const c of this.slowReaders) {
      if (c.stallDeadline !== null && (next === null || c.stallDeadline < next)) next = c.stallDeadline;
    }
    return next;
  }

  /** Handles every handshake and slow-reader deadline that has passed. */
  checkDeadlines(now: number): void {
    this.now = now;
    for (const c of [...this.slowReaders]) {
      if (c.stallDeadline !== null && c.stallDeadline <= now) {
        this.log.info({ conn: c.id, queued: c.out.length }, 'slow reader did not catch up; no longer holding back clients');
        c.stalled = true;
        this.releaseSlowReader(c);
      }
    }
    for (const c of [...this.conns.values()]) {
      if (c.deadline !== null && c.deadline <= now && c.open) {
        c.deadline = null;
        this.log.info({ conn: c.id, phase: c.machine.phase }, 'handshake timed out');
        this.apply(c, c.machine.handshakeTimedOut());
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Ordering

  /** Handles up to `max` ordered events; returns how many there were. Held while a slow reader catches up. */
  processOrdering(now: number, max = 1000): number {
    this.orderingSignalled = false;
    this.now = now;
    let n = 0;
    for (; n < max && this.slowReaders.size === 0; n++) {
      const ev = this.options.ordering.poll(now);
      if (ev === null) break;
      switch (ev.kind) {
        case 'transitional':
          this.log.debug({ transProcId: ev.transId.procId, transTime: ev.transId.time, members: ev.members.length }, 'transitional membership delivered');
          this.inTransition = true;
          this.applyGroups(this.groups.transitional({ members: ev.members, id: ev.transId }));
          break;
        case 'regular':
          this.log.debug({ ringProcId: ev.ringId.procId, ringTime: ev.ringId.time, members: ev.members.length }, 'regular membership installed');
          if (this.inTransition) {
            this.inTransition = false;
            this.applyGroups(this.groups.regular({ members: ev.members, ringId: ev.ringId }));
          } else {
            // A ring that never changes (the local ring): no transitional configuration precedes it.
            this.notify(this.groups.installRegular(ev.ringId));
          }
          break;
        case 'groups':
          this.applyGroups(this.groups.groupsMessage(ev.raw));
          break;
        case 'message':
          this.deliver(ev.message);
          break;
      }
    }
    this.updateReading();
    if (n === max) this.signalOrdering();
    return n;
  }

  // ------------------------------------------------------------------------------------------
  // Internals

  private hostFor(id: ConnId): SessionHost {
    return {
      daemonName: this.options.daemon.name,
      authPolicy: this.options.authPolicy,
      reserveName: (name) => this.reserve(id, name),
      reserveGeneratedName: () => {
        for (let attempt = 0; attempt < 100000; attempt++) {
          const rnum = Math.floor(9999 * this.random());
          const name = `r${rnum}-${id}`.slice(0, 9);
          if (this.sessions.has(name)) continue;
          return this.reserve(id, name) === 'ok' ? name : null;
        }
        return null;
      },
      releaseName: (name) => this.release(name),
    };
  }

  private reserve(id: ConnId, name: string): ReserveResult {
    if (this.sessions.has(name)) return 'not-unique';
    if (this.sessions.size >= this.maxSessions) return 'quota';
    const conn = this.conns.get(id)!;
    const privateGroup = `#${name}#${this.options.daemon.name}`;
    const record: SessionRecord = { name, privateGroup, state: 'preauth', conn, log: this.log };
    this.sessions.set(name, record);
    this.byPrivateGroup.set(privateGroup, record);
    conn.session = record;
    conn.deadline = this.now + this.authTimeoutMs;
    return 'ok';
  }

  private release(name: string): void {
    const record = this.sessions.get(name);
    if (record === undefined) return;
    this.sessions.delete(name);
    this.byPrivateGroup.delete(record.privateGroup);
    if (record.conn !== null) record.conn.session = null;
    record.conn = null;
  }

  private apply(conn: Conn, effects: SessionEffect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'send':
          this.enqueue(conn, e.bytes);
          break;
        case 'close':
          this.closeConn(conn, true);
          break;
        case 'accepted': {
          const s = conn.session!;
          s.state = 'op';
          s.log = this.log.child({ session: s.name });
          conn.deadline = null;
          const v = conn.machine.libraryVersion;
          s.log.debug(
            {
              conn: conn.id,
              transport: conn.peer.transport,
              address: conn.peer.transport === 'tcp' ? procIdToIp(conn.peer.address) : 'unix',
              membership: conn.machine.membership,
              library: `${v.major}.${v.minor}.${v.patch}`,
            },
            `accepting session ${s.privateGroup}`,
          );
          break;
        }
        case 'message':
          if (conn.session?.state !== 'op') break;
          if (e.message.type & ServiceType.KILL_MESS) this.clientDisconnect(conn.session, e.message);
          else this.submit(e.message);
          break;
        case 'violation':
          if (conn.session !== null) this.kill(conn.session, e.violation.message);
          break;
      }
      if (!conn.open) break;
    }
  }

  private enqueue(conn: Conn, bytes: Uint8Array): void {
    conn.out.push(bytes);
    if (!conn.signalled) {
      conn.signalled = true;
      this.actions.push({ kind: 'transmit', conn: conn.id });
    }
  }

  private closeConn(conn: Conn, flush: boolean): void {
    if (!conn.open) return;
    conn.open = false;
    conn.deadline = null;
    conn.machine.shutdown();
    if (!flush) conn.out.clear();
    this.actions.push({ kind: 'close', conn: conn.id, flush });
    this.releaseSlowReader(conn);
  }

  private submit(message: RingMessage): void {
    this.options.ordering.submit(message, this.now);
    this.signalOrdering();
    this.updateReading();
  }

  /** Notices to local members, then the groups layer's actions for the ordering layer and the client edge. */
  private applyGroups(out: GroupsOutput): void {
    this.notify(out.notifications);
    const ordering = this.options.ordering;
    for (const a of out.actions) {
      switch (a.kind) {
        case 'submit':
          ordering.submitGroups(a.message, this.now);
          break;
        case 'down-queue':
          ordering.setDownQueue(a.queue, this.now);
          break;
        case 'client-reading':
          this.groupsPaused = a.paused;
          break;
        case 'delivery':
          ordering.setDeliveryLevel(a.level);
          break;
      }
    }
    this.updateReading();
  }

  /** Clients are read unless the ordering backlog is at a water mark (messages or bytes), a slow reader drains, or the groups layer exchanges state. */
  private updateReading(): void {
    const o = this.options.ordering;
    const pause = o.backlog >= this.waterMark || o.backlogBytes >= this.waterMarkBytes || this.slowReaders.size > 0 || this.groupsPaused;
    if (pause === this.paused) return;
    this.paused = pause;
    this.actions.push({ kind: pause ? 'pause-reading' : 'resume-reading' });
  }

  private releaseSlowReader(conn: Conn): void {
    conn.stallDeadline = null;
    if (!this.slowReaders.delete(conn)) return;
    this.updateReading();
    // Ordered events may be waiting (a ring delivers whether or not messages are still queued).
    if (this.slowReaders.size === 0) this.signalOrdering();
  }

  private signalOrdering(): void {
    if (this.orderingSignalled) return;
    this.orderingSignalled = true;
    this.actions.push({ kind: 'ordering-ready' });
  }

  /** SP_disconnect: the client's own KILL goes round the ring; the socket is closed at once. */
  private clientDisconnect(session: SessionRecord, message: RingMessage): void {
    session.log.debug({}, `disconnecting session ${session.privateGroup}`);
    this.markDead(session);
    this.submit(message);
  }

  /** The daemon drops a session (EOF, error, bad header, slow reader): KILL|SAFE round the ring. */
  private kill(session: SessionRecord, reason: string): void {
    if (session.state !== 'op') return;
    session.log.debug({ reason }, `killing session ${session.privateGroup}`);
    this.markDead(session);
    this.submit(buildKill(session.privateGroup));
  }

  /**
   * The session stops being operational: its socket is closed now; its name stays reserved
   * until its KILL is delivered. Output the reference would already have written (the socket
   * was not blocked) still goes out; a blocked socket's queue is dropped.
   */
  private markDead(session: SessionRecord): void {
    session.state = 'dead';
    if (session.conn !== null) this.closeConn(session.conn, !session.conn.blocked);
  }

  private deliver(message: RingMessage): void {
    const type = message.type;
    if (type & ServiceType.JOIN_MESS) {
      this.notify(this.groups.join(message.sender, message.groups[0] ?? ''));
    } else if (type & ServiceType.LEAVE_MESS) {
      this.notify(this.groups.leave(message.sender, message.groups[0] ?? ''));
    } else if (type & ServiceType.KILL_MESS) {
      this.notify(this.groups.kill(message.sender));
      this.forget(message.sender);
    } else if (type & ServiceType.REGULAR_MESS) {
      this.deliverRegular(message);
    }
  }

  /** A KILL was delivered: a local session's name becomes free again. */
  private forget(sender: string): void {
    const parts = parsePrivateGroupStrict(sender);
    if (parts === null || parts.daemonName !== this.options.daemon.name) return;
    const record = this.sessions.get(parts.privateName);
    if (record === undefined) return;
    if (record.state !== 'dead') {
      this.log.error({ session: record.name }, 'KILL delivered for a live session; ignored');
      return;
    }
    this.release(record.name);
  }

  private deliverRegular(message: RingMessage): void {
    const targets = this.groups.targets(message.groups, (pg) => this.byPrivateGroup.has(pg));
    let skip: string | null = null;
    if (message.type & ServiceType.SELF_DISCARD) {
      const parts = parsePrivateGroupStrict(message.sender);
      if (parts !== null && parts.daemonName === this.options.daemon.name) skip = `#${parts.privateName}#${parts.daemonName}`;
    }
    for (const t of targets) {
      if (t === skip) continue;
      const record = this.byPrivateGroup.get(t);
      if (record !== undefined) this.write(record, message.frame);
    }
  }

  private notify(notes: readonly Notification[]): void {
    for (const note of notes) {
      for (const r of note.recipients) {
        const record = this.byPrivateGroup.get(r);
        if (record?.conn?.machine.membership) this.write(record, note.frame);
      }
    }
  }

  /** Sess_write: queue a message for a session, or kill the session if it stopped reading. */
  private write(record: SessionRecord, frame: Uint8Array): void {
    const conn = record.conn;
    if (record.state !== 'op' || conn === null || !conn.open) return;
    if (conn.blocked && conn.out.length >= this.maxSessionMessages && conn.stallDeadline === null) {
      this.kill(record, `not reading: ${conn.out.length} messages queued`);
      return;
    }
    this.enqueue(conn, frame);
    if (!conn.stalled && conn.stallDeadline === null && conn.out.length >= this.slowReaderMark) {
      conn.stallDeadline = this.now + this.slowReaderGraceMs;
      this.slowReaders.add(conn);
      this.updateReading();
    }
  }
}
