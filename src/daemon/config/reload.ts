/**
 * What a configuration reload would change (SPEC Part IX §6): the reference's checks when a
 * monitor's RELOAD makes it re-read spread.conf. Pure: old and new configuration in, verdict out.
 *
 *   refused   this daemon is no longer in the file, or its name, interface count, segment
 *             address or interfaces changed (the reference exits with these messages)
 *   unchanged the same configuration hash
 *   changed   daemons added / removed; `needPartition` when a daemon present in both changed
 *             (the reference then re-forms every daemon alone before merging)
 *
 * reloadOutcome first finds this daemon in the new file the way the reference's loader does
 * (by `-n` name, else by a local address), which refuses with the loader's own message.
 */
import { DaemonSelectionError } from './errors.js';
import { configHash, ipToString } from './hash.js';
import { selectDaemon, type SelectDaemonOptions } from './runtime.js';
import type { DaemonSpec, Interface, SpreadConfig } from './types.js';

export type ReloadVerdict =
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'unchanged' }
  | {
      readonly kind: 'changed';
      readonly added: readonly DaemonSpec[];
      readonly removed: readonly DaemonSpec[];
      readonly needPartition: boolean;
    };

const segAddress = (c: SpreadConfig, d: DaemonSpec): number => c.segments[d.segmentIndex]!.ip;

function identityDiffers(oc: SpreadConfig, o: DaemonSpec, nc: SpreadConfig, n: DaemonSpec): boolean {
  return o.name !== n.name || o.interfaces.length !== n.interfaces.length || segAddress(oc, o) !== segAddress(nc, n);
}

const ifcDiffers = (a: Interface | undefined, b: Interface | undefined): boolean =>
  a === undefined || b === undefined || a.ip !== b.ip || a.port !== b.port || a.type !== b.type;

/** As the reference prints an interface in its refusal: the address's first byte four times (its format's quirk). */
const ifcText = (i: Interface): string => `${Array(4).fill(i.ip >>> 24).join('.')}:${i.port} - ${i.type}`;

function describe(c: SpreadConfig, d: DaemonSpec): string {
  return `name (${d.name}), num_if: ${d.interfaces.length}, bcast: ${ipToString(segAddress(c, d))}`;
}

/** The reference's refusal for this daemon's own entry, or null when it may carry on. */
function selfRefusal(oc: SpreadConfig, nc: SpreadConfig, selfId: number): string | null {
  const me = ipToString(selfId);
  const n = nc.daemons.find((d) => d.id === selfId);
  if (n === undefined) return `Conf_reload_initiate: I (${me}) am no longer in config, so exiting.`;
  const o = oc.daemons.find((d) => d.id === selfId);
  if (o === undefined) return `Conf_reload_initiate: BUG! I (${me}) am not in previous config, so exiting.`;
  if (identityDiffers(oc, o, nc, n)) {
    return `Conf_reload_initiate: My identity has changed: old ${describe(oc, o)}\t new ${describe(nc, n)}`;
  }
  const i = n.interfaces.findIndex((ifc, k) => ifcDiffers(o.interfaces[k], ifc));
  if (i >= 0) {
    return `Conf_reload_initiate: My interface spec has changed so must exit: old (${ifcText(o.interfaces[i]!)}) new (${ifcText(n.interfaces[i]!)})`;
  }
  return null;
}

export function reloadVerdict(oldConfig: SpreadConfig, newConfig: SpreadConfig, selfId: number): ReloadVerdict {
  const refusal = selfRefusal(oldConfig, newConfig, selfId);
  if (refusal !== null) return { kind: 'refused', message: refusal };
  if (configHash(oldConfig) === configHash(newConfig)) return { kind: 'unchanged' };
  const byId = (c: SpreadConfig, id: number): DaemonSpec | undefined => c.daemons.find((d) => d.id === id);
  const added = newConfig.daemons.filter((d) => byId(oldConfig, d.id) === undefined);
  const removed = oldConfig.daemons.filter((d) => byId(newConfig, d.id) === undefined);
  const needPartition = newConfig.daemons.some((n) => {
    const o = byId(oldConfig, n.id);
    return o !== undefined && (identityDiffers(oldConfig, o, newConfig, n) || n.interfaces.some((ifc, k) => ifcDiffers(o.interfaces[k], ifc)));
  });
  return { kind: 'changed', added, removed, needPartition };
}

/** What a reload does: the verdict, with the new configuration and this daemon's entry in it when it changed. */
export type ReloadOutcome =
  | Exclude<ReloadVerdict, { kind: 'changed' }>
  | (Extract<ReloadVerdict, { kind: 'changed' }> & { readonly config: SpreadConfig; readonly self: DaemonSpec });

/**
 * Conf_load_conf_file then Conf_reload_initiate: this daemon found in `next` (by name, else by
 * a local address; not found ⇒ the loader's refusal), then the checks of reloadVerdict on its
 * id in the new file.
 */
export function reloadOutcome(running: SpreadConfig, next: SpreadConfig, selection: SelectDaemonOptions): ReloadOutcome {
  let self: DaemonSpec;
  try {
    self = selectDaemon(next, selection);
  } catch (err) {
    if (!(err instanceof DaemonSelectionError)) throw err;
    const message = selection.name !== undefined
      ? `Conf_load_conf_file: My proc ${selection.name} is not in configuration`
      : 'Conf_load_conf_file: None of local IPs found in configuration';
    return { kind: 'refused', message };
  }
  const v = reloadVerdict(running, next, self.id);
  return v.kind === 'changed' ? { ...v, config: next, self } : v;
}
