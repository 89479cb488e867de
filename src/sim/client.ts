/**
 * A simulated client of a whole daemon (SPEC.md Part V §13, whole-daemon mode; the handshake
 * and frames of Part I): it connects to a daemon's core with the client wire protocol (connect,
 * NULL authentication, accept), then sends JOIN / LEAVE / data frames and records every frame
 * the daemon sends it — messages and membership notices — in order.
 */
import { encodeMessage, makeHint, DAEMON_TO_CLIENT_LIMITS, type WireMessage } from '../wire/client/message.js';
import { MessageFramer } from '../wire/client/framer.js';
import { acceptHasPatch, connectFlags, decodeAccept, decodeAuthList, encodeAuthReply, encodeConnect } from '../wire/client/handshake.js';
import { ServiceType } from '../wire/client/constants.js';

const VERSION = { major: 4, minor: 4, patch: 0 };

export class SimClient {
  /** connecting: waiting for the auth list; auth: for the accept; op; closed. */
  state: 'connecting' | 'auth' | 'op' | 'closed' = 'connecting';
  privateGroup = '';
  /** Every frame the daemon sent once in op, in order. */
  readonly received: WireMessage[] = [];
  private pending = new Uint8Array(0);
  private readonly framer = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);

  constructor(
    /** Configuration index of its daemon. */
    readonly daemon: number,
    readonly conn: number,
    /** The private name it asks for. */
    readonly name: string,
    private readonly write: (bytes: Uint8Array) => void,
  ) {}

  /** The connect message (the first bytes it writes). */
  hello(): void {
    this.write(encodeConnect({ ...VERSION, flags: connectFlags(true), name: this.name }));
  }

  /** Bytes from the daemon. */
  receive(bytes: Uint8Array): void {
    if (this.state === 'op') return this.frames(bytes);
    const buf = new Uint8Array(this.pending.length + bytes.length);
    buf.set(this.pending);
    buf.set(bytes, this.pending.length);
    this.pending = buf;
    if (this.state === 'connecting') {
      const list = decodeAuthList(buf, 0, buf.length);
      if (list === null) return;
      if (list.value.kind === 'reject') return this.close();
      this.pending = buf.subarray(list.offset);
      this.state = 'auth';
      this.write(encodeAuthReply(['NULL']));
    }
    const acc = decodeAccept(this.pending, 0, this.pending.length, acceptHasPatch(VERSION.major, VERSION.minor, VERSION.patch));
    if (acc === null) return;
    if (acc.value.kind === 'reject') return this.close();
    this.privateGroup = acc.value.accept.privateGroup;
    this.state = 'op';
    const rest = this.pending.subarray(acc.offset);
    this.pending = new Uint8Array(0);
    if (rest.length > 0) this.frames(rest);
  }

  join(group: string): void {
    this.send(ServiceType.JOIN_MESS, [group], new Uint8Array(0));
  }

  leave(group: string): void {
    this.send(ServiceType.LEAVE_MESS, [group], new Uint8Array(0));
  }

  multicast(service: number, groups: readonly string[], text: string): void {
    this.send(service, groups, new TextEncoder().encode(text));
  }

  /** The daemon closed the connection, or the client went away. */
  close(): void {
    this.state = 'closed';
  }

  private send(type: number, groups: readonly string[], data: Uint8Array): void {
    if (this.state !== 'op') return;
    this.write(encodeMessage({
      header: { type: type >>> 0, name: this.privateGroup, numGroups: groups.length, hint: makeHint(0), dataLen: data.length },
      oldType: 0,
      groups: [...groups],
      data,
    }));
  }

  private frames(bytes: Uint8Array): void {
    this.framer.push(bytes);
    for (let f = this.framer.next(); f !== null; f = this.framer.next()) this.received.push(f.message);
  }
}
