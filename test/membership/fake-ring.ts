/**
 * A small operational ring that implements RingPort for the membership tests: the token
 * protocol of the reference reduced to what membership depends on (SPEC.md Part VI §10).
 *
 * - Tokens and data packets are real wire datagrams (src/wire/daemon codecs); a data packet
 *   carries one whole message (first fragment index −1) whose bytes are the test's payload.
 * - Token visit (Prot_handle_token, in the reference's order): veto checks, ARQ/RETRANS rules,
 *   answering retransmission requests of my data ring, new packets (none in EVS), My_aru, my
 *   own request record, the EVS commit rule (My_aru := Last_seq), token aru and seq, ARQ at the
 *   leader, send (or hold at an idle leader), Aru = min(this token's aru, last token's), then
 *   delivery of everything up to Aru (outside EVS). The caller then runs ringProgress.
 * - Hurry: the leader re-sends its last token with RETRANS + 1 every hurry timeout; a member
 *   seeing its last ARQ again with a higher RETRANS re-sends its own last token.
 * - Delivery is simplified to "everything in seq order once stable" (as if every message were
 *   SAFE), which is what the EVS rules are about; EVS delivery follows Discard_packets.
 * - Sequence wrap: outside EVS a token whose seq exceeds 2^30 is swallowed.
 */
import type { DeliverAction, SendAction } from '../../src/daemon/ring/actions.js';
import type { EvsDeliveries, EvsRing, RingPort } from '../../src/daemon/membership/ring-port.js';
import {
  PacketType, decodeDatagram, encodeDatagram, getArq, getRetrans, setArq, setRetrans,
  type MembershipId, type RegularToken, type RtrRecord,
} from '../../src/wire/daemon/index.js';
import { decodePacketHeader, encodePacketHeaderInto } from '../../src/wire/daemon/header.js';
import { readerFor } from '../../src/wire/bytes.js';

export const MAX_WRAP = 1 << 30;
const FIRST_TOKEN_ARU = 0x7fffffff;

interface Slot {
  sender: number;
  payload: Uint8Array;
  type: number;
  /** EVS hole filler (exist = 3). */
  dummy: boolean;
  bytes: Uint8Array | null;
}

function sameId(a: MembershipId, b: MembershipId): boolean {
  return a.procId === b.procId && a.time === b.time;
}

export interface FakeRingOptions {
  /** Daemon ids per segment (the configuration). */
  segments: readonly (readonly number[])[];
  tokenTimeout: number;
  hurryTimeout: number;
  confHash: number;
  /** Packets per token visit. */
  personalWindow?: number;
  /** Counters start here after every installed ring (DebugInitialSequence uses 2^30 − 5). */
  initialSeq?: number;
}

export class FakeRing implements RingPort {
  // RingPort counters.
  highestSeq = 0;
  myAru = 0;
  aru = 0;
  lastDiscarded = 0;
  tokenRounds = 0;

  alive = false;
  evs = false;
  lastSeq = 0;
  dataRingId: MembershipId;
  tokenRingId: MembershipId;
  members: number[];
  tokenDeadline: number | null = null;
  hurryDeadline: number | null = null;

  private readonly packets = new Map<number, Slot>();
  private lastToken: RegularToken;
  private tokenCounter = 0;
  private justInstalled = false;
  private readonly queue: { payload: Uint8Array; type: number }[] = [];
  /** Actions for the simulator: sends and deliveries in order. */
  out: (SendAction | DeliverAction)[] = [];
  readonly stats = { swallowedWrap: 0, processed: 0, retransmitted: 0 };

  constructor(readonly myId: number, readonly opts: FakeRingOptions) {
    this.dataRingId = { procId: myId, time: -1 };
    this.tokenRingId = this.dataRingId;
    this.members = [myId];
    this.lastToken = this.blankToken();
    const s = opts.initialSeq ?? 0;
    this.highestSeq = this.myAru = this.aru = this.lastDiscarded = s;
  }

  // ---------------------------------------------------------------------------------------------
  // RingPort.

  hasReceived(seq: number): boolean {
    return this.packets.has(seq);
  }

  standby(ringId: MembershipId, members: readonly number[]): void {
    this.dataRingId = { ...ringId };
    this.tokenRingId = { ...ringId };
    this.members = members.slice();
    this.alive = false;
  }

  loseToken(): void {
    this.justInstalled = false;
    this.alive = false;
    this.evs = false;
    this.tokenDeadline = null;
    this.hurryDeadline = null;
    this.lastToken.header.type = 0;
    this.lastToken.header.seq = 0;
    this.lastToken.header.aru = 0;
  }

  stopToken(): void {
    this.alive = false;
    this.tokenDeadline = null;
    this.hurryDeadline = null;
  }

  backoff(): void {
    for (const [seq, p] of this.packets) if (p.dummy) this.packets.delete(seq);
    this.evs = false;
    this.aru = this.lastDiscarded;
    this.myAru = this.lastDiscarded;
    this.advanceMyAru();
  }

  installEvs(ring: EvsRing, now: number): readonly DeliverAction[] {
    this.tokenRingId = { ...ring.ringId };
    this.members = ring.members.slice();
    this.highestSeq = ring.highestSeq;
    this.aru = ring.aru;
    const delivered = this.discardUpTo(this.aru);
    for (const h of ring.holes) {
      this.packets.set(h, { sender: 0, payload: new Uint8Array(0), type: 0, dummy: true, bytes: null });
    }
    this.tokenRounds = ring.tokenRounds;
    this.alive = true;
    this.tokenDeadline = now + this.opts.tokenTimeout;
    this.hurryDeadline = null;
    this.lastToken = this.blankToken();
    this.aru = 0;
    this.evs = true;
    this.lastSeq = ring.lastSeq;
    this.tokenCounter = 0;
    return delivered;
  }

  completeEvs(commit: readonly number[]): EvsDeliveries {
    const before: DeliverAction[] = [];
    let i = this.lastDiscarded + 1;
    for (; i <= this.highestSeq; i++) {
      const p = this.packets.get(i);
      if (p === undefined) throw new Error(`EVS: packet ${i} missing before the transitional configuration`);
      if (p.dummy || p.type & PacketType.SAFE) break;
      before.push(this.deliverAction(i, p));
      this.packets.delete(i);
      this.lastDiscarded = i;
    }
    const after: DeliverAction[] = [];
    let hole = false;
    for (; i <= this.highestSeq; i++) {
      const p = this.packets.get(i);
      if (p === undefined) throw new Error(`EVS: packet ${i} missing after the transitional configuration`);
      if (p.dummy) hole = true;
      else if (!hole || commit.includes(p.sender)) after.push(this.deliverAction(i, p));
      this.packets.delete(i);
    }
    this.packets.clear();
    this.evs = false;
    this.dataRingId = { ...this.tokenRingId };
    const s = this.opts.initialSeq ?? 0;
    this.highestSeq = this.myAru = this.aru = this.lastDiscarded = s;
    this.tokenCounter = 0;
    this.justInstalled = true;
    return { beforeTransitional: before, afterTransitional: after };
  }

  // ---------------------------------------------------------------------------------------------
  // The ring itself.

  get isLeader(): boolean {
    return this.members[0] === this.myId;
  }

  private get successor(): number {
    const i = this.members.indexOf(this.myId);
    return this.members[(i + 1) % this.members.length]!;
  }

  private get predecessor(): number {
    const i = this.members.indexOf(this.myId);
    return this.members[(i - 1 + this.members.length) % this.members.length]!;
  }

  /** Queue a message (test payload) for the ring; a held token picks it up at the next hurry. */
  submit(payload: Uint8Array, safe = false): void {
    this.queue.push({ payload, type: safe ? PacketType.SAFE : PacketType.AGREED });
  }

  get queued(): number {
    return this.queue.length;
  }

  /** A data packet: 'foreign' when it belongs to another ring (membership's business). */
  handleData(bytes: Uint8Array, now: number): 'mine' | 'foreign' | 'ignored' {
    const r = readerFor(bytes, 0, bytes.length, 'packet_header');
    const h = decodePacketHeader(r, 0).value;
    if ((h.type & PacketType.REGULAR) === 0) return 'ignored';
    if (!sameId(h.membId, this.dataRingId)) return 'foreign';
    if (this.alive) {
      this.tokenDeadline = now + this.opts.tokenTimeout;
      if (this.isLeader && this.hurryDeadline !== null) this.hurryDeadline = now + this.opts.hurryTimeout;
    }
    if (h.seq <= this.lastDiscarded || this.packets.has(h.seq)) return 'mine';
    this.packets.set(h.seq, {
      sender: h.procId, type: h.type & PacketType.REGULAR, dummy: false, bytes,
      payload: bytes.slice(40, 40 + h.fragLen),
    });
    if (h.seq > this.highestSeq) this.highestSeq = h.seq;
    this.advanceMyAru();
    return 'mine';
  }

  /** A regular token; true when it was processed (the caller then runs ringProgress). */
  handleToken(bytes: Uint8Array, now: number): boolean {
    const d = decodeDatagram(bytes, 'token');
    if (d.kind !== 'token') return false;
    const t = d.header;
    if (!this.alive || !sameId(t.membId, this.tokenRingId) || t.transmitterId !== this.predecessor) return false;
    if (!this.evs && t.seq > MAX_WRAP) {
      this.stats.swallowedWrap++;
      return false;
    }
    const arq = getArq(t.type);
    const lastArq = getArq(this.lastToken.header.type);
    if (this.isLeader) {
      if (arq !== lastArq) return false;
    } else {
      if (arq === lastArq) {
        if (getRetrans(t.type) > getRetrans(this.lastToken.header.type)) {
          this.lastToken.header.type = setRetrans(this.lastToken.header.type, getRetrans(t.type));
          this.resendLast(now);
        }
        return false;
      }
      if (arq !== ((lastArq + 1) & 0xf)) return false;
    }
    if (this.justInstalled) {
      // Memb_Just_Installed: forget the EVS aru of the last token.
      this.justInstalled = false;
      this.lastToken.header.aru = this.lastDiscarded;
    }
    this.stats.processed++;
    if (this.highestSeq < t.seq) this.highestSeq = t.seq;

    // Retransmissions asked on the token.
    const carried: RtrRecord[] = [];
    let rtrProc = this.myId;
    for (const rec of d.rtr) {
      if (!sameId(rec.membId, this.dataRingId)) {
        carried.push(rec);
        continue;
      }
      for (const s of rec.seqs) {
        const p = this.packets.get(s);
        if (p !== undefined && p.bytes !== null) {
          this.stats.retransmitted++;
          const copy = p.bytes.slice();
          copy[4] = this.myId & 0xff;
          copy[5] = (this.myId >>> 8) & 0xff;
          copy[6] = (this.myId >>> 16) & 0xff;
          copy[7] = (this.myId >>> 24) & 0xff;
          if (rec.procId !== -1) this.send('data', rec.procId, copy);
          else this.bcast(copy);
        } else {
          rtrProc = -1;
        }
      }
    }
    // New packets.
    let sent = 0;
    if (!this.evs && this.highestSeq <= this.aru + 1600) {
      while (sent < (this.opts.personalWindow ?? 20) && this.queue.length > 0) {
        const m = this.queue.shift()!;
        const seq = ++this.highestSeq;
        const bytes = this.dataPacket(seq, m.type, m.payload);
        this.packets.set(seq, { sender: this.myId, type: m.type, dummy: false, bytes, payload: m.payload });
        this.bcast(bytes);
        sent++;
      }
    }
    this.advanceMyAru();
    if (this.myAru < this.highestSeq) {
      const seqs: number[] = [];
      for (let s = this.myAru + 1; s <= this.highestSeq; s++) if (!this.packets.has(s)) seqs.push(s);
      carried.push({ membId: { ...this.dataRingId }, procId: rtrProc, segIndex: 0, seqs });
    }
    if (this.evs && this.myAru === this.highestSeq) this.myAru = this.lastSeq;

    if (t.aru > this.myAru || t.aruLastId === this.myId || (t.aru === t.seq && !this.evs)) {
      t.aru = this.myAru;
      t.aruLastId = this.myId;
    }
    t.procId = this.myId;
    if (!this.evs) t.seq = this.highestSeq;
    if (this.isLeader) t.type = setRetrans(setArq(t.type, (arq + 1) & 0xf), 0);
    t.transmitterId = this.myId;
    t.flowControl = sent;
    const token: RegularToken = { kind: 'token', littleEndian: true, header: t, rtr: carried };
    const hold = this.isLeader && !this.evs && this.aru === this.highestSeq && this.tokenCounter > 1 &&
      this.queue.length === 0 && getRetrans(this.lastToken.header.type) <= 1;
    if (!hold) this.send('token', this.successor, encodeDatagram(token));
    this.tokenRounds++;
    if (this.isLeader) this.hurryDeadline = now + this.opts.hurryTimeout;
    this.tokenDeadline = now + this.opts.tokenTimeout;

    const newAru = t.aru > this.lastToken.header.aru ? this.lastToken.header.aru : t.aru;
    if (newAru > this.aru) this.aru = newAru;
    if (this.highestSeq === this.aru) this.tokenCounter++;
    else this.tokenCounter = 0;
    this.lastToken = { kind: 'token', littleEndian: true, header: { ...t, membId: { ...t.membId } }, rtr: [] };
    if (!this.evs) this.out.push(...this.discardUpTo(this.aru));
    return true;
  }

  /** The leader's hurry timer. */
  hurry(now: number): void {
    this.hurryDeadline = null;
    if (!this.alive || !this.isLeader) return;
    this.lastToken.header.type = setRetrans(this.lastToken.header.type, getRetrans(this.lastToken.header.type) + 1);
    this.hurryDeadline = now + this.opts.hurryTimeout;
    this.resendLast(now);
  }

  /** The token-loss timer: returns true when the ring is lost (the caller tells membership). */
  tokenTimer(): boolean {
    this.tokenDeadline = null;
    if (!this.alive) return false;
    this.loseToken();
    return true;
  }

  private resendLast(_now: number): void {
    const t: RegularToken = { ...this.lastToken, header: { ...this.lastToken.header, transmitterId: this.myId }, rtr: [] };
    const bytes = encodeDatagram(t);
    this.send('token', this.successor, bytes);
    if (getRetrans(t.header.type) > 1) {
      this.send('token', this.successor, bytes);
      this.send('token', this.successor, bytes);
    }
  }

  private advanceMyAru(): void {
    while (this.myAru < this.highestSeq && this.packets.has(this.myAru + 1)) this.myAru++;
  }

  private discardUpTo(aru: number): DeliverAction[] {
    const out: DeliverAction[] = [];
    for (let s = this.lastDiscarded + 1; s <= aru; s++) {
      const p = this.packets.get(s);
      if (p === undefined) throw new Error(`discard: packet ${s} <= Aru ${aru} missing at ${this.myId >>> 0}`);
      if (!p.dummy) out.push(this.deliverAction(s, p));
      this.packets.delete(s);
    }
    if (aru > this.lastDiscarded) this.lastDiscarded = aru;
    return out;
  }

  private deliverAction(seq: number, p: Slot): DeliverAction {
    return { kind: 'deliver', message: p.payload, packetType: p.type, sender: p.sender, seq };
  }

  private dataPacket(seq: number, type: number, payload: Uint8Array): Uint8Array {
    const bytes = new Uint8Array(40 + payload.length);
    encodePacketHeaderInto({
      type, transmitterId: this.myId, procId: this.myId, membId: { ...this.dataRingId }, seq, tokenRound: this.tokenRounds,
      confHash: this.opts.confHash, dataLen: payload.length, padding: 0, fragIndex: -1, fragLen: payload.length,
    }, payload.length, bytes, 0);
    bytes.set(payload, 40);
    return bytes;
  }

  /**
   * Net_bcast without relays: a broadcast on my segment when it has other configured daemons
   * (so daemons of other rings there see foreign packets), unicasts to members elsewhere.
   */
  private bcast(bytes: Uint8Array): void {
    const segs = this.opts.segments;
    const mySeg = segs.findIndex((s) => s.includes(this.myId));
    if (segs[mySeg]!.length > 1) this.out.push({ kind: 'send', channel: 'data', to: 'segment', target: mySeg, bytes });
    for (const id of this.members) if (!segs[mySeg]!.includes(id)) this.send('data', id, bytes);
  }

  private send(channel: 'data' | 'token', to: number, bytes: Uint8Array): void {
    this.out.push({ kind: 'send', channel, to: 'proc', target: to, bytes });
  }

  private blankToken(): RegularToken {
    return {
      kind: 'token', littleEndian: true,
      header: {
        type: 0, transmitterId: this.myId, procId: this.myId, membId: { procId: 0, time: 0 }, seq: 0, aru: 0,
        aruLastId: -1, flowControl: 0, rtrLen: 0, confHash: this.opts.confHash,
      },
      rtr: [],
    };
  }
}

export { FIRST_TOKEN_ARU };
