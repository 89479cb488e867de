/**
 * The start-up drill of the `spread` command (SPEC.md Part VIII §11): before its first clients,
 * a just-started daemon passes a few thousand client messages through private copies of its hot
 * paths — a client reader (framer, header checks, normalisation), three ring engines handing
 * each other their packets and tokens in memory, and a client-facing core over a one-daemon
 * ordering with a writer and a reader — so that V8 has compiled those paths when the first flood
 * arrives. Nothing of it touches a socket, a timer or the daemon's own state; it runs
 * in slices between the event loop's turns while the daemon forms its first ring.
 *
 * SPREAD_TS_WARMUP=0 turns it off; SPREAD_TS_WARMUP=N passes N messages (in writes of 20) instead
 * of the default.
 */
import { DaemonCore, silentLog } from '../core/daemon-core.js';
import { LocalRing } from '../core/ordering.js';
import { ClientMessageReader } from '../core/reader.js';
import { packetTypeOf } from '../ring/constants.js';
import { RingEngine } from '../ring/engine.js';
import type { RingAction } from '../ring/actions.js';
import { ServiceType } from '../../wire/client/constants.js';
import { encodeMessage, makeHint } from '../../wire/client/message.js';
import { connectFlags, encodeAuthReply, encodeConnect } from '../../wire/client/handshake.js';
import { privateGroupName } from '../../wire/client/names.js';

/** Messages the drill passes by default: about 150 ms of a cold process's CPU. */
export const WARM_UP_MESSAGES = 6000;
/** Messages per slice (one event-loop turn). */
const SLICE = 400;
/** Messages a client write carries (the reader gets them as one chunk). */
const WRITE = 20;

export interface WarmUpReport {
  readonly messages: number;
  /** Deliveries the three engines reported (each message is delivered by all three). */
  readonly deliveries: number;
  /** Bytes the core wrote to its reader (each message once, as a client receives it). */
  readonly readerBytes: number;
}

const IDS = [0x0a000001, 0x0a000002, 0x0a000003];
/** The daemon the drill's reader and core stand for (never the real one). */
const DRILL_DAEMON = { name: 'warmup', procId: 0x7f000001 };
/** The core part's two connections, by private name: a writer and a reader joined to the group it writes to. */
const WRITER = { conn: 1, name: 'w' };
const READER = { conn: 2, name: 'r' };

/** One client message to the group `warmup` from private group `sender`. */
function clientFrame(sender: string, service: number, size: number): Uint8Array {
  return encodeMessage({
    header: { type: service, name: sender, numGroups: 1, hint: makeHint(0), dataLen: size },
    oldType: 0,
    groups: ['warmup'],
    data: new Uint8Array(size),
  });
}

/** Client writes of WRITE messages each: 100 B AGREED, 1000 B AGREED (a packet each, sent in place), 100 B SAFE. */
function clientWrites(sender: string): Uint8Array[] {
  const kinds = [clientFrame(sender, ServiceType.AGREED_MESS, 100), clientFrame(sender, ServiceType.AGREED_MESS, 1000), clientFrame(sender, ServiceType.SAFE_MESS, 100)];
  return kinds.map((f) => {
    const w = new Uint8Array(f.length * WRITE);
    for (let i = 0; i < WRITE; i++) w.set(f, i * f.length);
    return w;
  });
}

/** One drill: a reader and three engines on a private ring, and a core with two clients, driven in slices by `step()`. */
export class WarmUp {
  private readonly engines: RingEngine[];
  private readonly reader = new ClientMessageReader(WRITER.name, DRILL_DAEMON.name);
  /** The writer's client writes, read by `reader` for the engines and by the core for its session. */
  private readonly writes = clientWrites(privateGroupName(WRITER.name, DRILL_DAEMON.name));
  /** The client-facing half: a core over a one-daemon ordering, with a writer and a reader. */
  private readonly ring = new LocalRing({ procId: DRILL_DAEMON.procId, formationTime: 1 });
  private readonly core = new DaemonCore({
    daemon: DRILL_DAEMON,
    daemons: [DRILL_DAEMON],
    ordering: this.ring,
    authPolicy: { allowed: ['NULL'], required: [], ipRules: null },
    log: silentLog,
  });
  private sent = 0;
  private deliveries = 0;
  /** Bytes the core wrote to its reader connection. */
  private readerBytes = 0;
  private now = 1;

  constructor(private readonly total = WARM_UP_MESSAGES) {
    const segments = IDS.map((id) => ({ daemons: [id] }));
    this.engines = IDS.map((myId) => {
      const e = new RingEngine({ myId, segments, confHash: 1 });
      e.install({ ringId: { procId: IDS[0]!, time: 1 }, members: IDS }, 0);
      return e;
    });
    this.ring.start();
    this.core.processOrdering(0);
    for (const { conn, name } of [WRITER, READER]) {
      this.core.connect(conn, { transport: 'tcp', address: DRILL_DAEMON.procId }, 0);
      this.core.receive(conn, encodeConnect({ major: 4, minor: 4, patch: 0, flags: connectFlags(true), name }), 0);
      this.settleCore();
      this.core.receive(conn, encodeAuthReply(['NULL']), 0);
      this.settleCore();
    }
    this.core.receive(READER.conn, clientFrame(privateGroupName(READER.name, DRILL_DAEMON.name), ServiceType.JOIN_MESS, 0), 0);
    this.settleCore();
  }

  get done(): boolean {
    return this.sent >= this.total;
  }

  /** Passes the next slice of messages round the ring; returns whether messages remain. */
  step(): boolean {
    const end = Math.min(this.total, this.sent + SLICE);
    while (this.sent < end) {
      const kind = Math.floor(this.sent / WRITE) % this.writes.length;
      this.core.receive(WRITER.conn, this.writes[kind]!, this.now);
      this.settleCore();
      for (const r of this.reader.push(this.writes[kind]!)) {
        if (r.kind !== 'message') throw new Error(`warm-up: the reader refused its own message: ${r.violation.message}`);
        this.engines[0]!.submit(r.message.frame, packetTypeOf(r.message.type)!, this.now, 'normal', r.message.packetRoom);
      }
      this.sent += WRITE;
      this.now++;
      this.pump();
    }
    return !this.done;
  }

  report(): WarmUpReport {
    return { messages: this.sent, deliveries: this.deliveries, readerBytes: this.readerBytes };
  }

  /** Carries out the core's actions until it is quiet: its output is read and dropped, its ordering run. */
  private settleCore(): void {
    for (let round = 0; round < 10_000; round++) {
      const actions = this.core.takeActions();
      if (actions.length === 0) return;
      for (const a of actions) {
        if (a.kind === 'ordering-ready') this.core.processOrdering(this.now);
        else if (a.kind === 'transmit') {
          for (let c = this.core.pollTransmit(a.conn); c !== null; c = this.core.pollTransmit(a.conn)) if (a.conn === READER.conn) this.readerBytes += c.length;
        } else if (a.kind === 'close') throw new Error(`warm-up: the core closed connection ${a.conn}`);
      }
    }
    throw new Error('warm-up: the core did not come to rest');
  }

  /** Hands every engine's datagrams to the others until none is sent (a bounded number of rounds). */
  private pump(): void {
    for (let round = 0; round < 10_000; round++) {
      let sent = false;
      for (let k = 0; k < this.engines.length; k++) sent = this.carry(k, this.engines[k]!.takeActions()) || sent;
      if (!sent) return;
    }
    throw new Error('warm-up: the private ring did not come to rest');
  }

  private carry(from: number, actions: readonly RingAction[]): boolean {
    let sent = false;
    for (const a of actions) {
      if (a.kind === 'deliver') this.deliveries++;
      if (a.kind !== 'send') continue;
      sent = true;
      for (let j = 0; j < this.engines.length; j++) {
        if (j !== from && (a.to !== 'proc' || IDS[j] === a.target)) this.engines[j]!.handleDatagram(a.channel, a.bytes, this.now);
      }
    }
    return sent;
  }
}

/**
 * Runs a drill in slices, one per event-loop turn (setImmediate), so the daemon's own datagrams
 * and timers are handled between them; resolves with its report (what it passed before `signal`
 * aborted it, if it did), or null when turned off.
 */
export function warmUpInSlices(env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<WarmUpReport | null> {
  const asked = env.SPREAD_TS_WARMUP;
  const total = asked === undefined || asked === '' ? WARM_UP_MESSAGES : Number(asked);
  if (!Number.isFinite(total) || total <= 0) return Promise.resolve(null);
  const drill = new WarmUp(total);
  return new Promise((resolve, reject) => {
    const slice = (): void => {
      try {
        if (signal?.aborted !== true && drill.step()) setImmediate(slice);
        else resolve(drill.report());
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    setImmediate(slice);
  });
}
