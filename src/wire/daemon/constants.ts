/**
 * Daemon⇄daemon protocol constants (SPEC.md Part IV §1–§3). Values are the 4.4
 * reference's.
 *
 *   data channel  = UDP <segment port>      packet_header(40) body(data_len)
 *   token channel = UDP <segment port + 1>  token_header(40)  body(rtr_len)
 *   all sends from an unbound socket (ephemeral source port): the source is not an identity
 */

/** Bits of the type word of packet_header and token_header. Bits 7 and 31 are the endian marker. */
export const PacketType = {
  UNRELIABLE: 0x00000001,
  RELIABLE: 0x00000002,
  FIFO: 0x00000004,
  AGREED: 0x00000008,
  SAFE: 0x00000010,
  /** Any of the five service bits: a data packet. */
  REGULAR: 0x0000001f,
  /** "Relay me on your segment" (unicast to another segment's first member). */
  ROUTED: 0x00000020,
  HURRY: 0x00000040,
  ALIVE: 0x00000100,
  JOIN: 0x00000200,
  REFER: 0x00000400,
  MEMBERSHIP: 0x00000700,
  FORM1: 0x00001000,
  FORM2: 0x00002000,
  FORM: 0x00003000,
  /** Token only: the leader's round counter modulo 16 (bits 16..19). */
  ARQ: 0x000f0000,
  /** Token only: the token retransmission count (bits 20..23). */
  RETRANS: 0x00f00000,
  STATUS: 0x01000000,
  PARTITION: 0x02000000,
  FC: 0x04000000,
  RELOAD: 0x08000000,
  CONTROL: 0x0f000000,
} as const;
export type PacketTypeName = keyof typeof PacketType;

/** Fixed structure sizes in bytes (no implicit padding anywhere). */
export const Size = {
  PACKET_HEADER: 40,
  TOKEN_HEADER: 40,
  /** Largest data-channel datagram the reference receives whole. */
  MAX_PACKET: 1472,
  /** 1472 − 40: the largest packet_header.data_len. */
  PACKET_BODY: 1432,
  /** 65535 − 20 − 8 − 40: the largest token_header.rtr_len. */
  TOKEN_BODY: 65467,
  FRAGMENT_HEADER: 4,
  MEMBERSHIP_ID: 8,
  RING_RTR: 16,
  MEMBERS_INFO: 516,
  REP_INFO: 8,
  REPS_INFO: 204,
  RING_INFO: 28,
  STATUS: 96,
  /** PARTITION body: int16[128]. */
  PARTITION: 256,
  /** FC body: int16[128][2]. */
  FC: 512,
  MESSAGE_HEADER: 48,
  GROUP_NAME: 32,
} as const;

export const Limits = {
  MAX_PROCS_RING: 128,
  MAX_REPS: 25,
  /** Most old rings a FORM token lists. */
  MAX_FORM_REPS: 20,
  /** Most holes in one FORM ring record. */
  MAX_SEQ_GAP: 1600,
  GROUPS_BUF_SIZE: 100000,
  MAX_SCATTER_ELEMENTS: 100,
  /** Token seq above which a ring outside EVS swallows the token (forces a new ring). */
  MAX_WRAP_SEQUENCE_VALUE: 1 << 30,
} as const;

/** conf_hash carried by spmonitor packets (accepted besides the daemon's own hash). */
export const MONITOR_HASH = 1100;
/** memb_id.proc_id of spmonitor packets. */
export const MONITOR_MAGIC = 15051963;
export const DEFAULT_SPREAD_PORT = 4803;
/** Where spmonitor listens for status replies by default (the request's `seq`). */
export const DEFAULT_MONITOR_PORT = 6543;

/** rep_info.type in JOIN / FORM1 and memb_id.time of REFER. */
export const RepType = {
  POTENTIAL_REP: 0,
  SEG_REP: 1,
  RING_REP: 2,
} as const;

/** The data channel is the segment port; the token channel the next port. */
export function tokenPort(segmentPort: number): number {
  return segmentPort + 1;
}

export function getArq(type: number): number {
  return (type & PacketType.ARQ) >>> 16;
}

export function getRetrans(type: number): number {
  return (type & PacketType.RETRANS) >>> 20;
}

export function setArq(type: number, arq: number): number {
  return ((type & ~PacketType.ARQ) | ((arq << 16) & PacketType.ARQ)) >>> 0;
}

export function setRetrans(type: number, retrans: number): number {
  return ((type & ~PacketType.RETRANS) | ((retrans << 20) & PacketType.RETRANS)) >>> 0;
}

const SERVICE_NAMES = [
  ['UNRELIABLE', PacketType.UNRELIABLE],
  ['RELIABLE', PacketType.RELIABLE],
  ['FIFO', PacketType.FIFO],
  ['AGREED', PacketType.AGREED],
  ['SAFE', PacketType.SAFE],
  ['ROUTED', PacketType.ROUTED],
  ['HURRY', PacketType.HURRY],
  ['ALIVE', PacketType.ALIVE],
  ['JOIN', PacketType.JOIN],
  ['REFER', PacketType.REFER],
  ['FORM1', PacketType.FORM1],
  ['FORM2', PacketType.FORM2],
  ['STATUS', PacketType.STATUS],
  ['PARTITION', PacketType.PARTITION],
  ['FC', PacketType.FC],
  ['RELOAD', PacketType.RELOAD],
] as const;

/** `AGREED|ROUTED` style rendering of the named bits of a type word (ARQ/RETRANS excluded). */
export function packetTypeNames(type: number): string {
  const parts: string[] = [];
  for (const [name, bit] of SERVICE_NAMES) if (type & bit) parts.push(name);
  return parts.length > 0 ? parts.join('|') : '0';
}

/** Dotted quad of a proc id (IP as the integer a<<24|b<<16|c<<8|d). */
export function ipString(id: number): string {
  return `${(id >>> 24) & 0xff}.${(id >>> 16) & 0xff}.${(id >>> 8) & 0xff}.${id & 0xff}`;
}

/** Proc id of a dotted quad, as a signed int32 (the way the reference stores it). */
export function procIdOf(ip: string): number {
  const p = ip.split('.').map((s) => Number.parseInt(s, 10));
  if (p.length !== 4 || p.some((n) => !(n >= 0 && n <= 255))) throw new RangeError(`not an IPv4 address: ${ip}`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) | 0;
}
