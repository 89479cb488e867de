/**
 * The edge side of a configuration reload (SPEC.md Part IX §6): when a RELOAD runs (a
 * monitor's, or ours for SIGHUP), spread.conf is read again with the same `-n` name, the
 * verdict logged as the reference logs it, and the node told what to take.
 *
 *   refused    the reference's message at error level; a monitor's RELOAD then exits the
 *              daemon (the reference exits), ours (SIGHUP) keeps the running configuration
 *   unchanged  the ring re-forms with the running configuration
 *   changed    `Config Added daemon at IP` per added daemon, then the node and the edges take it
 */
import type { SelectDaemonOptions, SpreadConfig } from './config/index.js';
import { reloadOutcome } from './config/reload.js';
import type { CoreLog } from './core/daemon-core.js';
import type { NodeReload } from './node/node.js';

export interface ReloadSource {
  /** The configuration the daemon runs on now. */
  readonly running: () => SpreadConfig;
  /** Reads spread.conf again (the `-c` file); rejects (ConfigError) when it is unusable. */
  readonly read: () => Promise<SpreadConfig>;
  /** How this daemon finds itself in the file (its `-n` name, else its local addresses). */
  readonly selection: SelectDaemonOptions;
  readonly log: CoreLog;
}

/** What the node takes, and the new configuration when it changed. */
export interface ReloadResult {
  readonly node: NodeReload;
  readonly config: SpreadConfig | null;
}

/** What judgeReload needs of the daemon: ReloadSource without the reading. */
export type ReloadJudge = Omit<ReloadSource, 'read'>;

function refused(src: ReloadJudge, origin: 'monitor' | 'signal', message: string): ReloadResult {
  if (origin === 'signal') {
    src.log.error({}, `SIGHUP: reload refused (the running configuration stays): ${message}`);
    return { node: { kind: 'refused', exit: null }, config: null };
  }
  src.log.error({ fatal: true }, message);
  return { node: { kind: 'refused', exit: message }, config: null };
}

/** Conf_reload_initiate with its log lines; never rejects. */
export async function readReload(src: ReloadSource, origin: 'monitor' | 'signal'): Promise<ReloadResult> {
  let next: SpreadConfig;
  try {
    next = await src.read();
  } catch (err) {
    return refused(src, origin, `Conf_load_conf_file: ${err instanceof Error ? err.message : String(err)}`);
  }
  return judgeReload(src, next, origin);
}

/** readReload's synchronous half: the verdict on `next` (the file as read), logged; never throws. */
export function judgeReload(src: ReloadJudge, next: SpreadConfig, origin: 'monitor' | 'signal'): ReloadResult {
  let v: ReturnType<typeof reloadOutcome>;
  try {
    v = reloadOutcome(src.running(), next, src.selection);
  } catch (err) {
    return refused(src, origin, `Conf_reload_initiate: ${err instanceof Error ? err.message : String(err)}`);
  }
  const by = origin === 'signal' ? 'SIGHUP' : 'monitor RELOAD';
  if (v.kind === 'refused') return refused(src, origin, v.message);
  if (v.kind === 'unchanged') {
    src.log.info({}, `${by}: configuration unchanged; the ring re-forms`);
    return { node: { kind: 'unchanged' }, config: null };
  }
  for (const d of v.added) src.log.info({}, `Conf_reload_initiate: Config Added daemon at ${d.address}`);
  const names = (ds: readonly { name: string }[]): string => ds.map((d) => d.name).join(' ') || 'none';
  src.log.warn(
    { added: v.added.length, removed: v.removed.length, needPartition: v.needPartition },
    `${by}: configuration changed (added: ${names(v.added)}; removed: ${names(v.removed)})${v.needPartition ? ', every daemon alone first' : ''}`,
  );
  return { node: { kind: 'changed', config: v.config, needPartition: v.needPartition }, config: v.config };
}
