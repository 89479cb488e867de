/** The loaded form of a spread.conf file. */
import type { AccessControlPolicy, EventPriority, MembershipTimeouts } from './constants.js';
import type { SourcePosition } from './errors.js';
import type { TriState } from './lexer.js';

/** One interface of a daemon. */
export interface Interface {
  /** Dotted quad, e.g. `127.0.0.1`. */
  readonly address: string;
  /** The same address as an unsigned 32-bit value `a<<24 | b<<16 | c<<8 | d`. */
  readonly ip: number;
  /** Port written after the address in the block (0 if none); the daemon does not use it. */
  readonly port: number;
  /** IfType bits: MONITOR 1, CLIENT 2, DAEMON 4, ANY 8 (wildcard bind). */
  readonly type: number;
}

/** One daemon (a "proc" in the reference). */
export interface DaemonSpec {
  /** Byte string: each char is one byte of the file. Shorter than 20 bytes, unique. */
  readonly name: string;
  /** The daemon's id address: as written, or resolved from the name. */
  readonly address: string;
  /** `address` as an unsigned 32-bit value; this is the daemon's proc id on the wire. */
  readonly id: number;
  /** Always the segment's port. */
  readonly port: number;
  readonly segmentIndex: number;
  readonly indexInSegment: number;
  /** Never empty. Without a block: one interface { address, type ALL|ANY }. */
  readonly interfaces: readonly Interface[];
  /** Where the daemon's name stands in the file. */
  readonly at: SourcePosition;
}

export interface Segment {
  /** Broadcast or multicast address of the segment, dotted. */
  readonly address: string;
  readonly ip: number;
  /** Data port (token port is port + 1); 4803 when not written or written as 0. */
  readonly port: number;
  /** In file order; may be empty (the reference accepts it, see SPEC.md Part II). */
  readonly daemons: readonly DaemonSpec[];
  readonly at: SourcePosition;
}

export interface ConfigSettings {
  /** Alarm mask (DebugFlags); default PRINT|EXIT|CONFIGURATION. */
  readonly debugFlags: number;
  readonly eventPriority: EventPriority;
  /** As written; `%h`/`%H` stand for the host name (see expandLogFileName). */
  readonly eventLogFile: string | null;
  /** null: no time stamps; true: default format; a string: strftime format. */
  readonly eventTimeStamp: string | true | null;
  readonly eventPreciseTimeStamp: boolean;
  readonly dangerousMonitor: boolean;
  readonly socketPortReuse: TriState;
  readonly runtimeDir: string;
  readonly daemonUser: string;
  readonly daemonGroup: string;
  /** Enabled authentication methods; default ['NULL'], replaced once either auth keyword appears. */
  readonly allowedAuthMethods: readonly string[];
  readonly requiredAuthMethods: readonly string[];
  readonly accessControlPolicy: AccessControlPolicy;
  readonly maxSessionMessages: number;
  /** Parsed but unused by a 4.4 (protocol 3) daemon. */
  readonly linkProtocol: 'Hop' | 'TcpHop' | null;
  /** Parsed but unused; one row per LINKCOST line. */
  readonly routeMatrix: readonly (readonly number[])[];
  readonly window: number;
  readonly personalWindow: number;
  /** null when the file does not say: then the hash uses '0' and the daemon starts in the original ring mode. */
  readonly acceleratedRing: boolean | null;
  readonly acceleratedWindow: number;
  /** null when none is configured (defaults depend on the network, see effectiveTimeouts). */
  readonly timeouts: MembershipTimeouts | null;
  readonly debugInitialSequence: boolean;
}

export type ConfigWarningCode = 'COST_CLAMPED' | 'UNKNOWN_AUTH_METHOD' | 'EMPTY_VALUE_IGNORED';

/** Something the reference logs and carries on with. */
export interface ConfigWarning extends SourcePosition {
  readonly code: ConfigWarningCode;
  readonly message: string;
}

export interface SpreadConfig {
  readonly fileName: string;
  readonly segments: readonly Segment[];
  /** Every daemon in file order (segment by segment). */
  readonly daemons: readonly DaemonSpec[];
  readonly settings: ConfigSettings;
  readonly warnings: readonly ConfigWarning[];
}
