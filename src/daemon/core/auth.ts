/**
 * Client authentication as the stock 4.4 daemon does it: the NULL and IP methods (PWORD is a
 * build option of the reference and is not offered), the AllowedAuthMethods /
 * RequiredAuthMethods settings, and the `spread.access_ip` rules of the IP method.
 * Pure: the rules file is read at the edge and handed in as text.
 */
import { ipv4Word } from '../../wire/bytes.js';

/** Methods compiled in, in the reference's registration order (the order of the offered list). */
export const AUTH_METHODS = ['NULL', 'IP'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export interface IpRule {
  /** Host-order network value as written (the reference does not mask it). */
  readonly network: number;
  readonly prefix: number;
}

export interface AuthPolicy {
  /** Enabled methods (AllowedAuthMethods); unknown names are ignored. */
  readonly allowed: readonly string[];
  /** Methods run for every new client whether it asked for them or not. */
  readonly required: readonly string[];
  /** Rules from spread.access_ip; null when no file was found (then IP auth always fails). */
  readonly ipRules: readonly IpRule[] | null;
}

export interface ClientIdentity {
  /** Host-order IPv4 value; 0 for unix-socket clients. */
  readonly address: number;
}

function isMethod(name: string): name is AuthMethod {
  return (AUTH_METHODS as readonly string[]).includes(name);
}

/** The methods offered to a client, in registration order: the text after the length byte. */
export function offeredMethods(policy: AuthPolicy): AuthMethod[] {
  return AUTH_METHODS.filter((m) => policy.allowed.includes(m));
}

function allowed(policy: AuthPolicy, name: string): boolean {
  return isMethod(name) && policy.allowed.includes(name);
}

function run(policy: AuthPolicy, method: AuthMethod, who: ClientIdentity): boolean {
  switch (method) {
    case 'NULL':
      return true;
    case 'IP':
      return policy.ipRules !== null && ipAllowed(policy.ipRules, who.address);
  }
}

/**
 * Decides a 3.16+ client's request (the names from its 90-byte reply, up to the first empty
 * slot): every name must be enabled; the requested methods plus the required ones are run and
 * must all succeed. A request naming no method is denied.
 */
export function authenticate(policy: AuthPolicy, requested: readonly string[], who: ClientIdentity): boolean {
  const toRun: AuthMethod[] = [];
  for (const name of requested) {
    if (!allowed(policy, name)) return false;
    toRun.push(name as AuthMethod);
  }
  if (toRun.length === 0) return false;
  for (const name of policy.required) {
    if (isMethod(name) && !toRun.includes(name)) toRun.push(name);
  }
  return toRun.every((m) => run(policy, m, who));
}

/**
 * Decides a pre-3.16 client (no negotiation): IP if it is enabled, otherwise NULL if that is
 * enabled, otherwise denied. Required methods do not apply.
 */
export function authenticateLegacy(policy: AuthPolicy, who: ClientIdentity): boolean {
  if (allowed(policy, 'IP')) return run(policy, 'IP', who);
  return allowed(policy, 'NULL');
}

/** True when `address` falls in one of the rules (the reference's test: masked address == network). */
export function ipAllowed(rules: readonly IpRule[], address: number): boolean {
  for (const r of rules) {
    // C's `~0 << (32 - prefix)`; x86 masks the shift count, so /0 compares all 32 bits.
    const mask = (~0 << ((32 - r.prefix) & 31)) >>> 0;
    if (((address & mask) >>> 0) === r.network >>> 0) return true;
  }
  return false;
}

export class AccessFileError extends Error {
  override readonly name = 'AccessFileError';
  readonly code = 'ACCESS_FILE_SYNTAX';
  constructor(
    readonly line: number,
    readonly text: string,
  ) {
    super(`spread.access_ip line ${line}: not a valid ip network address/prefix line: ${JSON.stringify(text)}`);
  }
}

export interface AccessFile {
  readonly rules: IpRule[];
  /** Set when the reference would have stopped reading early (a line with fewer than 3 dots). */
  readonly stoppedAtLine: number | null;
}

/** C's `%d`: optional blanks, optional sign, digits. Returns [value, next] or null. */
function scanInt(s: string, at: number): [number, number] | null {
  let i = at;
  while (i < s.length && /\s/.test(s[i]!)) i++;
  let sign = 1;
  if (s[i] === '-' || s[i] === '+') {
    if (s[i] === '-') sign = -1;
    i++;
  }
  const start = i;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  if (i === start) return null;
  return [sign * Number(s.slice(start, i)), i];
}

/**
 * Parses spread.access_ip like the reference's ip_init: `#` lines are comments; a line starting
 * with `unix` allows unix-socket clients (address 0); one starting with `local` allows
 * 127.0.0.0/8; otherwise `a.b.c.d[/prefix]`. A line with fewer than three dots (an empty line
 * too) ends the file; a line that does not give four numbers is fatal.
 */
export function parseAccessIp(text: string): AccessFile {
  const rules: IpRule[] = [];
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.startsWith('#')) continue;
    if (line.startsWith('unix')) {
      rules.push({ network: 0, prefix: 32 });
      continue;
    }
    if (line.startsWith('local')) {
      rules.push({ network: ipv4Word(127, 0, 0, 0), prefix: 8 });
      continue;
    }
    let s = line;
    let dots = 0;
    for (; dots < 3; dots++) {
      const i = s.indexOf('.');
      if (i < 0) break;
      s = `${s.slice(0, i)} ${s.slice(i + 1)}`;
    }
    if (dots < 3) return { rules, stoppedAtLine: n + 1 };
    const nums: number[] = [];
    let at = 0;
    for (let k = 0; k < 4; k++) {
      const r = scanInt(s, at);
      if (r === null) break;
      nums.push(r[0]);
      at = r[1];
    }
    if (nums.length < 4) throw new AccessFileError(n + 1, line);
    let prefix = 32;
    if (s[at] === '/') {
      const r = scanInt(s, at + 1);
      if (r !== null) prefix = r[0];
    }
    const [a, b, c, d] = nums as [number, number, number, number];
    rules.push({ network: ipv4Word(a, b, c, d), prefix });
  }
  return { rules, stoppedAtLine: null };
}
