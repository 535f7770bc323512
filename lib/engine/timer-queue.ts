/**
 * A binary min-heap of events by due time, ties broken by insertion order so
 * events due at the same moment run in the order they were scheduled.
 */
export class TimerQueue<T> {
  #dues: number[] = [];
  #orders: number[] = [];
  #items: T[] = [];
  // A number carried with each item, so callers that need (item, number)
  // pairs (the engine's timeouts: target and sequence, 10,000 a second) do
  // not allocate an object per event.
  #tags: number[] = [];
  #nextOrder = 0;
  /** The tag of the item popDue() returned last. */
  lastTag = 0;

  get size(): number {
    return this.#items.length;
  }

  push(dueMs: number, item: T, tag = 0): void {
    this.#dues.push(dueMs);
    this.#orders.push(this.#nextOrder++);
    this.#items.push(item);
    this.#tags.push(tag);
    this.#up(this.#items.length - 1);
  }

  peekDueMs(): number | undefined {
    return this.#dues[0];
  }

  /** The earliest event's item, left in the queue. */
  peekItem(): T | undefined {
    return this.#items[0];
  }

  /** Removes and returns the earliest event if it is due at or before `nowMs`. */
  popDue(nowMs: number): T | undefined {
    if (this.#items.length === 0 || this.#dues[0]! > nowMs) return undefined;
    const item = this.#items[0]!;
    this.lastTag = this.#tags[0]!;
    const last = this.#items.length - 1;
    this.#swap(0, last);
    this.#dues.pop();
    this.#orders.pop();
    this.#items.pop();
    this.#tags.pop();
    this.#down(0);
    return item;
  }

  #less(a: number, b: number): boolean {
    const da = this.#dues[a]!;
    const db = this.#dues[b]!;
    return da < db || (da === db && this.#orders[a]! < this.#orders[b]!);
  }

  // Plain temporaries: a destructuring swap allocated an array per swap, the
  // largest source of garbage in an idle daemon (18 MB in 8 s at 3,000 targets).
  #swap(a: number, b: number): void {
    const dues = this.#dues;
    const due = dues[a]!;
    dues[a] = dues[b]!;
    dues[b] = due;
    const orders = this.#orders;
    const order = orders[a]!;
    orders[a] = orders[b]!;
    orders[b] = order;
    const items = this.#items;
    const item = items[a]!;
    items[a] = items[b]!;
    items[b] = item;
    const tags = this.#tags;
    const tag = tags[a]!;
    tags[a] = tags[b]!;
    tags[b] = tag;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#less(l, m)) m = l;
      if (r < n && this.#less(r, m)) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
