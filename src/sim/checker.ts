/**
 * What every simulated run must show (SPEC.md Part V §13):
 *
 * - every daemon delivers every submitted message exactly once, byte for byte, from the right
 *   sender (nothing lost, nothing duplicated, nothing invented);
 * - FIFO, CAUSAL, AGREED and SAFE messages, and (UN)RELIABLE ones too long for one packet, come
 *   out in one total order at every daemon (single-packet (UN)RELIABLE ones may overtake it:
 *   mayOvertake);
 * - per sender, those messages come out in submission order (FIFO);
 * - a SAFE message is delivered only when every daemon already holds every packet up to it
 *   (every engine's My_aru has reached the packet's seq);
 * - counters keep their order (Last_discarded ≤ Aru ≤ My_aru ≤ Highest_seq) and Aru never falls;
 * - everything is delivered everywhere within the scenario's bound of virtual time.
 */
import { readI32, readU32 } from '../wire/bytes.js';
import { ServiceType } from '../wire/client/constants.js';
import { HEADER_SIZE, HeaderField } from '../wire/client/message.js';
import type { DeliverAction } from '../daemon/ring/actions.js';
import { dataOffset, mayOvertake, type WorkItem } from './scenario.js';
import type { SimNode } from './simulation.js';

export class Checker {
  readonly failures: string[] = [];
  completedAt = NaN;
  deliveredTotal = 0;
  private readonly byId: WorkItem[] = [];
  private readonly got: Uint8Array[];
  private readonly orderedCount: number[];
  /** The one total order, as first seen (position → message id). */
  private readonly order: number[] = [];
  private readonly lastCounter: Int32Array[];
  private readonly lastAru: number[];
  private readonly latency: number[] = [];
  private readonly submitAt: Float64Array;
  private remaining: number;

  constructor(
    private readonly nodes: readonly SimNode[],
    workload: readonly WorkItem[],
    private readonly countOnly = false,
  ) {
    for (const w of workload) this.byId[w.id] = w;
    const n = nodes.length;
    this.got = nodes.map(() => new Uint8Array(workload.length));
    this.orderedCount = new Array<number>(n).fill(0);
    this.lastCounter = nodes.map(() => new Int32Array(n).fill(-1));
    this.lastAru = nodes.map((x) => x.engine.aru);
    this.submitAt = new Float64Array(workload.length).fill(NaN);
    this.remaining = workload.length * n;
    if (this.remaining === 0) this.completedAt = 0;
  }

  get complete(): boolean {
    return this.remaining === 0;
  }

  fail(now: number, message: string): void {
    if (this.failures.length < 20) this.failures.push(`t=${now.toFixed(3)}ms ${message}`);
  }

  submitted(item: WorkItem, now: number): void {
    this.submitAt[item.id] = now;
  }

  delivered(node: SimNode, a: DeliverAction, now: number): void {
    if (this.countOnly) {
      this.deliveredTotal++;
      if (--this.remaining === 0) this.completedAt = now;
      return;
    }
    const m = a.message;
    const who = `d${node.index}`;
    if (m.length < HEADER_SIZE) return this.fail(now, `${who} delivered a ${m.length}-byte message`);
    const numGroups = readI32(m, HeaderField.NUM_GROUPS, true);
    const off = dataOffset(numGroups);
    if (numGroups < 0 || off + 8 > m.length) return this.fail(now, `${who} delivered a message with a bad header`);
    const id = readU32(m, off, true);
    const item = this.byId[id];
    if (item === undefined) return this.fail(now, `${who} delivered unknown message id ${id}`);
    if (!sameBytes(m, item.bytes)) return this.fail(now, `${who} delivered message ${id} with different bytes`);
    const sender = this.nodes[item.node]!;
    if (a.sender !== sender.id) return this.fail(now, `${who} delivered message ${id} from ${a.sender}, sent by d${item.node}`);
    if (Number.isNaN(this.submitAt[id]!)) return this.fail(now, `${who} delivered message ${id} before it was submitted`);
    const got = this.got[node.index]!;
    if (got[id]) return this.fail(now, `${who} delivered message ${id} twice`);
    got[id] = 1;
    this.deliveredTotal++;
    this.latency.push(now - this.submitAt[id]!);

    if (item.service & ServiceType.SAFE_MESS) {
      if (!(a.packetType & 0x10)) this.fail(now, `${who} delivered SAFE message ${id} from a non-SAFE packet`);
      for (const y of this.nodes) {
        if (y.engine.myAru < a.seq) {
          this.fail(now, `${who} delivered SAFE message ${id} (seq ${a.seq}) while d${y.index} has My_aru ${y.engine.myAru}` +
            (y.engine.hasReceived(a.seq) ? '' : ' and lacks the packet'));
        }
      }
    }
    if (!mayOvertake(item.service, item.bytes.length)) {
      const k = this.orderedCount[node.index]!++;
      if (k === this.order.length) this.order.push(id);
      else if (this.order[k] !== id) {
        this.fail(now, `${who} delivered message ${id} at ordered position ${k}, where another daemon delivered ${this.order[k]}`);
      }
      const lc = this.lastCounter[node.index]!;
      if (item.counter <= lc[item.node]!) {
        this.fail(now, `${who} delivered message ${id} (#${item.counter} of d${item.node}) after #${lc[item.node]} (FIFO)`);
      }
      lc[item.node] = item.counter;
    }
    if (--this.remaining === 0) this.completedAt = now;
  }

  afterEvent(node: SimNode): void {
    if (this.countOnly) return;
    const e = node.engine;
    if (!(e.lastDiscarded <= e.aru && e.aru <= e.myAru && e.myAru <= e.highestSeq && e.lastDiscarded <= e.lastDelivered)) {
      this.fail(NaN, `d${node.index} counters out of order: Last_discarded ${e.lastDiscarded} Aru ${e.aru} My_aru ${e.myAru} ` +
        `Highest_seq ${e.highestSeq} Last_delivered ${e.lastDelivered}`);
    }
    if (e.aru < this.lastAru[node.index]!) this.fail(NaN, `d${node.index} Aru fell from ${this.lastAru[node.index]} to ${e.aru}`);
    this.lastAru[node.index] = e.aru;
  }

  finish(now: number, limit: number): void {
    if (this.remaining === 0 || this.failures.length > 0) return;
    for (const n of this.nodes) {
      const got = this.got[n.index]!;
      const missing: number[] = [];
      for (let id = 0; id < got.length; id++) if (!got[id]) missing.push(id);
      if (missing.length > 0) {
        this.fail(now, `d${n.index} never delivered ${missing.length} message(s) within the bound (${limit.toFixed(0)}ms), ` +
          `e.g. ${missing.slice(0, 5).join(', ')}; queue ${n.engine.queueLength}, My_aru ${n.engine.myAru}, ` +
          `Highest_seq ${n.engine.highestSeq}, Aru ${n.engine.aru}`);
      }
    }
  }

  /** Latency percentiles (ms) of deliveries. */
  latencyPercentiles(): { p50: number; p99: number; max: number } {
    const l = [...this.latency].sort((a, b) => a - b);
    const at = (q: number): number => (l.length === 0 ? NaN : l[Math.min(l.length - 1, Math.floor(q * l.length))]!);
    return { p50: at(0.5), p99: at(0.99), max: l.length === 0 ? NaN : l[l.length - 1]! };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
