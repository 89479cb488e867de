/**
 * From a parsed draft to a SpreadConfig: fills in addresses of daemons written without one
 * (from a host table the caller resolved beforehand) and makes the checks the reference
 * makes after reading the file: loopback segments not mixed with others, canonical string
 * within 20000 characters, PersonalWindow ≤ Window, AcceleratedWindow ≤ PersonalWindow when
 * AcceleratedRing = true, and the nine membership timeouts all given or none.
 */
import { IfType, LIMITS, TIMEOUT_KEYWORDS, type MembershipTimeouts, type TimeoutName } from './constants.js';
import { ConfigError } from './errors.js';
import { ipToString, segmentString } from './hash.js';
import type { ConfigDraft } from './parser.js';
import type { DaemonSpec, Segment, SpreadConfig } from './types.js';

/** Host name → dotted IPv4 address, for daemons written without an address. */
export type HostTable = ReadonlyMap<string, string>;

export function buildConfig(draft: ConfigDraft, hosts: HostTable = new Map()): SpreadConfig {
  const file = draft.fileName;
  const segments: Segment[] = [];
  const daemons: DaemonSpec[] = [];

  draft.segments.forEach((seg, segmentIndex) => {
    const members: DaemonSpec[] = seg.daemons.map((decl, indexInSegment) => {
      let address = decl.address;
      if (address === null) {
        const resolved = hosts.get(decl.name);
        const ip = resolved === undefined ? undefined : parseIpv4(resolved);
        if (ip === undefined) {
          const why = resolved === undefined ? 'was not resolved' : `resolved to '${resolved}', not an IPv4 address`;
          throw new ConfigError('UNKNOWN_HOST', file, decl.at, `no such host '${decl.name}': daemon without an address ${why}`);
        }
        address = { address: ipToString(ip), ip };
      }
      return {
        name: decl.name,
        address: address.address,
        id: address.ip,
        port: seg.port,
        segmentIndex,
        indexInSegment,
        interfaces: decl.interfaces ?? [{ address: address.address, ip: address.ip, port: 0, type: IfType.ALL | IfType.ANY }],
        at: decl.at,
      };
    });
    segments.push({ address: seg.address, ip: seg.ip, port: seg.port, daemons: members, at: seg.at });
    daemons.push(...members);
  });

  // Loopback segments cannot be used together with network segments (decided on the segment address).
  const loopback = (s: Segment) => s.ip >>> 24 === 127;
  const first = segments[0];
  const odd = first === undefined ? undefined : segments.find((s) => loopback(s) !== loopback(first));
  if (odd !== undefined) {
    throw new ConfigError(
      'LOCALHOST_MIX',
      file,
      odd.at,
      `localhost (127.x) segments can not be used along with regular network address segments (segment ${odd.address} vs ${first?.address})`,
    );
  }

  // The reference builds the canonical string in a 20000-byte buffer.
  let length = 0;
  for (const segment of segments) {
    length += segmentString(segment).length;
    if (length > LIMITS.maxCanonicalLength - 14) {
      throw new ConfigError('CONFIG_TOO_LONG', file, segment.at, `configuration too large: its canonical string exceeds ${LIMITS.maxCanonicalLength} characters`);
    }
  }

  const s = draft.settings;
  const pos = draft.positions;
  if (s.personalWindow > s.window) {
    throw new ConfigError(
      'PERSONAL_WINDOW_TOO_BIG',
      file,
      pos.PersonalWindow ?? pos.Window ?? draft.end,
      `PersonalWindow (${s.personalWindow}) > Window (${s.window})`,
    );
  }
  if (s.acceleratedRing === true && s.acceleratedWindow > s.personalWindow) {
    throw new ConfigError(
      'ACCELERATED_WINDOW_TOO_BIG',
      file,
      pos.AcceleratedWindow ?? pos.PersonalWindow ?? draft.end,
      `AcceleratedWindow (${s.acceleratedWindow}) > PersonalWindow (${s.personalWindow})`,
    );
  }

  return {
    fileName: file,
    segments,
    daemons,
    settings: { ...s, timeouts: timeouts(draft) },
    warnings: draft.warnings,
  };
}

function timeouts(draft: ConfigDraft): MembershipTimeouts | null {
  const given = draft.timeouts;
  const names = Object.values(TIMEOUT_KEYWORDS);
  const missing = Object.entries(TIMEOUT_KEYWORDS)
    .filter(([, name]) => given[name] === undefined)
    .map(([keyword]) => keyword);
  if (missing.length === names.length) return null;
  if (missing.length > 0) {
    throw new ConfigError(
      'PARTIAL_TIMEOUTS',
      draft.fileName,
      draft.positions.timeout ?? draft.end,
      `only some of the membership timeouts were specified: if you specify any, you must specify all (missing ${missing.join(', ')})`,
    );
  }
  return Object.fromEntries(names.map((name) => [name, given[name] as number])) as Record<TimeoutName, number>;
}

/** Dotted quad → unsigned 32-bit value, or undefined if not a plain IPv4 address. */
export function parseIpv4(text: string): number | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (match === null) return undefined;
  const octets = match.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}
