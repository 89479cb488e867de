/**
 * Flush layer, wire (SPEC.md "Flush layer", §FL.1): the constants of the C flush library and
 * the trailers it appends to the body of ordinary Spread messages. Pure: no I/O.
 *
 * Grammar (every trailer sits at the END of the body, after the application's bytes; the
 * integers are in the sender's byte order, which the frame's endian marker tells):
 *
 *   control  (mess_type FLUSH_OK -32768 | FLUSH_RECV -32767):  group_id(12)
 *   vulnerable (mess_type VULNERABLE -32766):  data ‖ int16 user_mess_type ‖ group_id(12)
 *   subgroup (service bit SUBGROUP_CAST):      data ‖ [vulnerable trailer] ‖ group[32]
 *
 *   group_id = int32 proc_id ‖ int32 time ‖ int32 index
 */
import { put16, readI16, readName, writeName } from '../../wire/bytes.js';
import { decodeGroupId, encodeGroupIdInto, GROUP_ID_SIZE } from '../../wire/client/membership.js';
import { NAME_SIZE as GROUP_NAME_SIZE } from '../../wire/client/message.js';
import { assertBounds } from '../../wire/errors.js';
import type { GroupId } from '../index.js';

/** Service-type bits the flush library adds to the C API's (fl.h). */
export const FlushServiceType = {
  /** FL_receive flag: return WOULD_BLOCK instead of blocking (not used on the wire). */
  DONT_BLOCK: 0x10000000,
  /** The service type of a flush request handed to the application (never on the wire). */
  FLUSH_REQ_MESS: 0x20000000,
  /** Set on the wire by FL_subgroupcast / FL_unicast; the flush group is in the trailer. */
  SUBGROUP_CAST: 0x40000000,
} as const;

/** Message types the flush library reserves (fl_p.h); applications may use ≥ FL_MIN_LEGAL_MESS_TYPE. */
export const FlushMessType = {
  FLUSH_OK: -32768,
  FLUSH_RECV: -32767,
  VULNERABLE: -32766,
} as const;
export const FL_MIN_LEGAL_MESS_TYPE = -32765;

/** Flush library error codes (fl.h), beside the C API's own. */
export const FlushErrorCode = {
  ILLEGAL_PARAM: -24,
  WOULD_BLOCK: -25,
  ILLEGAL_MESSAGE_TYPE: -26,
  ILLEGAL_STATE: -27,
  ILLEGAL_RECEIVERS: -28,
} as const;

/** Bytes a vulnerable trailer adds. */
export const VULNERABLE_TRAILER_SIZE = 2 + GROUP_ID_SIZE;

/** The 12-byte body of a FLUSH_OK / FLUSH_RECV message (little-endian, as our client writes). */
export function encodeControlBody(gid: GroupId): Uint8Array {
  const out = new Uint8Array(GROUP_ID_SIZE);
  encodeGroupIdInto(gid, out, 0);
  return out;
}

export interface EncodeTrailerOptions {
  /** Append the vulnerable trailer: the user's mess type and the sender's current view id. */
  vulnerable?: { messType: number; viewId: GroupId } | undefined;
  /** Append the subgroup trailer: the flush group's name. */
  subgroup?: string | undefined;
}

/** `data` followed by the trailers asked for, in one new buffer. */
export function encodeWithTrailers(data: Uint8Array, opts: EncodeTrailerOptions): Uint8Array {
  const extra = (opts.vulnerable ? VULNERABLE_TRAILER_SIZE : 0) + (opts.subgroup !== undefined ? GROUP_NAME_SIZE : 0);
  const out = new Uint8Array(data.length + extra);
  out.set(data, 0);
  let o = data.length;
  if (opts.vulnerable) {
    o = put16(out, o, opts.vulnerable.messType);
    o = encodeGroupIdInto(opts.vulnerable.viewId, out, o);
  }
  if (opts.subgroup !== undefined) writeName(out, o, GROUP_NAME_SIZE, opts.subgroup);
  return out;
}

/** What the trailers of a received regular message carried. */
export interface DecodedTrailers {
  /** The application's bytes (a view into the body, trailers removed). */
  data: Uint8Array;
  /** The application's mess type (the original one for a vulnerable message). */
  messType: number;
  /** The view id a control or vulnerable message is addressed to. */
  viewId: GroupId | undefined;
  vulnerable: boolean;
  /** SUBGROUP_CAST: the flush group named in the trailer. */
  subgroup: string | undefined;
}

/**
 * Strips the trailers from a received body: `subgroup` when the service type has SUBGROUP_CAST,
 * then a group id when the wire mess type is reserved, then the user mess type for VULNERABLE.
 * `le`: the sender's byte order. Throws a ProtocolError when the body is too short.
 */
export function decodeTrailers(body: Uint8Array, serviceType: number, wireMessType: number, le: boolean): DecodedTrailers {
  let end = body.length;
  let subgroup: string | undefined;
  if ((serviceType & FlushServiceType.SUBGROUP_CAST) !== 0) {
    assertBounds(end, 0, GROUP_NAME_SIZE, 'flush_subgroup_trailer', 'group');
    end -= GROUP_NAME_SIZE;
    subgroup = readName(body, end, GROUP_NAME_SIZE);
  }
  let viewId: GroupId | undefined;
  let messType = wireMessType;
  const vulnerable = wireMessType === FlushMessType.VULNERABLE;
  if (wireMessType < FL_MIN_LEGAL_MESS_TYPE) {
    assertBounds(end, 0, GROUP_ID_SIZE, 'flush_trailer', 'group_id');
    end -= GROUP_ID_SIZE;
    viewId = decodeGroupId(body, end, end + GROUP_ID_SIZE, le).value;
    if (vulnerable) {
      assertBounds(end, 0, 2, 'flush_vulnerable_trailer', 'mess_type');
      end -= 2;
      messType = readI16(body, end, le);
    }
  }
  return { data: body.subarray(0, end), messType, viewId, vulnerable, subgroup };
}

/** A map key for a group id. */
export function groupIdKey(g: GroupId): string {
  return `${g.procId}:${g.time}:${g.index}`;
}
