/**
 * What a starting daemon derives from its configuration: which entry is itself, whether the
 * configuration counts as a wide-area network, and the membership timeouts that follow.
 */
import { LAN_TIMEOUTS, LIMITS, WAN_TIMEOUTS, type MembershipTimeouts } from './constants.js';
import { DaemonSelectionError } from './errors.js';
import { parseIpv4 } from './build.js';
import { toByteString } from './lexer.js';
import type { DaemonSpec, SpreadConfig } from './types.js';

export interface SelectDaemonOptions {
  /** `-n NAME`: pick the daemon by name. */
  readonly name?: string;
  /** Local interface addresses, in the order the host lists them (non-IPv4 entries are skipped). */
  readonly localAddresses: readonly string[];
}

/**
 * The daemon's own entry: by `name` when given; otherwise the first local address (in the
 * order given) that is an interface address of some daemon, that daemon being the first in
 * file order with such an interface. Interface addresses count, not only daemon ids.
 */
export function selectDaemon(config: Pick<SpreadConfig, 'daemons'>, options: SelectDaemonOptions): DaemonSpec {
  if (options.name !== undefined) {
    const name = toByteString(options.name);
    if (name.length >= LIMITS.maxNameBytes) {
      throw new DaemonSelectionError('NAME_TOO_LONG', `daemon name '${options.name}' is too long (${LIMITS.maxNameBytes - 1} bytes max)`);
    }
    const found = config.daemons.find((d) => d.name === name);
    if (found === undefined) {
      throw new DaemonSelectionError('DAEMON_NOT_FOUND', `my daemon '${options.name}' is not in the configuration`);
    }
    return found;
  }
  for (const local of options.localAddresses) {
    const ip = parseIpv4(local);
    if (ip === undefined) continue;
    const found = config.daemons.find((d) => d.interfaces.some((i) => i.ip === ip));
    if (found !== undefined) return found;
  }
  throw new DaemonSelectionError(
    'NO_LOCAL_DAEMON',
    `none of the local addresses (${options.localAddresses.join(', ') || 'none'}) is in the configuration`,
  );
}

/**
 * True when some segment's first daemon is outside the /16 of segment 0's first daemon
 * (the reference compares the top 16 bits of the daemon ids). Empty segments are skipped;
 * the reference would crash on them.
 */
export function isWideNetwork(config: Pick<SpreadConfig, 'segments'>): boolean {
  const leaders = config.segments.flatMap((s) => (s.daemons[0] === undefined ? [] : [s.daemons[0].id]));
  const reference = leaders[0];
  return reference !== undefined && leaders.some((id) => id >>> 16 !== reference >>> 16);
}

/** The configured timeouts, or the LAN / WAN defaults (ms). */
export function effectiveTimeouts(config: Pick<SpreadConfig, 'segments' | 'settings'>): MembershipTimeouts {
  return config.settings.timeouts ?? (isWideNetwork(config) ? WAN_TIMEOUTS : LAN_TIMEOUTS);
}

/**
 * Whether the daemon starts in accelerated-ring mode. In 4.4.0 only an explicit
 * `AcceleratedRing = true` does: when the keyword is absent the documented "accelerated on a
 * LAN" default is applied too late and the daemon runs the original protocol (hash char '0').
 */
export function acceleratedRingAtStart(config: Pick<SpreadConfig, 'settings'>): boolean {
  return config.settings.acceleratedRing === true;
}

/** EventLogFile with `%h` / `%H` replaced by the host name. */
export function expandLogFileName(fileName: string, hostname: string): string {
  return fileName.replace(/%[hH]/g, () => hostname);
}
