/**
 * Drives the daemon core without sockets: a fake edge that carries out the core's actions,
 * collects each connection's output, and can pretend a client stopped reading.
 */
import { DaemonCore } from '../../src/daemon/core/daemon-core.js';
import type { CoreAction, CoreOptions, PeerInfo } from '../../src/daemon/core/daemon-core.js';
import type { AuthPolicy } from '../../src/daemon/core/auth.js';
import { LocalRing } from '../../src/daemon/core/ordering.js';
import type { DaemonRef } from '../../src/daemon/core/types.js';
import { ipToProcId } from '../../src/daemon/core/types.js';

export const LOCALHOST: DaemonRef = { name: 'localhost', procId: ipToProcId('127.0.0.1') };
/** The ring time seen in the client-single / client-two captures (0x6b086865). */
export const CAPTURE_RING_TIME = 0x6b086865;

export interface HarnessOptions extends Partial<Omit<CoreOptions, 'ordering' | 'authPolicy'>> {
  readonly ringTime?: number;
  readonly authPolicy?: Partial<AuthPolicy>;
  /** Run the ordering layer as soon as it has work (default true). */
  readonly autoOrder?: boolean;
}

export class Harness {
  readonly core: DaemonCore;
  readonly ring: LocalRing;
  clock = 0;
  readonly outputs = new Map<number, number[]>();
  readonly closed = new Map<number, 'flush' | 'abort'>();
  /** Connections whose socket refuses data (the fake client is not reading). */
  readonly blocked = new Set<number>();
  readonly actionLog: CoreAction[] = [];
  paused = false;
  autoOrder: boolean;

  constructor(options: HarnessOptions = {}) {
    const daemon = options.daemon ?? LOCALHOST;
    this.ring = new LocalRing({ procId: daemon.procId, formationTime: options.ringTime ?? CAPTURE_RING_TIME });
    this.autoOrder = options.autoOrder ?? true;
    this.core = new DaemonCore({
      ...options,
      daemon,
      daemons: options.daemons ?? [daemon],
      ordering: this.ring,
      authPolicy: { allowed: ['NULL'], required: [], ipRules: null, ...options.authPolicy },
    });
    this.ring.start();
    this.core.processOrdering(this.clock);
    this.flush();
  }

  connect(id: number, peer: PeerInfo = { transport: 'tcp', address: ipToProcId('127.0.0.1') >>> 0 }): void {
    this.outputs.set(id, []);
    this.core.connect(id, peer, this.clock);
    this.flush();
  }

  send(id: number, bytes: Uint8Array): void {
    this.core.receive(id, bytes, this.clock);
    this.flush();
  }

  /** The client's socket closed (EOF). */
  eof(id: number): void {
    this.core.disconnected(id, this.clock, 'EOF');
    this.flush();
  }

  /** Moves time forward and fires handshake deadlines. */
  advance(ms: number): void {
    this.clock += ms;
    this.core.checkDeadlines(this.clock);
    this.flush();
  }

  /** The fake client stops (true) or resumes (false) reading. */
  setBlocked(id: number, blocked: boolean): void {
    if (blocked) this.blocked.add(id);
    else this.blocked.delete(id);
    this.core.setBlocked(id, blocked);
    if (!blocked) this.pull(id);
    this.flush();
  }

  /** Runs the ordering layer until it is idle. */
  order(): void {
    for (let i = 0; i < 10000 && this.core.processOrdering(this.clock) > 0; i++) this.flush(false);
    this.flush(false);
  }

  output(id: number): Uint8Array {
    return Uint8Array.from(this.outputs.get(id) ?? []);
  }

  /** Returns and forgets what a connection received so far. */
  take(id: number): Uint8Array {
    const out = this.output(id);
    this.outputs.set(id, []);
    return out;
  }

  flush(order = this.autoOrder): void {
    for (let round = 0; round < 10000; round++) {
      const actions = this.core.takeActions();
      let orderingReady = false;
      for (const a of actions) {
        this.actionLog.push(a);
        switch (a.kind) {
          case 'transmit':
            if (!this.blocked.has(a.conn)) this.pull(a.conn);
            break;
          case 'close':
            if (a.flush) this.pull(a.conn);
            this.closed.set(a.conn, a.flush ? 'flush' : 'abort');
            // The socket then closes for real.
            this.core.disconnected(a.conn, this.clock, 'closed by daemon');
            break;
          case 'pause-reading':
            this.paused = true;
            break;
          case 'resume-reading':
            this.paused = false;
            break;
          case 'ordering-ready':
            orderingReady = true;
            break;
        }
      }
      if (orderingReady && order) {
        this.core.processOrdering(this.clock);
        continue;
      }
      if (actions.length === 0) return;
    }
    throw new Error('harness: actions did not settle');
  }

  private pull(id: number): void {
    const sink = this.outputs.get(id) ?? [];
    this.outputs.set(id, sink);
    for (let chunk = this.core.pollTransmit(id); chunk !== null; chunk = this.core.pollTransmit(id)) {
      for (const b of chunk) sink.push(b);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Client-side byte builders (little-endian, as the 4.4 library on x86 writes them)

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
}

export function connectBytes(name: string, options: { membership?: boolean; version?: [number, number, number] } = {}): Uint8Array {
  const [major, minor, patch] = options.version ?? [4, 4, 0];
  const withPatch = major * 10000 + minor * 100 > 31400;
  const head = withPatch ? [major, minor, patch] : [major, minor];
  return Uint8Array.from([...head, options.membership === false ? 0 : 1, name.length, ...Buffer.from(name, 'latin1')]);
}

export function authReply(methods: readonly string[] = ['NULL']): Uint8Array {
  const out = new Uint8Array(90);
  methods.forEach((m, i) => out.set(Buffer.from(m, 'latin1').subarray(0, 30), i * 30));
  return out;
}

export function field32(name: string): Uint8Array {
  const out = new Uint8Array(32);
  out.set(Buffer.from(name, 'latin1').subarray(0, 32));
  return out;
}

export interface FrameSpec {
  type: number;
  sender: string;
  groups?: readonly string[];
  data?: Uint8Array | string;
  /** Raw hint word (default: marker only, or mess_type 0). */
  hint?: number;
  /** Override num_groups / data_len fields. */
  numGroups?: number;
  dataLen?: number;
  bigEndian?: boolean;
}

export function frame(spec: FrameSpec): Uint8Array {
  const groups = spec.groups ?? [];
  const data = typeof spec.data === 'string' ? Buffer.from(spec.data, 'latin1') : (spec.data ?? new Uint8Array(0));
  const out = Buffer.alloc(48 + 32 * groups.length + data.length);
  const be = spec.bigEndian === true;
  const w = (v: number, o: number): void => {
    if (be) out.writeUInt32BE(v >>> 0, o);
    else out.writeUInt32LE(v >>> 0, o);
  };
  w(be ? spec.type & ~0x80000080 : (spec.type | 0x80000080) >>> 0, 0);
  out.set(field32(spec.sender), 4);
  w(spec.numGroups ?? groups.length, 36);
  out.writeUInt32LE((spec.hint ?? (be ? 0 : 0x80000080)) >>> 0, 40);
  w(spec.dataLen ?? data.length, 44);
  groups.forEach((g, i) => out.set(field32(g), 48 + 32 * i));
  out.set(data, 48 + 32 * groups.length);
  return Uint8Array.from(out);
}

/** Connects, authenticates with NULL and returns the bytes the daemon sent. */
export function login(h: Harness, id: number, name: string, membership = true): Uint8Array {
  h.connect(id);
  h.send(id, connectBytes(name, { membership }));
  h.send(id, authReply());
  return h.take(id);
}

export interface ParsedFrame {
  type: number;
  name: string;
  numGroups: number;
  hint: number;
  dataLen: number;
  groups: string[];
  data: Uint8Array;
  bytes: Uint8Array;
}

function cstr(b: Uint8Array): string {
  const z = b.indexOf(0);
  return Buffer.from(z < 0 ? b : b.subarray(0, z)).toString('latin1');
}

/** Splits a daemon→client byte stream (after the handshake) into frames. */
export function parseFrames(bytes: Uint8Array): ParsedFrame[] {
  const out: ParsedFrame[] = [];
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  while (o + 48 <= b.length) {
    const numGroups = b.readInt32LE(o + 36);
    const dataLen = b.readInt32LE(o + 44);
    const end = o + 48 + 32 * numGroups + dataLen;
    if (end > b.length) break;
    const groups: string[] = [];
    for (let i = 0; i < numGroups; i++) groups.push(cstr(bytes.subarray(o + 48 + 32 * i, o + 80 + 32 * i)));
    out.push({
      type: b.readUInt32LE(o),
      name: cstr(bytes.subarray(o + 4, o + 36)),
      numGroups,
      hint: b.readUInt32LE(o + 40),
      dataLen,
      groups,
      data: bytes.subarray(o + 48 + 32 * numGroups, end),
      bytes: bytes.subarray(o, end),
    });
    o = end;
  }
  if (o !== b.length) throw new Error(`parseFrames: ${b.length - o} trailing bytes`);
  return out;
}

/** The lightweight membership body fields. */
export function membershipBody(data: Uint8Array): { procId: number; time: number; index: number; sets: string[][]; offset: number } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const numSets = b.readUInt32LE(12);
  const sets: string[][] = [];
  let o = 20;
  for (let i = 0; i < numSets; i++) {
    const n = b.readUInt32LE(o);
    o += 4;
    const set: string[] = [];
    for (let j = 0; j < n; j++, o += 32) set.push(cstr(data.subarray(o, o + 32)));
    sets.push(set);
  }
  return { procId: b.readInt32LE(0), time: b.readInt32LE(4), index: b.readInt32LE(8), sets, offset: b.readUInt32LE(16) };
}

export const T = {
  UNRELIABLE: 0x01,
  RELIABLE: 0x02,
  FIFO: 0x04,
  CAUSAL: 0x08,
  AGREED: 0x10,
  SAFE: 0x20,
  SELF_DISCARD: 0x40,
  CAUSED_BY_JOIN: 0x100,
  CAUSED_BY_LEAVE: 0x200,
  CAUSED_BY_DISCONNECT: 0x400,
  REG_MEMB: 0x1000,
  JOIN: 0x10000,
  LEAVE: 0x20000,
  KILL: 0x40000,
  GROUPS: 0x80000,
  REJECT: 0x400000,
  MARKER: 0x80000080,
} as const;
