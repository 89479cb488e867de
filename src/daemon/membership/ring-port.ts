/**
 * RingPort: what the membership machine needs from the operational ring (the RingEngine),
 * and nothing more (SPEC.md Part VI §10, §15).
 *
 * Names are the engine's: RingEngine implements this interface as it stands (highestSeq,
 * myAru, aru, lastDiscarded, tokenRounds, hasReceived, standby, loseToken, stopToken, backoff,
 * installEvs, completeEvs; test/membership/ring-port.test.ts checks it). Every method is
 * synchronous and is called by the membership machine only, from inside one of its inputs.
 *
 * Engine duties that are not calls but standing rules while the engine is in EVS mode (between
 * `installEvs` and `completeEvs`/`backoff`/`loseToken`), all from the reference's
 * Prot_handle_token / Prot_handle_bcast / Discard_packets:
 *
 *  E1  The regular token carries `EvsRing.ringId`; it is accepted from the predecessor in
 *      `EvsRing.members` ring order and sent to the successor (leader = first member).
 *  E2  Data packets, retransmission records (answered and requested) and the "foreign packet"
 *      test keep using `EvsRing.oldRingId` (the reference's Memb_id()).
 *  E3  No new packets (FC_allowed = 0), token.seq is left alone, and "token.aru == token.seq"
 *      does not raise the token aru.
 *  E4  EVS dummies (holes given in installEvs) count as present when My_aru advances;
 *      retransmission requests go up to Highest_seq (also in the accelerated ring).
 *  E5  When My_aru reaches Highest_seq at a token visit, My_aru := `EvsRing.lastSeq` before
 *      the token aru is computed (the reference's Memb_commit point; membership notices it by
 *      reading `myAru === lastSeq`).
 *  E6  No delivery and no discarding at all (Deliver_agreed/Deliver_reliable return,
 *      Discard_packets only acts through `completeEvs`).
 *  E7  After every token the engine processed (in any mode), the edge calls
 *      `Membership.ringProgress(now)`; that is where membership completes EVS (Aru has reached
 *      lastSeq) or gives up after MAX_EVS_ROUNDS.
 *  E8  The token-loss timer is re-armed by tokens and by data packets of `oldRingId` as usual;
 *      when it fires the engine does its `loseToken()` part and reports `tokenLost`, which the
 *      edge hands to `Membership.tokenLost(now)`.
 */
import type { RingId } from '../../wire/daemon/header.js';
import type { DeliverAction } from '../ring/actions.js';
import type { EvsDelivered, EvsInstall } from '../ring/install.js';

/**
 * The new ring as Read_form2 hands it to the engine: the engine's EvsInstall (field meanings
 * there; `oldRingId` is (my id, −1) before my first ring, `lastSeq` the FORM2 token's seq, see
 * E2 and E5), with Token_rounds 1 at the last member (it sent the first token), else 0.
 */
export type EvsRing = EvsInstall & { readonly tokenRounds: 0 | 1 };

/** What completeEvs delivered, split at the point where the transitional configuration goes. */
export type EvsDeliveries = Readonly<EvsDelivered>;

export interface RingPort {
  /** Highest_seq of my current (old) ring. */
  readonly highestSeq: number;
  /** My_aru. */
  readonly myAru: number;
  /** Aru. */
  readonly aru: number;
  /** Last_discarded. */
  readonly lastDiscarded: number;
  /** Token_rounds: tokens processed since the last installEvs (plus the first token, if sent). */
  readonly tokenRounds: number;

  /**
   * Whether Packets[] has an entry for `seq` of my current ring (`Packets[seq & MASK].exist`).
   * Only asked for Last_discarded < seq ≤ Highest_seq (FORM1 holes), never during EVS.
   */
  hasReceived(seq: number): boolean;

  /**
   * Prot_init / Memb_init, ring part, before the first ring: the network membership is
   * `members` (me alone) under `ringId` (me, −1), no live token. Datagrams are screened and
   * handed up as on any ring; nothing is sent.
   */
  standby(ringId: RingId, members: readonly number[]): void;

  /**
   * Memb_token_loss, ring part: Token_alive = 0 (tokens are swallowed: the veto), delivery
   * threshold BLOCK, Memb_Just_Installed cleared, token-loss and hurry timers cancelled,
   * Last_token type/seq/aru zeroed, leave EVS mode (after `backoff` when it was in EVS).
   * Idempotent; must not itself emit a `tokenLost` action.
   */
  loseToken(): void;

  /**
   * Create_form1 / Fill_form1, ring part: Token_alive = 0 (veto), delivery threshold BLOCK,
   * hurry and token-loss timers cancelled (the FORM timeout replaces the latter). Last_token
   * and all packets are kept.
   */
  stopToken(): void;

  /**
   * Backoff_membership (an EVS attempt failed): dummies become real holes again,
   * Aru = Last_discarded, My_aru recomputed from Last_discarded over present packets, and the
   * engine leaves EVS mode. Called before `loseToken()`.
   */
  backoff(): void;

  /**
   * Read_form2, ring part, in this order: the network membership and ring predecessor become
   * `ring.members` (E1); flow-control memory reset (Last_num_sent = Last_num_retrans = 0);
   * Highest_seq = ring.highestSeq; Aru = ring.aru; Discard_packets (non-EVS: delivers and frees
   * everything up to Aru — returned, in order); every hole becomes an EVS dummy (a packet held
   * in its slot is dropped first); Token_rounds = ring.tokenRounds; Token_alive = 1 and the
   * token-loss timer armed at now + TokenTimeout; Received_token_rounds = 0; Last_token
   * type/seq/aru = 0; Aru = 0; EVS mode with ring.lastSeq (E1–E8). The first regular token is
   * sent by membership, not by the engine.
   */
  installEvs(ring: EvsRing, now: number): readonly DeliverAction[];

  /**
   * Discard_packets in EVS, once Aru has reached Last_seq, minus the membership parts:
   * 1. deliver and free Last_discarded+1 .. up to the first dummy or first SAFE packet;
   * 2. (membership delivers the transitional configuration here)
   * 3. deliver the rest up to Highest_seq; after the first dummy only packets whose originator
   *    is in `commit`; free everything; drop other daemons' partial messages; restart my own
   *    partially sent message from its first fragment;
   * 4. (membership delivers the regular configuration here)
   * 5. leave EVS: data ring id := the EvsRing's ringId, Highest_seq = My_aru = Aru =
   *    Last_discarded = Last_delivered = 0 (or the DebugInitialSequence value), Token_counter = 0,
   *    Memb_Just_Installed = true. Token_rounds keeps counting.
   */
  completeEvs(commit: readonly number[]): EvsDeliveries;
}
