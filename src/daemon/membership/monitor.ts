/**
 * Monitor packets (SPEC.md Part VI §12): PARTITION (with DangerousMonitor) and the filter it
 * sets up, RELOAD (Prot_handle_conf_reload / Prot_initiate_conf_reload).
 */
import { MONITOR_MAGIC, Size } from '../../wire/daemon/constants.js';
import type { Channel } from '../../wire/daemon/datagram.js';
import { peekMembProcId, peekTransmitterId } from '../../wire/daemon/header.js';
import type { PartitionPacket } from '../../wire/daemon/monitor.js';
import { MembershipTimer } from './actions.js';
import { MembershipConf } from './conf.js';
import { PARTITION_TIMEOUT_MS, type MembershipReload } from './settings.js';
import { MembState, type MembershipState } from './state.js';
import { memberTokenLoss } from './token-loss.js';

/** The monitor partition component of every configured daemon (conf order); all 0 when none. */
export class MonitorPartition {
  private readonly components: Int16Array;

  constructor(private readonly conf: MembershipConf) {
    this.components = new Int16Array(conf.numProcs);
  }

  get all(): readonly number[] {
    return Array.from(this.components);
  }

  get mine(): number {
    return this.components[this.conf.me.index]!;
  }

  set(components: readonly number[]): void {
    for (let i = 0; i < this.conf.numProcs; i++) this.components[i] = components[i] ?? 0;
  }

  clear(): void {
    this.components.fill(0);
  }

  /**
   * The filter of Net_recv / Net_recv_token: data channel, monitor packets (memb_id.proc_id =
   * the magic) always pass, otherwise the transmitter must be a configured daemon in my
   * component; tokens, the transmitter must be in my component. Unparseable datagrams pass.
   */
  admits(channel: Channel, bytes: Uint8Array): boolean {
    if (bytes.length < Size.PACKET_HEADER) return true;
    if (channel === 'data' && peekMembProcId(bytes) === MONITOR_MAGIC) return true;
    const p = this.conf.proc(peekTransmitterId(bytes));
    if (p === undefined) return false;
    return this.components[this.conf.me.index] === this.components[p.index];
  }
}

export function onPartition(s: MembershipState, p: PartitionPacket, now: number): void {
  if (!s.dangerousMonitor) {
    s.log('info', `request to set partition or kill daemons from ${p.header.procId >>> 0} denied: monitor in safe mode`);
    return;
  }
  if (p.header.membId.procId !== MONITOR_MAGIC || s.conf.proc(p.header.procId) === undefined) return;
  if (s.reloadSingleton) {
    s.log('info', 'can not change partition since daemon configuration change in progress');
    return;
  }
  s.partition.set(p.components);
  s.timers.arm(MembershipTimer.PARTITION, now + PARTITION_TIMEOUT_MS);
  const mine = s.partition.mine;
  if (mine === -1) {
    s.push({ kind: 'exit', reason: 'instructed to exit by monitor' });
    return;
  }
  s.log('info', `got monitor message, component ${mine}`);
}

/** Prot_handle_conf_reload: now if OP, else as soon as OP is reached. */
export function onReload(s: MembershipState, now: number): void {
  if (s.state === MembState.OP) s.timers.arm(MembershipTimer.RELOAD, now);
  else s.reloadPending = true;
}

/**
 * Prot_initiate_conf_reload: the edge reloads the configuration (the `reload` action, answered
 * by reloadLoaded), membership takes it, then loses the token so that the ring re-forms with
 * the new set of daemons.
 */
export function initiateReload(s: MembershipState, now: number): void {
  if (s.state !== MembState.OP) return;
  if (s.reloadLoading) {
    s.reloadPending = true; // another RELOAD while the file is read: it runs at the next OP
    return;
  }
  s.reloadPending = false;
  s.push({ kind: 'reload' });
  if (s.reloadByEdge) s.reloadLoading = true;
  else memberTokenLoss(s, now);
}

/**
 * The edge read spread.conf for the RELOAD that ran: the new configuration taken, then the
 * token loss. Out of OP meanwhile (a membership change began), the RELOAD waits for OP again,
 * as the reference's requeued Prot_initiate_conf_reload.
 */
export function reloadLoaded(s: MembershipState, r: MembershipReload | null | 'refused', now: number): void {
  if (!s.reloadLoading) return;
  s.reloadLoading = false;
  if (r === 'refused') return;
  if (s.state !== MembState.OP) {
    s.reloadPending = true;
    return;
  }
  if (r !== null) applyReload(s, r);
  memberTokenLoss(s, now);
}

/** Memb_signal_conf_reload and Net_signal_conf_reload: the new conf, hash and partition indexes; the singleton partition when asked. */
function applyReload(s: MembershipState, r: MembershipReload): void {
  const conf = new MembershipConf(s.myId, r.segments);
  const partition = new MonitorPartition(conf);
  partition.set(s.partition.all); // the reference keeps its Partition[] as it was, by index
  s.conf = conf;
  s.partition = partition;
  s.confHash = r.confHash >>> 0;
  s.dangerousMonitor = r.dangerousMonitor;
  if (r.needPartition) {
    partition.set(conf.procs.map((p) => p.index));
    s.reloadSingleton = true;
  }
}

/**
 * Discard_packets in the reload singleton state, after my regular configuration: it must be me
 * alone; the partition is lifted and a lookup for the other daemons runs at once.
 */
export function endReloadSingleton(s: MembershipState, now: number): void {
  if (!s.reloadSingleton) return;
  if (s.membership.length !== 1) s.log('error', `configuration reload: the singleton ring has ${s.membership.length} members (the reference exits)`);
  s.partition.clear();
  s.reloadSingleton = false;
  s.timers.arm(MembershipTimer.LOOKUP, now);
}
