/**
 * Static settings of the membership machine and how they follow from spread.conf
 * (SPEC.md Part VI §3).
 */
import { configHash, effectiveTimeouts, type MembershipTimeouts, type SpreadConfig } from '../config/index.js';
import type { RingSegmentSpec } from '../ring/topology.js';

/** Token rounds allowed in EVS before the daemon gives up on the new ring (BUG WORKAROUND in the reference). */
export const MAX_EVS_ROUNDS = 500;
/** A FORM token's seq is at least Highest_seq + this at every daemon it visits. */
export const FORM_SEQ_MARGIN = 3333;
/** A monitor partition is cleared after this long unless refreshed (Partition_timeout). */
export const PARTITION_TIMEOUT_MS = 60_000;
/** Membership_id.time of a daemon that has not formed a ring yet; also the start of Last_time_used. */
export const INITIAL_RING_TIME = -1;

export interface MembershipSettings {
  /** My proc id (IPv4 as int32). */
  readonly myId: number;
  /** Every segment of the configuration with its daemons, in spread.conf order. */
  readonly segments: readonly RingSegmentSpec[];
  /** Configuration hash carried by every datagram. */
  readonly confHash: number;
  /** The nine timeouts in ms (token and hurry are the ring engine's; the other seven are used here). */
  readonly timeouts: MembershipTimeouts;
  /** DangerousMonitor: whether monitor PARTITION packets are obeyed. */
  readonly dangerousMonitor?: boolean;
  /**
   * Wall-clock seconds at the moment `now` (ms) of an input. Ring ids and FORM ids are made of
   * wall-clock seconds (gettimeofday in the reference). Default: Date.now() / 1000.
   */
  readonly wallClock?: (now: number) => number;
  /**
   * Conf_reload_initiate is the edge's: it answers every `reload` action with
   * Membership.reloadLoaded (the file read). Default false: a RELOAD loses the token at once
   * and the configuration stays.
   */
  readonly reloadByEdge?: boolean;
}

/**
 * A reloaded configuration as membership takes it (SPEC.md Part IX §6); null: unchanged;
 * 'refused': not applied (the daemon keeps running on its configuration, or is exiting).
 */
export interface MembershipReload {
  readonly segments: readonly RingSegmentSpec[];
  readonly confHash: number;
  readonly dangerousMonitor: boolean;
  /** A daemon present before and after changed: every daemon alone first (the singleton partition). */
  readonly needPartition: boolean;
}

/** Settings for daemon `myId` of a loaded configuration: LAN/WAN default timeouts unless all nine are configured. */
export function membershipSettingsFromConfig(config: SpreadConfig, myId: number): MembershipSettings {
  return {
    myId: myId | 0,
    segments: config.segments.map((s) => ({ daemons: s.daemons.map((d) => d.id | 0) })),
    confHash: configHash(config),
    timeouts: effectiveTimeouts(config),
    dangerousMonitor: config.settings.dangerousMonitor,
  };
}
