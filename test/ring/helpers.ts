/** Small builders for the ring engine's unit tests. */
import { RingEngine, type RingSettings } from '../../src/daemon/ring/engine.js';
import type { RingAction, SendAction } from '../../src/daemon/ring/actions.js';
import { decodeDatagram, encodeDatagram, type Datagram } from '../../src/wire/daemon/datagram.js';
import type { DataPacket, Fragment } from '../../src/wire/daemon/data.js';
import type { RegularToken, RtrRecord } from '../../src/wire/daemon/token.js';
import type { RingId } from '../../src/wire/daemon/header.js';
import { PacketType, setArq, setRetrans } from '../../src/wire/daemon/constants.js';
import { encodeMessage, makeHint } from '../../src/wire/client/message.js';
import { ServiceType } from '../../src/wire/client/constants.js';

export const A = (10 << 24) | 1;
export const B = (10 << 24) | 2;
export const C = (10 << 24) | 3;
export const D = (10 << 24) | (1 << 8) | 1; // a second segment
export const HASH = 0x12345678;
export const RING: RingId = { procId: A, time: 1000 };

export interface Made {
  engine: RingEngine;
  actions: readonly RingAction[];
}

/** An engine of daemon `me` on ring A,B,C (one segment) installed at t=0. */
export function make(me: number, opts: Partial<RingSettings> = {}, members: number[] = [A, B, C], segments: number[][] = [[A, B, C]]): Made {
  const engine = new RingEngine({ myId: me, segments: segments.map((daemons) => ({ daemons })), confHash: HASH, ...opts });
  engine.install({ ringId: RING, members }, 0);
  return { engine, actions: engine.takeActions() };
}

export function sends(actions: readonly RingAction[]): SendAction[] {
  return actions.filter((a): a is SendAction => a.kind === 'send');
}

export function decoded(a: SendAction): Datagram {
  return decodeDatagram(a.bytes, a.channel);
}

export function tokenOf(a: SendAction): RegularToken {
  const d = decoded(a);
  if (d.kind !== 'token') throw new Error(`not a token: ${d.kind}`);
  return d;
}

export function dataOf(a: SendAction): DataPacket {
  const d = decoded(a);
  if (d.kind !== 'data') throw new Error(`not a data packet: ${d.kind}`);
  return d;
}

export interface TokenFields {
  from: number;
  arq?: number;
  retrans?: number;
  seq?: number;
  aru?: number;
  aruLastId?: number;
  fc?: number;
  membId?: RingId;
  rtr?: RtrRecord[];
  hash?: number;
}

export function token(f: TokenFields): Uint8Array {
  return encodeDatagram({
    kind: 'token',
    littleEndian: true,
    header: {
      type: setRetrans(setArq(0, f.arq ?? 0), f.retrans ?? 0),
      transmitterId: f.from,
      procId: f.from,
      membId: f.membId ?? RING,
      seq: f.seq ?? 0,
      aru: f.aru ?? f.seq ?? 0,
      aruLastId: f.aruLastId ?? f.from,
      flowControl: f.fc ?? 0,
      rtrLen: 0,
      confHash: f.hash ?? HASH,
    },
    rtr: f.rtr ?? [],
  });
}

/** A client-format message of `total` bytes (48-byte header, one group, data). */
export function message(total: number, service: number = ServiceType.AGREED_MESS, fill = 0): Uint8Array {
  const dataLen = total - 48 - 32;
  if (dataLen < 0) throw new Error('message too short');
  const data = new Uint8Array(dataLen).fill(fill);
  return encodeMessage({
    header: { type: service, name: '#u#d', numGroups: 1, hint: makeHint(0), dataLen },
    oldType: 0,
    groups: ['g'],
    data,
  });
}

export interface DataFields {
  from: number;
  proc?: number;
  seq: number;
  type?: number;
  round?: number;
  membId?: RingId;
  fragments?: Fragment[];
  hash?: number;
}

/** A data packet carrying whole messages (index −1 each) unless fragments are given. */
export function data(f: DataFields, ...messages: Uint8Array[]): Uint8Array {
  const fragments = f.fragments ?? messages.map((m) => ({ index: -1, data: m }));
  return encodeDatagram({
    kind: 'data',
    littleEndian: true,
    header: {
      type: f.type ?? PacketType.AGREED,
      transmitterId: f.from,
      procId: f.proc ?? f.from,
      membId: f.membId ?? RING,
      seq: f.seq,
      tokenRound: f.round ?? 0,
      confHash: f.hash ?? HASH,
      dataLen: 0,
      padding: 0,
      fragIndex: 0,
      fragLen: 0,
    },
    fragments,
  });
}

export function delivered(actions: readonly RingAction[]): { message: Uint8Array; seq: number; sender: number; packetType: number }[] {
  return actions.flatMap((a) => (a.kind === 'deliver' ? [{ message: a.message, seq: a.seq, sender: a.sender, packetType: a.packetType }] : []));
}

/** Bytes → hex, for readable failures. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
