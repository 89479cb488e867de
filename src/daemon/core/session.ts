/**
 * The protocol machine of one client connection: connect handshake, authentication, then the
 * stream of client messages (PROTOCOL-NOTES A.2–A.6). Bytes in, effects out; the registry of
 * names and the authentication policy are reached through a SessionHost.
 *
 *   connect   = major minor [patch] flags name_len name     patch only if major.minor > 3.14
 *   → auth list (3.16+ clients) = len "NULL "…   ← 90-byte auth reply
 *   → accept  = 1 major minor [patch] len "#name#daemon"     patch only for clients >= 3.15.0
 *   or one reject byte (REJECT_VERSION −7, _ILLEGAL_NAME −5, _NOT_UNIQUE −6, _QUOTA −3, _AUTH −9)
 *
 * The reference reads each handshake field with a non-blocking recv and gives up if the bytes
 * are not already there. Here the stream is a stream: a field may arrive in pieces, and the
 * edge's handshake timer stands in for the reference's impatience (see handshakeTimedOut).
 */
import { int8, latin1 } from '../../wire/bytes.js';
import { decodeAuthReply, encodeAccept, encodeAuthList, ErrorCode, Limits, privateGroupName } from '../../wire/client/index.js';
import { authenticate, authenticateLegacy, offeredMethods } from './auth.js';
import type { AuthPolicy, ClientIdentity } from './auth.js';
import type { RingMessage } from './frames.js';
import { isLegalPrivateNameBytes } from './names.js';
import { ClientMessageReader } from './reader.js';
import type { HeaderViolation } from './reader.js';

/** Daemon version announced in the accept message. */
export const DAEMON_VERSION = Limits.VERSION;

export type ReserveResult = 'ok' | 'not-unique' | 'quota';

export interface SessionHost {
  readonly daemonName: string;
  readonly authPolicy: AuthPolicy;
  /** Reserves a client-chosen private name for this connection. */
  reserveName(name: string): ReserveResult;
  /** Invents and reserves a unique name for a client that sent none; null when full. */
  reserveGeneratedName(): string | null;
  /** Frees a name reserved by a session that was then denied. */
  releaseName(name: string): void;
}

export type SessionEffect =
  /** Bytes for the client. */
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  /** The handshake ended without a session: close once the sent bytes are flushed. */
  | { readonly kind: 'close' }
  /** Authentication passed; the session is operational. */
  | { readonly kind: 'accepted' }
  /** A validated client message for the ring (regular, JOIN, LEAVE or KILL). */
  | { readonly kind: 'message'; readonly message: RingMessage }
  /** A header failed validation: the session must be killed. */
  | { readonly kind: 'violation'; readonly violation: HeaderViolation };

export type SessionPhase = 'version' | 'flags' | 'name' | 'auth' | 'op' | 'closed';

const AUTH_REPLY_SIZE = Limits.AUTH_REPLY_SIZE;
const EMPTY = new Uint8Array(0);

export class SessionMachine {
  private phaseNow: SessionPhase = 'version';
  private pending: Uint8Array = EMPTY;
  private reader: ClientMessageReader | null = null;
  private version = { major: 0, minor: 0, patch: 0 };
  private nameLen = 0;
  private privateName: string | null = null;
  private wantsMembership = false;
  private priorityValue = 0;

  constructor(
    private readonly host: SessionHost,
    private readonly client: ClientIdentity,
  ) {}

  get phase(): SessionPhase {
    return this.phaseNow;
  }

  /** The private name once reserved (kept after the session is closed). */
  get name(): string | null {
    return this.privateName;
  }

  /** `#name#daemon`, once the name is reserved. */
  get privateGroup(): string | null {
    return this.privateName === null ? null : privateGroupName(this.privateName, this.host.daemonName);
  }

  /** Whether the client asked for group membership messages. */
  get membership(): boolean {
    return this.wantsMembership;
  }

  /** The priority the client sent (stored, unused, like the reference). */
  get priority(): number {
    return this.priorityValue;
  }

  get libraryVersion(): { readonly major: number; readonly minor: number; readonly patch: number } {
    return this.version;
  }

  /** True while the connect message or the auth reply is awaited. */
  get handshaking(): boolean {
    return this.phaseNow !== 'op' && this.phaseNow !== 'closed';
  }

  /** Bytes held for an unfinished handshake field or message. */
  get buffered(): number {
    return this.pending.length + (this.reader?.buffered ?? 0);
  }

  /** Feeds bytes from the client. */
  receive(chunk: Uint8Array): SessionEffect[] {
    const out: SessionEffect[] = [];
    if (this.phaseNow === 'closed' || chunk.length === 0) return out;
    if (this.phaseNow === 'op') {
      this.read(chunk, out);
      return out;
    }
    // A copy: the edge may reuse `chunk` once this call returns (its read buffer).
    this.pending = concat(this.pending, chunk);
    this.handshake(out);
    return out;
  }

  /**
   * The handshake did not complete in time. Outcomes mirror what the reference does when a
   * field is not there when it reads it: nothing for a missing version or flags, REJECT_ILLEGAL_NAME
   * for a short name, REJECT_AUTH for a short auth reply.
   */
  handshakeTimedOut(): SessionEffect[] {
    const out: SessionEffect[] = [];
    switch (this.phaseNow) {
      case 'version':
      case 'flags':
        this.close(out);
        break;
      case 'name':
        this.reject(ErrorCode.REJECT_ILLEGAL_NAME, out);
        break;
      case 'auth':
        this.deny(out);
        break;
      case 'op':
      case 'closed':
        break;
    }
    return out;
  }

  /** The connection is gone or the session was killed: ignore everything from now on. */
  shutdown(): void {
    this.phaseNow = 'closed';
    this.pending = EMPTY;
    this.reader = null;
  }

  private take(n: number): Uint8Array | null {
    if (this.pending.length < n) return null;
    const head = this.pending.subarray(0, n);
    this.pending = this.pending.length === n ? EMPTY : this.pending.subarray(n);
    return head;
  }

  private handshake(out: SessionEffect[]): void {
    while (this.handshakeStep(out));
  }

  /** One phase of the connect message; true when the next phase may run at once. */
  private handshakeStep(out: SessionEffect[]): boolean {
    switch (this.phaseNow) {
      case 'version':
        return this.readVersion(out);
      case 'flags':
        return this.readFlags(out);
      case 'name':
        return this.readPrivateName(out);
      case 'auth': {
        const bytes = this.take(AUTH_REPLY_SIZE);
        if (bytes === null) return false;
        const requested = decodeAuthReply(bytes, 0, bytes.length).value;
        if (authenticate(this.host.authPolicy, requested, this.client)) this.accept(out);
        else this.deny(out);
        return false;
      }
      case 'op':
      case 'closed':
        return false;
    }
  }

  /** major minor [patch], each a signed char; the patch byte only after 3.14. */
  private readVersion(out: SessionEffect[]): boolean {
    if (this.pending.length < 2) return false;
    const major = int8(this.pending[0]!);
    const minor = int8(this.pending[1]!);
    const withPatch = major * 10000 + minor * 100 > 31400;
    const bytes = this.take(withPatch ? 3 : 2);
    if (bytes === null) return false;
    const patch = withPatch ? int8(bytes[2]!) : 0;
    this.version = { major, minor, patch };
    if (major * 10000 + minor * 100 + patch < 30100) {
      this.reject(ErrorCode.REJECT_VERSION, out);
      return false;
    }
    this.phaseNow = 'flags';
    return true;
  }

  /** flags name_len: membership bit, priority nibble; name_len 0 asks for a generated name. */
  private readFlags(out: SessionEffect[]): boolean {
    const bytes = this.take(2);
    if (bytes === null) return false;
    const flags = int8(bytes[0]!);
    this.wantsMembership = flags % 2 === 1;
    this.priorityValue = Math.trunc(flags / 16);
    this.nameLen = int8(bytes[1]!);
    if (this.nameLen > Limits.MAX_PRIVATE_NAME || this.nameLen < 0) {
      this.reject(ErrorCode.REJECT_ILLEGAL_NAME, out);
      return false;
    }
    if (this.nameLen !== 0) {
      this.phaseNow = 'name';
      return true;
    }
    const generated = this.host.reserveGeneratedName();
    if (generated === null) {
      this.reject(ErrorCode.REJECT_QUOTA, out);
      return false;
    }
    this.privateName = generated;
    this.afterName(out);
    return this.handshaking;
  }

  private readPrivateName(out: SessionEffect[]): boolean {
    const bytes = this.take(this.nameLen);
    if (bytes === null) return false;
    const name = latin1(bytes);
    if (!isLegalPrivateNameBytes(name)) {
      this.reject(ErrorCode.REJECT_ILLEGAL_NAME, out);
      return false;
    }
    const reserved = this.host.reserveName(name);
    if (reserved !== 'ok') {
      this.reject(reserved === 'quota' ? ErrorCode.REJECT_QUOTA : ErrorCode.REJECT_NOT_UNIQUE, out);
      return false;
    }
    this.privateName = name;
    this.afterName(out);
    return this.handshaking;
  }

  /** The name is reserved: old clients are decided at once, newer ones get the method list. */
  private afterName(out: SessionEffect[]): void {
    const v = this.version;
    if (v.major * 10000 + v.minor * 100 + v.patch < 31600) {
      if (authenticateLegacy(this.host.authPolicy, this.client)) this.accept(out);
      else this.deny(out);
      return;
    }
    const methods = offeredMethods(this.host.authPolicy);
    out.push({ kind: 'send', bytes: encodeAuthList(methods) });
    if (methods.length === 0) {
      this.deny(out);
      return;
    }
    this.phaseNow = 'auth';
  }

  private accept(out: SessionEffect[]): void {
    const v = this.version;
    const withPatch = v.major * 10000 + v.minor * 100 + v.patch >= 31500;
    out.push({
      kind: 'send',
      bytes: encodeAccept({ ...DAEMON_VERSION, privateGroup: this.privateGroup! }, withPatch),
    });
    this.phaseNow = 'op';
    this.reader = new ClientMessageReader(this.privateName!, this.host.daemonName);
    out.push({ kind: 'accepted' });
    const rest = this.pending;
    this.pending = EMPTY;
    if (rest.length > 0) this.read(rest, out);
  }

  private read(chunk: Uint8Array, out: SessionEffect[]): void {
    for (const r of this.reader!.push(chunk)) {
      if (r.kind === 'message') {
        out.push({ kind: 'message', message: r.message });
      } else {
        out.push({ kind: 'violation', violation: r.violation });
        this.shutdown();
        return;
      }
    }
  }

  private deny(out: SessionEffect[]): void {
    if (this.privateName !== null) this.host.releaseName(this.privateName);
    this.reject(ErrorCode.REJECT_AUTH, out);
  }

  private reject(code: number, out: SessionEffect[]): void {
    out.push({ kind: 'send', bytes: Uint8Array.of(code & 0xff) });
    this.close(out);
  }

  private close(out: SessionEffect[]): void {
    out.push({ kind: 'close' });
    this.shutdown();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
