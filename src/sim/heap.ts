/**
 * The simulator's event queue: a binary min-heap on (time, insertion order), so events at the
 * same virtual time run in the order they were scheduled — deterministically.
 */
export interface Timed {
  time: number;
  order: number;
}

export class EventHeap<T extends Timed> {
  private items: T[] = [];
  private counter = 0;

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    item.order = this.counter++;
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      const t = a[i]!;
      a[i] = a[p]!;
      a[p] = t;
      i = p;
    }
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && before(a[l]!, a[m]!)) m = l;
        if (r < n && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        const t = a[i]!;
        a[i] = a[m]!;
        a[m] = t;
        i = m;
      }
    }
    return top;
  }
}

function before(x: Timed, y: Timed): boolean {
  return x.time < y.time || (x.time === y.time && x.order < y.order);
}
