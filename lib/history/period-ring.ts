// One target's records for consecutive periods (minutes or hours), oldest
// dropped first: counters in a typed array per field, and each record's
// sparse histogram as (bucket index, count) pairs in a byte FIFO. Records are
// written in time order and expire in the same order, so their bucket pairs
// form a queue: no per-record objects, a few typed arrays per target.
//
// Memory grows with what is held (a new target costs a few hundred bytes)
// and is capped: at most `maxSlots` records, and at most `maxPairBytes` of
// bucket pairs. When the pairs would exceed that cap, the oldest records'
// buckets are dropped first (their counters stay), so loss history always
// covers the full span even for a target whose RTTs spread very wide.

/** Counter fields of a record, in storage order. */
export const FIELDS = ['sent', 'lost', 'late', 'duplicates', 'errors'] as const;
export type Field = (typeof FIELDS)[number];
const NFIELDS = FIELDS.length;
const NONE = 0xffffffff;
const FIRST_SLOTS = 16;
const FIRST_PAIR_BYTES = 256;

type CounterArray = Uint16Array | Uint32Array;

export interface RingLimits {
  readonly maxSlots: number;
  readonly maxPairBytes: number;
  /** The largest counter a record holds; larger values saturate (Uint16 or Uint32 storage). */
  readonly counterMax: 0xffff | 0xffffffff;
}

/** A record as read back (not used on the probe path). */
export interface PeriodRecord {
  period: number;
  counts: number[]; // FIELDS order
  /** Bucket index, count, index, count, ... ascending by index; empty if dropped or none. */
  pairs: number[];
}

export class PeriodRing {
  readonly #limits: RingLimits;
  #cap = 0; // slots allocated
  #head = 0; // storage position of the oldest record
  #size = 0;
  #firstPeriod = 0; // period of the oldest record
  #counts: CounterArray = new Uint16Array(0);
  #pairStart = new Uint32Array(0); // absolute byte position in the pair FIFO, or NONE
  #pairLen = new Uint16Array(0); // bytes
  // Pair FIFO: bytes #tail..#end (absolute positions), stored modulo its length.
  #bytes = new Uint8Array(0);
  #tail = 0;
  #end = 0;

  constructor(limits: RingLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#size;
  }

  get firstPeriod(): number | undefined {
    return this.#size > 0 ? this.#firstPeriod : undefined;
  }

  get lastPeriod(): number | undefined {
    return this.#size > 0 ? this.#firstPeriod + this.#size - 1 : undefined;
  }

  /** Bytes held in typed arrays, for the memory figures. */
  get heldBytes(): number {
    return (
      this.#counts.byteLength +
      this.#pairStart.byteLength +
      this.#pairLen.byteLength +
      this.#bytes.byteLength
    );
  }

  /**
   * Adds a record for `period`: counters `counts` (FIELDS order) and pairs
   * from `indices`/`bucketCounts` (the first `n`, ascending). A period at or
   * before the last one is merged into the last (a restart within a minute,
   * or the wall clock stepping back); periods skipped are left empty.
   */
  add(
    period: number,
    counts: ArrayLike<number>,
    indices: ArrayLike<number>,
    bucketCounts: ArrayLike<number>,
    n: number,
  ): void {
    const last = this.lastPeriod;
    if (last !== undefined && period <= last) {
      this.#mergeIntoLast(counts, indices, bucketCounts, n);
      return;
    }
    if (last === undefined || period - last > this.#limits.maxSlots) {
      this.#clear();
      this.#firstPeriod = period;
    } else {
      for (let p = last + 1; p < period; p++) this.#push(); // periods with no record
    }
    const pos = this.#push();
    const base = pos * NFIELDS;
    for (let f = 0; f < NFIELDS; f++) this.#counts[base + f] = this.#clamp(counts[f] ?? 0);
    this.#writePairs(pos, indices, bucketCounts, n);
  }

  /** The record of `period`, or undefined if none is held (or it is all zero). */
  get(period: number): PeriodRecord | undefined {
    const i = period - this.#firstPeriod;
    if (this.#size === 0 || i < 0 || i >= this.#size) return undefined;
    const pos = (this.#head + i) % this.#cap;
    const counts: number[] = [];
    let any = false;
    for (let f = 0; f < NFIELDS; f++) {
      const v = this.#counts[pos * NFIELDS + f]!;
      counts.push(v);
      if (v > 0) any = true;
    }
    const pairs = this.#readPairs(pos);
    if (!any && pairs.length === 0) return undefined;
    return { period, counts, pairs };
  }

  #clamp(v: number): number {
    return v > this.#limits.counterMax ? this.#limits.counterMax : v;
  }

  #clear(): void {
    this.#head = 0;
    this.#size = 0;
    this.#tail = this.#end = 0;
  }

  /** A new empty newest slot (dropping the oldest when full); returns its storage position. */
  #push(): number {
    if (this.#size === this.#cap) {
      if (this.#cap < this.#limits.maxSlots) this.#growSlots();
      else this.#dropOldest();
    }
    const pos = (this.#head + this.#size) % this.#cap;
    this.#size++;
    this.#counts.fill(0, pos * NFIELDS, pos * NFIELDS + NFIELDS);
    this.#pairStart[pos] = NONE;
    this.#pairLen[pos] = 0;
    return pos;
  }

  #dropOldest(): void {
    const pos = this.#head;
    if (this.#pairStart[pos] !== NONE) this.#tail = this.#pairStart[pos]! + this.#pairLen[pos]!;
    this.#head = (this.#head + 1) % this.#cap;
    this.#size--;
    this.#firstPeriod++;
  }

  #growSlots(): void {
    const cap = Math.min(this.#limits.maxSlots, Math.max(FIRST_SLOTS, this.#cap * 2));
    const counts =
      this.#limits.counterMax === 0xffff
        ? new Uint16Array(cap * NFIELDS)
        : new Uint32Array(cap * NFIELDS);
    const starts = new Uint32Array(cap);
    const lens = new Uint16Array(cap);
    for (let i = 0; i < this.#size; i++) {
      const from = (this.#head + i) % this.#cap;
      counts.set(this.#counts.subarray(from * NFIELDS, from * NFIELDS + NFIELDS), i * NFIELDS);
      starts[i] = this.#pairStart[from]!;
      lens[i] = this.#pairLen[from]!;
    }
    this.#counts = counts;
    this.#pairStart = starts;
    this.#pairLen = lens;
    this.#cap = cap;
    this.#head = 0;
  }

  // --- bucket pairs: index byte, then the count as LEB128 (1 byte below 128)

  #writePairs(
    pos: number,
    indices: ArrayLike<number>,
    bucketCounts: ArrayLike<number>,
    n: number,
  ): void {
    if (n === 0) return;
    let need = 0;
    for (let k = 0; k < n; k++) need += 1 + varintBytes(bucketCounts[k]!);
    if (!this.#makeRoom(need, pos)) return; // over the cap even alone: keep the counters only
    const start = this.#end;
    for (let k = 0; k < n; k++) {
      this.#putByte(indices[k]!);
      let c = bucketCounts[k]!;
      while (c >= 0x80) {
        this.#putByte((c & 0x7f) | 0x80);
        c = Math.floor(c / 128);
      }
      this.#putByte(c);
    }
    this.#pairStart[pos] = start >>> 0;
    this.#pairLen[pos] = this.#end - start;
  }

  #putByte(b: number): void {
    this.#bytes[this.#end % this.#bytes.length] = b;
    this.#end++;
  }

  /** Frees `need` bytes: grows the FIFO up to the cap, then drops the oldest records' buckets. */
  #makeRoom(need: number, newest: number): boolean {
    if (need > this.#limits.maxPairBytes || need > 0xffff) return false;
    while (this.#end - this.#tail + need > this.#bytes.length) {
      if (this.#bytes.length < this.#limits.maxPairBytes) {
        this.#growBytes(need);
        continue;
      }
      // Drop the buckets of the oldest record that has some.
      let dropped = false;
      for (let i = 0; i < this.#size && !dropped; i++) {
        const pos = (this.#head + i) % this.#cap;
        if (pos === newest || this.#pairStart[pos] === NONE) continue;
        this.#tail = this.#pairStart[pos]! + this.#pairLen[pos]!;
        this.#pairStart[pos] = NONE;
        this.#pairLen[pos] = 0;
        dropped = true;
      }
      if (!dropped) return false;
    }
    return true;
  }

  #growBytes(need: number): void {
    const used = this.#end - this.#tail;
    let len = Math.max(FIRST_PAIR_BYTES, this.#bytes.length * 2);
    while (len < used + need) len *= 2;
    len = Math.min(this.#limits.maxPairBytes, len);
    const bytes = new Uint8Array(len);
    // Keep absolute positions: copy each live byte to its new place.
    for (let a = this.#tail; a < this.#end; a++)
      bytes[a % len] = this.#bytes[a % this.#bytes.length]!;
    this.#bytes = bytes;
  }

  #readPairs(pos: number): number[] {
    const out: number[] = [];
    const start = this.#pairStart[pos]!;
    if (start === NONE) return out;
    const end = start + this.#pairLen[pos]!;
    const len = this.#bytes.length;
    let a = start;
    while (a < end) {
      out.push(this.#bytes[a++ % len]!);
      let c = 0;
      let scale = 1;
      for (;;) {
        const b = this.#bytes[a++ % len]!;
        c += (b & 0x7f) * scale;
        scale *= 128;
        if (b < 0x80) break;
      }
      out.push(c);
    }
    return out;
  }

  #mergeIntoLast(
    counts: ArrayLike<number>,
    indices: ArrayLike<number>,
    bucketCounts: ArrayLike<number>,
    n: number,
  ): void {
    const pos = (this.#head + this.#size - 1) % this.#cap;
    const base = pos * NFIELDS;
    for (let f = 0; f < NFIELDS; f++)
      this.#counts[base + f] = this.#clamp(this.#counts[base + f]! + (counts[f] ?? 0));
    if (n === 0) return;
    const merged = new Map<number, number>();
    const old = this.#readPairs(pos);
    for (let k = 0; k < old.length; k += 2) merged.set(old[k]!, old[k + 1]!);
    for (let k = 0; k < n; k++)
      merged.set(indices[k]!, (merged.get(indices[k]!) ?? 0) + bucketCounts[k]!);
    // The newest record's pairs are last in the FIFO: take them back and write anew.
    if (this.#pairStart[pos] !== NONE) this.#end = this.#pairStart[pos]!;
    this.#pairStart[pos] = NONE;
    this.#pairLen[pos] = 0;
    const sorted = [...merged].sort((a, b) => a[0] - b[0]);
    this.#writePairs(
      pos,
      sorted.map((p) => p[0]),
      sorted.map((p) => p[1]),
      sorted.length,
    );
  }
}

function varintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
