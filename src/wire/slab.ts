/**
 * Fresh zeroed byte regions carved from 32 KiB slabs (SPEC.md Part VIII §9): one ArrayBuffer
 * per ~20 datagrams or frames instead of one each, as plain Uint8Array views (no Buffer
 * species lookups downstream). Regions are never reused, so nothing aliases; the price is that
 * a region kept alive keeps its whole slab alive. Regions above a quarter slab get their own.
 * Client frames use 8 KiB slabs (what Node's Buffer pool would have kept alive for them); a
 * region may have room reserved before it (allocWithRoom) that its holder writes in later.
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
    return this.carve(0, n);
  }

  /**
   * `n` fresh zeroed bytes with `room` more, also zeroed, reserved right before them in the
   * same buffer: whoever holds the region may later write `room` bytes in front of it and use
   * the whole without a copy (a client frame becoming the body of its ring packet).
   */
  allocWithRoom(room: number, n: number): Uint8Array {
    return this.carve(room, room + n);
  }

  /** A region holding a copy of `src[from, from + len)`. */
  copy(src: Uint8Array, from: number, len: number): Uint8Array {
    const b = this.alloc(len);
    b.set(from === 0 && len === src.length ? src : src.subarray(from, from + len));
    return b;
  }

  /** A fresh region of `total` bytes, returned from its byte `skip` on. */
  private carve(skip: number, total: number): Uint8Array {
    if (total > this.maxRegion) return skip === 0 ? new Uint8Array(total) : new Uint8Array(total).subarray(skip);
    if (this.off + total > this.slab.length) {
      this.slab = new Uint8Array(this.bytes);
      this.off = 0;
    }
    const b = this.slab.subarray(this.off + skip, this.off + total);
    this.off = (this.off + total + 7) & ~7;
    return b;
  }
}
