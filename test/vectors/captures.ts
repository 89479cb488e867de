/**
 * Golden vectors from the reference captures (test/vectors/reference/captures/client-*.json).
 *
 * Each capture holds whole TCP connections as two hex byte streams (`to_server`, `to_client`).
 * This loader cuts them into named pieces WITHOUT using src/wire: it has its own small
 * little-endian walker (the captures come from an x86-64 reference), so the tests can compare
 * our framer's boundaries and values against an independent split.
 *
 *   to_server = connect [auth_reply] frame*        auth_reply only when the daemon sent a list
 *   to_client = reject                             early reject (negative byte), or
 *             | auth_list (accept | reject) frame* (libraries >= 3.16 get an auth list)
 *   connect   = major minor [patch] flags name_len name      patch iff major.minor > 3.14
 *   accept    = 01 major minor [patch] len name              patch iff client >= 3.15.0
 *   frame     = 48-byte header [old_type] groups data
 *
 * Vector names: `<capture>/<session>/<direction>/<piece>`, where piece is a handshake piece
 * name or `<n> <TYPE|BITS>` for the n-th message frame of that direction (0-based), e.g.
 * `client-two/bob/to_client/5 FIFO`. The session is the private name the client sent
 * (`(empty)` for name_len 0), suffixed `@<index>` when a capture reuses the name.
 */
import { readFileSync } from 'node:fs';
import { referenceCapturesDir } from './reference.js';

export const CLIENT_CAPTURES = ['client-single', 'client-two', 'client-reject', 'client-ns-bulk'] as const;
export type ClientCaptureName = (typeof CLIENT_CAPTURES)[number];

export type Direction = 'to_server' | 'to_client';
export type HandshakePiece = 'connect' | 'auth_list' | 'auth_reply' | 'accept' | 'reject';

export interface Piece {
  /** Full vector name. */
  id: string;
  capture: ClientCaptureName;
  session: string;
  direction: Direction;
  kind: HandshakePiece | 'frame';
  /** Frame index within its direction (frames only; -1 for handshake pieces). */
  index: number;
  /** Offset of the piece in its direction's byte stream. */
  streamOffset: number;
  bytes: Uint8Array;
  /**
   * Don't-care bytes for re-encoding comparisons (1 = ignore), or null when every byte must
   * match. Only KILL frames have one: the C library builds the KILL's group name with strcpy
   * into an uninitialised stack buffer (SP_disconnect), so the bytes after the NUL in each
   * 32-byte group field are garbage.
   */
  mask: Uint8Array | null;
}

export interface SessionStreams {
  capture: ClientCaptureName;
  session: string;
  /** Client library version from the connect message, as major*10000+minor*100+patch. */
  clientVersion: number;
  /** Whether the daemon accepted the session (an accept message is in the stream). */
  accepted: boolean;
  streams: Record<Direction, { bytes: Uint8Array; framesStart: number; pieces: Piece[] }>;
}

export interface CaptureFile {
  capture: string;
  description: string;
  byte_order: string;
  tcp_sessions: { client: string; server: string; to_server: string; to_client: string; reset: boolean }[];
}


export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error(`bad hex string of length ${hex.length}`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const fileCache = new Map<string, CaptureFile>();

export function readCaptureFile(name: ClientCaptureName): CaptureFile {
  let f = fileCache.get(name);
  if (f === undefined) {
    const path = `${referenceCapturesDir()}${name}.json`;
    f = JSON.parse(readFileSync(path, 'utf8')) as CaptureFile;
    if (!Array.isArray(f.tcp_sessions)) throw new Error(`${path}: no tcp_sessions`);
    fileCache.set(name, f);
  }
  return f;
}

// --- type-word labels (own table, deliberately not imported from src/wire) ----------------

const TYPE_BITS: readonly (readonly [number, string])[] = [
  [0x00400000, 'REJECT'],
  [0x00001000, 'REG_MEMB'],
  [0x00002000, 'TRANSITION'],
  [0x00000100, 'CAUSED_BY_JOIN'],
  [0x00000200, 'CAUSED_BY_LEAVE'],
  [0x00000400, 'CAUSED_BY_DISCONNECT'],
  [0x00000800, 'CAUSED_BY_NETWORK'],
  [0x00010000, 'JOIN'],
  [0x00020000, 'LEAVE'],
  [0x00040000, 'KILL'],
  [0x00080000, 'GROUPS'],
  [0x00000001, 'UNRELIABLE'],
  [0x00000002, 'RELIABLE'],
  [0x00000004, 'FIFO'],
  [0x00000008, 'CAUSAL'],
  [0x00000010, 'AGREED'],
  [0x00000020, 'SAFE'],
  [0x00000040, 'SELF_DISCARD'],
];

/** `REG_MEMB|CAUSED_BY_JOIN`, `SAFE`, ... for a type word (marker ignored). */
export function typeLabel(type: number): string {
  const names: string[] = [];
  let rest = (type & ~0x80000080) >>> 0;
  for (const [bit, name] of TYPE_BITS) {
    if (rest & bit) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.length > 0 ? names.join('|') : 'NONE';
}

// --- the independent splitter ------------------------------------------------------------

const KILL_MESS = 0x00040000;
const REJECT_MESS = 0x00400000;

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function signed8(v: number): number {
  return (v << 24) >> 24;
}

function killMask(frame: Uint8Array): Uint8Array {
  const mask = new Uint8Array(frame.length);
  const numGroups = le32(frame, 36) | 0;
  const groupsAt = 48 + (le32(frame, 0) & REJECT_MESS ? 4 : 0);
  for (let g = 0; g < numGroups; g++) {
    const start = groupsAt + 32 * g;
    const nul = frame.subarray(start, start + 32).indexOf(0);
    if (nul >= 0) mask.fill(1, start + nul + 1, start + 32);
  }
  return mask;
}

/** Splits a post-handshake stream into frames (little-endian only, as captured). */
function splitFrames(bytes: Uint8Array, from: number, where: string): { offset: number; bytes: Uint8Array }[] {
  const out: { offset: number; bytes: Uint8Array }[] = [];
  let o = from;
  while (o < bytes.length) {
    if (bytes.length - o < 48) throw new Error(`${where}: ${bytes.length - o} stray bytes at ${o}`);
    const type = le32(bytes, o);
    if ((type & 0x80000080) >>> 0 !== 0x80000080) throw new Error(`${where}: frame at ${o} is not little-endian`);
    const numGroups = le32(bytes, o + 36) | 0;
    const dataLen = le32(bytes, o + 44) | 0;
    const len = 48 + (type & REJECT_MESS ? 4 : 0) + 32 * numGroups + dataLen;
    if (numGroups < 0 || dataLen < 0 || o + len > bytes.length) throw new Error(`${where}: bad frame at ${o}`);
    out.push({ offset: o, bytes: bytes.subarray(o, o + len) });
    o += len;
  }
  return out;
}

function sessionLabels(f: CaptureFile): string[] {
  const names = f.tcp_sessions.map((s) => {
    const b = fromHex(s.to_server);
    const at = b[0]! * 10000 + b[1]! * 100 > 31400 ? 4 : 3;
    const len = signed8(b[at]!);
    return len <= 0 ? '(empty)' : Buffer.from(b.subarray(at + 1, at + 1 + len)).toString('latin1');
  });
  return names.map((n, i) => (names.filter((m) => m === n).length > 1 ? `${n}@${i}` : n));
}

const sessionCache = new Map<ClientCaptureName, SessionStreams[]>();

/** Every TCP session of a capture, split into named pieces. */
export function loadSessions(name: ClientCaptureName): SessionStreams[] {
  const cached = sessionCache.get(name);
  if (cached) return cached;
  const f = readCaptureFile(name);
  const labels = sessionLabels(f);
  const result = f.tcp_sessions.map((s, si): SessionStreams => {
    const session = labels[si]!;
    const up = fromHex(s.to_server);
    const down = fromHex(s.to_client);
    const mk = (direction: Direction, kind: Piece['kind'], index: number, streamOffset: number, bytes: Uint8Array, label?: string): Piece => ({
      id: `${name}/${session}/${direction}/${kind === 'frame' ? `${index} ${label}` : kind}`,
      capture: name,
      session,
      direction,
      kind,
      index,
      streamOffset,
      bytes,
      mask: kind === 'frame' && le32(bytes, 0) & KILL_MESS ? killMask(bytes) : null,
    });

    // connect (to_server)
    const patch = up[0]! * 10000 + up[1]! * 100 > 31400;
    const flagsAt = patch ? 3 : 2;
    const version = up[0]! * 10000 + up[1]! * 100 + (patch ? up[2]! : 0);
    const nameLen = signed8(up[flagsAt + 1]!);
    const connectLen = Math.min(up.length, flagsAt + 2 + Math.max(0, nameLen));
    const upPieces: Piece[] = [mk('to_server', 'connect', -1, 0, up.subarray(0, connectLen))];
    const downPieces: Piece[] = [];

    // daemon's answer (to_client)
    let d = 0;
    let accepted = false;
    let sawAuthList = false;
    if (down.length > 0 && signed8(down[0]!) < 0) {
      downPieces.push(mk('to_client', 'reject', -1, 0, down.subarray(0, 1)));
      d = 1;
    } else if (down.length > 0) {
      if (version >= 31600) {
        const len = down[0]!;
        downPieces.push(mk('to_client', 'auth_list', -1, 0, down.subarray(0, 1 + len)));
        d = 1 + len;
        sawAuthList = true;
      }
      if (d < down.length && down[d] === 1) {
        const acceptPatch = version >= 31500;
        const lenAt = d + (acceptPatch ? 4 : 3);
        const end = lenAt + 1 + down[lenAt]!;
        downPieces.push(mk('to_client', 'accept', -1, d, down.subarray(d, end)));
        d = end;
        accepted = true;
      } else if (d < down.length) {
        downPieces.push(mk('to_client', 'reject', -1, d, down.subarray(d, d + 1)));
        d += 1;
      }
    }
    let u = connectLen;
    if (sawAuthList && up.length - u >= 90) {
      upPieces.push(mk('to_server', 'auth_reply', -1, u, up.subarray(u, u + 90)));
      u += 90;
    }
    const where = `${name}/${session}`;
    // A rejected client's surplus bytes (e.g. an 11-byte name the daemon never read) are part
    // of its connect piece already; anything else left over must be whole frames.
    const upFrames = accepted ? splitFrames(up, u, `${where}/to_server`) : [];
    if (!accepted && u !== up.length) throw new Error(`${where}/to_server: ${up.length - u} unexplained bytes`);
    const downFrames = accepted ? splitFrames(down, d, `${where}/to_client`) : [];
    if (!accepted && d !== down.length) throw new Error(`${where}/to_client: ${down.length - d} unexplained bytes`);
    upFrames.forEach((fr, i) => upPieces.push(mk('to_server', 'frame', i, fr.offset, fr.bytes, typeLabel(le32(fr.bytes, 0)))));
    downFrames.forEach((fr, i) => downPieces.push(mk('to_client', 'frame', i, fr.offset, fr.bytes, typeLabel(le32(fr.bytes, 0)))));
    return {
      capture: name,
      session,
      clientVersion: version,
      accepted,
      streams: {
        to_server: { bytes: up, framesStart: u, pieces: upPieces },
        to_client: { bytes: down, framesStart: d, pieces: downPieces },
      },
    };
  });
  sessionCache.set(name, result);
  return result;
}

/** Every piece of every client capture. */
export function allPieces(): Piece[] {
  return CLIENT_CAPTURES.flatMap((c) => loadSessions(c).flatMap((s) => [...s.streams.to_server.pieces, ...s.streams.to_client.pieces]));
}

export function allFrames(): Piece[] {
  return allPieces().filter((p) => p.kind === 'frame');
}

/** The piece with this exact id; throws if there is none. */
export function pieceById(id: string): Piece {
  const p = allPieces().find((x) => x.id === id);
  if (!p) throw new Error(`no capture vector named ${id}`);
  return p;
}

/** The session a piece belongs to. */
export function sessionOf(p: Piece): SessionStreams {
  const s = loadSessions(p.capture).find((x) => x.session === p.session);
  if (!s) throw new Error(`no session ${p.session} in ${p.capture}`);
  return s;
}

/** Hex of `bytes` with masked positions replaced by `..`. */
export function maskedHex(bytes: Uint8Array, mask: Uint8Array | null): string {
  if (mask === null) return toHex(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += mask[i] ? '..' : bytes[i]!.toString(16).padStart(2, '0');
  return s;
}
