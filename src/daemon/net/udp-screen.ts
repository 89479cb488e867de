/**
 * The cheap checks of the reference's receive path that need no protocol state
 * (network.c Net_recv / Net_recv_token; PROTOCOL-NOTES B.2, B.6.1; SPEC.md Part IV §8–§9),
 * in the reference's order. Pure: the UDP edge counts and logs, the simulator can reuse it.
 *
 *   data channel (packet_header)           token channel (token_header)
 *   1. < 40 bytes              ⇒ short     1. < 40 bytes            ⇒ short
 *   2. endian marker half set  ⇒ badMarker 2. marker half set       ⇒ badMarker
 *   3. conf_hash ∉ {mine,1100} ⇒ wrongHash 3. conf_hash ≠ mine      ⇒ wrongHash (no monitor exception)
 *   4. PARTITION               ⇒ pass      4. length ≠ 40 + rtr_len ⇒ badLength
 *      (handled there by the reference, before the checks below)
 *   5. transmiter_id == me     ⇒ ownEcho
 *   6. length ≠ 40 + data_len  ⇒ badLength
 *
 * Left to the layers above (they need state): the monitor partition component (step 5 of the
 * reference), ROUTED relay, every per-type check. Tokens have no echo rule: a singleton ring
 * sends its token to itself. The reference flips a half-set marker as "foreign order" and reads
 * garbage; no Spread writer produces one, so it is dropped here. A data datagram longer than
 * 1472 bytes is cut to 1472 by the reference's receive buffers and then fails the length check:
 * counted as badLength too.
 */
import { MONITOR_HASH, PacketType, Size } from '../../wire/daemon/constants.js';
import { Reader } from '../../wire/bytes.js';
import type { Channel } from '../ring/actions.js';

export const UdpDrop = {
  SHORT: 'short',
  BAD_MARKER: 'badMarker',
  WRONG_HASH: 'wrongHash',
  OWN_ECHO: 'ownEcho',
  BAD_LENGTH: 'badLength',
} as const;
export type UdpDrop = (typeof UdpDrop)[keyof typeof UdpDrop];

export const UDP_DROP_REASONS: readonly UdpDrop[] = Object.values(UdpDrop);

const HEADER = Size.PACKET_HEADER; // = Size.TOKEN_HEADER
const MAX_DATA_DATAGRAM = Size.MAX_PACKET;

/**
 * Why the reference would drop this datagram before any protocol state is consulted, or null
 * when it goes up. `myId` is my proc id, `confHash` my configuration hash (either signedness).
 * Never throws, whatever the bytes.
 */
export function screenDatagram(channel: Channel, bytes: Uint8Array, myId: number, confHash: number): UdpDrop | null {
  const n = bytes.length;
  if (n < HEADER) return UdpDrop.SHORT;
  const hi = bytes[0]! & 0x80;
  if (hi !== (bytes[3]! & 0x80)) return UdpDrop.BAD_MARKER;
  // Both marker bits set: a little-endian writer; both clear: big-endian (wire/bytes).
  const r = new Reader(bytes, hi !== 0, n);
  const mine = confHash >>> 0;
  if (channel === 'token') {
    if (r.u32(36) !== mine) return UdpDrop.WRONG_HASH;
    if (n !== HEADER + r.i16(34)) return UdpDrop.BAD_LENGTH;
    return null;
  }
  const hash = r.u32(28);
  if (hash !== mine && hash !== MONITOR_HASH) return UdpDrop.WRONG_HASH;
  if ((r.u32(0) & PacketType.PARTITION) !== 0) return null;
  if (r.i32(4) === (myId | 0)) return UdpDrop.OWN_ECHO;
  if (n > MAX_DATA_DATAGRAM || n !== HEADER + r.i16(32)) return UdpDrop.BAD_LENGTH;
  return null;
}

/** Header fields worth logging for a dropped datagram (best effort: zeros when too short). */
export function describeDatagram(channel: Channel, bytes: Uint8Array): { procId: number; transmitterId: number; confHash: number } {
  if (bytes.length < HEADER) return { procId: 0, transmitterId: 0, confHash: 0 };
  const r = new Reader(bytes, (bytes[0]! & 0x80) !== 0, bytes.length);
  return { procId: r.i32(8), transmitterId: r.i32(4), confHash: r.u32(channel === 'token' ? 36 : 28) };
}
