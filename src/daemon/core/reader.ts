/**
 * The daemon's validation of client message headers, the reference's Sess_validate_read_header
 * (SPEC.md Part I §5.2), and the session's reader: the wire's MessageFramer with that
 * validation as its hook, each frame normalised into a buffer of its own.
 *
 *   message = header(48) groups(32 × num_groups) data(data_len)
 *
 * Resumable: push(chunk) consumes the whole chunk and returns the messages it completed; a
 * partial header or body is kept. The first invalid header stops the reader for good: the
 * session is then killed, exactly as the reference kills a session whose header fails
 * validation.
 */
import { bitCount } from '../../wire/bytes.js';
import { ProtocolError } from '../../wire/errors.js';
import {
  HEADER_SIZE,
  Limits,
  MessageFramer,
  NAME_SIZE,
  normaliseClientFrameInto,
  privateGroupName,
  serviceBitCount,
  ServiceType,
} from '../../wire/client/index.js';
import type { MessageHeader, RawFrame } from '../../wire/client/index.js';
import { ringMessageOfNormalised } from './frames.js';
import type { RingMessage } from './frames.js';
import { parsePrivateGroupStrict } from './names.js';
import { Slab } from '../../wire/slab.js';
import { Size } from '../../wire/daemon/constants.js';

/**
 * Largest `data_len + 32 * num_groups` we accept. The reference accepts up to 143952 but
 * aborts (an assertion on its 100 fragments) above 143152; we kill the session instead.
 */
export const MAX_CLIENT_BODY = Limits.MAX_DELIVERABLE_BODY;

/** The reference's own bound, which a header must meet first: 144000 − 48. */
const REFERENCE_MAX_BODY = Limits.MAX_MESSAGE_BODY_LEN - HEADER_SIZE;

const MEMBERSHIP_REQUEST_BITS = ServiceType.JOIN_MESS | ServiceType.LEAVE_MESS | ServiceType.KILL_MESS;

/** The hint bits a client may set: the endian marker and the 16-bit mess_type. */
const HINT_BITS = 0x80ffff80;

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
  /** The session's own private group name, when the caller has it: that sender needs no parsing. */
  expectedSender?: string,
): HeaderViolation | null {
  const serviceBits = serviceBitCount(h.type);
  const requestBits = bitCount(h.type & MEMBERSHIP_REQUEST_BITS);
  if (serviceBits > 1 || requestBits > 1 || serviceBits + requestBits !== 1) {
    return new HeaderViolation('TYPE', `illegal type field 0x${h.type.toString(16)}`);
  }
  if (h.type & (ServiceType.GROUPS_MESS | ServiceType.REJECT_MESS)) {
    return new HeaderViolation('TYPE', `daemon-only bits in type field 0x${h.type.toString(16)}`);
  }
  const senderViolation = checkSender(h.name, sessionName, daemonName, expectedSender);
  if (senderViolation !== null) return senderViolation;
  if (h.numGroups < 0 || h.numGroups > Limits.MAX_GROUPS_PER_MESSAGE) {
    return new HeaderViolation('NUM_GROUPS', `num_groups ${h.numGroups} outside 0..${Limits.MAX_GROUPS_PER_MESSAGE}`);
  }
  if (((h.hint & ~HINT_BITS) >>> 0) !== 0) {
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

function checkSender(name: string, sessionName: string, daemonName: string, expected: string | undefined): HeaderViolation | null {
  // A session sends as itself over and over: its own private group name needs no parsing.
  if (name === expected && name.length < NAME_SIZE) return null;
  const sender = parsePrivateGroupStrict(name.slice(0, NAME_SIZE - 1));
  if (sender === null) return new HeaderViolation('SENDER', `illegal private group name ${JSON.stringify(name)}`);
  if (sender.daemonName !== daemonName) {
    return new HeaderViolation('SENDER', `daemon name ${JSON.stringify(sender.daemonName)} is not ${JSON.stringify(daemonName)}`);
  }
  if (sender.privateName !== sessionName) {
    return new HeaderViolation('SENDER', `session ${JSON.stringify(sessionName)} sent as ${JSON.stringify(sender.privateName)}`);
  }
  return null;
}

/** Header limits handed to the wire decoder: wide enough that our own checks decide. */
const DECODE_LIMITS = { maxGroups: 0x7fffffff, maxDataLen: 0x7fffffff };

export type ReadResult =
  | { readonly kind: 'message'; readonly message: RingMessage }
  | { readonly kind: 'violation'; readonly violation: HeaderViolation };

/** A refused header as a violation: the wire decoder refuses only negative counts. */
function asViolation(err: unknown): HeaderViolation {
  if (err instanceof HeaderViolation) return err;
  if (err instanceof ProtocolError) return new HeaderViolation(err.field === 'num_groups' ? 'NUM_GROUPS' : 'DATA_LEN', err.message);
  throw err;
}

/**
 * Frames are carved from slabs shared by every session (src/wire/slab.ts); one too big for a
 * region gets a Uint8Array of its own from the slab too. Never a Buffer: code V8 optimised for
 * the slab frames' map would be deoptimised by the first large frame ("wrong map").
 */
const frames = new Slab(8 * 1024);
const allocate = (n: number): Uint8Array => frames.alloc(n);

/**
 * Whether a frame of `n` bytes gets room for the ring's packet header in front of it: one
 * that fills more than half a packet body on its own has no equal behind it in its packet,
 * so the ring usually sends it alone, in place (SPEC.md Part V §10). Smaller frames are
 * packed with their neighbours, which copies them anyway.
 */
export function takesPacketRoom(n: number): boolean {
  return n > Size.PACKET_BODY / 2 && n <= Size.PACKET_BODY;
}

/**
 * The frame normalised in a buffer of its own (never written again), shared by every delivery.
 * A frame gathered from several chunks is already in one of its own, without room.
 */
function ringMessageOf(f: RawFrame): RingMessage {
  if (f.owned) return ringMessageOfNormalised(normaliseClientFrameInto(f.bytes, f.header, f.bytes));
  const n = f.bytes.length;
  const room = takesPacketRoom(n);
  const frame = room ? frames.allocWithRoom(Size.PACKET_HEADER, n) : allocate(n);
  return ringMessageOfNormalised(normaliseClientFrameInto(f.bytes, f.header, frame), room);
}

export class ClientMessageReader {
  private readonly framer: MessageFramer;
  private failed = false;

  constructor(sessionName: string, daemonName: string) {
    const expected = privateGroupName(sessionName, daemonName);
    this.framer = new MessageFramer({
      ...DECODE_LIMITS,
      maxBuffered: HEADER_SIZE + MAX_CLIENT_BODY,
      allocate,
      validate: (h) => {
        const violation = validateClientHeader(h, sessionName, daemonName, expected);
        if (violation !== null) throw violation;
      },
    });
  }

  /** Bytes of an unfinished message held right now. */
  get buffered(): number {
    return this.framer.buffered;
  }

  /**
   * Consumes `chunk`; returns the completed messages, ending with a violation if one occurred.
   * Nothing returned or kept aliases `chunk`: the caller may reuse it at once.
   */
  push(chunk: Uint8Array): ReadResult[] {
    const out: ReadResult[] = [];
    if (this.failed) return out;
    this.framer.push(chunk);
    let f: RawFrame | null;
    try {
      while ((f = this.framer.nextRaw()) !== null) out.push({ kind: 'message', message: ringMessageOf(f) });
      this.framer.detach();
    } catch (err) {
      this.failed = true;
      out.push({ kind: 'violation', violation: asViolation(err) });
    }
    return out;
  }
}
