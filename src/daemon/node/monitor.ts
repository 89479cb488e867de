/**
 * What a daemon answers to spmonitor (SPEC.md Part IV §11; the reference's status.c and
 * flow_control.c FC_handle_message).
 *
 *   STATUS request  (monitor magic in memb_id, a configured proc_id, reply port in seq)
 *                   → status reply: header {STATUS, transmitter 0, proc_id = me, all else 0,
 *                     data_len 96} + the 96-byte status, sent to (request.proc_id, request.seq)
 *   FC              (DangerousMonitor only) → new Window / PersonalWindow / AcceleratedWindow
 *
 * PARTITION and RELOAD are membership's (src/daemon/membership).
 */
import { PacketType, Size } from '../../wire/daemon/constants.js';
import { encodePacketHeaderInto } from '../../wire/daemon/header.js';
import { encodeStatusBodyInto, type StatusBody } from '../../wire/daemon/monitor.js';

/** Spread version the status reports (4.4.0, as the reference's SP_*_VERSION). */
export const STATUS_VERSION = { major: 4, minor: 4, patch: 0 } as const;

/** The 136-byte status reply datagram. */
export function encodeStatusReply(myId: number, status: StatusBody): Uint8Array {
  const bytes = new Uint8Array(Size.PACKET_HEADER + Size.STATUS);
  encodePacketHeaderInto(
    {
      type: PacketType.STATUS, transmitterId: 0, procId: myId | 0, membId: { procId: 0, time: 0 }, seq: 0, tokenRound: 0,
      confHash: 0, dataLen: Size.STATUS, padding: 0, fragIndex: 0, fragLen: 0,
    },
    Size.STATUS,
    bytes,
    0,
  );
  encodeStatusBodyInto(status, bytes, Size.PACKET_HEADER);
  return bytes;
}
