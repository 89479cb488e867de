/**
 * spflooder's payload and its reader-side checks (README "Tools": spflooder). Pure: no I/O.
 *
 *   payload = u32 sender index     the reference's -n layout: a multi-sender flooder's index in
 *                                  the group (0 otherwise); reference flooders read only this
 *             u32 magic 'SPFL'     0x4c465053, marks a checkable payload
 *             u32 stream           random per sending connection
 *             u32 seq              1, 2, 3 … per stream
 *             f64 sent             ms on the machine-wide clock (timeOrigin + performance.now())
 *             zero padding to -b bytes
 * all little-endian. A payload shorter than 24 bytes carries a prefix of this (and is not
 * checked); a payload without the magic (the reference's flooder sends zeros) is counted only.
 *
 * The checker keeps, per (sender, stream), the highest sequence number seen: seq = last+1 is in
 * order, seq > last+1 a FIFO break with seq−last−1 messages missing, a skipped number arriving
 * late a FIFO break that is no longer missing (RELIABLE may do that), anything else a duplicate.
 */

export const PAYLOAD_MAGIC = 0x4c465053;
export const PAYLOAD_HEADER = 24;

/** Milliseconds on one clock shared by every process of the machine (sub-ms precision). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A payload template of `size` bytes for one stream (index and stream filled in). */
export function payloadTemplate(size: number, index: number, stream: number): Uint8Array {
  const full = new Uint8Array(Math.max(size, PAYLOAD_HEADER));
  const v = new DataView(full.buffer);
  v.setUint32(0, index >>> 0, true);
  v.setUint32(4, PAYLOAD_MAGIC, true);
  v.setUint32(8, stream >>> 0, true);
  return full;
}

/**
 * Stamps seq and the send time into `full` (a template) and returns the `size` bytes to send,
 * a view of it: multicast() copies the data into its frame before it returns.
 */
export function stampPayload(full: Uint8Array, size: number, seq: number, now: number): Uint8Array {
  const v = new DataView(full.buffer, full.byteOffset, full.byteLength);
  v.setUint32(12, seq >>> 0, true);
  v.setFloat64(16, now, true);
  return full.subarray(0, size);
}

export interface FloodCounts {
  /** Every regular message received. */
  received: number;
  /** Received with a checkable payload. */
  checked: number;
  duplicates: number;
  /** Messages missing inside the sequence of some stream (gaps). */
  lost: number;
  /** Times a stream's next message was not last+1 (gaps and reorders). */
  fifoBreaks: number;
  bytes: number;
}

interface StreamState {
  last: number;
  /** Sequence numbers skipped over, so that a late arrival is not taken for a duplicate. */
  missing: Set<number> | null;
}

/** Skipped numbers remembered per stream (beyond it a late arrival counts as a duplicate). */
const MAX_MISSING = 100_000;

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Reader-side bookkeeping for one or more connections of one process. */
export class FloodChecker {
  readonly counts: FloodCounts = { received: 0, checked: 0, duplicates: 0, lost: 0, fifoBreaks: 0, bytes: 0 };
  private readonly streamState = new Map<string, StreamState>();
  private latency = new Float64Array(1024);
  private samples = 0;

  /** Checks one message from `sender`; returns its sender index (payload word 0, or 0). */
  message(sender: string, data: Uint8Array, now: number): number {
    const c = this.counts;
    c.received++;
    c.bytes += data.length;
    if (data.length < 4) return 0;
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const index = v.getUint32(0, true);
    if (data.length < PAYLOAD_HEADER || v.getUint32(4, true) !== PAYLOAD_MAGIC) return index;
    c.checked++;
    const key = `${sender}/${v.getUint32(8, true)}`;
    const seq = v.getUint32(12, true);
    let st = this.streamState.get(key);
    if (st === undefined) this.streamState.set(key, (st = { last: 0, missing: null }));
    if (seq === st.last + 1) {
      st.last = seq;
    } else if (seq > st.last) {
      c.fifoBreaks++;
      c.lost += seq - st.last - 1;
      st.missing ??= new Set();
      for (let m = st.last + 1; m < seq && st.missing.size < MAX_MISSING; m++) st.missing.add(m);
      st.last = seq;
    } else if (st.missing?.delete(seq) === true) {
      // A late arrival (possible below FIFO service): no longer lost, but out of order.
      c.lost--;
      c.fifoBreaks++;
    } else {
      c.duplicates++;
      return index;
    }
    this.addLatency(now - v.getFloat64(16, true));
    return index;
  }

  /** Highest sequence number seen from each stream (`sender/stream`). */
  highest(key: string): number {
    return this.streamState.get(key)?.last ?? 0;
  }

  /** One checker holding the counts and latency samples of several (the streams are not merged). */
  static combine(list: readonly FloodChecker[]): FloodChecker {
    const out = new FloodChecker();
    const c = out.counts;
    for (const x of list) {
      c.received += x.counts.received;
      c.checked += x.counts.checked;
      c.duplicates += x.counts.duplicates;
      c.lost += x.counts.lost;
      c.fifoBreaks += x.counts.fifoBreaks;
      c.bytes += x.counts.bytes;
      for (let i = 0; i < x.samples; i++) out.addLatency(x.latency[i]!);
    }
    return out;
  }

  private addLatency(ms: number): void {
    if (this.samples === this.latency.length) {
      const bigger = new Float64Array(this.latency.length * 2);
      bigger.set(this.latency);
      this.latency = bigger;
    }
    this.latency[this.samples++] = ms;
  }

  /** Latency percentiles (ms), or null without samples. */
  latencySummary(): LatencySummary | null {
    if (this.samples === 0) return null;
    const s = this.latency.slice(0, this.samples).sort();
    const at = (p: number): number => round3(s[Math.min(s.length - 1, Math.floor(p * s.length))]!);
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round3(s[s.length - 1]!) };
  }
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export interface FloodSummary {
  role: 'read-write' | 'write' | 'read';
  senders: number;
  /** Messages this process sent (writers) or read (readers). */
  messages: number;
  bytes: number;
  seconds: number;
  msgsPerSec: number;
  mbitPerSec: number;
  latencyMs: LatencySummary | null;
  received: number;
  checked: number;
  lost: number;
  duplicates: number;
  fifoBreaks: number;
}

/** The --json summary line's object. */
export function summarise(
  role: FloodSummary['role'],
  senders: number,
  messages: number,
  bytes: number,
  ms: number,
  checker: FloodChecker,
  missingAtEnd: number,
): FloodSummary {
  const seconds = Math.max(ms, 1e-3) / 1000;
  const c = checker.counts;
  return {
    role,
    senders,
    messages,
    bytes,
    seconds: round3(seconds),
    msgsPerSec: Math.round(messages / seconds),
    mbitPerSec: round3((bytes * 8) / seconds / 1e6),
    latencyMs: checker.latencySummary(),
    received: c.received,
    checked: c.checked,
    lost: c.lost + missingAtEnd,
    duplicates: c.duplicates,
    fifoBreaks: c.fifoBreaks,
  };
}
