/**
 * Every rejection, with its exact message. Each case was also fed to the reference daemon,
 * which rejected it too (the `reference` column quotes what it said).
 */
import { describe, expect, it } from 'vitest';

import { ConfigError, parseConfig } from '../../src/daemon/config/index.js';

/** Lines 1–3: a valid one-daemon segment; statements under test start on line 4. */
const S = 'Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1\n}\n';

const repeat = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('');

interface Case {
  readonly name: string;
  readonly text: string;
  readonly code: string;
  readonly message: string;
  /** What the reference daemon printed for the same input. */
  readonly reference: string;
}

const CASES: readonly Case[] = [
  // ---- lexer quirks -------------------------------------------------------------------
  {
    name: 'a daemon named C (keywords beat equal-length names)',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\tC 127.0.0.1\n}\n',
    code: 'SYNTAX',
    message: "spread.conf:2:2: syntax error: unexpected 'C', expected a daemon name or '}'",
    reference: 'syntax error, offending token C',
  },
  ...['no', 'yes', 'INFO', 'ALL', 'on', 'Off', 'AUTO', 'D', 'M', 'pDEBUG', 'Hop'].map(
    (word): Case => ({
      name: `a daemon named ${word}`,
      text: `Spread_Segment 127.0.0.255:27803 {\n\t${word} 127.0.0.1\n}\n`,
      code: 'SYNTAX',
      message: `spread.conf:2:2: syntax error: unexpected '${word}', expected a daemon name or '}'`,
      reference: `syntax error, offending token ${word}`,
    }),
  ),
  {
    name: 'a number followed by a blank lexes as a LINKCOST row',
    text: `${S}Window = 160 \n`,
    code: 'SYNTAX',
    message: "spread.conf:4:10: syntax error: unexpected '160 ', expected a number",
    reference: "syntax error, offending token '160 '",
  },
  {
    name: 'a number followed by a tab lexes as a LINKCOST row',
    text: `${S}Window = 160\t\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:10: syntax error: unexpected '160\t', expected a number",
    reference: "syntax error, offending token '160\\t'",
  },
  {
    name: 'a number of 7 digits lexes as a LINKCOST row',
    text: `${S}Window = 1234567\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:10: syntax error: unexpected '1234567', expected a number",
    reference: 'syntax error, offending token 1234567',
  },
  {
    name: 'Window=160 without blanks is one bare string',
    text: `${S}Window=160\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:1: syntax error: unexpected 'Window=160', expected a segment, RouteMatrix or setting keyword",
    reference: 'syntax error, offending token Window=160',
  },
  {
    name: 'Window= is one bare string',
    text: `${S}Window= 160\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:1: syntax error: unexpected 'Window=', expected a segment, RouteMatrix or setting keyword",
    reference: 'syntax error, offending token Window=',
  },
  {
    name: 'keywords are case-sensitive',
    text: `${S}window = 5\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:1: syntax error: unexpected 'window', expected a segment, RouteMatrix or setting keyword",
    reference: 'syntax error, offending token window',
  },
  {
    name: 'a digit-led daemon name followed by an address is a LINKCOST row',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\t123 127.0.0.1\n}\n',
    code: 'SYNTAX',
    message: "spread.conf:2:2: syntax error: unexpected '123 127', expected a daemon name or '}'",
    reference: "syntax error, offending token '123 127' (after a 'Cost clamped to 100' warning)",
  },
  {
    name: 'an address is not a daemon name',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\t1.2.3.4 127.0.0.1\n}\n',
    code: 'SYNTAX',
    message: "spread.conf:2:2: syntax error: unexpected '1.2.3.4', expected a daemon name or '}'",
    reference: 'syntax error, offending token 1.2.3.4',
  },
  {
    name: 'an address octet above 255',
    text: 'Spread_Segment 256.0.0.255:27803 {\n\tlo1 127.0.0.1\n}\n',
    code: 'INVALID_IP',
    message: "spread.conf:1:16: invalid IP address '256.0.0.255:27803' (octet above 255)",
    reference: 'Invalid IP, offending token 256.0.0.255:27803',
  },
  {
    name: 'an interface octet above 255',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1 { 300.0.0.1 }\n}\n',
    code: 'INVALID_IP',
    message: "spread.conf:2:18: invalid IP address '300.0.0.1' (octet above 255)",
    reference: 'Invalid IP, offending token 300.0.0.1',
  },
  {
    name: 'a blank between the address and the port',
    text: 'Spread_Segment 127.0.0.255 :27803 {\n\tlo1 127.0.0.1\n}\n',
    code: 'SYNTAX',
    message: "spread.conf:1:28: syntax error: unexpected ':27803', expected '{'",
    reference: 'syntax error, offending token :27803',
  },
  {
    name: '! outside DebugFlags',
    text: `${S}! Window = 5\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:1: syntax error: unexpected '!', expected a segment, RouteMatrix or setting keyword",
    reference: 'syntax error, offending token !',
  },
  {
    name: 'a negative number is a bare string',
    text: `${S}MaxSessionMessages = -1\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:22: syntax error: unexpected '-1', expected a number",
    reference: 'syntax error, offending token -1',
  },
  {
    name: 'an unquoted value with a blank',
    text: `${S}EventLogFile = /tmp/x y\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:23: syntax error: unexpected 'y', expected a segment, RouteMatrix or setting keyword",
    reference: 'rejected (exit status 1)',
  },
  // ---- grammar ------------------------------------------------------------------------
  {
    name: 'an unknown statement',
    text: `${S}Foo = 1\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:1: syntax error: unexpected 'Foo', expected a segment, RouteMatrix or setting keyword",
    reference: 'syntax error, offending token Foo',
  },
  {
    name: 'Hop outside LinkProtocol',
    text: `${S}Hop\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:1: syntax error: unexpected 'Hop', expected a segment, RouteMatrix or setting keyword",
    reference: 'syntax error, offending token Hop',
  },
  {
    name: 'a segment without an address',
    text: 'Spread_Segment {\n}\n',
    code: 'SYNTAX',
    message: "spread.conf:1:16: syntax error: unexpected '{', expected the segment broadcast address",
    reference: 'syntax error, offending token {',
  },
  {
    name: 'end of file inside a segment',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1\n',
    code: 'SYNTAX',
    message: "spread.conf:3:1: syntax error: unexpected end of file, expected a daemon name or '}'",
    reference: 'syntax error, offending token (end of file)',
  },
  {
    name: 'end of file after =',
    text: `${S}Window = `,
    code: 'SYNTAX',
    message: 'spread.conf:4:10: syntax error: unexpected end of file, expected a number',
    reference: 'syntax error, offending token (end of file)',
  },
  {
    name: 'interface letters without an address',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1 { M }\n}\n',
    code: 'SYNTAX',
    message: "spread.conf:2:20: syntax error: unexpected '}', expected M, C, D or an address",
    reference: 'syntax error, offending token }',
  },
  {
    name: 'an unknown debug flag',
    text: `${S}DebugFlags = { FOO }\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:16: syntax error: unexpected 'FOO', expected a debug flag name, '!' or '}'",
    reference: 'syntax error, offending token FOO',
  },
  {
    name: 'DebugFlags without =',
    text: `${S}DebugFlags { ALL }\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:12: syntax error: unexpected '{', expected '='",
    reference: 'syntax error, offending token {',
  },
  {
    name: '! without a flag',
    text: `${S}DebugFlags = { ALL !}\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:21: syntax error: unexpected '}', expected a debug flag name",
    reference: 'syntax error, offending token }',
  },
  {
    name: 'EventPriority DEBUG (the word is pDEBUG)',
    text: `${S}EventPriority = DEBUG\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:17: syntax error: unexpected 'DEBUG', expected a priority (pDEBUG INFO WARNING ERROR CRITICAL FATAL)",
    reference: 'syntax error, offending token DEBUG',
  },
  {
    name: 'a tri-state word for a boolean',
    text: `${S}DangerousMonitor = on\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:20: syntax error: unexpected 'on', expected true, yes, false or no",
    reference: 'syntax error, offending token on',
  },
  {
    name: 'a boolean word for a tri-state',
    text: `${S}SocketPortReuse = yes\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:19: syntax error: unexpected 'yes', expected on, off or auto",
    reference: 'syntax error, offending token yes',
  },
  {
    name: 'an unknown link protocol',
    text: `${S}LinkProtocol = Ring\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:16: syntax error: unexpected 'Ring', expected Hop or TcpHop",
    reference: 'syntax error, offending token Ring',
  },
  {
    name: 'a number as a time stamp format',
    text: `${S}EventTimeStamp = 5\n`,
    code: 'SYNTAX',
    message: "spread.conf:4:18: syntax error: unexpected '5', expected a time stamp format",
    reference: 'syntax error, offending token 5',
  },
  {
    name: 'a route matrix row of one number without a trailing blank is a NUMBER',
    text: `${S}RouteMatrix {\n0\n}\n`,
    code: 'SYNTAX',
    message: "spread.conf:5:1: syntax error: unexpected '0', expected a row of link costs or '}'",
    reference: 'syntax error, offending token 0',
  },
  {
    name: 'a route matrix row separated by a tab has one entry',
    text: `${S}Spread_Segment 127.0.1.255:27803 {\n\tlo2 127.0.0.2\n}\nRouteMatrix {\n0\t1\n1 0\n}\n`,
    code: 'ROUTE_MATRIX',
    message: 'spread.conf:8:1: route matrix row has 1 entries, 2 segments are defined',
    reference: "Wrong number of entries for routing matrix, offending token '0\\t1'",
  },
  // ---- limits and names ---------------------------------------------------------------
  {
    name: 'a daemon name of 20 bytes',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\tabcdefghijklmnopqrst 127.0.0.1\n}\n',
    code: 'NAME_TOO_LONG',
    message: "spread.conf:2:2: daemon name 'abcdefghijklmnopqrst' is too long (19 bytes max)",
    reference: 'Too long name(20 max): abcdefghijklmnopqrst',
  },
  {
    name: 'two daemons with the same name',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1\n\tlo1 127.0.0.2\n}\n',
    code: 'DUPLICATE_NAME',
    message: "spread.conf:3:2: daemon name 'lo1' is not unique",
    reference: 'Name not unique. name: lo1 equals (lo1, 127.0.0.1)',
  },
  {
    name: 'an empty interface block',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1 { }\n}\n',
    code: 'EMPTY_INTERFACE_BLOCK',
    message: "spread.conf:2:16: daemon 'lo1' has an interface block without interfaces",
    reference: 'Interfaces section declared but no actual interface addresses defined',
  },
  {
    name: 'eleven interfaces',
    text: `Spread_Segment 127.0.0.255:27803 {\n\tlo1 127.0.0.1 {${repeat(11, (i) => ` 127.0.0.${i + 1}`)} }\n}\n`,
    code: 'TOO_MANY_INTERFACES',
    message: 'spread.conf:2:119: too many interfaces (10 max)',
    reference: 'Too many interfaces configured in proc--10 max, offending token 127.0.0.11',
  },
  {
    name: '21 segments',
    text: repeat(21, (i) => `Spread_Segment 127.0.${i}.255:27803 {\n\td${i} 127.0.${i}.1\n}\n`),
    code: 'TOO_MANY_SEGMENTS',
    message: 'spread.conf:61:1: too many segments (20 max)',
    reference: 'd20 (Too many segments configured--20 max)',
  },
  {
    name: '129 daemons',
    text: `Spread_Segment 10.40.0.255:27803 {\n${repeat(129, (i) => `\td${i + 1} 10.40.0.${i + 1}\n`)}}\n`,
    code: 'TOO_MANY_DAEMONS',
    message: 'spread.conf:130:2: too many daemons (128 max)',
    reference: 'd129 (Too many daemons configured--128 max)',
  },
  {
    name: 'a canonical string over 20000 characters',
    text: `Spread_Segment 10.50.0.255:27803 {\n${repeat(
      100,
      (i) => `\tdaemon_number_${String(i + 1).padStart(3, '0')} 10.50.1.${i + 1} {${repeat(10, (j) => ` D C M 10.50.${101 + j}.${i + 1}`)} }\n`,
    )}}\n`,
    code: 'CONFIG_TOO_LONG',
    message: 'spread.conf:1:1: configuration too large: its canonical string exceeds 20000 characters',
    reference: 'The segment string is too long! 21839 characters ... Failed to update string with segment!',
  },
  // ---- values -------------------------------------------------------------------------
  {
    name: 'Window = 0',
    text: `${S}Window = 0\n`,
    code: 'NON_POSITIVE',
    message: 'spread.conf:4:10: Window must be positive',
    reference: 'Conf_set_window: Attempt to set window to non-positive (0)!',
  },
  {
    name: 'PersonalWindow = 0',
    text: `${S}PersonalWindow = 0\n`,
    code: 'NON_POSITIVE',
    message: 'spread.conf:4:18: PersonalWindow must be positive',
    reference: 'Attempt to set personal window to non-positive (0)!',
  },
  {
    name: 'TokenTimeout = 0',
    text: `${S}TokenTimeout = 0\n`,
    code: 'NON_POSITIVE',
    message: 'spread.conf:4:16: TokenTimeout must be positive',
    reference: 'Conf_set_token_timeout: Non-positive timeout (0) specified!',
  },
  {
    name: 'a DaemonUser of 33 bytes',
    text: `${S}DaemonUser = abcdefghijabcdefghijabcdefghijabc\n`,
    code: 'VALUE_TOO_LONG',
    message: 'spread.conf:4:14: DaemonUser value longer than 32 bytes',
    reference: 'set_param_if_valid: value string too long',
  },
  {
    name: 'an unknown access control policy (names are case-sensitive)',
    text: `${S}AccessControlPolicy = permit\n`,
    code: 'UNKNOWN_ACCESS_POLICY',
    message: "spread.conf:4:23: unknown access control policy 'permit' (known: PERMIT)",
    reference: 'Invalid Access Control Policy name.',
  },
  // ---- checks after the file is read --------------------------------------------------
  {
    name: 'a loopback segment with a network segment',
    text: `${S}Spread_Segment 10.0.0.255:27803 {\n\tn1 10.0.0.1\n}\n`,
    code: 'LOCALHOST_MIX',
    message:
      'spread.conf:4:1: localhost (127.x) segments can not be used along with regular network address segments (segment 10.0.0.255 vs 127.0.0.255)',
    reference: 'Localhost segments can not be used along with regular network address segments.',
  },
  {
    name: 'PersonalWindow above the default Window',
    text: `${S}PersonalWindow = 200\n`,
    code: 'PERSONAL_WINDOW_TOO_BIG',
    message: 'spread.conf:4:1: PersonalWindow (200) > Window (160)',
    reference: 'PersonalWindow (200) > Window (160)!',
  },
  {
    name: 'Window below the default PersonalWindow',
    text: `${S}Window = 10\n`,
    code: 'PERSONAL_WINDOW_TOO_BIG',
    message: 'spread.conf:4:1: PersonalWindow (20) > Window (10)',
    reference: 'PersonalWindow (20) > Window (10)!',
  },
  {
    name: 'AcceleratedWindow above PersonalWindow with AcceleratedRing = true',
    text: `${S}AcceleratedRing = true\nAcceleratedWindow = 21\n`,
    code: 'ACCELERATED_WINDOW_TOO_BIG',
    message: 'spread.conf:5:1: AcceleratedWindow (21) > PersonalWindow (20)',
    reference: 'AcceleratedWindow (21) > PersonalWindow (20)!',
  },
  {
    name: 'only some timeouts',
    text: `${S}TokenTimeout = 1000\n`,
    code: 'PARTIAL_TIMEOUTS',
    message:
      'spread.conf:4:1: only some of the membership timeouts were specified: if you specify any, you must specify all (missing HurryTimeout, AliveTimeout, JoinTimeout, RepTimeout, SegTimeout, GatherTimeout, FormTimeout, LookupTimeout)',
    reference: 'Memb_init: Only some of the membership timeouts were specified! If you specify any, then you must specify all!',
  },
  {
    name: 'a daemon without an address and no resolver',
    text: 'Spread_Segment 127.0.0.255:27803 {\n\tnosuchhost-zz9\n}\n',
    code: 'UNKNOWN_HOST',
    message: "spread.conf:2:2: no such host 'nosuchhost-zz9': daemon without an address was not resolved",
    reference: 'Conf_init: no such host nosuchhost-zz9',
  },
];

describe('configuration errors', () => {
  it.each(CASES)('rejects $name', ({ text, code, message }) => {
    let caught: unknown;
    try {
      parseConfig(text, 'spread.conf');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.name).toBe('ConfigError');
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
    const [, line, column] = /^spread\.conf:(\d+):(\d+): /.exec(message) ?? [];
    expect([error.file, error.line, error.column]).toEqual(['spread.conf', Number(line), Number(column)]);
    expect(error.message).toBe(`${error.file}:${error.line}:${error.column}: ${error.reason}`);
  });
});
