/**
 * Connect handshake and authentication negotiation (SPEC.md Part I §2). All single bytes.
 *
 *   connect   = major minor [patch] flags name_len name      patch only if major.minor > 3.14
 *               flags = membership(bit 0) | priority << 4
 *   auth_list = len:u8 methods            methods = "NULL " ...; a negative len is a reject code
 *   auth_reply= 3 × char[30]              NUL-padded method names (90 bytes)
 *   accept    = 1 major minor [patch] len private_group   patch only if the client is >= 3.15.0
 *               or a single negative reject byte
 *
 * Decoders return null while more bytes are needed.
 */
import { assertBounds, ProtocolError } from '../errors.js';
import { fromLatin1, latin1Range, readName, writeName } from '../bytes.js';
import { Limits, versionNumber } from './constants.js';
import type { Decoded } from './message.js';

export interface ConnectRequest {
  major: number;
  minor: number;
  patch: number;
  /** The flags byte as sent: bit 0 = membership messages wanted, high nibble = priority. */
  flags: number;
  /** The private name as sent (0..10 bytes, latin1). */
  name: string;
}

export function connectFlags(membership: boolean, priority = 0): number {
  return ((membership ? 1 : 0) | ((Math.max(0, Math.min(1, priority)) & 0xf) << 4)) & 0xff;
}

/** Whether a client of this version sends (and receives) a patch byte in the connect message. */
export function sendsPatchByte(major: number, minor: number): boolean {
  return versionNumber(major, minor, 0) > 31400;
}

/** Whether the daemon includes its patch byte in the accept message for this client version. */
export function acceptHasPatch(major: number, minor: number, patch: number): boolean {
  return versionNumber(major, minor, patch) >= 31500;
}

export function encodeConnect(req: ConnectRequest): Uint8Array {
  const withPatch = sendsPatchByte(req.major, req.minor);
  const out = new Uint8Array((withPatch ? 5 : 4) + req.name.length);
  let o = 0;
  out[o++] = req.major;
  out[o++] = req.minor;
  if (withPatch) out[o++] = req.patch;
  out[o++] = req.flags;
  out[o++] = req.name.length;
  out.set(fromLatin1(req.name), o);
  return out;
}

/**
 * Decodes a connect message incrementally, as the daemon reads it. `name_len` is a signed byte:
 * a value outside 0..10 throws BAD_VALUE on field `name_len` (the daemon answers
 * REJECT_ILLEGAL_NAME).
 */
export function decodeConnect(buf: Uint8Array, offset: number, end: number): Decoded<ConnectRequest> | null {
  if (end - offset < 2) return null;
  const major = buf[offset]!;
  const minor = buf[offset + 1]!;
  let o = offset + 2;
  let patch = 0;
  if (sendsPatchByte(major, minor)) {
    if (end - o < 1) return null;
    patch = buf[o++]!;
  }
  if (end - o < 2) return null;
  const flags = buf[o]!;
  const nameLen = (buf[o + 1]! << 24) >> 24;
  o += 2;
  if (nameLen < 0 || nameLen > Limits.MAX_PRIVATE_NAME) {
    throw new ProtocolError('BAD_VALUE', 'connect', 'name_len', o - 1, `0..${Limits.MAX_PRIVATE_NAME}`, nameLen);
  }
  if (end - o < nameLen) return null;
  const name = latin1Range(buf, o, o + nameLen);
  return { value: { major, minor, patch, flags, name }, offset: o + nameLen };
}

/** The daemon's list of enabled methods: length byte, then each name followed by a space. */
export function encodeAuthList(methods: readonly string[]): Uint8Array {
  const text = methods.map((m) => `${m} `).join('');
  if (text.length > 90) throw new ProtocolError('TOO_LARGE', 'auth_list', 'len', 0, '<= 90', text.length);
  const out = new Uint8Array(1 + text.length);
  out[0] = text.length;
  out.set(fromLatin1(text), 1);
  return out;
}

export type AuthListResult = { kind: 'methods'; methods: string[] } | { kind: 'reject'; code: number };

/** Client side: a negative length byte is an early reject code (REJECT_QUOTA, _ILLEGAL_NAME, ...). */
export function decodeAuthList(buf: Uint8Array, offset: number, end: number): Decoded<AuthListResult> | null {
  if (end - offset < 1) return null;
  const len = (buf[offset]! << 24) >> 24;
  if (len < 0) return { value: { kind: 'reject', code: len }, offset: offset + 1 };
  if (len > 90) throw new ProtocolError('TOO_LARGE', 'auth_list', 'len', offset, '<= 90', len);
  if (end - offset - 1 < len) return null;
  const text = latin1Range(buf, offset + 1, offset + 1 + len);
  return { value: { kind: 'methods', methods: text.split(' ').filter((s) => s.length > 0) }, offset: offset + 1 + len };
}

/** The client's 90-byte choice: up to 3 slots of 30 bytes, NUL-padded. */
export function encodeAuthReply(methods: readonly string[]): Uint8Array {
  if (methods.length > Limits.MAX_AUTH_METHODS) {
    throw new ProtocolError('TOO_LARGE', 'auth_reply', 'methods', 0, `<= ${Limits.MAX_AUTH_METHODS}`, methods.length);
  }
  const out = new Uint8Array(Limits.AUTH_REPLY_SIZE);
  methods.forEach((m, i) => writeName(out, i * Limits.MAX_AUTH_NAME, Limits.MAX_AUTH_NAME, m));
  return out;
}

/** Method names up to the first empty slot. */
export function decodeAuthReply(buf: Uint8Array, offset: number, end: number): Decoded<string[]> {
  assertBounds(end, offset, Limits.AUTH_REPLY_SIZE, 'auth_reply', 'slots');
  const methods: string[] = [];
  for (let i = 0; i < Limits.MAX_AUTH_METHODS; i++) {
    const name = readName(buf, offset + i * Limits.MAX_AUTH_NAME, Limits.MAX_AUTH_NAME);
    if (name.length === 0) break;
    methods.push(name);
  }
  return { value: methods, offset: offset + Limits.AUTH_REPLY_SIZE };
}

export interface Accept {
  major: number;
  minor: number;
  patch: number;
  privateGroup: string;
}

export function encodeAccept(a: Accept, withPatch: boolean): Uint8Array {
  const out = new Uint8Array((withPatch ? 5 : 4) + a.privateGroup.length);
  let o = 0;
  out[o++] = 1;
  out[o++] = a.major;
  out[o++] = a.minor;
  if (withPatch) out[o++] = a.patch;
  out[o++] = a.privateGroup.length;
  out.set(fromLatin1(a.privateGroup), o);
  return out;
}

export type AcceptResult = { kind: 'accept'; accept: Accept } | { kind: 'reject'; code: number };

export function decodeAccept(buf: Uint8Array, offset: number, end: number, withPatch: boolean): Decoded<AcceptResult> | null {
  if (end - offset < 1) return null;
  const first = (buf[offset]! << 24) >> 24;
  if (first !== 1) return { value: { kind: 'reject', code: first }, offset: offset + 1 };
  const fixed = withPatch ? 5 : 4;
  if (end - offset < fixed) return null;
  let o = offset + 1;
  const major = buf[o++]!;
  const minor = buf[o++]!;
  const patch = withPatch ? buf[o++]! : 0;
  const len = buf[o++]!;
  // A private group name is at most 31 bytes (the C library stores it NUL-terminated in 32).
  if (len > Limits.MAX_GROUP_NAME - 1) {
    throw new ProtocolError('TOO_LARGE', 'accept', 'len', o - 1, `<= ${Limits.MAX_GROUP_NAME - 1}`, len);
  }
  if (end - o < len) return null;
  const privateGroup = latin1Range(buf, o, o + len);
  return { value: { kind: 'accept', accept: { major, minor, patch, privateGroup } }, offset: o + len };
}
