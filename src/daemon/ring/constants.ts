/**
 * Constants of the operational ring (SPEC.md Part V §1). Values are the 4.4 reference's
 * defaults; the ones a configuration can change live in RingSettings.
 */
import { PacketType, Size } from '../../wire/daemon/constants.js';
import { ServiceType } from '../../wire/client/constants.js';

/** Packets[] has this many slots, indexed by `seq & PACKET_MASK`. */
export const PACKETS_IN_STRUCT = 8192;
export const PACKET_MASK = 0x1fff;
/** No new packets while Highest_seq > Aru + MAX_SEQ_GAP (keeps the window collision free). */
export const MAX_SEQ_GAP = 1600;
/** A regular token whose seq exceeds this (outside EVS) is swallowed to force a new ring. */
export const MAX_WRAP_SEQUENCE_VALUE = 1 << 30;
/** Start value of every counter with DebugInitialSequence (exercises the wrap guard). */
export const INITIAL_SEQUENCE_NEAR_WRAP = MAX_WRAP_SEQUENCE_VALUE - 5;
/** Fragments per message (MAX_SCATTER_ELEMENTS of the stock build). */
export const MAX_FRAGMENTS = 100;
/** Bytes of one fragment: a whole packet body. */
export const FRAGMENT_SIZE = Size.PACKET_BODY;
/** Largest message (48-byte header + groups + data) that fits in MAX_FRAGMENTS fragments. */
export const MAX_MESSAGE_BYTES = MAX_FRAGMENTS * FRAGMENT_SIZE;
/** Down-queue length at which the reference stops reading client sockets. */
export const WATER_MARK = 500;
/**
 * Down-queue bytes at which client sockets stop being read as well (ours: the reference counts
 * messages only). Below ~260 bytes a message WATER_MARK comes first. The queue only has to keep
 * the ring busy while a client's next bytes are read (well under a millisecond); what it holds
 * beyond that waits long enough to outlive the young generation's collections and is freed
 * only by a full one (SPEC.md Part V §6).
 */
export const WATER_MARK_BYTES = 128 * 1024;
/** Largest token body (rtr list) in bytes. */
export const TOKEN_BODY = Size.TOKEN_BODY;
/** The first regular token of a ring carries this aru; the leader lowers it to its My_aru. */
export const FIRST_TOKEN_ARU = 0x7fffffff;

/** Packet types a data packet can carry (UNRELIABLE is mapped to RELIABLE before queueing). */
export type DataPacketType =
  | typeof PacketType.RELIABLE
  | typeof PacketType.FIFO
  | typeof PacketType.AGREED
  | typeof PacketType.SAFE;

/**
 * Delivery threshold levels (Prot_delivery_threshold): a class of delivery runs only while the
 * threshold is at most its level. BLOCK lets only stability (discard) deliver.
 */
export const DeliveryThreshold = {
  ALL: PacketType.UNRELIABLE,
  RELIABLE: PacketType.RELIABLE,
  FIFO: PacketType.FIFO,
  AGREED: PacketType.AGREED,
  SAFE: PacketType.SAFE,
  BLOCK: PacketType.REGULAR + 1,
} as const;
export type DeliveryThreshold = (typeof DeliveryThreshold)[keyof typeof DeliveryThreshold];

/** Default windows and timeouts (LAN). */
export const RING_DEFAULTS = {
  window: 160,
  personalWindow: 20,
  acceleratedWindow: 15,
  accelerated: false,
  /** TokenTimeout (ms): no token or packet of my ring for this long ⇒ token loss. */
  tokenTimeout: 1250,
  /** HurryTimeout (ms): the leader re-sends its last token after this long. */
  hurryTimeout: 500,
} as const;

/**
 * The packet type the reference queues a client message with (Message_get_packet_type):
 * UNRELIABLE and RELIABLE ride as RELIABLE, CAUSAL as AGREED; JOIN/LEAVE/KILL are AGREED unless
 * a SAFE bit is present (the daemon's own KILL|SAFE). Returns null for anything else.
 */
export function packetTypeOf(serviceType: number): DataPacketType | null {
  const t = serviceType;
  if (t & (ServiceType.UNRELIABLE_MESS | ServiceType.RELIABLE_MESS)) return PacketType.RELIABLE;
  if (t & ServiceType.FIFO_MESS) return PacketType.FIFO;
  if (t & (ServiceType.CAUSAL_MESS | ServiceType.AGREED_MESS)) return PacketType.AGREED;
  if (t & ServiceType.SAFE_MESS) return PacketType.SAFE;
  if (t & (ServiceType.JOIN_MESS | ServiceType.LEAVE_MESS | ServiceType.KILL_MESS)) return PacketType.AGREED;
  return null;
}

export function isDataPacketType(t: number): t is DataPacketType {
  return t === PacketType.RELIABLE || t === PacketType.FIFO || t === PacketType.AGREED || t === PacketType.SAFE;
}
