/**
 * Fixed facts of the Spread 4.4 configuration file: keyword tables, limits and defaults.
 * See SPEC.md Part II for where each value was verified.
 */

/** Configuration-file limits of the 4.4 daemon. */
export const LIMITS = {
  /** Segments per configuration. */
  maxSegments: 20,
  /** Daemons in the whole configuration (the per-segment limit is the same number). */
  maxDaemons: 128,
  /** Interfaces per daemon. */
  maxInterfaces: 10,
  /** Daemon names are shorter than this many bytes (a C buffer of 20 with its NUL). */
  maxNameBytes: 20,
  /** Longest canonical configuration string, version line and ring character included. */
  maxCanonicalLength: 20000,
  /** Longest DaemonUser / DaemonGroup value. */
  maxUserGroupLength: 32,
  /** Longest RuntimeDir value. */
  maxPathLength: 4096,
  /** Route matrix costs above this are clamped (with a warning). */
  maxLinkCost: 100,
} as const;

export const DEFAULT_PORT = 4803;
export const SPREAD_VERSION = { major: 4, minor: 4 } as const;

/** Interface type bits. A daemon line without a block gets ALL | ANY (bind to the wildcard). */
export const IfType = {
  MONITOR: 0x1,
  CLIENT: 0x2,
  DAEMON: 0x4,
  ALL: 0x7,
  ANY: 0x8,
} as const;

/** Interface letters allowed inside a daemon's `{ … }` block. */
export const IF_LETTERS = { M: IfType.MONITOR, C: IfType.CLIENT, D: IfType.DAEMON } as const;
export type IfLetter = keyof typeof IF_LETTERS;

/** `DebugFlags` names and their alarm-mask bits. */
export const DEBUG_FLAGS = {
  DEBUG: 0x00000001,
  EXIT: 0x00000002,
  PRINT: 0x00000004,
  DATA_LINK: 0x00000010,
  NETWORK: 0x00000020,
  PROTOCOL: 0x00000040,
  SESSION: 0x00000080,
  CONFIGURATION: 0x00000100,
  MEMBERSHIP: 0x00000200,
  FLOW_CONTROL: 0x00000400,
  STATUS: 0x00000800,
  EVENTS: 0x00001000,
  GROUPS: 0x00002000,
  MEMORY: 0x00010000,
  SKIPLIST: 0x00200000,
  ACM: 0x00400000,
  SECURITY: 0x00800000,
  ALL: 0xffffffff,
  NONE: 0x00000000,
} as const;
export type DebugFlagName = keyof typeof DEBUG_FLAGS;

/** Alarm mask when the file has no DebugFlags: PRINT | EXIT | CONFIGURATION. */
export const DEFAULT_DEBUG_FLAGS = DEBUG_FLAGS.PRINT | DEBUG_FLAGS.EXIT | DEBUG_FLAGS.CONFIGURATION;

/** `EventPriority` words (the lowest is spelled `pDEBUG` in the file) and the level they set. */
export const PRIORITY_WORDS = {
  pDEBUG: 'DEBUG',
  INFO: 'INFO',
  WARNING: 'WARNING',
  ERROR: 'ERROR',
  CRITICAL: 'CRITICAL',
  FATAL: 'FATAL',
} as const;
export type EventPriority = (typeof PRIORITY_WORDS)[keyof typeof PRIORITY_WORDS];

/** Words that start a statement or are otherwise reserved (case-sensitive). */
export const KEYWORDS = [
  'Spread_Segment',
  'EventLogFile',
  'EventTimeStamp',
  'EventPreciseTimeStamp',
  'EventPriority',
  'DebugFlags',
  'DangerousMonitor',
  'SocketPortReuse',
  'DebugInitialSequence',
  'RuntimeDir',
  'DaemonUser',
  'DaemonGroup',
  'RequiredAuthMethods',
  'AllowedAuthMethods',
  'AccessControlPolicy',
  'MaxSessionMessages',
  'LinkProtocol',
  'Hop',
  'TcpHop',
  'RouteMatrix',
  'Window',
  'PersonalWindow',
  'AcceleratedRing',
  'AcceleratedWindow',
  'TokenTimeout',
  'HurryTimeout',
  'AliveTimeout',
  'JoinTimeout',
  'RepTimeout',
  'SegTimeout',
  'GatherTimeout',
  'FormTimeout',
  'LookupTimeout',
] as const;
export type Keyword = (typeof KEYWORDS)[number];

/** The nine membership timeouts: file keyword → field name. All or none must be given. */
export const TIMEOUT_KEYWORDS = {
  TokenTimeout: 'token',
  HurryTimeout: 'hurry',
  AliveTimeout: 'alive',
  JoinTimeout: 'join',
  RepTimeout: 'rep',
  SegTimeout: 'seg',
  GatherTimeout: 'gather',
  FormTimeout: 'form',
  LookupTimeout: 'lookup',
} as const;
export type TimeoutKeyword = keyof typeof TIMEOUT_KEYWORDS;
export type TimeoutName = (typeof TIMEOUT_KEYWORDS)[TimeoutKeyword];
/** Membership timeouts in milliseconds. */
export type MembershipTimeouts = Readonly<Record<TimeoutName, number>>;

/** Defaults when no timeout is configured and every segment shares segment 0's /16. */
export const LAN_TIMEOUTS: MembershipTimeouts = {
  token: 1250,
  hurry: 500,
  alive: 250,
  join: 250,
  rep: 625,
  seg: 500,
  gather: 1250,
  form: 1250,
  lookup: 30000,
};

/** Defaults when no timeout is configured and some segment leader is outside segment 0's /16. */
export const WAN_TIMEOUTS: MembershipTimeouts = {
  token: 5000,
  hurry: 1500,
  alive: 250,
  join: 250,
  rep: 1250,
  seg: 500,
  gather: 2500,
  form: 2500,
  lookup: 45000,
};

/** Authentication modules compiled into the stock 4.4 daemon (PWORD needs a build switch). */
export const KNOWN_AUTH_METHODS = ['NULL', 'IP'] as const;
/** Access-control policies of the stock build. */
export const KNOWN_ACCESS_POLICIES = ['PERMIT'] as const;
export type AccessControlPolicy = (typeof KNOWN_ACCESS_POLICIES)[number];

export const DEFAULTS = {
  debugFlags: DEFAULT_DEBUG_FLAGS,
  eventPriority: 'INFO',
  dangerousMonitor: false,
  socketPortReuse: 'auto',
  runtimeDir: '/var/run/spread',
  daemonUser: 'spread',
  daemonGroup: 'spread',
  allowedAuthMethods: ['NULL'],
  accessControlPolicy: 'PERMIT',
  maxSessionMessages: 1000,
  window: 160,
  personalWindow: 20,
  acceleratedWindow: 15,
} as const;
