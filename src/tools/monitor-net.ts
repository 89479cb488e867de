/**
 * spmonitor's edge and its report (README "Tools": spmonitor; the packets are SPEC.md Part IV
 * §11, wire/daemon/monitor.ts): one UDP socket bound to the reply port sends requests to every
 * configured daemon (address = its id, port = its segment's port) and receives status replies.
 *
 * Requests, as the reference's monitor sends them: STATUS once per daemon and query; PARTITION
 * and FC twice per daemon; PARTITION with −1 (terminate) twice to the daemons to stop only;
 * RELOAD once per daemon.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { DaemonSpec, SpreadConfig } from '../daemon/config/index.js';
import { Limits, PacketType } from '../wire/daemon/constants.js';
import { decodeDatagram, encodeDatagram, type Datagram } from '../wire/daemon/datagram.js';
import { monitorRequestHeader, type StatusBody } from '../wire/daemon/monitor.js';

export { DEFAULT_MONITOR_PORT } from '../wire/daemon/constants.js';

/** The reference resends an active partition this often (Send_partition_timeout). */
export const PARTITION_RESEND_MS = 25_000;

export interface StatusReport {
  daemon: DaemonSpec | undefined;
  status: StatusBody;
}

/** Daemons in the order the reference walks them: segment by segment, file order. */
export function daemonsInOrder(config: SpreadConfig): DaemonSpec[] {
  return config.segments.flatMap((s) => [...s.daemons]);
}

/** Index of a daemon in the configuration (the partition / fc arrays' index). */
export function confIndex(config: SpreadConfig, d: DaemonSpec): number {
  return config.daemons.indexOf(d);
}

export class MonitorSocket {
  /** Called with every datagram that arrives (status replies, and anything else). */
  onDatagram: (buf: Uint8Array) => void = () => undefined;

  private constructor(
    private readonly sock: Socket,
    readonly port: number,
  ) {}

  /** Binds the reply port (0: any free one) on every address. */
  static async open(port: number): Promise<MonitorSocket> {
    const sock = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    const m = new MonitorSocket(sock, sock.address().port);
    sock.on('message', (msg: Buffer) => m.onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.length)));
    sock.on('error', () => undefined);
    return m;
  }

  private readonly sending = new Set<Promise<void>>();

  /** Sends `bytes` to a daemon's data port `times` times (a failed send is not reported). */
  send(d: DaemonSpec, bytes: Uint8Array, times = 1): void {
    for (let i = 0; i < times; i++) {
      const p = new Promise<void>((resolve) => this.sock.send(bytes, d.port, d.address, () => resolve()));
      this.sending.add(p);
      void p.then(() => this.sending.delete(p));
    }
  }

  /** Sends `bytes` `times` times to every daemon of `config` (daemonsInOrder) that `only` accepts. */
  sendAll(config: SpreadConfig, bytes: Uint8Array, times = 1, only?: (d: DaemonSpec) => boolean): void {
    for (const d of daemonsInOrder(config)) if (only === undefined || only(d)) this.send(d, bytes, times);
  }

  /**
   * Terminate: PARTITION with `components` twice to each daemon whose component is −1 (the
   * others keep theirs), announced on `out` as the reference's monitor does.
   */
  terminate(config: SpreadConfig, requests: MonitorRequests, components: readonly number[], out: (s: string) => void): void {
    const bytes = requests.partition(components);
    for (const d of daemonsInOrder(config)) {
      if (components[confIndex(config, d)] !== -1) continue;
      out(`Monitor: Terminating ${d.name}\n`);
      this.send(d, bytes, 2);
    }
  }

  /** Closes once every datagram handed to send() has left. */
  async close(): Promise<void> {
    await Promise.all([...this.sending]);
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}

/** What the monitor sends, encoded; `me` is the monitor's own daemon, `port` its reply port. */
export class MonitorRequests {
  constructor(
    private readonly me: DaemonSpec,
    private readonly port: number,
  ) {}

  status(): Uint8Array {
    return encodeDatagram({ kind: 'status-request', littleEndian: true, header: this.header(PacketType.STATUS) });
  }

  /** `components` indexed by configuration order (missing entries 0). */
  partition(components: readonly number[]): Uint8Array {
    const full = fill(components, 0);
    return encodeDatagram({ kind: 'partition', littleEndian: true, header: this.header(PacketType.PARTITION), components: full });
  }

  /** windows[i] / accelerated[i] per configuration index; windows[numProcs] is the global Window. */
  flowControl(windows: readonly number[], accelerated: readonly number[]): Uint8Array {
    const d: Datagram = {
      kind: 'fc', littleEndian: true, header: this.header(PacketType.FC), windows: fill(windows, 0), acceleratedWindows: fill(accelerated, 0),
    };
    return encodeDatagram(d);
  }

  reload(): Uint8Array {
    return encodeDatagram({ kind: 'reload', littleEndian: true, header: this.header(PacketType.RELOAD) });
  }

  private header(type: number): ReturnType<typeof monitorRequestHeader> {
    return monitorRequestHeader(type, this.me.id, this.port);
  }
}

function fill(values: readonly number[], dflt: number): number[] {
  const out = new Array<number>(Limits.MAX_PROCS_RING).fill(dflt);
  for (let i = 0; i < Math.min(values.length, out.length); i++) out[i] = values[i]!;
  return out;
}

/** A status reply decoded (either byte order), or undefined for anything else. */
export function decodeStatusReply(config: SpreadConfig, buf: Uint8Array): StatusReport | undefined {
  let d: Datagram;
  try {
    d = decodeDatagram(buf, 'data');
  } catch {
    return undefined;
  }
  if (d.kind !== 'status-reply') return undefined;
  return { daemon: config.daemons.find((p) => p.id === d.status.myId >>> 0), status: d.status };
}

function d7(n: number): string {
  return String(n).padStart(7);
}

/**
 * The reference's status report for one reply; `last` is the previous reply received (any
 * daemon: the reference's deltas are against the last report it printed).
 */
export function formatStatus(config: SpreadConfig, r: StatusReport, last: StatusBody | undefined): string {
  const s = r.status;
  let out = '\n============================\n';
  if (r.daemon === undefined) return `${out}Report_message: Skiping illegal status \n==================================\n`;
  const leader = config.daemons.find((p) => p.id === s.leaderId >>> 0);
  const v = `V${String(s.majorVersion).padStart(2)}.${String(s.minorVersion).padStart(2, '0')}.${String(s.patchVersion).padStart(2)}`;
  out += `Status at ${r.daemon.name} ${v} (state ${s.state}, gstate ${s.gstate}) after ${s.sec} seconds :\n`;
  out += `Membership  :  ${s.numProcs}  procs in ${s.numSegments} segments, leader is ${leader?.name ?? String(s.leaderId)}, `;
  out += s.acceleratedRing === 0 ? 'regular protocol\n' : 'accelerated protocol\n';
  out += `rounds   : ${d7(s.tokenRounds)}\ttok_hurry : ${d7(s.tokenHurry)}\tmemb change: ${d7(s.membershipChanges)}\n`;
  out += `sent pack: ${d7(s.packetSent)}\trecv pack : ${d7(s.packetRecv)}\tretrans    : ${d7(s.retrans)}\n`;
  out += `u retrans: ${d7(s.uRetrans)}\ts retrans : ${d7(s.sRetrans)}\tb retrans  : ${d7(s.bRetrans)}\n`;
  out += `My_aru   : ${d7(s.myAru)}\tAru       : ${d7(s.aru)}\tHighest seq: ${d7(s.highestSeq)}\n`;
  out += `Sessions : ${d7(s.numSessions)}\tGroups    : ${d7(s.numGroups)}\tWindow     : ${d7(s.window)}\n`;
  out += `Deliver M: ${d7(s.messageDelivered)}\tDeliver Pk: ${d7(s.packetDelivered)}\tP/A Window : ${d7(s.personalWindow)}/${s.acceleratedWindow}\n`;
  const dm = s.messageDelivered - (last?.messageDelivered ?? 0);
  const dp = s.aru - (last?.aru ?? 0);
  const ds = s.sec - (last?.sec ?? 0);
  out += `Delta Mes: ${d7(dm)}\tDelta Pk  : ${d7(dp)}\tDelta sec  : ${d7(ds)}\n`;
  return `${out}==================================\n`;
}

/** Membership state names (the reference's OP 1, SEG 2, REPRESENTED 3, GATHER 4, FORM 5, EVS 6). */
const STATE_NAMES: Record<number, string> = { 1: 'OP', 2: 'SEG', 3: 'REPRESENTED', 4: 'GATHER', 5: 'FORM', 6: 'EVS' };

/** One daemon's entry of `spmonitor status --json`. */
export function statusJson(d: DaemonSpec, status: StatusBody | undefined, config: SpreadConfig): Record<string, unknown> {
  if (status === undefined) return { name: d.name, address: d.address, answered: false };
  const leader = config.daemons.find((p) => p.id === status.leaderId >>> 0);
  return {
    name: d.name,
    address: d.address,
    answered: true,
    stateName: STATE_NAMES[status.state] ?? String(status.state),
    leader: leader?.name ?? null,
    version: `${status.majorVersion}.${status.minorVersion}.${status.patchVersion}`,
    ...status,
  };
}
