/**
 * Reads client messages off a session's byte stream and validates each header the way the
 * reference does (Sess_validate_read_header) before any of its body is accepted.
 *
 *   message = header(48) groups(32 × num_groups) data(data_len)
 *
 * Resumable: push(chunk) consumes the whole chunk and returns the messages it completed; a
 * partial header or body is kept (the body in a buffer allocated once, after its header was
 * validated). The first invalid header stops the reader for good: the session is then killed,
 * exactly as the reference kills a session whose header fails validation.
 */
import { ENDIAN_MARKER, writeU32LE } from '../../wire/bytes.js';
import { ProtocolError } from '../../wire/errors.js';
import { decodeHeader, HEADER_SIZE, Limits, NAME_SIZE, ServiceType } from '../../wire/client/index.js';
import type { MessageHeader } from '../../wire/client/index.js';
import { ringMessageFromFrame } from './frames.js';
import type { RingMessage } from './frames.js';
import { parsePrivateGroupStrict } from './names.js';

/**
 * Largest `data_len + 32 * num_groups` we accept. The reference accepts up to 143952 but
 * aborts (an assertion on its 100 fragments) above 143152; we kill the session instead.
 */
export const MAX_CLIENT_BODY = Limits.MAX_DELIVERABLE_BODY;

/** The reference's own bound, which a header must meet first: 144000 − 48. */
const REFERENCE_MAX_BODY = Limits.MAX_MESSAGE_BODY_LEN - HEADER_SIZE;

const SERVICE_BITS = 0x3f;
const MEMBERSHIP_REQUEST_BITS = ServiceType.JOIN_MESS | ServiceType.LEAVE_MESS | ServiceType.KILL_MESS;

function popcount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x !== 0; x &= x - 1) n++;
  return n;
}

/** Why a header was refused; the session is killed for any of them. */
export class HeaderViolation extends Error {
  override readonly name = 'HeaderViolation';
  constructor(
    readonly code:
      | 'TYPE'
      | 'SENDER'
      | 'NUM_GROUPS'
      | 'HINT'
      | 'DATA_LEN'
      | 'TOO_LONG'
      | 'NO_GROUP',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks a decoded client header (type with the marker cleared, counts in our order, hint as
 * the raw little-endian reading of its bytes). Returns null when valid.
 *
 * The reference's checks, in its order: one service bit (0..5) or one of JOIN/LEAVE/KILL, not
 * both; the sender is this session's private group at this daemon; 0..100 groups; only the
 * marker and mess_type bits in the hint; 0 <= data_len <= 144000 and body <= 143952.
 * Ours on top: body <= 143152 (the reference crashes above), GROUPS_MESS and REJECT_MESS
 * (daemon-only bits) refused, and JOIN/LEAVE must name a group (the reference reads
 * uninitialised memory when they do not).
 */
export function validateClientHeader(
  h: MessageHeader,
  sessionName: string,
  daemonName: string,
): HeaderViolation | null {
  const serviceBits = popcount(h.type & SERVICE_BITS);
  const requestBits = popcount(h.type & MEMBERSHIP_REQUEST_BITS);
  if (serviceBits > 1 || requestBits > 1 || serviceBits + requestBits !== 1) {
    return new HeaderViolation('TYPE', `illegal type field 0x${h.type.toString(16)}`);
  }
  if (h.type & (ServiceType.GROUPS_MESS | ServiceType.REJECT_MESS)) {
    return new HeaderViolation('TYPE', `daemon-only bits in type field 0x${h.type.toString(16)}`);
  }
  const sender = parsePrivateGroupStrict(h.name.slice(0, NAME_SIZE - 1));
  if (sender === null) return new HeaderViolation('SENDER', `illegal private group name ${JSON.stringify(h.name)}`);
  if (sender.daemonName !== daemonName) {
    return new HeaderViolation('SENDER', `daemon name ${JSON.stringify(sender.daemonName)} is not ${JSON.stringify(daemonName)}`);
  }
  if (sender.privateName !== sessionName) {
    return new HeaderViolation('SENDER', `session ${JSON.stringify(sessionName)} sent as ${JSON.stringify(sender.privateName)}`);
  }
  if (h.numGroups < 0 || h.numGroups > Limits.MAX_GROUPS_PER_MESSAGE) {
    return new HeaderViolation('NUM_GROUPS', `num_groups ${h.numGroups} outside 0..${Limits.MAX_GROUPS_PER_MESSAGE}`);
  }
  if (((h.hint & ~0x80ffff80) >>> 0) !== 0) {
    return new HeaderViolation('HINT', `illegal hint field 0x${(h.hint >>> 0).toString(16)}`);
  }
  if (h.dataLen < 0 || h.dataLen > Limits.MAX_MESSAGE_BODY_LEN) {
    return new HeaderViolation('DATA_LEN', `data_len ${h.dataLen} outside 0..${Limits.MAX_MESSAGE_BODY_LEN}`);
  }
  const body = h.dataLen + NAME_SIZE * h.numGroups;
  if (body > REFERENCE_MAX_BODY || body > MAX_CLIENT_BODY) {
    return new HeaderViolation('TOO_LONG', `data_len + 32 * num_groups = ${body} above ${MAX_CLIENT_BODY}`);
  }
  if ((h.type & (ServiceType.JOIN_MESS | ServiceType.LEAVE_MESS)) !== 0 && h.numGroups < 1) {
    return new HeaderViolation('NO_GROUP', 'JOIN/LEAVE without a group');
  }
  return null;
}

/** Header limits handed to the wire decoder: wide enough that our own checks decide. */
const DECODE_LIMITS = { maxGroups: 0x7fffffff, maxDataLen: 0x7fffffff };

export type ReadResult =
  | { readonly kind: 'message'; readonly message: RingMessage }
  | { readonly kind: 'violation'; readonly violation: HeaderViolation };

export class ClientMessageReader {
  private readonly head = new Uint8Array(HEADER_SIZE);
  private headFill = 0;
  private frame: Uint8Array | null = null;
  private frameFill = 0;
  private failed = false;

  constructor(
    private readonly sessionName: string,
    private readonly daemonName: string,
  ) {}

  /** Bytes of an unfinished message held right now. */
  get buffered(): number {
    return this.frame !== null ? this.frameFill : this.headFill;
  }

  /** Consumes `chunk`; returns the completed messages, ending with a violation if one occurred. */
  push(chunk: Uint8Array): ReadResult[] {
    const out: ReadResult[] = [];
    if (this.failed) return out;
    let o = 0;
    while (o < chunk.length) {
      if (this.frame === null) {
        const n = Math.min(HEADER_SIZE - this.headFill, chunk.length - o);
        this.head.set(chunk.subarray(o, o + n), this.headFill);
        this.headFill += n;
        o += n;
        if (this.headFill < HEADER_SIZE) break;
        const started = this.startFrame();
        if (started !== null) {
          this.failed = true;
          out.push({ kind: 'violation', violation: started });
          return out;
        }
      }
      const frame = this.frame!;
      const n = Math.min(frame.length - this.frameFill, chunk.length - o);
      frame.set(chunk.subarray(o, o + n), this.frameFill);
      this.frameFill += n;
      o += n;
      if (this.frameFill === frame.length) out.push({ kind: 'message', message: this.finishFrame() });
    }
    return out;
  }

  private startFrame(): HeaderViolation | null {
    let h: MessageHeader;
    try {
      h = decodeHeader(this.head, 0, HEADER_SIZE, DECODE_LIMITS).value;
    } catch (err) {
      if (err instanceof ProtocolError) {
        return new HeaderViolation(err.field === 'num_groups' ? 'NUM_GROUPS' : 'DATA_LEN', err.message);
      }
      throw err;
    }
    const violation = validateClientHeader(h, this.sessionName, this.daemonName);
    if (violation !== null) return violation;
    // Every byte is written below (header now, body as it arrives), so pooled memory is fine;
    // the frame is never written again once complete.
    const frame: Uint8Array = Buffer.allocUnsafe(HEADER_SIZE + NAME_SIZE * h.numGroups + h.dataLen);
    frame.set(this.head, 0);
    // Normalise to our order and marker; the hint is left as the client wrote it.
    writeU32LE(frame, 0, (h.type | ENDIAN_MARKER) >>> 0);
    frame[4 + NAME_SIZE - 1] = 0;
    writeU32LE(frame, 36, h.numGroups);
    writeU32LE(frame, 44, h.dataLen);
    this.frame = frame;
    this.frameFill = HEADER_SIZE;
    this.headFill = 0;
    return null;
  }

  private finishFrame(): RingMessage {
    const frame = this.frame!;
    this.frame = null;
    this.frameFill = 0;
    return ringMessageFromFrame(frame);
  }
}
