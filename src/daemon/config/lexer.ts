/**
 * spread.conf lexer, reproducing the 4.4 scanner's choices (it is a flex scanner: at each
 * point the rule with the LONGEST match wins, and among equally long matches the rule listed
 * first). Rules, in that priority order:
 *
 *   #…end of line        comment               [ \t\r] blank      \n newline
 *   { } = :              punctuation (a lone = or : only: `=5` is a bare string)
 *   !                    BANG, when any character follows on the same line; the rest of the
 *                        line counts towards its length, so `!x` is never a bare string
 *   fixed words          statement keywords, Hop, TcpHop, debug flags, priority words, M C D,
 *                        true|yes|false|no (bool) and on|off|auto (tri-state), the last two
 *                        groups case-insensitive, everything else case-sensitive
 *   a.b.c.d:port         IP with port (1–3 digit octets, 1–5 digit port)
 *   a.b.c.d              IP
 *   [0-9]{1,6}           NUMBER
 *   [0-9][0-9 \t]*       LINKCOST: a route-matrix row (digits and blanks, up to end of line)
 *   "…" or '…'           quoted string (may span lines; quotes removed)
 *   [^ \t\r\n#{}]+       bare string
 *
 * Consequences (all confirmed against the reference daemon): a fixed word only wins when the
 * bare run around it is exactly that word, so a daemon named `C`, `ALL`, `no` or `INFO` is a
 * keyword (syntax error) while `Cx` is a name; `Window=160` is one bare string; a number
 * followed by a blank (`160 `) or with 7+ digits is a LINKCOST row; `"a"b` is the bare string
 * `"a"b` with its quotes.
 *
 * The source is a byte string (one char per byte, see `toByteString`) so that lengths,
 * columns and the hash see the same bytes as the C daemon.
 */
import { ipv4Word } from '../../wire/bytes.js';
import {
  DEBUG_FLAGS,
  IF_LETTERS,
  KEYWORDS,
  LIMITS,
  PRIORITY_WORDS,
  type DebugFlagName,
  type EventPriority,
  type IfLetter,
  type Keyword,
} from './constants.js';
import { ConfigError, type SourcePosition } from './errors.js';

export type TriState = 'on' | 'off' | 'auto';

interface TokenBase extends SourcePosition {
  /** The matched source text (for strings: with quotes). */
  readonly text: string;
}

export type Token = TokenBase &
  (
    | { readonly kind: 'openBrace' }
    | { readonly kind: 'closeBrace' }
    | { readonly kind: 'equals' }
    | { readonly kind: 'colon' }
    | { readonly kind: 'bang' }
    | { readonly kind: 'keyword'; readonly keyword: Keyword }
    | { readonly kind: 'bool'; readonly value: boolean }
    | { readonly kind: 'triState'; readonly value: TriState }
    | { readonly kind: 'debugFlag'; readonly flag: DebugFlagName; readonly mask: number }
    | { readonly kind: 'priority'; readonly level: EventPriority }
    | { readonly kind: 'ifType'; readonly letter: IfLetter; readonly mask: number }
    /** `port` is null when the address had no `:port`; otherwise the 16-bit value. */
    | { readonly kind: 'ip'; readonly address: string; readonly ip: number; readonly port: number | null }
    | { readonly kind: 'number'; readonly value: number }
    | { readonly kind: 'linkCost'; readonly costs: readonly number[] }
    | { readonly kind: 'string'; readonly value: string }
    | { readonly kind: 'eof' }
  );
export type TokenKind = Token['kind'];

export interface LexWarning extends SourcePosition {
  readonly code: 'COST_CLAMPED';
  readonly message: string;
}

/** Converts text to a byte string: a Uint8Array byte for byte, a JS string via UTF-8. */
export function toByteString(source: string | Uint8Array): string {
  const bytes = typeof source === 'string' ? Buffer.from(source, 'utf8') : Buffer.from(source);
  return bytes.toString('latin1');
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A fixed word's token, without its text and position. */
type FixedWord = DistributiveOmit<
  Extract<Token, { kind: 'keyword' | 'bool' | 'triState' | 'debugFlag' | 'priority' | 'ifType' }>,
  keyof TokenBase
>;

/** Case-sensitive fixed words. */
const FIXED_WORDS: ReadonlyMap<string, FixedWord> = new Map<string, FixedWord>([
  ...KEYWORDS.map((keyword): [string, FixedWord] => [keyword, { kind: 'keyword', keyword }]),
  ...Object.entries(DEBUG_FLAGS).map(([flag, mask]): [string, FixedWord] => [
    flag,
    { kind: 'debugFlag', flag: flag as DebugFlagName, mask },
  ]),
  ...Object.entries(IF_LETTERS).map(([letter, mask]): [string, FixedWord] => [
    letter,
    { kind: 'ifType', letter: letter as IfLetter, mask },
  ]),
  ...Object.entries(PRIORITY_WORDS).map(([word, level]): [string, FixedWord] => [word, { kind: 'priority', level }]),
]);

/** Case-insensitive fixed words (matched on the lower-cased run). */
const FOLDED_WORDS: ReadonlyMap<string, FixedWord> = new Map<string, FixedWord>([
  ['true', { kind: 'bool', value: true }],
  ['yes', { kind: 'bool', value: true }],
  ['false', { kind: 'bool', value: false }],
  ['no', { kind: 'bool', value: false }],
  ['on', { kind: 'triState', value: 'on' }],
  ['off', { kind: 'triState', value: 'off' }],
  ['auto', { kind: 'triState', value: 'auto' }],
]);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';
/** Characters that end a bare string. */
const ENDS_BARE = new Set([' ', '\t', '\r', '\n', '#', '{', '}']);

export class Lexer {
  private pos = 0;
  private line = 1;
  private column = 1;
  readonly warnings: LexWarning[] = [];

  /** `source` is a byte string (see `toByteString`). */
  constructor(
    private readonly source: string,
    private readonly fileName: string,
  ) {}

  /** Position just past the last character (where EOF is reported). */
  get position(): SourcePosition {
    return { line: this.line, column: this.column };
  }

  next(): Token {
    this.skipBlanksAndComments();
    const at = { line: this.line, column: this.column };
    const src = this.source;
    const start = this.pos;
    if (start >= src.length) return { kind: 'eof', text: '', ...at };
    const c = src[start];

    if (c === '{' || c === '}') {
      this.advance(1);
      return { kind: c === '{' ? 'openBrace' : 'closeBrace', text: c, ...at };
    }
    if (c === '!') {
      const following = src[start + 1];
      if (following !== undefined && following !== '\n') {
        this.advance(1);
        return { kind: 'bang', text: '!', ...at };
      }
    }

    const bare = this.bareLength(start);
    if (isDigit(c)) return this.numeric(start, bare, at);
    if (c === '"' || c === "'") {
      const close = src.indexOf(c, start + 1);
      if (close >= 0 && close + 1 - start >= bare) {
        this.advance(close + 1 - start);
        return { kind: 'string', text: src.slice(start, close + 1), value: src.slice(start + 1, close), ...at };
      }
    }

    const word = src.slice(start, start + bare);
    this.advance(bare);
    if (word === '=') return { kind: 'equals', text: word, ...at };
    if (word === ':') return { kind: 'colon', text: word, ...at };
    const fixed = FIXED_WORDS.get(word) ?? FOLDED_WORDS.get(word.toLowerCase());
    if (fixed !== undefined) return { ...fixed, text: word, ...at };
    return { kind: 'string', text: word, value: word, ...at };
  }

  /** Digit-led input: IP with port, IP, NUMBER, LINKCOST or bare string, longest wins. */
  private numeric(start: number, bare: number, at: SourcePosition): Token {
    const src = this.source;
    const ip = scanIp(src, start);
    let digits = 0;
    while (isDigit(src[start + digits])) digits++;
    let costLength = digits;
    while (isDigit(src[start + costLength]) || isBlank(src[start + costLength])) costLength++;

    // Match lengths in rule order; the first of the longest wins.
    const lengths = [ip?.withPort ?? 0, ip?.length ?? 0, Math.min(digits, 6), costLength, bare];
    const longest = Math.max(...lengths);
    const rule = (['ipPort', 'ip', 'number', 'linkCost', 'string'] as const)[lengths.indexOf(longest)];
    const text = src.slice(start, start + longest);

    if ((rule === 'ipPort' || rule === 'ip') && ip !== undefined) {
      const [a, b, c, d] = ip.octets;
      if (a > 255 || b > 255 || c > 255 || d > 255) {
        throw new ConfigError('INVALID_IP', this.fileName, at, `invalid IP address '${text}' (octet above 255)`);
      }
      this.advance(longest);
      const value = ipv4Word(a, b, c, d);
      const port = rule === 'ipPort' ? ip.port & 0xffff : null;
      return { kind: 'ip', text, address: `${a}.${b}.${c}.${d}`, ip: value, port, ...at };
    }
    this.advance(longest);
    if (rule === 'number') return { kind: 'number', text, value: Number.parseInt(text, 10), ...at };
    if (rule === 'linkCost') return { kind: 'linkCost', text, costs: this.costs(text, at), ...at };
    return { kind: 'string', text, value: text, ...at };
  }

  /**
   * Route-matrix row values as the reference reads them: one entry at the start and one after
   * every space (tabs do not separate), each read like C `atoi`; values over 100 are clamped.
   */
  private costs(text: string, at: SourcePosition): number[] {
    return text.split(' ').map((piece) => {
      const value = atoi(piece);
      if (value <= LIMITS.maxLinkCost) return value;
      this.warnings.push({ code: 'COST_CLAMPED', message: `cost ${value} clamped to ${LIMITS.maxLinkCost}`, ...at });
      return LIMITS.maxLinkCost;
    });
  }

  private bareLength(start: number): number {
    let end = start;
    while (end < this.source.length && !ENDS_BARE.has(this.source[end] as string)) end++;
    return end - start;
  }

  private skipBlanksAndComments(): void {
    const src = this.source;
    while (this.pos < src.length) {
      const c = src[this.pos];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        this.advance(1);
      } else if (c === '#') {
        const eol = src.indexOf('\n', this.pos);
        this.advance((eol < 0 ? src.length : eol) - this.pos);
      } else {
        return;
      }
    }
  }

  private advance(count: number): void {
    for (let i = 0; i < count; i++) {
      if (this.source[this.pos + i] === '\n') {
        this.line++;
        this.column = 1;
      } else {
        this.column++;
      }
    }
    this.pos += count;
  }
}

interface ScannedIp {
  readonly octets: readonly [number, number, number, number];
  /** Length of `a.b.c.d`. */
  readonly length: number;
  /** Length of `a.b.c.d:port`, or 0 when no port follows. */
  readonly withPort: number;
  readonly port: number;
}

/** Matches `d{1,3}.d{1,3}.d{1,3}.d{1,3}` and optionally `:d{1,5}` at `start`. */
function scanIp(src: string, start: number): ScannedIp | undefined {
  const octets: number[] = [];
  let p = start;
  for (let i = 0; i < 4; i++) {
    if (i > 0) {
      if (src[p] !== '.') return undefined;
      p++;
    }
    let n = 0;
    while (n < 3 && isDigit(src[p + n])) n++;
    if (n === 0) return undefined;
    octets.push(Number.parseInt(src.slice(p, p + n), 10));
    p += n;
  }
  const length = p - start;
  let withPort = 0;
  let port = 0;
  if (src[p] === ':') {
    let n = 0;
    while (n < 5 && isDigit(src[p + 1 + n])) n++;
    if (n > 0) {
      withPort = length + 1 + n;
      port = Number.parseInt(src.slice(p + 1, p + 1 + n), 10);
    }
  }
  const [a = 0, b = 0, c = 0, d = 0] = octets;
  return { octets: [a, b, c, d], length, withPort, port };
}

/** C `atoi` on the digits we can meet here: leading blanks skipped, digits read, else 0. */
function atoi(text: string): number {
  const match = /^[ \t\n\v\f\r]*([0-9]+)/.exec(text);
  return match === null ? 0 : Number.parseInt(match[1] as string, 10);
}
