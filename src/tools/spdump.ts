/**
 * spdump: prints the Spread traffic in a capture file (pcap or pcapng), one line per
 * daemon⇄daemon datagram or client⇄daemon frame.
 *
 *   spdump CAPTURE [--port N ...] [--json] [--verify] [--no-detect]
 *
 * Spread ports: segment port 4803 (data 4803, token 4804, client TCP 4803), every `--port N`
 * (data N, token N+1, client N), and, unless --no-detect, any UDP destination port all of whose
 * datagrams decode as Spread data-channel or token-channel datagrams (valid endian marker,
 * lengths that add up), and any TCP connection that opens with a Spread connect handshake.
 *
 * --json    one JSON object per line (byte fields as hex strings).
 * --verify  re-encodes every decoded datagram (and client message frame) and compares it with
 *           the captured bytes; also re-encodes the "semantic" value (uninitialised bytes
 *           zeroed) and compares outside the masked ranges. Prints only differences and a
 *           summary; exits 1 if anything differs or failed to decode.
 *
 * Exit codes: 0 ok, 1 verification failed, 64 usage, 65 unreadable capture, 66 no such file.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ProtocolError } from '../wire/errors.js';
import {
  ServiceType,
  acceptHasPatch,
  decodeAccept,
  decodeAuthList,
  decodeAuthReply,
  decodeConnect,
  decodeHeader,
  decodeBody,
  decodeMembershipBody,
  encodeMessage,
  errorCodeName,
  HEADER_SIZE,
  HeaderField,
  hintMessType,
  isMembership,
  isReject,
  NAME_SIZE,
  type MessageHeader,
  type WireMessage,
} from '../wire/client/index.js';
import {
  decodeGroupsMessage,
  encodeDatagram,
  firstDifferenceOutside,
  getArq,
  getRetrans,
  ipString,
  maskedByteCount,
  packetTypeNames,
  safeDecode,
  semanticDatagram,
  uninitialisedRanges,
  DEFAULT_SPREAD_PORT,
  type ByteRange,
  type Channel,
  type Datagram,
  type RingId,
} from '../wire/daemon/index.js';
import { readCapture, timeAt, type Capture, type TcpConnection, type TcpDirection, type UdpDatagram } from '../wire/pcap/index.js';

export const ExitCode = { OK: 0, DIFF: 1, USAGE: 64, DATAERR: 65, NOINPUT: 66, SOFTWARE: 70 } as const;

export interface SpdumpIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile?(path: string): Uint8Array;
}

const processIo: SpdumpIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

interface Options {
  port: number[];
  json?: boolean;
  verify?: boolean;
  detect: boolean;
}

function parsePort(v: string, prev: number[]): number[] {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65534) throw new CommanderError(64, 'spdump.port', `error: invalid port '${v}'`);
  return [...prev, n];
}

function buildProgram(io: SpdumpIo): Command {
  return new Command('spdump')
    .description('print the Spread daemon and client traffic of a pcap/pcapng capture')
    .argument('<capture>', 'capture file (pcap or pcapng)')
    .option('-p, --port <port>', 'a Spread segment port (data N, token N+1, clients N); repeatable', parsePort, [])
    .option('--json', 'print one JSON object per line')
    .option('--verify', 're-encode every decoded datagram and compare with the captured bytes')
    .option('--no-detect', 'only use 4803 and the --port ports')
    .helpOption('-h, --help')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
}

// ---------------------------------------------------------------------------------------------
// Classification

interface UdpEvent {
  proto: 'udp';
  time: number;
  frame: number;
  order: number;
  src: string;
  dst: string;
  channel: Channel;
  bytes: Uint8Array;
  result: { ok: true; value: Datagram } | { ok: false; error: ProtocolError };
}

type ClientFrameKind = 'connect' | 'auth-list' | 'auth' | 'accept' | 'reject' | 'message' | 'malformed';

interface TcpEvent {
  proto: 'tcp';
  time: number;
  frame: number;
  order: number;
  src: string;
  dst: string;
  kind: ClientFrameKind;
  bytes: Uint8Array;
  text: string;
  json: Record<string, unknown>;
  message?: WireMessage;
}

type Event = UdpEvent | TcpEvent;

/** Decides the channel of each UDP destination port. */
export function classifyPorts(udp: readonly UdpDatagram[], segmentPorts: readonly number[], detect: boolean): Map<number, Channel> {
  const map = new Map<number, Channel>();
  for (const p of segmentPorts) {
    map.set(p, 'data');
    map.set(p + 1, 'token');
  }
  if (!detect) return map;
  const byPort = new Map<number, UdpDatagram[]>();
  for (const u of udp) {
    if (map.has(u.dst.port)) continue;
    let list = byPort.get(u.dst.port);
    if (list === undefined) byPort.set(u.dst.port, (list = []));
    list.push(u);
  }
  const verdict = new Map<number, { data: boolean; token: boolean }>();
  for (const [port, list] of byPort) {
    verdict.set(port, {
      data: list.every((u) => safeDecode(u.payload, 'data').ok),
      token: list.every((u) => safeDecode(u.payload, 'token').ok),
    });
  }
  for (const [port, v] of verdict) {
    if (v.data && !v.token) map.set(port, 'data');
    else if (v.token && !v.data) map.set(port, 'token');
  }
  // Header-only datagrams decode both ways: settle them by their neighbours.
  for (const [port, v] of verdict) {
    if (!(v.data && v.token)) continue;
    if (map.get(port - 1) === 'data' || verdict.get(port - 1)?.data === true) map.set(port, 'token');
    else map.set(port, 'data');
  }
  return map;
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers

function membStr(m: RingId): string {
  return `(${ipString(m.procId)},${m.time})`;
}

const CLIENT_TYPE_NAMES = Object.entries(ServiceType).filter(
  ([k]) => !['REGULAR_MESS', 'MEMBERSHIP_MESS', 'ENDIAN_RESERVED', 'DROP_RECV'].includes(k),
) as Array<[string, number]>;

export function clientTypeNames(type: number): string {
  const parts: string[] = [];
  for (const [name, bit] of CLIENT_TYPE_NAMES) if (type & bit) parts.push(name);
  return parts.length > 0 ? parts.join('|') : `0x${type.toString(16)}`;
}

const REP_NAMES = ['POTENTIAL', 'SEG', 'RING'];

function repStr(r: { procId: number; type: number; segIndex: number }): string {
  return `${ipString(r.procId)}/${REP_NAMES[r.type] ?? r.type}/${r.segIndex}`;
}

function ipList(ids: readonly number[]): string {
  return `[${ids.map(ipString).join(',')}]`;
}

function messageSummary(h: MessageHeader, data: Uint8Array): string {
  if (h.type & ServiceType.GROUPS_MESS) {
    try {
      const g = decodeGroupsMessage(data, 0, data.length).value;
      return `GROUPS(${g.daemonName} set=${g.syncedSetSize}${g.syncedSet === null ? '' : ipList(g.syncedSet)} ring=${membStr(g.membId)} groups=[${g.groups.map((e) => e.name).join(',')}])`;
    } catch {
      return `GROUPS(${h.name}) data=${h.dataLen}`;
    }
  }
  return `${clientTypeNames(h.type)} ${h.name} groups=${h.numGroups} data=${h.dataLen}`;
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

/** JSON.stringify replacer: byte arrays as hex. */
function jsonReplacer(_key: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return hexOf(v);
  return v;
}

/** One-line description of a decoded datagram (after the endpoints). */
export function describeDatagram(d: Datagram, len: number): string {
  switch (d.kind) {
    case 'token':
    case 'form1':
    case 'form2': {
      const h = d.header;
      const name = d.kind === 'token' ? 'TOKEN' : d.kind === 'form1' ? 'TOKEN/FORM1' : 'TOKEN/FORM2';
      let s = `${name} seq=${h.seq} aru=${h.aru} aru_last=${ipString(h.aruLastId)} fc=${h.flowControl} rtr_len=${h.rtrLen} memb=${membStr(h.membId)} hash=${h.confHash} arq=${getArq(h.type)} rtrs=${getRetrans(h.type)}`;
      if (d.kind === 'token') {
        for (const r of d.rtr) s += ` rtr=${membStr(r.membId)}/${ipString(r.procId)}/${r.segIndex}:[${r.seqs.join(',')}]`;
      } else {
        s += ` members=${d.members.numMembers}+${d.members.numPending}${ipList(d.members.members)}`;
        if (d.kind === 'form1') s += ` reps=[${d.reps.reps.map(repStr).join(',')}]@${d.reps.repIndex}`;
        else s += ` new_ring=${membStr(d.newRingId)}`;
        for (const g of d.rings) {
          s += ` ring=${membStr(g.membId)}:aru=${g.aru},hs=${g.highestSeq},trans_time=${g.transTime},holes=[${g.holes.join(',')}],commit=${ipList(g.commit)},trans=${g.numTrans}`;
        }
      }
      return `${s} len=${len}`;
    }
    default:
      break;
  }
  const h = d.header;
  const common = `proc=${ipString(h.procId)} trans=${ipString(h.transmitterId)}`;
  switch (d.kind) {
    case 'data': {
      const frags = d.fragments.map((f) => `${f.index}:${f.data.length}`).join(',');
      const msgs = d.fragments
        .filter((f) => f.message !== undefined && f.message !== null)
        .map((f) => messageSummary(f.message!, f.index === -1 ? f.data : new Uint8Array(0)));
      return `${packetTypeNames(h.type)} seq=${h.seq} round=${h.tokenRound} ${common} memb=${membStr(h.membId)} hash=${h.confHash} data_len=${h.dataLen} frags=[${frags}]${msgs.length > 0 ? ` msg=[${msgs.join('; ')}]` : ''} len=${len}`;
    }
    case 'alive':
      return `ALIVE ${common} hash=${h.confHash} members=${ipList(d.members)} pending=${d.numPending} data_len=${h.dataLen} len=${len}`;
    case 'join':
      return `JOIN ${common} hash=${h.confHash} members=${ipList(d.members)} pending=${d.numPending} reps=[${d.reps.map(repStr).join(',')}]@${d.repIndex} data_len=${h.dataLen} len=${len}`;
    case 'refer':
      return `REFER ${common} hash=${h.confHash} refers=${ipString(h.membId.procId)}/${REP_NAMES[h.membId.time] ?? h.membId.time} len=${len}`;
    case 'hurry':
      return `HURRY ${common} hash=${h.confHash} len=${len}`;
    case 'status-request':
      return `STATUS request ${common} reply_port=${h.seq} memb=${membStr(h.membId)} hash=${h.confHash} len=${len}`;
    case 'status-reply': {
      const s = d.status;
      return `STATUS reply ${common} v${s.majorVersion}.${s.minorVersion}.${s.patchVersion} sec=${s.sec} state=${s.state} gstate=${s.gstate} procs=${s.numProcs} segments=${s.numSegments} leader=${ipString(s.leaderId)} aru=${s.aru} my_aru=${s.myAru} highest_seq=${s.highestSeq} rounds=${s.tokenRounds} sessions=${s.numSessions} groups=${s.numGroups} accelerated=${s.acceleratedRing} len=${len}`;
    }
    case 'partition': {
      let last = d.components.length;
      while (last > 0 && d.components[last - 1] === 0) last--;
      return `PARTITION ${common} hash=${h.confHash} components=[${d.components.slice(0, Math.max(last, 1)).join(',')}] len=${len}`;
    }
    case 'fc': {
      let last = d.windows.length;
      while (last > 0 && d.windows[last - 1] === 0 && d.acceleratedWindows[last - 1] === 0) last--;
      const pairs = d.windows.slice(0, Math.max(last, 1)).map((w, i) => `${w}/${d.acceleratedWindows[i]}`);
      return `FC ${common} hash=${h.confHash} windows=[${pairs.join(',')}] len=${len}`;
    }
    case 'reload':
      return `RELOAD ${common} hash=${h.confHash} len=${len}`;
  }
}

/** Flat fields for --json, beside the full decoded value. */
function jsonSummary(d: Datagram): Record<string, unknown> {
  if (d.kind === 'token' || d.kind === 'form1' || d.kind === 'form2') {
    const h = d.header;
    return { ring: membStr(h.membId), seq: h.seq, aru: h.aru, arq: getArq(h.type), retrans: getRetrans(h.type), rtrLen: h.rtrLen };
  }
  const h = d.header;
  return { type: packetTypeNames(h.type), ring: membStr(h.membId), seq: h.seq, dataLen: h.dataLen };
}

// ---------------------------------------------------------------------------------------------
// Client streams

function looksLikeClient(c: TcpConnection): boolean {
  const s = c.toServer.data;
  if (s.length < 4 || !c.toServer.fromStart) return false;
  try {
    const conn = decodeConnect(s, 0, s.length);
    if (conn === null) return false;
    const a = c.toClient.data;
    if (a.length === 0) return true;
    const list = decodeAuthList(a, 0, a.length);
    return list !== null && (list.value.kind === 'reject' || list.value.methods.length > 0);
  } catch {
    return false;
  }
}

function clientEvents(c: TcpConnection, firstOrder: number): TcpEvent[] {
  const cl = `${c.client.ip}:${c.client.port}`;
  const sv = `${c.server.ip}:${c.server.port}`;
  const out: TcpEvent[] = [];
  let order = firstOrder;
  const push = (dir: TcpDirection, toServer: boolean, offset: number, end: number, kind: ClientFrameKind, text: string, json: Record<string, unknown>, message?: WireMessage): void => {
    const at = timeAt(dir, offset);
    const ev: TcpEvent = {
      proto: 'tcp', time: at.time, frame: at.frame, order: order++, src: toServer ? cl : sv, dst: toServer ? sv : cl,
      kind, bytes: dir.data.subarray(offset, end), text, json,
    };
    if (message !== undefined) ev.message = message;
    out.push(ev);
  };

  // Client → daemon: connect, auth reply (only if offered methods), messages.
  const up = c.toServer.data;
  let o = 0;
  let version = { major: 4, minor: 4, patch: 0 };
  let accepted = false;
  const down = c.toClient.data;
  let d = 0;
  if (!c.toServer.fromStart && !c.toClient.fromStart) {
    // Joined mid-connection (no SYN in the capture): no handshake to parse; frame from the
    // first captured byte, which is right when the capture started between messages.
    frames(c.toServer, true, 0);
    frames(c.toClient, false, 0);
    return out;
  }
  try {
    let conn: ReturnType<typeof decodeConnect>;
    try {
      conn = decodeConnect(up, 0, up.length);
    } catch (e) {
      // An illegal name length is part of the protocol: the daemon answers with a reject.
      if (!(e instanceof ProtocolError) || e.field !== 'name_len') throw e;
      conn = null;
      push(c.toServer, true, 0, up.length, 'connect', `CONNECT (rejected by the daemon) ${e.message}`, { error: e.message });
      o = up.length;
    }
    if (conn !== null) {
      version = conn.value;
      push(c.toServer, true, 0, conn.offset, 'connect',
        `CONNECT ${conn.value.major}.${conn.value.minor}.${conn.value.patch} flags=0x${conn.value.flags.toString(16).padStart(2, '0')} name=${JSON.stringify(conn.value.name)}`,
        { ...conn.value });
      o = conn.offset;
    }
    const list = decodeAuthList(down, 0, down.length);
    if (list !== null) {
      if (list.value.kind === 'reject') {
        push(c.toClient, false, 0, list.offset, 'reject', `REJECT ${list.value.code} (${errorCodeName(list.value.code) ?? '?'})`, { code: list.value.code });
      } else {
        push(c.toClient, false, 0, list.offset, 'auth-list', `AUTHLIST ${list.value.methods.join(' ')}`, { methods: list.value.methods });
        if (up.length - o >= 90) {
          const reply = decodeAuthReply(up, o, up.length);
          push(c.toServer, true, o, reply.offset, 'auth', `AUTH ${reply.value.join(' ')}`, { methods: reply.value });
          o = reply.offset;
        }
        const acc = decodeAccept(down, list.offset, down.length, acceptHasPatch(version.major, version.minor, version.patch));
        if (acc !== null) {
          if (acc.value.kind === 'accept') {
            const a = acc.value.accept;
            push(c.toClient, false, list.offset, acc.offset, 'accept', `ACCEPT ${a.major}.${a.minor}.${a.patch} ${a.privateGroup}`, { ...a });
            accepted = true;
          } else {
            push(c.toClient, false, list.offset, acc.offset, 'reject', `REJECT ${acc.value.code} (${errorCodeName(acc.value.code) ?? '?'})`, { code: acc.value.code });
          }
          d = acc.offset;
        }
      }
    }
  } catch (e) {
    push(c.toServer, true, o, up.length, 'malformed', `MALFORMED handshake: ${(e as Error).message}`, { error: (e as Error).message });
    return out;
  }
  if (accepted) {
    frames(c.toServer, true, o);
    frames(c.toClient, false, d);
  }
  return out;

  function frames(dir: TcpDirection, toServer: boolean, start: number): void {
    const buf = dir.data;
    let p = start;
    while (p < buf.length) {
      try {
        const h = decodeHeader(buf, p, buf.length, { maxGroups: 1 << 20, maxDataLen: 1 << 26 });
        const body = decodeBody(h.value, h.littleEndian, buf, h.offset, buf.length);
        const m = body.value;
        push(dir, toServer, p, body.offset, 'message', `MSG ${clientSummary(m, h.littleEndian)} len=${body.offset - p}`, clientJson(m, h.littleEndian), m);
        p = body.offset;
      } catch (e) {
        if (e instanceof ProtocolError && e.code === 'TRUNCATED') {
          push(dir, toServer, p, buf.length, 'malformed', `PARTIAL frame: ${buf.length - p} bytes at end of stream${dir.gap ? ' (capture gap)' : ''}`, { partial: buf.length - p });
        } else {
          push(dir, toServer, p, buf.length, 'malformed', `MALFORMED frame: ${(e as Error).message}`, { error: (e as Error).message });
        }
        return;
      }
    }
  }
}

function clientSummary(m: WireMessage, le: boolean): string {
  const h = m.header;
  let s = `${clientTypeNames(h.type)} name=${h.name} groups=[${m.groups.join(',')}] mess_type=${hintMessType(h.hint)}`;
  if (isMembership(h.type) && !isReject(h.type)) {
    try {
      const b = decodeMembershipBody(m.data, 0, m.data.length, le).value;
      s += ` gid=(${ipString(b.groupId.procId)},${b.groupId.time},${b.groupId.index}) vs_sets=[${b.vsSets.map((v) => v.join('+')).join(' | ')}]`;
    } catch {
      // a self-leave or an unexpected body: data length says enough
    }
  }
  return `${s} data_len=${h.dataLen}`;
}

function clientJson(m: WireMessage, le: boolean): Record<string, unknown> {
  return { type: m.header.type, types: clientTypeNames(m.header.type), name: m.header.name, groups: m.groups, hint: m.header.hint, messType: hintMessType(m.header.hint), dataLen: m.header.dataLen, littleEndian: le, data: m.data };
}

// ---------------------------------------------------------------------------------------------

export function collectEvents(cap: Capture, opts: { ports: readonly number[]; detect: boolean }): Event[] {
  const segPorts = [DEFAULT_SPREAD_PORT, ...opts.ports];
  const channels = classifyPorts(cap.udp, segPorts, opts.detect);
  const events: Event[] = [];
  let order = 0;
  for (const u of cap.udp) {
    const channel = channels.get(u.dst.port);
    if (channel === undefined) continue;
    events.push({
      proto: 'udp', time: u.time, frame: u.frame, order: order++, src: `${u.src.ip}:${u.src.port}`,
      dst: `${u.dst.ip}:${u.dst.port}`, channel, bytes: u.payload, result: safeDecode(u.payload, channel),
    });
  }
  const clientPorts = new Set<number>(segPorts);
  for (const [port, ch] of channels) if (ch === 'data') clientPorts.add(port);
  for (const c of cap.connections) {
    if (!clientPorts.has(c.server.port) && !(opts.detect && looksLikeClient(c))) continue;
    const evs = clientEvents(c, order);
    order += evs.length;
    events.push(...evs);
  }
  events.sort((a, b) => a.time - b.time || a.frame - b.frame || a.order - b.order);
  return events;
}

function fmtTime(rel: number): string {
  return rel.toFixed(4).padStart(9);
}

export async function main(argv: readonly string[], io: SpdumpIo = processIo): Promise<number> {
  const program = buildProgram(io);
  let file: string;
  let opts: Options;
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    file = program.args[0]!;
    opts = program.opts<Options>();
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' ? ExitCode.OK : ExitCode.USAGE;
    }
    throw err;
  }

  let bytes: Uint8Array;
  try {
    bytes = io.readFile ? io.readFile(file) : readFileSync(file);
  } catch (e) {
    io.stderr(`spdump: cannot read ${file}: ${(e as Error).message}\n`);
    return ExitCode.NOINPUT;
  }
  let cap: Capture;
  try {
    cap = readCapture(bytes);
  } catch (e) {
    io.stderr(`spdump: ${file}: not a readable capture: ${(e as Error).message}\n`);
    return ExitCode.DATAERR;
  }
  const events = collectEvents(cap, { ports: opts.port, detect: opts.detect });
  const t0 = cap.frames.length > 0 ? cap.frames[0]!.time : 0;
  if (opts.verify === true) return verify(events, t0, io);

  const lines: string[] = [];
  for (const ev of events) {
    const rel = ev.time - t0;
    if (opts.json === true) {
      const base = { t: ev.time, rel: Number(rel.toFixed(6)), frame: ev.frame, proto: ev.proto, src: ev.src, dst: ev.dst, len: ev.bytes.length };
      let obj: Record<string, unknown>;
      if (ev.proto === 'udp') {
        obj = ev.result.ok
          ? { ...base, channel: ev.channel, kind: ev.result.value.kind, ...jsonSummary(ev.result.value), value: ev.result.value }
          : { ...base, channel: ev.channel, kind: 'malformed', error: ev.result.error.message, hex: ev.bytes };
      } else {
        obj = { ...base, channel: 'client', kind: ev.kind, ...ev.json };
      }
      lines.push(JSON.stringify(obj, jsonReplacer));
    } else if (ev.proto === 'udp') {
      const what = ev.result.ok ? describeDatagram(ev.result.value, ev.bytes.length) : `MALFORMED ${ev.channel}: ${ev.result.error.message} len=${ev.bytes.length}`;
      lines.push(`${fmtTime(rel)}  ${ev.src} -> ${ev.dst}  ${what}`);
    } else {
      lines.push(`${fmtTime(rel)}  ${ev.src} -> ${ev.dst}  ${ev.text}`);
    }
    if (lines.length >= 512) {
      io.stdout(`${lines.join('\n')}\n`);
      lines.length = 0;
    }
  }
  if (lines.length > 0) io.stdout(`${lines.join('\n')}\n`);
  return ExitCode.OK;
}

function sameBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Bytes after the NUL of each 32-byte name field of a client frame: the reference library
 * sends them uninitialised (e.g. KILL_MESS) and the client codec does not keep them.
 */
function nameTailRanges(bytes: Uint8Array, m: WireMessage): ByteRange[] {
  const out: ByteRange[] = [];
  const field = (start: number, what: string): void => {
    let i = start;
    while (i < start + NAME_SIZE && bytes[i] !== 0) i++;
    if (i + 1 < start + NAME_SIZE) out.push({ start: i + 1, end: start + NAME_SIZE, what });
  };
  field(HeaderField.NAME, 'message_header name tail');
  const g0 = HEADER_SIZE + (isReject(m.header.type) ? 4 : 0);
  for (let i = 0; i < m.groups.length; i++) field(g0 + NAME_SIZE * i, 'group name tail');
  return out;
}

function verify(events: readonly Event[], t0: number, io: SpdumpIo): number {
  let total = 0;
  let exact = 0;
  let semantic = 0;
  let maskedBytes = 0;
  let maskedRanges = 0;
  let frames = 0;
  let framesExact = 0;
  let framesSemantic = 0;
  let frameMasked = 0;
  const problems: string[] = [];
  for (const ev of events) {
    const where = `frame ${ev.frame} t=${(ev.time - t0).toFixed(4)} ${ev.src} -> ${ev.dst}`;
    if (ev.proto === 'tcp') {
      if (ev.kind === 'malformed') {
        if (!ev.text.startsWith('PARTIAL')) problems.push(`${where}: client stream: ${ev.text}`);
        continue;
      }
      if (ev.message === undefined) continue;
      frames++;
      const re = encodeMessage(ev.message);
      if (sameBytes(re, ev.bytes) === -1) framesExact++;
      const tails = nameTailRanges(ev.bytes, ev.message);
      frameMasked += maskedByteCount(tails);
      const at = firstDifferenceOutside(re, ev.bytes, tails);
      if (at === -1) framesSemantic++;
      else problems.push(`${where}: client ${clientTypeNames(ev.message.header.type)} frame re-encoding differs at byte ${at}`);
      continue;
    }
    total++;
    if (!ev.result.ok) {
      problems.push(`${where}: ${ev.channel} datagram does not decode: ${ev.result.error.message}`);
      continue;
    }
    const d = ev.result.value;
    const re = encodeDatagram(d);
    const at = sameBytes(re, ev.bytes);
    if (at === -1) exact++;
    else problems.push(`${where}: ${d.kind} re-encoding differs at byte ${at}`);
    const ranges = uninitialisedRanges(d);
    maskedBytes += maskedByteCount(ranges);
    maskedRanges += ranges.length;
    const sem = encodeDatagram(semanticDatagram(d));
    const sd = firstDifferenceOutside(sem, ev.bytes, ranges);
    if (sd === -1) semantic++;
    else problems.push(`${where}: ${d.kind} semantic re-encoding differs at byte ${sd} (outside ${maskedByteCount(ranges)} masked bytes)`);
  }
  for (const p of problems) io.stdout(`DIFF ${p}\n`);
  io.stdout(`verified ${exact}/${total} datagrams byte-exact (semantic re-encoding with uninitialised bytes zeroed: ${semantic}/${total} equal outside ${maskedBytes} masked bytes in ${maskedRanges} ranges)\n`);
  if (frames > 0) {
    io.stdout(`verified ${framesSemantic}/${frames} client message frames equal outside ${frameMasked} masked name-tail bytes (${framesExact}/${frames} byte-exact)\n`);
  }
  return problems.length === 0 ? ExitCode.OK : ExitCode.DIFF;
}

/** Entry point for bin/spdump.js. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // `spdump x.pcap | head`: a closed pipe ends the output quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    process.stderr.write(`spdump: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = ExitCode.SOFTWARE;
  }
}
