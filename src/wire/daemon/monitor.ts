/**
 * spmonitor ⇄ daemon packets on the data channel (SPEC.md Part IV §11).
 *
 *   status_request = packet_header                      seq = monitor's reply port, data_len 0
 *   status_reply   = packet_header status               data_len 96 (sent to the monitor)
 *   status         = 18 × i32 (sec state gstate packet_sent packet_recv packet_delivered
 *                    retrans u_retrans s_retrans b_retrans aru my_aru highest_seq token_hurry
 *                    token_rounds my_id leader_id message_delivered)
 *                    12 × i16 (membership_changes num_procs num_segments window personal_window
 *                    accelerated_ring accelerated_window num_sessions num_groups
 *                    major_version minor_version patch_version)
 *   partition      = packet_header 128 × i16            component per conf index; −1 = exit
 *   fc             = packet_header 128 × (i16 window, i16 accelerated_window)
 *                    entry [num_procs].window = global Window; −1 = unchanged
 *   reload         = packet_header                      data_len 0
 *
 * Requests carry memb_id.proc_id = 15051963 and conf_hash = 1100; every byte is initialised
 * (the monitor's and the daemon's report buffers are static).
 */
import { ProtocolError } from '../errors.js';
import { Limits, MONITOR_HASH, MONITOR_MAGIC, PacketType, Size } from './constants.js';
import { encodePacketHeaderInto, type PacketHeader } from './header.js';
import { put16, put32, type Reader } from '../bytes.js';

export const STATUS_INT32_FIELDS = [
  'sec', 'state', 'gstate', 'packetSent', 'packetRecv', 'packetDelivered', 'retrans', 'uRetrans',
  'sRetrans', 'bRetrans', 'aru', 'myAru', 'highestSeq', 'tokenHurry', 'tokenRounds', 'myId', 'leaderId',
  'messageDelivered',
] as const;
export const STATUS_INT16_FIELDS = [
  'membershipChanges', 'numProcs', 'numSegments', 'window', 'personalWindow', 'acceleratedRing',
  'acceleratedWindow', 'numSessions', 'numGroups', 'majorVersion', 'minorVersion', 'patchVersion',
] as const;

export type StatusBody = Record<(typeof STATUS_INT32_FIELDS)[number] | (typeof STATUS_INT16_FIELDS)[number], number>;

export interface StatusRequest {
  kind: 'status-request';
  littleEndian: boolean;
  /** header.seq = UDP port the reply goes to; header.procId = a configured daemon IP. */
  header: PacketHeader;
}

export interface StatusReply {
  kind: 'status-reply';
  littleEndian: boolean;
  header: PacketHeader;
  status: StatusBody;
}

export interface PartitionPacket {
  kind: 'partition';
  littleEndian: boolean;
  header: PacketHeader;
  /** 128 component numbers, indexed by conf order. */
  components: number[];
}

export interface FcPacket {
  kind: 'fc';
  littleEndian: boolean;
  header: PacketHeader;
  /** 128 personal windows ([num_procs] = the global Window). */
  windows: number[];
  /** 128 accelerated windows. */
  acceleratedWindows: number[];
}

export interface ReloadPacket {
  kind: 'reload';
  littleEndian: boolean;
  header: PacketHeader;
}

/**
 * The header of a monitor's request (STATUS, PARTITION, FC, RELOAD): proc_id = the monitor's own
 * daemon id (where a status reply goes), seq = its reply port, memb_id.proc_id = the magic,
 * conf_hash = 1100, every other field 0 (data_len is the encoder's).
 */
export function monitorRequestHeader(type: number, procId: number, replyPort: number): PacketHeader {
  return {
    type, transmitterId: 0, procId: procId | 0, membId: { procId: MONITOR_MAGIC, time: 0 }, seq: replyPort, tokenRound: 0,
    confHash: MONITOR_HASH, dataLen: 0, padding: 0, fragIndex: 0, fragLen: 0,
  };
}

function expectLen(header: PacketHeader, want: number, structure: string, offset: number): void {
  if (header.dataLen !== want) throw new ProtocolError('BAD_VALUE', structure, 'data_len', offset + 32, want, header.dataLen);
}

export function decodeStatusBody(r: Reader, o: number): StatusBody {
  r.need(o, Size.STATUS, 'status', 'sec');
  const s = {} as StatusBody;
  for (let i = 0; i < STATUS_INT32_FIELDS.length; i++) s[STATUS_INT32_FIELDS[i]!] = r.i32(o + 4 * i);
  for (let i = 0; i < STATUS_INT16_FIELDS.length; i++) s[STATUS_INT16_FIELDS[i]!] = r.i16(o + 72 + 2 * i);
  return s;
}

export function encodeStatusBodyInto(s: StatusBody, buf: Uint8Array, o: number): number {
  for (let i = 0; i < STATUS_INT32_FIELDS.length; i++) put32(buf, o + 4 * i, s[STATUS_INT32_FIELDS[i]!]);
  for (let i = 0; i < STATUS_INT16_FIELDS.length; i++) put16(buf, o + 72 + 2 * i, s[STATUS_INT16_FIELDS[i]!]);
  return o + Size.STATUS;
}

/**
 * A daemon's status reply to a monitor's STATUS request: header {STATUS, transmitter 0,
 * proc_id = the daemon, all else 0, data_len 96} + the 96-byte status (136 bytes in all).
 */
export function encodeStatusReply(myId: number, status: StatusBody): Uint8Array {
  const bytes = new Uint8Array(Size.PACKET_HEADER + Size.STATUS);
  encodePacketHeaderInto(
    {
      type: PacketType.STATUS, transmitterId: 0, procId: myId | 0, membId: { procId: 0, time: 0 }, seq: 0, tokenRound: 0,
      confHash: 0, dataLen: Size.STATUS, padding: 0, fragIndex: 0, fragLen: 0,
    },
    Size.STATUS,
    bytes,
    0,
  );
  encodeStatusBodyInto(status, bytes, Size.PACKET_HEADER);
  return bytes;
}

export function decodeStatus(r: Reader, header: PacketHeader, start: number): StatusRequest | StatusReply {
  if (header.dataLen === 0) return { kind: 'status-request', littleEndian: r.le, header };
  expectLen(header, Size.STATUS, 'status', start);
  return { kind: 'status-reply', littleEndian: r.le, header, status: decodeStatusBody(r, start + Size.PACKET_HEADER) };
}

export function decodePartition(r: Reader, header: PacketHeader, start: number): PartitionPacket {
  expectLen(header, Size.PARTITION, 'partition', start);
  const o = start + Size.PACKET_HEADER;
  const components = new Array<number>(Limits.MAX_PROCS_RING);
  for (let i = 0; i < Limits.MAX_PROCS_RING; i++) components[i] = r.i16(o + 2 * i);
  return { kind: 'partition', littleEndian: r.le, header, components };
}

export function decodeFc(r: Reader, header: PacketHeader, start: number): FcPacket {
  expectLen(header, Size.FC, 'fc', start);
  const o = start + Size.PACKET_HEADER;
  const windows = new Array<number>(Limits.MAX_PROCS_RING);
  const acceleratedWindows = new Array<number>(Limits.MAX_PROCS_RING);
  for (let i = 0; i < Limits.MAX_PROCS_RING; i++) {
    windows[i] = r.i16(o + 4 * i);
    acceleratedWindows[i] = r.i16(o + 4 * i + 2);
  }
  return { kind: 'fc', littleEndian: r.le, header, windows, acceleratedWindows };
}

export function decodeReload(r: Reader, header: PacketHeader, start: number): ReloadPacket {
  expectLen(header, 0, 'reload', start);
  return { kind: 'reload', littleEndian: r.le, header };
}

function checkCount(arr: readonly number[], n: number, structure: string, field: string): void {
  if (arr.length !== n) throw new ProtocolError('BAD_VALUE', structure, field, 0, `${n} entries`, arr.length);
}

export function encodePartitionBodyInto(p: PartitionPacket, buf: Uint8Array, o: number): number {
  checkCount(p.components, Limits.MAX_PROCS_RING, 'partition', 'components');
  for (let i = 0; i < Limits.MAX_PROCS_RING; i++) put16(buf, o + 2 * i, p.components[i]!);
  return o + Size.PARTITION;
}

export function encodeFcBodyInto(p: FcPacket, buf: Uint8Array, o: number): number {
  checkCount(p.windows, Limits.MAX_PROCS_RING, 'fc', 'windows');
  checkCount(p.acceleratedWindows, Limits.MAX_PROCS_RING, 'fc', 'acceleratedWindows');
  for (let i = 0; i < Limits.MAX_PROCS_RING; i++) {
    put16(buf, o + 4 * i, p.windows[i]!);
    put16(buf, o + 4 * i + 2, p.acceleratedWindows[i]!);
  }
  return o + Size.FC;
}
