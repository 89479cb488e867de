/**
 * The simulated network (SPEC.md Part V §13): the one model both simulator modes send through.
 *
 * Per datagram and receiver it draws, from the run's network PRNG and in this fixed order: loss,
 * duplication, then per copy a latency uniform in [delayMin, delayMax] and the reorder fault
 * (an extra delay up to reorderDelay). A link keeps datagrams in order (jitter only spaces them)
 * unless the reorder fault holds one back. A partition drops everything between daemons of
 * different components without drawing. Faults (loss, dup, reorder) apply only while `faultsOn`.
 */
import type { Prng } from './prng.js';

export interface NetworkFaults {
  /** Probability that a datagram (per receiver) is lost. */
  readonly loss: number;
  /** Probability that a datagram is delivered twice. */
  readonly dup: number;
  /** One-way latency in ms, uniform in [delayMin, delayMax]. */
  readonly delayMin: number;
  readonly delayMax: number;
  /** Probability of an extra delay (up to reorderDelay ms) that reorders a datagram. */
  readonly reorder: number;
  readonly reorderDelay: number;
  /** Whether a daemon's datagrams to itself can be lost too (the loopback rarely loses). */
  readonly loopbackLoss: boolean;
}

export class Network {
  datagrams = 0;
  dropped = 0;
  faultsOn = true;
  /** A delay spike: extra one-way latency (ms) added to every datagram while set. */
  extraDelay = 0;
  /** A loss burst: extra loss probability on top of `faults.loss` while set. */
  extraLoss = 0;
  /** Component of each node while partitioned (null: one network). */
  private component: readonly number[] | null = null;
  /** Latest arrival scheduled on each link (from → to). */
  private readonly linkLast: number[][] = [];

  constructor(
    readonly faults: NetworkFaults,
    private readonly prng: Prng,
  ) {}

  /** Splits the network into components (the component index of each node), or heals it (null). */
  partition(component: readonly number[] | null): void {
    this.component = component;
  }

  /** Arrival times of one datagram from node `from` to node `to` sent at `now`: none when lost. */
  route(from: number, to: number, now: number): number[] {
    const f = this.faults;
    const r = this.prng;
    this.datagrams++;
    const c = this.component;
    const faulty = this.faultsOn;
    if ((c !== null && c[from] !== c[to]) || (faulty && (from !== to || f.loopbackLoss) && r.chance(f.loss + this.extraLoss))) {
      this.dropped++;
      return [];
    }
    const copies = faulty && r.chance(f.dup) ? 2 : 1;
    const out: number[] = [];
    const last = (this.linkLast[from] ??= []);
    for (let k = 0; k < copies; k++) {
      let at = now + this.extraDelay + f.delayMin + r.float() * (f.delayMax - f.delayMin);
      if (faulty && r.chance(f.reorder)) {
        at += r.float() * f.reorderDelay;
      } else {
        at = Math.max(at, last[to] ?? 0);
        last[to] = at;
      }
      out.push(at);
    }
    return out;
  }

}
