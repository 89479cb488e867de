/**
 * spread.conf parser: the 4.4 grammar as a recursive-descent parser over `Lexer` tokens.
 *
 *   config     := ( segment | routes | setting )* EOF
 *   segment    := 'Spread_Segment' IP '{' daemon* '}'
 *   daemon     := STRING [IP] [ '{' iface* '}' ]
 *   iface      := ('M' | 'C' | 'D')* IP
 *   routes     := 'RouteMatrix' '{' LINKCOST* '}'
 *   setting    := 'DebugFlags' '=' '{' ( FLAG | '!' FLAG )* '}'
 *               | 'EventPriority' '=' PRIORITY        | 'EventLogFile' '=' STRING
 *               | 'EventTimeStamp' [ '=' STRING ]     | 'EventPreciseTimeStamp'
 *               | 'DangerousMonitor' '=' BOOL         | 'SocketPortReuse' '=' TRISTATE
 *               | 'RuntimeDir' | 'DaemonUser' | 'DaemonGroup' '=' STRING
 *               | 'AllowedAuthMethods' | 'RequiredAuthMethods' | 'AccessControlPolicy' '=' STRING
 *               | 'LinkProtocol' '=' ( 'Hop' | 'TcpHop' )  | 'AcceleratedRing' '=' BOOL
 *               | 'MaxSessionMessages' | 'Window' | 'PersonalWindow' | 'AcceleratedWindow'
 *                 | <nine timeouts> '=' NUMBER
 *               | 'DebugInitialSequence'
 *
 * Statements may come in any order and repeat (the last value wins). The checks the
 * reference makes while parsing (limits, names, values) are made here too; the ones it
 * makes after the file is read are in build.ts. Host names are not resolved here: daemons
 * written without an address are returned unresolved in the draft.
 */
import {
  DEFAULTS,
  IfType,
  KNOWN_ACCESS_POLICIES,
  KNOWN_AUTH_METHODS,
  LIMITS,
  DEFAULT_PORT,
  TIMEOUT_KEYWORDS,
  type AccessControlPolicy,
  type Keyword,
  type TimeoutName,
} from './constants.js';
import { ConfigError, type ConfigErrorCode, type SourcePosition } from './errors.js';
import { Lexer, toByteString, type Token, type TokenKind, type TriState } from './lexer.js';
import type { ConfigSettings, ConfigWarning, Interface } from './types.js';

export interface DaemonDecl {
  readonly name: string;
  readonly at: SourcePosition;
  /** The address on the daemon line, or null when the name must be resolved. */
  readonly address: { readonly address: string; readonly ip: number } | null;
  /** The interface block, or null when the line has none. */
  readonly interfaces: readonly Interface[] | null;
}

export interface SegmentDecl {
  readonly address: string;
  readonly ip: number;
  readonly port: number;
  readonly at: SourcePosition;
  readonly daemons: readonly DaemonDecl[];
}

/** Settings as parsed; the timeouts are kept one by one until build.ts checks all-or-none. */
export type DraftSettings = Omit<ConfigSettings, 'timeouts'>;

export interface ConfigDraft {
  readonly fileName: string;
  readonly segments: readonly SegmentDecl[];
  readonly settings: DraftSettings;
  readonly timeouts: Readonly<Partial<Record<TimeoutName, number>>>;
  /** Where the last Window / PersonalWindow / AcceleratedWindow and the first timeout stand. */
  readonly positions: Readonly<Partial<Record<'Window' | 'PersonalWindow' | 'AcceleratedWindow' | 'timeout', SourcePosition>>>;
  readonly warnings: readonly ConfigWarning[];
  /** End of the file. */
  readonly end: SourcePosition;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type TokenOf<K extends TokenKind> = Extract<Token, { kind: K }>;

/** Parses the text of a spread.conf file (a JS string is read as UTF-8; bytes as-is). */
export function parseDraft(source: string | Uint8Array, fileName: string): ConfigDraft {
  return new Parser(toByteString(source), fileName).parse();
}

class Parser {
  private readonly lexer: Lexer;
  private lookahead: Token | null = null;
  private readonly segments: SegmentDecl[] = [];
  private readonly names = new Set<string>();
  private daemonCount = 0;
  private readonly settings: Mutable<DraftSettings> = {
    debugFlags: DEFAULTS.debugFlags,
    eventPriority: DEFAULTS.eventPriority,
    eventLogFile: null,
    eventTimeStamp: null,
    eventPreciseTimeStamp: false,
    dangerousMonitor: DEFAULTS.dangerousMonitor,
    socketPortReuse: DEFAULTS.socketPortReuse,
    runtimeDir: DEFAULTS.runtimeDir,
    daemonUser: DEFAULTS.daemonUser,
    daemonGroup: DEFAULTS.daemonGroup,
    allowedAuthMethods: DEFAULTS.allowedAuthMethods,
    requiredAuthMethods: [],
    accessControlPolicy: DEFAULTS.accessControlPolicy,
    maxSessionMessages: DEFAULTS.maxSessionMessages,
    linkProtocol: null,
    routeMatrix: [],
    window: DEFAULTS.window,
    personalWindow: DEFAULTS.personalWindow,
    acceleratedRing: null,
    acceleratedWindow: DEFAULTS.acceleratedWindow,
    debugInitialSequence: false,
  };
  private readonly timeouts: Partial<Record<TimeoutName, number>> = {};
  private readonly positions: Mutable<ConfigDraft['positions']> = {};
  private readonly warnings: ConfigWarning[] = [];
  /** Enabled / required auth methods once an auth keyword has been seen (the default NULL is dropped then). */
  private auth: { enabled: Set<string>; required: Set<string> } | null = null;

  constructor(
    source: string,
    private readonly fileName: string,
  ) {
    this.lexer = new Lexer(source, fileName);
  }

  parse(): ConfigDraft {
    while (this.peek().kind !== 'eof') this.statement();
    return {
      fileName: this.fileName,
      segments: this.segments,
      settings: this.settings,
      timeouts: this.timeouts,
      positions: this.positions,
      warnings: [...this.lexer.warnings, ...this.warnings].sort((a, b) => a.line - b.line || a.column - b.column),
      end: this.lexer.position,
    };
  }

  // ---- token plumbing -------------------------------------------------------------------

  /** The next token, read only when needed (so errors come out in file order). */
  private peek(): Token {
    this.lookahead ??= this.lexer.next();
    return this.lookahead;
  }

  private take(): Token {
    const token = this.peek();
    this.lookahead = null;
    return token;
  }

  private expect<K extends TokenKind>(kind: K, expected: string): TokenOf<K> {
    const token = this.peek();
    if (token.kind !== kind) throw this.syntax(token, expected);
    this.lookahead = null;
    return token as TokenOf<K>;
  }

  private syntax(token: Token, expected: string): ConfigError {
    const found = token.kind === 'eof' ? 'end of file' : `'${shorten(token.text)}'`;
    return new ConfigError('SYNTAX', this.fileName, token, `syntax error: unexpected ${found}, expected ${expected}`);
  }

  private fail(code: ConfigErrorCode, at: SourcePosition, reason: string): ConfigError {
    return new ConfigError(code, this.fileName, at, reason);
  }

  // ---- statements -----------------------------------------------------------------------

  private statement(): void {
    const token = this.peek();
    if (token.kind !== 'keyword') throw this.syntax(token, 'a segment, RouteMatrix or setting keyword');
    const keyword = token.keyword;
    if (keyword === 'Spread_Segment') return this.segment();
    if (keyword === 'RouteMatrix') return this.routeMatrix();
    if (keyword in TIMEOUT_KEYWORDS) return this.timeout(keyword as keyof typeof TIMEOUT_KEYWORDS);
    this.take();
    const s = this.settings;
    switch (keyword) {
      case 'DebugFlags':
        s.debugFlags = this.debugFlags();
        return;
      case 'EventPriority':
        s.eventPriority = this.value('priority', 'a priority (pDEBUG INFO WARNING ERROR CRITICAL FATAL)').level;
        return;
      case 'EventLogFile':
        s.eventLogFile = this.value('string', 'a file name').value;
        return;
      case 'EventTimeStamp':
        if (this.peek().kind === 'equals') {
          this.take();
          s.eventTimeStamp = this.expect('string', 'a time stamp format').value;
        } else {
          s.eventTimeStamp = true;
        }
        return;
      case 'EventPreciseTimeStamp':
        s.eventPreciseTimeStamp = true;
        return;
      case 'DebugInitialSequence':
        s.debugInitialSequence = true;
        return;
      case 'DangerousMonitor':
        s.dangerousMonitor = this.value('bool', 'true, yes, false or no').value;
        return;
      case 'AcceleratedRing':
        s.acceleratedRing = this.value('bool', 'true, yes, false or no').value;
        return;
      case 'SocketPortReuse':
        s.socketPortReuse = this.value('triState', 'on, off or auto').value satisfies TriState;
        return;
      case 'RuntimeDir':
        s.runtimeDir = this.text(s.runtimeDir, LIMITS.maxPathLength, 'RuntimeDir');
        return;
      case 'DaemonUser':
        s.daemonUser = this.text(s.daemonUser, LIMITS.maxUserGroupLength, 'DaemonUser');
        return;
      case 'DaemonGroup':
        s.daemonGroup = this.text(s.daemonGroup, LIMITS.maxUserGroupLength, 'DaemonGroup');
        return;
      case 'AllowedAuthMethods':
      case 'RequiredAuthMethods':
        this.authMethods(keyword);
        return;
      case 'AccessControlPolicy': {
        const policy = this.value('string', 'a policy name');
        if (!(KNOWN_ACCESS_POLICIES as readonly string[]).includes(policy.value)) {
          throw this.fail('UNKNOWN_ACCESS_POLICY', policy, `unknown access control policy '${policy.value}' (known: PERMIT)`);
        }
        s.accessControlPolicy = policy.value as AccessControlPolicy;
        return;
      }
      case 'LinkProtocol': {
        this.expect('equals', "'='");
        const token = this.peek();
        if (token.kind !== 'keyword' || (token.keyword !== 'Hop' && token.keyword !== 'TcpHop')) {
          throw this.syntax(token, 'Hop or TcpHop');
        }
        this.take();
        s.linkProtocol = token.keyword;
        return;
      }
      case 'MaxSessionMessages':
        s.maxSessionMessages = this.value('number', 'a number').value;
        return;
      case 'Window':
      case 'PersonalWindow':
      case 'AcceleratedWindow': {
        const number = this.value('number', 'a number');
        if (keyword !== 'AcceleratedWindow' && number.value <= 0) {
          throw this.fail('NON_POSITIVE', number, `${keyword} must be positive`);
        }
        this.positions[keyword] = token;
        const field = keyword === 'Window' ? 'window' : keyword === 'PersonalWindow' ? 'personalWindow' : 'acceleratedWindow';
        s[field] = number.value;
        return;
      }
      default:
        throw this.syntax(token, 'a segment, RouteMatrix or setting keyword');
    }
  }

  /** `= <token of kind>` */
  private value<K extends TokenKind>(kind: K, expected: string): TokenOf<K> {
    this.expect('equals', "'='");
    return this.expect(kind, expected);
  }

  /** `= STRING` for a value with a length limit; an empty value is ignored. */
  private text(current: string, maxLength: number, keyword: Keyword): string {
    const token = this.value('string', 'a value');
    if (token.value === '') {
      this.warn('EMPTY_VALUE_IGNORED', token, `empty ${keyword} ignored`);
      return current;
    }
    if (token.value.length > maxLength) {
      throw this.fail('VALUE_TOO_LONG', token, `${keyword} value longer than ${maxLength} bytes`);
    }
    return token.value;
  }

  private debugFlags(): number {
    this.expect('equals', "'='");
    this.expect('openBrace', "'{'");
    let mask = 0;
    for (;;) {
      const token = this.take();
      if (token.kind === 'closeBrace') return mask >>> 0;
      if (token.kind === 'debugFlag') {
        mask |= token.mask;
      } else if (token.kind === 'bang') {
        mask &= ~this.expect('debugFlag', 'a debug flag name').mask;
      } else {
        throw this.syntax(token, "a debug flag name, '!' or '}'");
      }
    }
  }

  private authMethods(keyword: 'AllowedAuthMethods' | 'RequiredAuthMethods'): void {
    const list = this.value('string', 'a quoted list of method names');
    this.auth ??= { enabled: new Set(), required: new Set() };
    const target = keyword === 'AllowedAuthMethods' ? this.auth.enabled : this.auth.required;
    for (const method of list.value.split(' ')) {
      if (method === '') continue;
      if ((KNOWN_AUTH_METHODS as readonly string[]).includes(method)) {
        target.add(method);
      } else {
        this.warn('UNKNOWN_AUTH_METHOD', list, `unknown authentication method '${method}' ignored`);
      }
    }
    const ordered = (set: Set<string>) => KNOWN_AUTH_METHODS.filter((m) => set.has(m));
    this.settings.allowedAuthMethods = ordered(this.auth.enabled);
    this.settings.requiredAuthMethods = ordered(this.auth.required);
  }

  private timeout(keyword: keyof typeof TIMEOUT_KEYWORDS): void {
    const token = this.take();
    const number = this.value('number', 'a number of milliseconds');
    if (number.value <= 0) throw this.fail('NON_POSITIVE', number, `${keyword} must be positive`);
    this.positions.timeout ??= token;
    this.timeouts[TIMEOUT_KEYWORDS[keyword]] = number.value;
  }

  private routeMatrix(): void {
    this.take();
    this.expect('openBrace', "'{'");
    const rows: number[][] = [];
    for (;;) {
      const token = this.take();
      if (token.kind === 'closeBrace') break;
      if (token.kind !== 'linkCost') throw this.syntax(token, "a row of link costs or '}'");
      if (token.costs.length < this.segments.length) {
        throw this.fail('ROUTE_MATRIX', token, `route matrix row has ${token.costs.length} entries, ${this.segments.length} segments are defined`);
      }
      rows.push([...token.costs]);
    }
    this.settings.routeMatrix = [...this.settings.routeMatrix, ...rows];
  }

  // ---- segments and daemons -------------------------------------------------------------

  private segment(): void {
    const keyword = this.take();
    if (this.segments.length >= LIMITS.maxSegments) {
      throw this.fail('TOO_MANY_SEGMENTS', keyword, `too many segments (${LIMITS.maxSegments} max)`);
    }
    const address = this.expect('ip', 'the segment broadcast address');
    this.expect('openBrace', "'{'");
    const daemons: DaemonDecl[] = [];
    for (;;) {
      const token = this.peek();
      if (token.kind === 'closeBrace') break;
      if (token.kind !== 'string') throw this.syntax(token, "a daemon name or '}'");
      daemons.push(this.daemon());
    }
    this.take();
    this.segments.push({
      address: address.address,
      ip: address.ip,
      port: address.port === null || address.port === 0 ? DEFAULT_PORT : address.port,
      at: keyword,
      daemons,
    });
  }

  private daemon(): DaemonDecl {
    const name = this.expect('string', 'a daemon name');
    let address: DaemonDecl['address'] = null;
    let interfaces: Interface[] | null = null;
    if (this.peek().kind === 'ip') {
      const ip = this.take() as TokenOf<'ip'>;
      address = { address: ip.address, ip: ip.ip };
    }
    let open: SourcePosition | null = null;
    if (this.peek().kind === 'openBrace') {
      open = this.take();
      interfaces = this.interfaceBlock();
    }
    // Checked once the line is complete, in the reference's order.
    if (name.value.length >= LIMITS.maxNameBytes) {
      throw this.fail('NAME_TOO_LONG', name, `daemon name '${name.value}' is too long (${LIMITS.maxNameBytes - 1} bytes max)`);
    }
    if (this.names.has(name.value)) {
      throw this.fail('DUPLICATE_NAME', name, `daemon name '${name.value}' is not unique`);
    }
    if (this.daemonCount >= LIMITS.maxDaemons) {
      throw this.fail('TOO_MANY_DAEMONS', name, `too many daemons (${LIMITS.maxDaemons} max)`);
    }
    if (open !== null && interfaces?.length === 0) {
      throw this.fail('EMPTY_INTERFACE_BLOCK', open, `daemon '${name.value}' has an interface block without interfaces`);
    }
    this.names.add(name.value);
    this.daemonCount++;
    return { name: name.value, at: name, address, interfaces };
  }

  private interfaceBlock(): Interface[] {
    const interfaces: Interface[] = [];
    for (;;) {
      let type = 0;
      let token = this.take();
      if (token.kind === 'closeBrace') return interfaces;
      while (token.kind === 'ifType') {
        type |= token.mask;
        token = this.take();
      }
      if (token.kind !== 'ip') throw this.syntax(token, type === 0 ? "an interface (M, C, D, an address) or '}'" : 'M, C, D or an address');
      if (interfaces.length >= LIMITS.maxInterfaces) {
        throw this.fail('TOO_MANY_INTERFACES', token, `too many interfaces (${LIMITS.maxInterfaces} max)`);
      }
      interfaces.push({ address: token.address, ip: token.ip, port: token.port ?? 0, type: type === 0 ? IfType.ALL : type });
    }
  }

  private warn(code: ConfigWarning['code'], at: SourcePosition, message: string): void {
    this.warnings.push({ code, message, line: at.line, column: at.column });
  }
}

function shorten(text: string): string {
  const oneLine = text.replace(/\n/g, '\\n');
  return oneLine.length > 40 ? `${oneLine.slice(0, 37)}...` : oneLine;
}
