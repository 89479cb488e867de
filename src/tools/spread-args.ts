/**
 * The `spread` command line (SPEC Part IX §1), parsed with node:util's parseArgs so the
 * daemon's start path loads no option library. The reference's flags first:
 *
 *   -n NAME    this daemon's name in the configuration     (--name)
 *   -c FILE    the configuration file                      (--config)
 *   -l y|n     write the activity log file named after the daemon (--log)
 *
 * then ours: --check, --log-level LEVEL (or SPREAD_LOG_LEVEL), --log-format pretty|json (or
 * SPREAD_LOG_FORMAT), --metrics [HOST:]PORT (or SPREAD_METRICS), -V/--version, -h/--help.
 */
import { parseArgs } from 'node:util';
import { isLogLevel } from '../daemon/ops/log.js';
import type { LogFormat, LogLevel } from '../daemon/ops/log.js';

export interface SpreadArgs {
  readonly name?: string;
  readonly config?: string;
  readonly activityLog: boolean;
  readonly check: boolean;
  readonly logLevel?: LogLevel;
  readonly logFormat?: LogFormat;
  readonly metrics?: { readonly host: string; readonly port: number };
}

export type ParseOutcome =
  | { readonly kind: 'run'; readonly args: SpreadArgs }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage'; readonly message: string };

export const USAGE = `Usage: spread [options]
  -n, --name NAME            force this daemon's name (must be in the configuration)
  -c, --config FILE          configuration file (default: the embedded one-daemon localhost one)
  -l, --log y|n              write the activity log file named after the daemon (reference's -l)
      --check                check the configuration, print its canonical form and hash, exit
      --log-level LEVEL      debug|info|warn|error|fatal|silent (env SPREAD_LOG_LEVEL)
      --log-format FORMAT    pretty|json (env SPREAD_LOG_FORMAT; default pretty on a terminal)
      --metrics [HOST:]PORT  serve Prometheus /metrics and /healthz (env SPREAD_METRICS)
  -V, --version              print the version
  -h, --help                 print this help
`;

const OPTIONS = {
  name: { type: 'string', short: 'n' },
  config: { type: 'string', short: 'c' },
  log: { type: 'string', short: 'l' },
  check: { type: 'boolean' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  metrics: { type: 'string' },
  version: { type: 'boolean', short: 'V' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `[HOST:]PORT` (HOST default 127.0.0.1); null when it is not one. */
export function parseListenAddress(text: string): { host: string; port: number } | null {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(text);
  if (m === null) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  const host = m[1] ?? '127.0.0.1';
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port };
}

class UsageError extends Error {}

function pick<T extends string>(what: string, value: string | undefined, ok: (v: string) => v is T): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (!ok(value)) throw new UsageError(`invalid ${what} '${value}'`);
  return value;
}

const isFormat = (v: string): v is LogFormat => v === 'pretty' || v === 'json';
const isYesNo = (v: string): v is 'y' | 'n' => v === 'y' || v === 'n';

export function parseSpreadArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParseOutcome {
  let values;
  try {
    values = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (err) {
    return { kind: 'usage', message: err instanceof Error ? err.message : String(err) };
  }
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  try {
    const metricsText = values.metrics ?? (env['SPREAD_METRICS'] || undefined);
    const metrics = metricsText === undefined ? undefined : parseListenAddress(metricsText);
    if (metrics === null) throw new UsageError(`invalid --metrics address '${metricsText}' (want [HOST:]PORT)`);
    const logLevel = pick('--log-level', values['log-level'], isLogLevel) ?? pick('SPREAD_LOG_LEVEL', env['SPREAD_LOG_LEVEL'], isLogLevel);
    const logFormat = pick('--log-format', values['log-format'], isFormat) ?? pick('SPREAD_LOG_FORMAT', env['SPREAD_LOG_FORMAT'], isFormat);
    const log = values.log === undefined ? undefined : pick('-l value (want y or n)', values.log, isYesNo);
    if (values.log !== undefined && log === undefined) throw new UsageError("invalid -l value '' (want y or n)");
    const args: SpreadArgs = {
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.config !== undefined ? { config: values.config } : {}),
      activityLog: log === 'y',
      check: values.check === true,
      ...(logLevel !== undefined ? { logLevel } : {}),
      ...(logFormat !== undefined ? { logFormat } : {}),
      ...(metrics !== undefined ? { metrics } : {}),
    };
    return { kind: 'run', args };
  } catch (err) {
    if (err instanceof UsageError) return { kind: 'usage', message: err.message };
    throw err;
  }
}
