/**
 * The configuration hash every daemon puts in each packet and token; daemons whose hashes
 * differ ignore each other.
 *
 * Canonical string (built segment by segment in file order):
 *   "Segment A.B.C.D:PORT "
 *   per daemon:    "<name> A.B.C.D "            (the daemon's id address)
 *   per interface: "ANY " "D " "C " "M "        (each only if its bit is set, in this order)
 *                  "A.B.C.D "
 *   "\n" after each segment; then "Version: 4.4\n" and '0' or '1' (AcceleratedRing = true).
 *
 * Hash over the bytes of that string (32-bit unsigned, each byte added as a SIGNED char):
 *   h = n ^ n<<8 ^ n<<16 ^ n<<24            (n = length)
 *   per byte c: h += c; h += h<<10; h ^= h>>>6
 *   h += h<<3; h ^= h>>>11; h += h<<15
 */
import { int8 } from '../../wire/bytes.js';
import { ipString as ipToString } from '../../wire/daemon/constants.js';
import { IfType, SPREAD_VERSION } from './constants.js';
import type { DaemonSpec, Segment, SpreadConfig } from './types.js';

export { ipToString };

/** The canonical string of one segment, "\n" included. */
export function segmentString(segment: Segment): string {
  let out = `Segment ${ipToString(segment.ip)}:${segment.port} `;
  for (const daemon of segment.daemons) out += daemonString(daemon);
  return `${out}\n`;
}

function daemonString(daemon: DaemonSpec): string {
  let out = `${daemon.name} ${ipToString(daemon.id)} `;
  for (const ifc of daemon.interfaces) {
    if (ifc.type & IfType.ANY) out += 'ANY ';
    if (ifc.type & IfType.DAEMON) out += 'D ';
    if (ifc.type & IfType.CLIENT) out += 'C ';
    if (ifc.type & IfType.MONITOR) out += 'M ';
    out += `${ipToString(ifc.ip)} `;
  }
  return out;
}

/** The string the reference hashes. A byte string: one char per byte (names are bytes). */
export function canonicalString(config: Pick<SpreadConfig, 'segments' | 'settings'>): string {
  const segments = config.segments.map(segmentString).join('');
  const ring = config.settings.acceleratedRing === true ? '1' : '0';
  return `${segments}Version: ${SPREAD_VERSION.major}.${SPREAD_VERSION.minor}\n${ring}`;
}

/** The 32-bit hash of a byte string (char codes 0..255), as the reference computes it. */
export function hashString(bytes: string): number {
  const n = bytes.length;
  // The seed: the length XORed in at each of the four byte positions.
  let h = 0;
  for (let shift = 0; shift < 32; shift += 8) h ^= n << shift;
  h >>>= 0;
  for (let i = 0; i < n; i++) {
    h = (h + int8(bytes.charCodeAt(i))) >>> 0;
    h = (h + (h << 10)) >>> 0;
    h = (h ^ (h >>> 6)) >>> 0;
  }
  h = (h + (h << 3)) >>> 0;
  h = (h ^ (h >>> 11)) >>> 0;
  h = (h + (h << 15)) >>> 0;
  return h;
}

/** The configuration hash (unsigned 32-bit), as logged by the reference daemon. */
export function configHash(config: Pick<SpreadConfig, 'segments' | 'settings'>): number {
  return hashString(canonicalString(config));
}

/**
 * What `spread -c FILE --check` prints: the canonical string, then `config hash: N`.
 * Like the canonical string it is a byte string: write it with the 'latin1' encoding.
 */
export function formatCheckOutput(config: Pick<SpreadConfig, 'segments' | 'settings'>): string {
  const canonical = canonicalString(config);
  return `${canonical}\nconfig hash: ${hashString(canonical)}\n`;
}
