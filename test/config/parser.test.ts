import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  configHash,
  ConfigError,
  DEBUG_FLAGS,
  DEFAULT_DEBUG_FLAGS,
  IfType,
  parseConfig,
  parseDraft,
  type SpreadConfig,
} from '../../src/daemon/config/index.js';
import { Lexer, toByteString, type Token } from '../../src/daemon/config/lexer.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const fixture = (name: string) => readFileSync(here(`fixtures/own/${name}`));

/** Lines 1–3: a valid one-daemon segment on port 27803 (reference hash 1308638823). */
const S = 'Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1\n}\n';

function tokens(text: string): string[] {
  const lexer = new Lexer(toByteString(text), 't.conf');
  const out: string[] = [];
  for (let t: Token = lexer.next(); t.kind !== 'eof'; t = lexer.next()) out.push(`${t.kind}:${t.text}`);
  return out;
}

describe('lexer', () => {
  it('prefers the longest match, then the earlier rule', () => {
    expect(tokens('Window = 160')).toEqual(['keyword:Window', 'equals:=', 'number:160']);
    expect(tokens('Window = 160 ')).toEqual(['keyword:Window', 'equals:=', 'linkCost:160 ']);
    expect(tokens('123456 1234567')).toEqual(['linkCost:123456 1234567']);
    expect(tokens('1234567')).toEqual(['linkCost:1234567']);
    expect(tokens('123456')).toEqual(['number:123456']);
    expect(tokens('160abc =x = :')).toEqual(['string:160abc', 'string:=x', 'equals:=', 'colon::']);
    expect(tokens('Window=160 Windows C Cx c')).toEqual(['string:Window=160', 'string:Windows', 'ifType:C', 'string:Cx', 'string:c']);
    expect(tokens('1.2.3.4 1.2.3.4:80 1.2.3.4:123456 1.2.3.4567 1.2.3')).toEqual([
      'ip:1.2.3.4',
      'ip:1.2.3.4:80',
      'string:1.2.3.4:123456',
      'string:1.2.3.4567',
      'string:1.2.3',
    ]);
  });

  it('reads fixed words case-sensitively except booleans and tri-states', () => {
    expect(tokens('YES No tRuE false ON off Auto INFO info ALL all')).toEqual([
      'bool:YES',
      'bool:No',
      'bool:tRuE',
      'bool:false',
      'triState:ON',
      'triState:off',
      'triState:Auto',
      'priority:INFO',
      'string:info',
      'debugFlag:ALL',
      'string:all',
    ]);
  });

  it('reads ! as BANG only when something follows on the line', () => {
    expect(tokens('!PRINT ! PRINT !\n!')).toEqual(['bang:!', 'debugFlag:PRINT', 'bang:!', 'debugFlag:PRINT', 'string:!', 'string:!']);
  });

  it('reads quoted strings, which may span lines, and glued quotes as bare strings', () => {
    const lexer = new Lexer(toByteString('"a b"\'c#d\' "x"y "two\nlines" z "open\n"'), 't.conf');
    const values: [string, string, number][] = [];
    for (let t: Token = lexer.next(); t.kind !== 'eof'; t = lexer.next()) {
      values.push([t.kind, t.kind === 'string' ? t.value : t.text, t.line]);
    }
    expect(values).toEqual([
      ['string', 'a b', 1],
      ['string', 'c#d', 1],
      ['string', '"x"y', 1],
      ['string', 'two\nlines', 1],
      ['string', 'z', 2],
      ['string', 'open\n', 2],
    ]);
    expect(tokens('"unterminated x')).toEqual(['string:"unterminated', 'string:x']);
  });

  it('skips comments, blanks and carriage returns and tracks line and column', () => {
    const lexer = new Lexer(toByteString('# c\r\n  Window\t= # x\r\n 5#y'), 't.conf');
    const seen: string[] = [];
    for (let t: Token = lexer.next(); t.kind !== 'eof'; t = lexer.next()) seen.push(`${t.line}:${t.column}:${t.text}`);
    expect(seen).toEqual(['2:3:Window', '2:10:=', '3:2:5']);
  });

  it('reads route-matrix rows like the reference: split on spaces only, atoi, clamp at 100', () => {
    const lexer = new Lexer(toByteString('0 250  3 \t7\t'), 't.conf');
    const token = lexer.next();
    expect(token.kind === 'linkCost' && token.costs).toEqual([0, 100, 0, 3, 7]);
    expect(lexer.warnings.map((w) => w.message)).toEqual(['cost 250 clamped to 100']);
  });
});

describe('accepted input', () => {
  it('reads every keyword (all-settings fixture, CRLF line endings)', () => {
    const config = parseConfig(fixture('all-settings-crlf.conf'), 'all.conf');
    expect(config.settings).toEqual({
      debugFlags: DEBUG_FLAGS.CONFIGURATION | DEBUG_FLAGS.MEMBERSHIP,
      eventPriority: 'WARNING',
      eventLogFile: 'spread-%H.log',
      eventTimeStamp: true,
      eventPreciseTimeStamp: true,
      dangerousMonitor: false,
      socketPortReuse: 'off',
      runtimeDir: '/var/run/spread-test',
      daemonUser: 'nobody',
      daemonGroup: 'nogroup',
      allowedAuthMethods: ['NULL', 'IP'],
      requiredAuthMethods: ['IP'],
      accessControlPolicy: 'PERMIT',
      maxSessionMessages: 5000,
      linkProtocol: 'TcpHop',
      routeMatrix: [],
      window: 300,
      personalWindow: 60,
      acceleratedRing: true,
      acceleratedWindow: 40,
      timeouts: { token: 2000, hurry: 600, alive: 300, join: 300, rep: 700, seg: 600, gather: 1500, form: 1500, lookup: 40000 },
      debugInitialSequence: true,
    });
    expect(config.warnings).toEqual([]);
  });

  it('applies the defaults when nothing is set', () => {
    const config = parseConfig(S, 'min.conf');
    expect(config.settings).toEqual({
      debugFlags: DEFAULT_DEBUG_FLAGS,
      eventPriority: 'INFO',
      eventLogFile: null,
      eventTimeStamp: null,
      eventPreciseTimeStamp: false,
      dangerousMonitor: false,
      socketPortReuse: 'auto',
      runtimeDir: '/var/run/spread',
      daemonUser: 'spread',
      daemonGroup: 'spread',
      allowedAuthMethods: ['NULL'],
      requiredAuthMethods: [],
      accessControlPolicy: 'PERMIT',
      maxSessionMessages: 1000,
      linkProtocol: null,
      routeMatrix: [],
      window: 160,
      personalWindow: 20,
      acceleratedRing: null,
      acceleratedWindow: 15,
      timeouts: null,
      debugInitialSequence: false,
    });
    expect(configHash(config)).toBe(1308638823); // reference run
  });

  it('accepts each statement alone and repeated (last value wins)', () => {
    const statements = [
      'DebugFlags = { ALL }',
      'EventPriority = pDEBUG',
      'EventPriority = CRITICAL',
      'EventPriority = FATAL',
      'EventPriority = ERROR',
      'EventPriority = INFO',
      'EventLogFile = x.log',
      'EventTimeStamp',
      'EventTimeStamp = "%H:%M"',
      'EventPreciseTimeStamp',
      'DangerousMonitor = yes',
      'DangerousMonitor = true',
      'SocketPortReuse = AUTO',
      'SocketPortReuse = on',
      'RuntimeDir = /tmp',
      'DaemonUser = u',
      'DaemonGroup = g',
      'AllowedAuthMethods = "NULL"',
      'RequiredAuthMethods = "NULL"',
      'AccessControlPolicy = "PERMIT"',
      'MaxSessionMessages = 0',
      'LinkProtocol = Hop',
      'RouteMatrix {\n}',
      'Window = 999999',
      'PersonalWindow = 20',
      'AcceleratedRing = no',
      'AcceleratedWindow = 0',
      'DebugInitialSequence',
    ];
    for (const statement of statements) expect(() => parseConfig(`${S}${statement}\n`, 's.conf'), statement).not.toThrow();
    const config = parseConfig(`${S}${statements.join('\n')}\n`, 's.conf');
    expect(config.settings).toMatchObject({
      debugFlags: 0xffffffff,
      eventPriority: 'INFO',
      eventTimeStamp: '%H:%M',
      dangerousMonitor: true,
      socketPortReuse: 'on',
      allowedAuthMethods: ['NULL'],
      requiredAuthMethods: ['NULL'],
      maxSessionMessages: 0,
      linkProtocol: 'Hop',
      window: 999999,
      acceleratedRing: false,
      acceleratedWindow: 0,
    });
  });

  // Each of these was accepted by the reference daemon; `hash` is what it logged.
  const QUIRKS: readonly { name: string; text: string; hash?: number; check?: (c: SpreadConfig) => void }[] = [
    {
      name: 'a quoted keyword is a name',
      text: 'Spread_Segment 127.0.0.255:27803 {\n\t"C" 127.0.0.1\n}\n',
      hash: 1173057846,
      check: (c) => expect(c.daemons[0]?.name).toBe('C'),
    },
    {
      name: '!FLAG with no blank removes the flag',
      text: `${S}DebugFlags = { ALL !PRINT }\n`,
      hash: 1308638823,
      check: (c) => expect(c.settings.debugFlags).toBe(0xfffffffb),
    },
    {
      name: '! FLAG with a blank removes the flag',
      text: `${S}DebugFlags = { ALL ! PRINT }\n`,
      check: (c) => expect(c.settings.debugFlags).toBe(0xfffffffb),
    },
    { name: 'an empty DebugFlags', text: `${S}DebugFlags = { }\n`, check: (c) => expect(c.settings.debugFlags).toBe(0) },
    { name: 'a comment glued to a number', text: `${S}Window = 160#c\n`, hash: 1308638823, check: (c) => expect(c.settings.window).toBe(160) },
    { name: 'a leading zero', text: `${S}Window = 0160\n`, hash: 1308638823, check: (c) => expect(c.settings.window).toBe(160) },
    { name: 'CRLF line endings', text: S.replace(/\n/g, '\r\n') + 'Window = 100\r\n', hash: 1308638823 },
    {
      name: 'braces glued to names and addresses',
      text: 'Spread_Segment 127.0.0.255:27803{\n\tlo1 127.0.0.1{127.0.0.1}\n}\n',
      hash: 10241083,
    },
    { name: 'port 0 means 4803', text: 'Spread_Segment 127.0.0.255:0 {\n\tlo1 127.0.0.1\n}\n', hash: 624409540 },
    { name: 'port 65536 wraps to 0, so 4803', text: 'Spread_Segment 127.0.0.255:65536 {\n\tlo1 127.0.0.1\n}\n', hash: 624409540 },
    { name: 'port with a leading zero', text: 'Spread_Segment 127.0.0.255:04803 {\n\tlo1 127.0.0.1\n}\n', hash: 624409540 },
    { name: 'port 99999 wraps to 34463', text: 'Spread_Segment 127.0.0.255:99999 {\n\tlo1 127.0.0.1\n}\n', hash: 599950580 },
    {
      name: 'the daemon port is replaced by the segment port',
      text: 'Spread_Segment 127.0.0.255 {\n\tlo1 127.0.0.1:1234\n}\n',
      hash: 624409540,
      check: (c) => expect(c.daemons[0]?.port).toBe(4803),
    },
    {
      name: 'an unterminated quote is part of a bare string',
      text: `${S}EventLogFile = "abc\n`,
      hash: 1308638823,
      check: (c) => expect(c.settings.eventLogFile).toBe('"abc'),
    },
    {
      name: 'a quoted string over two lines',
      text: `${S}EventLogFile = "a\nb"\n`,
      check: (c) => expect(c.settings.eventLogFile).toBe('a\nb'),
    },
    { name: 'a one-entry route-matrix row with a trailing blank', text: `${S}RouteMatrix {\n0 \n}\n`, hash: 1308638823 },
    { name: 'a route matrix before any segment', text: `RouteMatrix {\n0 1\n}\n${S}`, hash: 1308638823 },
    {
      name: 'a route matrix of 21 rows',
      text: `${S}RouteMatrix {\n${'0 0\n'.repeat(21)}}\n`,
      hash: 1308638823,
      check: (c) => expect(c.settings.routeMatrix).toHaveLength(21),
    },
    {
      name: 'a route matrix with clamped costs',
      text: `${S}Spread_Segment 127.0.1.255:27803 {\n\tlo2 127.0.0.2\n}\nRouteMatrix {\n0 1\n1 0\n}\n`,
      hash: 960069661,
      check: (c) => expect(c.settings.routeMatrix).toEqual([[0, 1], [1, 0]]),
    },
    {
      name: 'AcceleratedWindow above PersonalWindow when AcceleratedRing is not set',
      text: `${S}AcceleratedWindow = 21\n`,
      check: (c) => expect(c.settings.acceleratedWindow).toBe(21),
    },
    { name: 'AcceleratedWindow above PersonalWindow when AcceleratedRing = false', text: `${S}AcceleratedRing = false\nAcceleratedWindow = 21\n` },
    { name: 'AcceleratedRing = TrUe', text: `${S}AcceleratedRing = TrUe\n`, hash: 407163633 },
    {
      name: 'all nine timeouts',
      text: `${S}TokenTimeout = 1250\nHurryTimeout = 500\nAliveTimeout = 250\nJoinTimeout = 250\nRepTimeout = 625\nSegTimeout = 500\nGatherTimeout = 1250\nFormTimeout = 1250\nLookupTimeout = 30000\n`,
    },
    { name: 'a quoted access control policy', text: `${S}AccessControlPolicy = "PERMIT"\n`, hash: 1308638823 },
    { name: 'an empty segment', text: 'Spread_Segment 127.0.0.255:27803 {\n}\n', hash: 2647929838 },
    {
      name: 'loopback daemons in a network segment (the rule looks at segment addresses)',
      text: 'Spread_Segment 127.0.0.255:27803 {\n\tlo1 10.0.0.2\n}\nSpread_Segment 127.0.1.255:27803 {\n\tn1 10.0.0.1\n}\n',
      hash: 303126614,
    },
    {
      name: 'a 19-byte daemon name',
      text: 'Spread_Segment 127.0.0.255:27803 {\n\tabcdefghijklmnopqrs 127.0.0.1\n}\n',
      hash: 3529591402,
    },
    {
      name: 'ten interfaces',
      text: `Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1 {${Array.from({ length: 10 }, (_, i) => ` 127.0.0.${i + 1}`).join('')} }\n}\n`,
      hash: 520508005,
    },
    {
      name: '128 daemons',
      text: `Spread_Segment 10.40.0.255:27803 {\n${Array.from({ length: 128 }, (_, i) => `\td${String(i + 1).padStart(3, '0')} 10.40.0.${i + 2}\n`).join('')}}\n`,
      hash: 2104833407,
    },
    {
      name: 'interface letters in any order',
      text: 'Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1 { C D 127.0.0.1 M 127.0.0.2 D 127.0.0.3:9999 }\n}\n',
      hash: 1488530464,
    },
  ];

  it.each(QUIRKS)('accepts $name', ({ text, hash, check }) => {
    const config = parseConfig(text, 'q.conf');
    if (hash !== undefined) expect(configHash(config)).toBe(hash);
    check?.(config);
  });

  it('reads a lone ! at the end of a line as a daemon name (to be resolved)', () => {
    const draft = parseDraft('Spread_Segment 127.0.0.255:27803 {\n\t!\n}\n', 'x.conf');
    expect(draft.segments[0]?.daemons.map((d) => [d.name, d.address])).toEqual([['!', null]]);
  });

  it('reports true line numbers after a multi-line quoted string (the reference under-counts)', () => {
    // The reference said "line 5" here: it does not count newlines inside quotes.
    expect(() => parseConfig(`${S}EventLogFile = "a\nb"\nWindow = \n`, 'spread.conf')).toThrow(
      'spread.conf:7:1: syntax error: unexpected end of file, expected a number',
    );
  });
});

describe('semantics', () => {
  it('gives a daemon without a block one interface of type ALL|ANY on its address', () => {
    const config = parseConfig(S, 's.conf');
    expect(config.daemons[0]?.interfaces).toEqual([{ address: '127.0.0.1', ip: 0x7f000001, port: 0, type: IfType.ALL | IfType.ANY }]);
  });

  it('reads interface blocks: letters OR together, no letter means D C M, the port is kept', () => {
    const config = parseConfig(fixture('interface-blocks.conf'), 'if.conf');
    const host1 = config.daemons[0];
    expect(host1?.interfaces.map((i) => [i.address, i.type, i.port])).toEqual([
      ['192.168.7.1', IfType.DAEMON, 0],
      ['10.0.0.1', IfType.CLIENT | IfType.MONITOR, 0],
      ['10.0.0.2', IfType.ALL, 5000],
      ['172.16.0.1', IfType.CLIENT, 0],
    ]);
    expect(config.daemons[2]?.interfaces).toEqual([{ address: '192.168.7.3', ip: 0xc0a80703, port: 0, type: IfType.MONITOR }]);
  });

  it('numbers segments and daemons in file order and forces the daemon port to the segment port', () => {
    const config = parseConfig(fixture('interface-blocks.conf'), 'if.conf');
    expect(config.segments.map((s) => [s.address, s.port, s.daemons.length])).toEqual([
      ['192.168.7.255', 27821, 3],
      ['192.168.9.255', 4803, 1],
    ]);
    expect(config.daemons.map((d) => [d.name, d.address, d.id, d.port, d.segmentIndex, d.indexInSegment])).toEqual([
      ['host1', '192.168.7.1', 0xc0a80701, 27821, 0, 0],
      ['host2', '192.168.7.2', 0xc0a80702, 27821, 0, 1],
      ['host3', '192.168.7.3', 0xc0a80703, 27821, 0, 2],
      ['host4', '192.168.9.4', 0xc0a80904, 4803, 1, 0],
    ]);
    expect(config.daemons[0]).toBe(config.segments[0]?.daemons[0]);
  });

  it('keeps names as bytes: a UTF-8 name of 10 characters and 20 bytes is too long', () => {
    const name = 'é'.repeat(10);
    expect(() => parseConfig(`Spread_Segment 127.0.0.255 {\n\t${name} 127.0.0.1\n}\n`, 'n.conf')).toThrow(
      expect.objectContaining({ code: 'NAME_TOO_LONG' }),
    );
    expect(parseConfig(`Spread_Segment 127.0.0.255 {\n\t${'é'.repeat(9)} 127.0.0.1\n}\n`, 'n.conf').daemons[0]?.name).toHaveLength(18);
  });

  it('drops the default NULL method once an auth keyword appears, and warns about unknown methods', () => {
    const config = parseConfig(`${S}RequiredAuthMethods = "IP  PWORD"\n`, 'a.conf');
    expect(config.settings.allowedAuthMethods).toEqual([]);
    expect(config.settings.requiredAuthMethods).toEqual(['IP']);
    expect(config.warnings).toEqual([{ code: 'UNKNOWN_AUTH_METHOD', message: "unknown authentication method 'PWORD' ignored", line: 4, column: 23 }]);
  });

  it('ignores empty values for RuntimeDir, DaemonUser and DaemonGroup, with a warning', () => {
    const config = parseConfig(`${S}RuntimeDir = ""\nDaemonUser = ''\n`, 'e.conf');
    expect([config.settings.runtimeDir, config.settings.daemonUser]).toEqual(['/var/run/spread', 'spread']);
    expect(config.warnings.map((w) => [w.code, w.line])).toEqual([
      ['EMPTY_VALUE_IGNORED', 4],
      ['EMPTY_VALUE_IGNORED', 5],
    ]);
  });

  it('warns about clamped route costs', () => {
    const config = parseConfig(fixture('route-matrix.conf'), 'r.conf');
    expect(config.settings.routeMatrix).toEqual([[0, 100], [100, 0, 0]]);
    expect(config.warnings.map((w) => [w.code, w.line, w.column])).toEqual([
      ['COST_CLAMPED', 9, 1],
      ['COST_CLAMPED', 10, 1],
    ]);
  });

  it('raises ConfigError with file, line and column fields', () => {
    try {
      parseConfig('Spread_Segment 127.0.0.255 {\n\tC 127.0.0.1\n}\n', '/etc/spread.conf');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({ name: 'ConfigError', code: 'SYNTAX', file: '/etc/spread.conf', line: 2, column: 2 });
    }
  });
});
