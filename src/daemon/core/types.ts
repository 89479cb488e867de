/**
 * Values shared by the daemon's pure state machines (sessions, groups, ordering).
 * Nothing here touches sockets, clocks or files. The ring id is the wire's RingId
 * (src/wire/daemon/header.ts).
 */
import type { RingId } from '../../wire/daemon/header.js';

/** A group id: the ring id current when the group view was (re)based, and a view counter. */
export interface GroupId {
  readonly ringId: RingId;
  readonly index: number;
}

/** A daemon of the configuration, as the core needs to know it. */
export interface DaemonRef {
  /** Daemon (proc) name, 1..19 bytes. */
  readonly name: string;
  /** Proc id as a signed int32 (`ipToProcId`). */
  readonly procId: number;
}

/** The IP `a.b.c.d` as the reference's proc id: the int32 `a<<24 | b<<16 | c<<8 | d`. */
export function ipToProcId(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new RangeError(`not a dotted IPv4 address: ${ip}`);
  let v = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new RangeError(`not a dotted IPv4 address: ${ip}`);
    v = (v << 8) | n;
  }
  return v | 0;
}

/** Dotted form of a proc id / host-order IPv4 value. */
export { ipString as procIdToIp } from '../../wire/daemon/constants.js';

/**
 * The client's address as the reference's IP access control sees it: the host-order IPv4 value
 * for TCP (IPv4-mapped IPv6 is unwrapped), 0 for a unix-socket client and for anything else.
 */
export function clientAddressValue(remote: string | undefined): number {
  if (remote === undefined) return 0;
  const v4 = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
  try {
    return ipToProcId(v4) >>> 0;
  } catch {
    return 0;
  }
}
