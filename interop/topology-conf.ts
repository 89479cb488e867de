/**
 * Topologies, the pure part: the shared spread.conf of a multi-daemon test, and what a
 * daemon's log says about its ring (for waitForRing).
 *
 *   loopback  one segment per daemon (one segment on loopback does not work: every daemon
 *             would bind the same broadcast address and port), daemon i at 127.0.0.(i+1) with
 *             an interface block, segment 127.0.i.255 on its own free port (so /tmp/<port>
 *             differs too); reference: conf/lo3seg-acc.conf.
 *   netns     one broadcast segment <subnet>.255:<port> on a bridge, daemon i at <subnet>.(i+1),
 *             no interface blocks (wildcard sockets); reference: conf/ns3-acc.conf.
 */

export interface ConfNode {
  readonly name: string;
  readonly address: string;
  /** Segment port (loopback: one per node; netns: all the same). */
  readonly port: number;
}

export interface ConfSettings {
  /** `AcceleratedRing = true|false`; null leaves it out (the reference then runs the original ring). Default true. */
  readonly accelerated?: boolean | null;
  /** Extra lines appended as they are. */
  readonly extra?: string;
}

/** Most segments a configuration may have (MAX_SEGMENTS): the loopback topology's node limit. */
export const MAX_LOOPBACK_NODES = 20;
/** Most daemons in a segment (MAX_PROCS_SEGMENT). */
export const MAX_NETNS_NODES = 128;

function trailer(s: ConfSettings): string {
  let text = '';
  const acc = s.accelerated === undefined ? true : s.accelerated;
  if (acc !== null) text += `AcceleratedRing = ${acc ? 'true' : 'false'}\n`;
  text += 'SocketPortReuse = ON\n';
  if (s.extra !== undefined && s.extra !== '') text += s.extra.endsWith('\n') ? s.extra : `${s.extra}\n`;
  return text;
}

/** Loopback address of node i (0-based). */
export function loopbackAddress(i: number): string {
  return `127.0.0.${i + 1}`;
}

/** Segment (broadcast) address of loopback node i. */
export function loopbackSegment(i: number): string {
  return `127.0.${i}.255`;
}

export function loopbackConf(nodes: readonly ConfNode[], settings: ConfSettings = {}): string {
  if (nodes.length === 0 || nodes.length > MAX_LOOPBACK_NODES) throw new RangeError(`loopback topology: 1..${MAX_LOOPBACK_NODES} nodes, got ${nodes.length}`);
  let text = '# spread-ts topology: loopback, one segment per daemon (interface blocks)\n';
  nodes.forEach((n, i) => {
    text += `Spread_Segment ${loopbackSegment(i)}:${n.port} {\n\t${n.name}\t${n.address} {\n\t\t${n.address}\n\t}\n}\n`;
  });
  return text + trailer(settings);
}

export function netnsConf(subnet: string, port: number, nodes: readonly ConfNode[], settings: ConfSettings = {}): string {
  if (nodes.length === 0 || nodes.length > MAX_NETNS_NODES) throw new RangeError(`netns topology: 1..${MAX_NETNS_NODES} nodes, got ${nodes.length}`);
  let text = '# spread-ts topology: network namespaces on one bridge, one broadcast segment\n';
  text += `Spread_Segment ${subnet}.255:${port} {\n`;
  for (const n of nodes) text += `\t${n.name}\t${n.address}\n`;
  return `${text}}\n${trailer(settings)}`;
}

// ---------------------------------------------------------------------------------------------
// Ring status from logs

export interface RingStatus {
  /** Number of daemons in the ring. */
  readonly members: number;
  /** Ring (membership) id as `procId:time`, when the source says it. */
  readonly id?: string;
  /** Member names, when the source lists them. */
  readonly names?: readonly string[];
}

/**
 * The reference's last complete membership report (default DebugFlags print it):
 *
 *   Membership id is ( 2130706433, 1795718558)
 *   --------------------
 *   Configuration at lo1 is:
 *   Num Segments 3
 *   	1	127.0.0.255       24803
 *   		lo1                 	127.0.0.1
 *   ...
 *   ====================
 *
 * Lines may carry an EventTimeStamp prefix (`[...]`).
 */
export function parseReferenceRing(log: string): RingStatus | undefined {
  const re = /Membership id is \(\s*(-?\d+),\s*(-?\d+)\s*\)([\s\S]*?)\n(?:\[[^\]\n]*\]\s*)?={5,}/g;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(log); m !== null; m = re.exec(log)) last = m;
  if (last === null) return undefined;
  const names: string[] = [];
  for (const line of last[3]!.split('\n')) {
    const m = /^(?:\[[^\]]*\]\s*)?\s+(\S+)\s+(\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(line);
    if (m !== null) names.push(m[1]!);
  }
  return { members: names.length, id: `${last[1]}:${last[2]}`, names };
}

/**
 * Ours: the last line with `ring: N members`, optionally followed somewhere on the same line by
 * an id written `(A, B)` or `id A:B`. The daemon does not print it yet; until it does, pass a
 * `ringStatus` source of your own to the topology.
 */
export function parseOursRing(log: string): RingStatus | undefined {
  const re = /ring: (\d+) members?([^\n]*)/g;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(log); m !== null; m = re.exec(log)) last = m;
  if (last === null) return undefined;
  const rest = last[2]!;
  const id = /\(\s*(-?\d+),\s*(-?\d+)\s*\)/.exec(rest) ?? /\bid[= ](-?\d+):(-?\d+)/.exec(rest);
  const members = Number(last[1]);
  return id === null ? { members } : { members, id: `${id[1]}:${id[2]}` };
}
