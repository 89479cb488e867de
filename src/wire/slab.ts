/**
 * Fresh zeroed byte regions carved from 32 KiB slabs (SPEC.md Part VIII §9): one ArrayBuffer
 * per ~20 datagrams or frames instead of one each, as plain Uint8Array views (no Buffer
 * species lookups downstream). Regions are never reused, so nothing aliases; the price is that
 * a region kept alive keeps its whole slab alive. Regions above a quarter slab get their own.
 * Client frames use 8 KiB slabs (what Node's Buffer pool would have kept alive for them).
 */
export const SLAB_BYTES = 32 * 1024;

export class Slab {
  private slab = new Uint8Array(0);
  private off = 0;

  constructor(private readonly bytes = SLAB_BYTES) {}

  /** Regions longer than this get an ArrayBuffer of their own. */
  get maxRegion(): number {
    return this.bytes / 4;
  }

  /** `n` fresh zeroed bytes. */
  alloc(n: number): Uint8Array {
    if (n > this.maxRegion) return new Uint8Array(n);
    if (this.off + n > this.slab.length) {
      this.slab = new Uint8Array(this.bytes);
      this.off = 0;
    }
    const b = this.slab.subarray(this.off, this.off + n);
    this.off = (this.off + n + 7) & ~7;
    return b;
  }

  /** A region holding a copy of `src[from, from + len)`. */
  copy(src: Uint8Array, from: number, len: number): Uint8Array {
    const b = this.alloc(len);
    b.set(from === 0 && len === src.length ? src : src.subarray(from, from + len));
    return b;
  }
}
