/**
 * Monitor packets (SPEC.md Part VI §12): PARTITION (with DangerousMonitor) and the filter it
 * sets up, RELOAD (Prot_handle_conf_reload / Prot_initiate_conf_reload).
 */
import { MONITOR_MAGIC, Size } from '../../wire/daemon/constants.js';
import type { Channel } from '../../wire/daemon/datagram.js';
import { peekMembProcId, peekTransmitterId } from '../../wire/daemon/header.js';
import type { PartitionPacket } from '../../wire/daemon/monitor.js';
import { MembershipTimer } from './actions.js';
import type { MembershipConf } from './conf.js';
import { PARTITION_TIMEOUT_MS } from './settings.js';
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

/** Prot_initiate_conf_reload: ask the edge to reload the configuration, then lose the token. */
export function initiateReload(s: MembershipState, now: number): void {
  if (s.state !== MembState.OP) return;
  s.reloadPending = false;
  s.push({ kind: 'reload' });
  memberTokenLoss(s, now);
}
