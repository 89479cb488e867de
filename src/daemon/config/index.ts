/**
 * spread.conf: parse, check, resolve, hash. `parseConfig` is pure and synchronous;
 * `loadConfig` reads the file and resolves daemon names written without an address.
 */
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';

import { buildConfig, type HostTable } from './build.js';
import { ConfigError } from './errors.js';
import { parseDraft, type ConfigDraft } from './parser.js';
import type { SpreadConfig } from './types.js';

export { canonicalString, configHash, formatCheckOutput, hashString, ipToString } from './hash.js';
export { acceleratedRingAtStart, effectiveTimeouts, expandLogFileName, isWideNetwork, selectDaemon } from './runtime.js';
export type { SelectDaemonOptions } from './runtime.js';
export { ConfigError, ConfigErrorCode, DaemonSelectionError, DaemonSelectionErrorCode } from './errors.js';
export type { SourcePosition } from './errors.js';
export {
  DEBUG_FLAGS,
  DEFAULT_DEBUG_FLAGS,
  DEFAULT_PORT,
  DEFAULTS,
  IfType,
  LAN_TIMEOUTS,
  LIMITS,
  WAN_TIMEOUTS,
} from './constants.js';
export type { EventPriority, MembershipTimeouts, TimeoutName } from './constants.js';
export type { ConfigSettings, ConfigWarning, DaemonSpec, Interface, Segment, SpreadConfig } from './types.js';
export type { HostTable } from './build.js';
export { parseDraft } from './parser.js';
export type { ConfigDraft } from './parser.js';

/**
 * The configuration used when none is given: one loopback segment with one daemon,
 * `localhost` at 127.0.0.1 (the reference's sample file minus its `DangerousMonitor = true`;
 * same hash, 3871598377).
 */
export const DEFAULT_CONFIG_TEXT = `# Default Spread configuration: one daemon on the loopback segment.
Spread_Segment  127.0.0.255:4803 {
\tlocalhost\t127.0.0.1
}
`;

export interface ParseOptions {
  /** Addresses for daemons written without one, by daemon name. */
  readonly hosts?: HostTable | Readonly<Record<string, string>>;
}

/**
 * Parses and checks a configuration. A JS string is read as UTF-8, bytes as-is.
 * Daemons written without an address need `options.hosts` (or use `loadConfig`).
 * @throws ConfigError
 */
export function parseConfig(source: string | Uint8Array, fileName: string, options: ParseOptions = {}): SpreadConfig {
  const hosts = options.hosts instanceof Map ? options.hosts : new Map(Object.entries(options.hosts ?? {}));
  return buildConfig(parseDraft(source, fileName), hosts);
}

/** Resolves a host name to a dotted IPv4 address, or undefined if it has none. */
export type Resolver = (hostname: string) => Promise<string | undefined>;

/** System resolver (hosts file, then DNS), first IPv4 address. */
export const systemResolver: Resolver = async (hostname) => {
  try {
    return (await lookup(hostname, { family: 4 })).address;
  } catch {
    return undefined;
  }
};

/** Names of daemons written without an address, in file order. */
export function unresolvedNames(draft: ConfigDraft): string[] {
  return draft.segments.flatMap((s) => s.daemons.filter((d) => d.address === null).map((d) => d.name));
}

/** Parses and checks a configuration, resolving daemon names that have no address. */
export async function parseConfigAsync(
  source: string | Uint8Array,
  fileName: string,
  resolve: Resolver = systemResolver,
): Promise<SpreadConfig> {
  const draft = parseDraft(source, fileName);
  const names = unresolvedNames(draft);
  const addresses = await Promise.all(names.map((name) => resolve(name)));
  const hosts = new Map<string, string>();
  names.forEach((name, i) => {
    const address = addresses[i];
    if (address !== undefined) hosts.set(name, address);
  });
  return buildConfig(draft, hosts);
}

/**
 * Reads, parses and checks a configuration file; daemon names without an address are
 * resolved with `resolve` (the system resolver by default).
 * @throws ConfigError (code UNREADABLE when the file cannot be read)
 */
export async function loadConfig(path: string, resolve: Resolver = systemResolver): Promise<SpreadConfig> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError('UNREADABLE', path, { line: 1, column: 1 }, `cannot read configuration: ${reason}`, { cause: error });
  }
  return parseConfigAsync(bytes, path, resolve);
}
