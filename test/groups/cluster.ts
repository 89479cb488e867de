/**
 * A scripted multi-daemon driver for GroupsLayer — not a simulator: no clock, network or
 * randomness. The test dictates every configuration and the one ordered stream of messages
 * (client JOIN/LEAVE/KILL and the GROUPS messages the layers ask to submit), which the
 * comparisons with the reference's captures and the cascade properties need: every daemon of a
 * ring gets its own transitional configuration and the same regular configuration, then the
 * same ordered stream. Nothing here knows the groups rules; it only routes events and records
 * what comes out. The groups layer inside whole daemons, on the simulated network, with
 * clients, crashes and partitions, runs in src/sim (test/sim/groups.test.ts).
 */
import { readName, readU32 } from '../../src/wire/bytes.js';
import { decodeGroupId, decodeMembershipBody, ServiceType, type MembershipBody } from '../../src/wire/client/index.js';
import type { RingMessage } from '../../src/daemon/core/frames.js';
import { GroupsLayer, type GroupsAction, type GroupsOutput, type Notification } from '../../src/daemon/core/groups.js';
import type { RingId } from '../../src/wire/daemon/header.js';
import { ipToProcId, type DaemonRef } from '../../src/daemon/core/types.js';

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
}

/** A name NUL-padded to `width` bytes, as hex. */
export function padHex(name: string, width: number): string {
  return Buffer.from(name.padEnd(width, '\0'), 'latin1').toString('hex');
}

export interface Notice {
  readonly type: number;
  /** The header's name field: the group. */
  readonly group: string;
  readonly members: string[];
  /** REG_MEMB: the body; TRANSITION: only groupId. */
  readonly body: MembershipBody | null;
  readonly groupId: { procId: number; time: number; index: number } | null;
  readonly frame: Uint8Array;
}

/** Decodes a membership notice frame (little-endian, as the layer writes it). */
export function decodeNotice(frame: Uint8Array): Notice {
  const type = (readU32(frame, 0, true) & ~0x80000080) >>> 0;
  const group = readName(frame, 4, 32);
  const n = readU32(frame, 36, true);
  const dataLen = readU32(frame, 44, true);
  if (frame.length !== 48 + 32 * n + dataLen) throw new Error(`bad frame length ${frame.length}`);
  const members: string[] = [];
  for (let i = 0; i < n; i++) members.push(readName(frame, 48 + 32 * i, 32));
  const o = 48 + 32 * n;
  let body: MembershipBody | null = null;
  let groupId: Notice['groupId'] = null;
  if (type & ServiceType.REG_MEMB_MESS) {
    body = decodeMembershipBody(frame, o, frame.length, true).value;
    groupId = body.groupId;
  } else if (type & ServiceType.TRANSITION_MESS) {
    groupId = decodeGroupId(frame, o, frame.length, true).value;
  }
  return { type, group, members, body, groupId, frame };
}

export interface Received {
  readonly to: string;
  readonly notice: Notice;
}

export class Node {
  readonly layer: GroupsLayer;
  /** Every notice, per recipient, in order. */
  readonly received: Received[] = [];
  readonly actions: GroupsAction[] = [];
  /** GROUPS messages submitted and not yet ordered. */
  readonly outbox: RingMessage[] = [];
  readonly warnings: string[] = [];
  /** Proc ids of my current regular ring. */
  ring: number[];

  constructor(
    readonly name: string,
    readonly procId: number,
    daemons: readonly DaemonRef[],
  ) {
    this.layer = new GroupsLayer({ myDaemon: name, daemons, warn: (m) => this.warnings.push(m) });
    this.ring = [procId];
  }

  take(out: GroupsOutput | Notification[]): void {
    const notes = Array.isArray(out) ? out : out.notifications;
    for (const n of notes) for (const r of n.recipients) this.received.push({ to: r, notice: decodeNotice(n.frame) });
    if (!Array.isArray(out)) {
      for (const a of out.actions) {
        this.actions.push(a);
        if (a.kind === 'submit') this.outbox.push(a.message);
      }
    }
  }

  /** Notices `member` got, decoded. */
  noticesOf(member: string): Notice[] {
    return this.received.filter((r) => r.to === member).map((r) => r.notice);
  }

  clear(): void {
    this.received.length = 0;
    this.actions.length = 0;
  }
}

export class Cluster {
  readonly daemons: DaemonRef[];
  readonly nodes = new Map<string, Node>();

  constructor(spec: ReadonlyArray<readonly [string, string]>) {
    this.daemons = spec.map(([name, ip]) => ({ name, procId: ipToProcId(ip) }));
  }

  procId(name: string): number {
    return this.daemons.find((d) => d.name === name)!.procId;
  }

  node(name: string): Node {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  /** A daemon (re)starts: a fresh layer in its own singleton ring `ringId`. */
  start(name: string, ringId: RingId): Node {
    const n = new Node(name, this.procId(name), this.daemons);
    this.nodes.set(name, n);
    n.take(n.layer.transitional({ members: [n.procId], id: ringId }));
    n.take(n.layer.regular({ members: [n.procId], ringId }));
    n.ring = [n.procId];
    return n;
  }

  /** Drops a daemon (crash). */
  crash(name: string): void {
    this.nodes.delete(name);
  }

  /** The configuration-order proc ids of `names`. */
  procIds(names: readonly string[]): number[] {
    return this.daemons.filter((d) => names.includes(d.name)).map((d) => d.procId);
  }

  /**
   * Delivers the transitional configuration to each of `names`: its old ring ∩ the new ring,
   * with id (first of that set in configuration order, `transTime`) unless `transIds` says.
   */
  transitional(names: readonly string[], transTime: number, transIds: Record<string, RingId> = {}): void {
    const newRing = new Set(this.procIds(names));
    for (const name of names) {
      const n = this.node(name);
      const trans = this.daemons.map((d) => d.procId).filter((p) => n.ring.includes(p) && newRing.has(p));
      const id = transIds[name] ?? { procId: trans[0]!, time: transTime };
      n.take(n.layer.transitional({ members: trans, id }));
    }
  }

  /** Delivers the regular configuration `names` / `ringId` to each of them. */
  regular(names: readonly string[], ringId: RingId): void {
    const members = this.procIds(names);
    for (const name of names) {
      const n = this.node(name);
      n.ring = [...members];
      n.take(n.layer.regular({ members, ringId }));
    }
  }

  /** transitional + regular. */
  form(names: readonly string[], ringId: RingId, transTime = ringId.time - 1, transIds: Record<string, RingId> = {}): void {
    this.transitional(names, transTime, transIds);
    this.regular(names, ringId);
  }

  /**
   * Orders the submitted GROUPS messages of `names`, daemon by daemon in configuration order
   * (each daemon's messages in submission order), and delivers them to every one of `names`.
   * Returns the messages in ring order. With `limit`, only that many are ordered.
   */
  orderGroups(names: readonly string[], limit = Infinity): RingMessage[] {
    const ordered: RingMessage[] = [];
    for (const d of this.daemons) {
      if (!names.includes(d.name)) continue;
      const n = this.node(d.name);
      while (n.outbox.length > 0 && ordered.length < limit) ordered.push(n.outbox.shift()!);
    }
    for (const m of ordered) for (const name of names) this.node(name).take(this.node(name).layer.groupsMessage(m.frame));
    return ordered;
  }

  /** Delivers a client message (in agreed order) to every one of `names`. */
  join(names: readonly string[], member: string, group: string): void {
    for (const name of names) this.node(name).take(this.node(name).layer.join(member, group));
  }

  leave(names: readonly string[], member: string, group: string): void {
    for (const name of names) this.node(name).take(this.node(name).layer.leave(member, group));
  }

  kill(names: readonly string[], member: string): void {
    for (const name of names) this.node(name).take(this.node(name).layer.kill(member));
  }

  /** What every one of `names` knows of `group` (for agreement checks). */
  views(names: readonly string[], group: string): unknown[] {
    return names.map((name) => {
      const g = this.node(name).layer.group(group);
      return g === undefined ? null : { id: g.id, members: this.node(name).layer.members(group) };
    });
  }
}
