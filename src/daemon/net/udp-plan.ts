/**
 * Which UDP sockets one daemon opens, and where its sends go, derived from spread.conf and the
 * daemon's own entry (selectDaemon). Pure: no sockets here, so the plan can be tested and
 * printed on its own. The reference does the same in Net_init / DL_init_channel
 * (PROTOCOL-NOTES B.1):
 *
 *   for each interface of mine of type D or ANY, in configuration order:
 *     [segment socket]  <segment bcast/mcast address>:<port>   data   once, only if my segment
 *                                                                    has > 1 daemon and the
 *                                                                    interface is a specific IP
 *     [data socket]     <interface IP or 0.0.0.0>:<port>        data   joins the multicast group
 *                                                                    when the segment address is
 *                                                                    224/4 and broadcast is needed
 *     [token socket]    <interface IP or 0.0.0.0>:<port + 1>    token
 *   one send socket, unbound (ephemeral port), SO_BROADCAST, multicast TTL 1.
 *
 * Unicast goes to a daemon's id address at its segment's port (data) or port + 1 (token);
 * a segment send goes to the segment's broadcast/multicast address at its port.
 */
import { IfType } from '../config/index.js';
import type { DaemonSpec, SpreadConfig } from '../config/index.js';
import type { Channel } from '../ring/actions.js';

/** A multicast group to join on a receive socket. */
export interface UdpMulticastJoin {
  readonly group: string;
  /** Local interface address to join on; undefined = INADDR_ANY (the kernel picks). */
  readonly iface: string | undefined;
}

/** One receive socket. */
export interface UdpBindSpec {
  readonly channel: Channel;
  /** `interface`: one of my D/ANY interfaces; `segment`: my segment's broadcast/multicast address. */
  readonly role: 'interface' | 'segment';
  /** Address to bind: the interface IP, `0.0.0.0` for ANY, or the segment address. */
  readonly address: string;
  readonly port: number;
  readonly multicast: UdpMulticastJoin | null;
}

/** Where datagrams for one daemon go. */
export interface UdpPeer {
  readonly name: string;
  /** Proc id as int32 (the wire's form). */
  readonly id: number;
  /** The address as an unsigned 32-bit value (the id's bits). */
  readonly ip: number;
  readonly address: string;
  /** Data port; the token port is `port + 1`. */
  readonly port: number;
  readonly segmentIndex: number;
}

/** Where a segment send goes. */
export interface UdpSegmentTarget {
  /** The address as an unsigned 32-bit value. */
  readonly ip: number;
  readonly address: string;
  readonly port: number;
  /** 224.0.0.0/4. */
  readonly multicast: boolean;
  readonly numDaemons: number;
}

export interface UdpPlan {
  readonly name: string;
  /** My proc id as int32 (compare with header fields decoded as int32). */
  readonly myId: number;
  readonly myAddress: string;
  readonly port: number;
  readonly tokenPort: number;
  readonly segmentIndex: number;
  /** My segment has more than one configured daemon: segment sends are real broadcasts. */
  readonly bcastNeeded: boolean;
  readonly binds: readonly UdpBindSpec[];
  /** Every configured daemon by proc id (int32). */
  readonly peers: ReadonlyMap<number, UdpPeer>;
  /** Every segment in configuration order (a `to: 'segment'` target is an index here). */
  readonly segments: readonly UdpSegmentTarget[];
}

/** 224.0.0.0/4 (address as an unsigned or signed 32-bit value). */
export function isMulticastIp(ip: number): boolean {
  return ip >>> 28 === 0xe;
}

export { ipString } from '../../wire/daemon/constants.js';

const ANY_ADDRESS = '0.0.0.0';

export function planUdp(config: Pick<SpreadConfig, 'segments' | 'daemons'>, self: DaemonSpec): UdpPlan {
  const segment = config.segments[self.segmentIndex];
  if (segment === undefined) throw new RangeError(`planUdp: daemon ${self.name} names segment ${self.segmentIndex}, which does not exist`);
  const bcastNeeded = segment.daemons.length > 1;
  const mcast = isMulticastIp(segment.ip);
  const port = self.port;

  const binds: UdpBindSpec[] = [];
  let segmentBound = false;
  for (const ifc of self.interfaces) {
    if ((ifc.type & (IfType.DAEMON | IfType.ANY)) === 0) continue;
    const any = (ifc.type & IfType.ANY) !== 0;
    const address = any ? ANY_ADDRESS : ifc.address;
    if (!any && bcastNeeded && !segmentBound) {
      // A socket bound to a specific IP does not see broadcasts: bind the segment address too.
      binds.push({ channel: 'data', role: 'segment', address: segment.address, port, multicast: mcast ? { group: segment.address, iface: undefined } : null });
      segmentBound = true;
    }
    const join = bcastNeeded && mcast ? { group: segment.address, iface: any ? undefined : ifc.address } : null;
    if (!binds.some((b) => b.role === 'interface' && b.address === address)) {
      binds.push({ channel: 'data', role: 'interface', address, port, multicast: join });
      binds.push({ channel: 'token', role: 'interface', address, port: port + 1, multicast: null });
    }
  }

  const peers = new Map<number, UdpPeer>();
  for (const d of config.daemons) {
    peers.set(d.id | 0, { name: d.name, id: d.id | 0, ip: d.id >>> 0, address: d.address, port: d.port, segmentIndex: d.segmentIndex });
  }
  const segments = config.segments.map((s) => ({
    ip: s.ip >>> 0,
    address: s.address,
    port: s.port,
    multicast: isMulticastIp(s.ip),
    numDaemons: s.daemons.length,
  }));

  return {
    name: self.name,
    myId: self.id | 0,
    myAddress: self.address,
    port,
    tokenPort: port + 1,
    segmentIndex: self.segmentIndex,
    bcastNeeded,
    binds,
    peers,
    segments,
  };
}
