/**
 * What a daemon answers to spmonitor (SPEC.md Part IV §11; the reference's status.c and
 * flow_control.c FC_handle_message).
 *
 *   STATUS request  (monitor magic in memb_id, a configured proc_id, reply port in seq)
 *                   → status reply (encodeStatusReply, wire/daemon/monitor.ts), sent to
 *                     (request.proc_id, request.seq)
 *   FC              (DangerousMonitor only) → new Window / PersonalWindow / AcceleratedWindow
 *
 * PARTITION and RELOAD are membership's (src/daemon/membership).
 */

/** Spread version the status reports (4.4.0, as the reference's SP_*_VERSION). */
export const STATUS_VERSION = { major: 4, minor: 4, patch: 0 } as const;
