// The keys the set probes, in sorted order, of which only the first `max`
// are probed (--max-targets: "members past this many, in sorted order, are
// reported, not probed"). Kept sorted as keys come and go, so one change
// costs a binary search and a move of pointers, and says which keys crossed
// the limit because of it: no sort of the whole set per change. Pure.

export class LimitedOrder {
  readonly #max: number;
  readonly #sorted: string[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#sorted.length;
  }

  /** How many keys are past the limit. */
  get over(): number {
    return Math.max(0, this.#sorted.length - this.#max);
  }

  /** The first `count` keys past the limit, in sorted order. */
  overKeys(count: number): string[] {
    return this.#sorted.slice(this.#max, this.#max + Math.max(0, count));
  }

  /** Whether `key` is held and within the limit. */
  within(key: string): boolean {
    const i = this.#find(key);
    return i < this.#max && this.#sorted[i] === key;
  }

  /** Adds `key`; it and a key it pushes past the limit go into `touched`. */
  insert(key: string, touched: Set<string>): void {
    const i = this.#find(key);
    if (this.#sorted[i] === key) return;
    this.#sorted.splice(i, 0, key);
    touched.add(key);
    if (i < this.#max && this.#sorted.length > this.#max) touched.add(this.#sorted[this.#max]!);
  }

  /** Removes `key`; it and a key it lets in within the limit go into `touched`. */
  delete(key: string, touched: Set<string>): void {
    const i = this.#find(key);
    if (this.#sorted[i] !== key) return;
    this.#sorted.splice(i, 1);
    touched.add(key);
    if (i < this.#max && this.#sorted.length >= this.#max)
      touched.add(this.#sorted[this.#max - 1]!);
  }

  /** The first index whose key is not before `key` (code-unit order, as Array.sort). */
  #find(key: string): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#sorted[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
