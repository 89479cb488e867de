/**
 * Daemon addresses, parsed the way the C library's SP_connect reads its `spread_name`:
 *   ""           ⇒ the default "4803"
 *   "<port>"      ⇒ unix socket /tmp/<port>
 *   "<port>@host" ⇒ TCP to host:port
 * Anything else is ILLEGAL_SPREAD. Objects `{ host, port }` and `{ path }` are accepted too.
 */
import { Limits } from '../wire/client/constants.js';
import { IllegalSpreadError } from './errors.js';

export type SpreadAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** What `connect({ spread })` accepts. */
export type SpreadTarget = string | { host: string; port: number } | { path: string };

/** Directory of the daemon's unix socket (SP_UNIX_SOCKET). */
export const UNIX_SOCKET_DIR = '/tmp';

/** The C library's limit on the spread string: MAXHOSTNAMELEN (64) + 6. */
const MAX_SPREAD_STRING = 64 + 6;

export function parseSpreadAddress(target: SpreadTarget | undefined): SpreadAddress {
  if (target === undefined) target = String(Limits.DEFAULT_PORT);
  if (typeof target === 'object' && target !== null) {
    if ('path' in target && typeof target.path === 'string' && target.path.length > 0) return { kind: 'unix', path: target.path };
    if ('host' in target && typeof target.host === 'string' && target.host.length > 0 && isPort(target.port)) {
      return { kind: 'tcp', host: target.host, port: target.port };
    }
    throw new IllegalSpreadError(`illegal spread address ${JSON.stringify(target)}`);
  }
  if (typeof target !== 'string') throw new IllegalSpreadError(`illegal spread address ${String(target)}`);
  const s = target === '' ? String(Limits.DEFAULT_PORT) : target;
  if (s.length > MAX_SPREAD_STRING) throw new IllegalSpreadError(`spread address longer than ${MAX_SPREAD_STRING} characters`);
  const m = /^(\d{1,5})(?:@(\S+))?$/.exec(s);
  if (m === null) throw new IllegalSpreadError(`illegal spread address "${s}": expected "<port>" or "<port>@<host>"`);
  const port = Number(m[1]);
  if (!isPort(port)) throw new IllegalSpreadError(`illegal port in spread address "${s}"`);
  const host = m[2];
  if (host === undefined) return { kind: 'unix', path: `${UNIX_SOCKET_DIR}/${port}` };
  return { kind: 'tcp', host, port };
}

function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 0xffff;
}

export function formatSpreadAddress(a: SpreadAddress): string {
  return a.kind === 'unix' ? a.path : `${a.port}@${a.host}`;
}
