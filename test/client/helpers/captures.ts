/**
 * Reference captures split into protocol units with a deliberately simple, independent parser
 * (not the wire codecs under test): the connect message, the auth choice and the frames each
 * side wrote.
 */
import { readFileSync } from 'node:fs';

export interface CaptureSession {
  toServer: Buffer;
  toClient: Buffer;
  /** Client → daemon: connect message (5 + name_len bytes). */
  connect: Buffer;
  /** Client → daemon: 90-byte auth choice (absent when the daemon rejected before auth). */
  authReply: Buffer | undefined;
  /** Client → daemon frames after the handshake. */
  clientFrames: Buffer[];
  /** Daemon → client: the auth list, including its length byte (or the single reject byte). */
  authList: Buffer;
  /** Daemon → client: the accept message (or reject byte); absent if rejected earlier. */
  accept: Buffer | undefined;
  /** Daemon → client frames after the accept. */
  daemonFrames: Buffer[];
}

export function loadCapture(name: string): { description: string; sessions: CaptureSession[] } {
  const url = new URL(`../fixtures/${name}.json`, import.meta.url);
  const json = JSON.parse(readFileSync(url, 'utf8')) as {
    description: string;
    tcp_sessions: { to_server: string; to_client: string }[];
  };
  return { description: json.description, sessions: json.tcp_sessions.map((s) => splitSession(s.to_server, s.to_client)) };
}

export function splitFrames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  while (o + 48 <= buf.length) {
    const ng = buf.readInt32LE(o + 36);
    const dl = buf.readInt32LE(o + 44);
    const len = 48 + 32 * ng + dl;
    out.push(buf.subarray(o, o + len));
    o += len;
  }
  if (o !== buf.length) throw new Error(`capture has ${buf.length - o} trailing bytes`);
  return out;
}

function splitSession(toServerHex: string, toClientHex: string): CaptureSession {
  const toServer = Buffer.from(toServerHex, 'hex');
  const toClient = Buffer.from(toClientHex, 'hex');
  // Only 4.4-style connect messages (with the patch byte) are split here.
  const nameLen = toServer[4]!;
  const connect = toServer.subarray(0, 5 + nameLen);
  const listLen = (toClient[0]! << 24) >> 24;
  if (listLen < 0) {
    return { toServer, toClient, connect, authReply: undefined, clientFrames: [], authList: toClient.subarray(0, 1), accept: undefined, daemonFrames: [] };
  }
  const authList = toClient.subarray(0, 1 + listLen);
  const authReply = toServer.length >= connect.length + 90 ? toServer.subarray(connect.length, connect.length + 90) : undefined;
  const a = 1 + listLen;
  let accept: Buffer | undefined;
  let rest = Buffer.alloc(0);
  if (toClient.length > a) {
    if (toClient[a] === 1) {
      const len = toClient[a + 4]!;
      accept = toClient.subarray(a, a + 5 + len);
      rest = toClient.subarray(a + 5 + len);
    } else {
      accept = toClient.subarray(a, a + 1);
    }
  }
  return {
    toServer,
    toClient,
    connect,
    authReply,
    clientFrames: authReply ? splitFrames(toServer.subarray(connect.length + 90)) : [],
    authList,
    accept,
    daemonFrames: splitFrames(rest),
  };
}

/**
 * The C library leaves stack garbage after the NUL of the group name in a KILL message
 * (SP_disconnect strcpy's into an uninitialised buffer). Zero it for comparison.
 */
export function maskKillGarbage(frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  const type = copy.readUInt32LE(0) & ~0x80000080;
  if (type === 0x00040000 && copy.readInt32LE(36) >= 1) {
    const g = 48;
    const nul = copy.indexOf(0, g);
    if (nul >= 0 && nul < g + 32) copy.fill(0, nul, g + 32);
  }
  return copy;
}

/** All client → daemon bytes with KILL garbage masked. */
export function maskedStream(connect: Buffer, authReply: Buffer | undefined, frames: Buffer[]): Buffer {
  return Buffer.concat([connect, ...(authReply ? [authReply] : []), ...frames.map(maskKillGarbage)]);
}
