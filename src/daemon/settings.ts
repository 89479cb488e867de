/**
 * What the daemon takes from its configuration: which entry is itself, where to listen, the
 * daemons in configuration order, and the session settings. The only file outside
 * `config/` that knows the configuration's shape.
 */
import { configHash, IfType } from './config/index.js';
import type { DaemonSpec, SpreadConfig } from './config/index.js';
import type { DaemonRef } from './core/types.js';

export interface DaemonSettings {
  readonly self: DaemonRef;
  /** Segment port: TCP client port, and the unix socket's name. */
  readonly port: number;
  /** TCP listen addresses: each client (or ANY) interface of this daemon; `0.0.0.0` for ANY. */
  readonly tcpHosts: readonly string[];
  /** `/tmp/<port>`. */
  readonly unixPath: string;
  readonly daemons: readonly DaemonRef[];
  readonly maxSessionMessages: number;
  readonly allowedAuthMethods: readonly string[];
  readonly requiredAuthMethods: readonly string[];
  readonly configHash: number;
}

/** The unix socket directory of the reference (SP_UNIX_SOCKET). */
export const UNIX_SOCKET_DIR = '/tmp';

function ref(d: DaemonSpec): DaemonRef {
  return { name: d.name, procId: d.id | 0 };
}

export function deriveSettings(config: SpreadConfig, self: DaemonSpec, unixSocketDir = UNIX_SOCKET_DIR): DaemonSettings {
  const tcpHosts: string[] = [];
  for (const ifc of self.interfaces) {
    if ((ifc.type & (IfType.CLIENT | IfType.ANY)) === 0) continue;
    const host = ifc.type & IfType.ANY ? '0.0.0.0' : ifc.address;
    if (!tcpHosts.includes(host)) tcpHosts.push(host);
  }
  return {
    self: ref(self),
    port: self.port,
    tcpHosts,
    unixPath: `${unixSocketDir}/${self.port}`,
    daemons: config.daemons.map(ref),
    maxSessionMessages: config.settings.maxSessionMessages,
    allowedAuthMethods: config.settings.allowedAuthMethods,
    requiredAuthMethods: config.settings.requiredAuthMethods,
    configHash: configHash(config),
  };
}
