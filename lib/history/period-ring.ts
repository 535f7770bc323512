// One target's records for consecutive periods (minutes or hours), oldest
// dropped first. Records are written in time order and expire in the same
// order, so they live back to back in one byte FIFO, each encoded as
//   sent lost late duplicates errors   (LEB128 varints: 1 byte below 128)
//   n                                  (1 byte: buckets in the run, 0 if none)
//   lo count(lo) ... count(lo+n-1)     (1 byte, then n varints, zeros included)
// The buckets of one period are nearly always one contiguous run, so a
// bucket costs about one byte for a minute and two for an hour. Per period
// the ring keeps only where its record starts (4 bytes): no per-record
// objects, two typed arrays per ring.
//
// Memory grows with what is held (a new target costs a few hundred bytes)
// and is capped twice: at most `maxSlots` periods and at most `maxBytes` of
// records. Past the byte cap the oldest periods are dropped early, so a very
// jittery target keeps a shorter span rather than more memory.

/** Counter fields of a record, in storage order. */
export const FIELDS = ['sent', 'lost', 'late', 'duplicates', 'errors'] as const;
export type Field = (typeof FIELDS)[number];
const NFIELDS = FIELDS.length;
const NONE = 0xffffffff;
const FIRST_SLOTS = 16;
const FIRST_BYTES = 256;
// Shared by every ring that has held nothing yet (most, at rest): a typed
// array costs ~200 bytes even when empty. Never written: a ring grows
// before its first write.
const NO_STARTS = new Uint32Array(0);
const NO_BYTES = new Uint8Array(0);

export interface RingLimits {
  readonly maxSlots: number;
  readonly maxBytes: number;
}

/** A record as read back (not used on the probe path). */
export interface PeriodRecord {
  period: number;
  counts: number[]; // FIELDS order
  /** Bucket index, count, index, count, ... ascending by index, non-zero counts only. */
  pairs: number[];
}

export class PeriodRing {
  readonly #limits: RingLimits;
  #cap = 0; // slots allocated
  #head = 0; // storage position of the oldest period
  #size = 0;
  #firstPeriod = 0;
  // Absolute FIFO position where each period's record starts, or NONE.
  // Positions only grow; 2^32 bytes is centuries of records for one ring.
  #starts = NO_STARTS;
  #bytes = NO_BYTES;
  #tail = 0; // absolute position of the oldest byte held
  #end = 0; // absolute position after the newest byte

  #changes = 0;

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

  /** Records added or merged so far: what read the ring may keep what it made of it until this changes. */
  get changes(): number {
    return this.#changes;
  }

  /** Bytes held in typed arrays, for the memory figures. */
  get heldBytes(): number {
    return this.#starts.byteLength + this.#bytes.byteLength;
  }

  /**
   * Adds a record for `period`: counters `counts` (FIELDS order) and the
   * first `n` buckets of `indices`/`bucketCounts` (ascending). A period at
   * or before the last one is merged into the last (a restart within a
   * minute, or the wall clock stepping back); periods skipped stay empty.
   */
  add(
    period: number,
    counts: ArrayLike<number>,
    indices: ArrayLike<number>,
    bucketCounts: ArrayLike<number>,
    n: number,
  ): void {
    this.#changes++;
    const last = this.lastPeriod;
    if (last !== undefined && period <= last) {
      this.#mergeIntoLast(counts, indices, bucketCounts, n);
      return;
    }
    if (last === undefined || period - last > this.#limits.maxSlots) {
      this.#head = this.#size = 0;
      this.#tail = this.#end;
      this.#firstPeriod = period;
    } else {
      for (let p = last + 1; p < period; p++) this.#push(); // periods with no record
    }
    this.#write(this.#push(), counts, indices, bucketCounts, n);
  }

  /** The record of `period`, or undefined if none is held. */
  get(period: number): PeriodRecord | undefined {
    const i = period - this.#firstPeriod;
    if (this.#size === 0 || i < 0 || i >= this.#size) return undefined;
    const start = this.#starts[(this.#head + i) % this.#cap]!;
    if (start === NONE) return undefined;
    const r = this.#read(start);
    return { period, counts: r.counts, pairs: r.pairs };
  }

  /** A new empty newest slot (dropping the oldest when full); returns its storage position. */
  #push(): number {
    if (this.#size === this.#cap) {
      if (this.#cap < this.#limits.maxSlots) this.#growSlots();
      else this.#dropOldest();
    }
    const pos = (this.#head + this.#size) % this.#cap;
    this.#size++;
    this.#starts[pos] = NONE;
    return pos;
  }

  #dropOldest(): void {
    const start = this.#starts[this.#head]!;
    if (start !== NONE) this.#tail = this.#read(start).end;
    this.#head = (this.#head + 1) % this.#cap;
    this.#size--;
    this.#firstPeriod++;
  }

  #growSlots(): void {
    const cap = Math.min(this.#limits.maxSlots, Math.max(FIRST_SLOTS, this.#cap * 2));
    const starts = new Uint32Array(cap);
    for (let i = 0; i < this.#size; i++) starts[i] = this.#starts[(this.#head + i) % this.#cap]!;
    this.#starts = starts;
    this.#cap = cap;
    this.#head = 0;
  }

  #write(
    pos: number,
    counts: ArrayLike<number>,
    indices: ArrayLike<number>,
    bucketCounts: ArrayLike<number>,
    n: number,
  ): void {
    const lo = n > 0 ? indices[0]! : 0;
    const run = n > 0 ? indices[n - 1]! - lo + 1 : 0;
    let need = 1 + (run > 0 ? 1 : 0) + (run - n); // n, lo, the zeros inside the run
    for (let f = 0; f < NFIELDS; f++) need += varintBytes(counts[f] ?? 0);
    for (let k = 0; k < n; k++) need += varintBytes(bucketCounts[k]!);
    if (!this.#makeRoom(need, pos)) return; // larger than the cap alone: the period stays empty
    this.#starts[pos] = this.#end >>> 0;
    for (let f = 0; f < NFIELDS; f++) this.#putVarint(counts[f] ?? 0);
    this.#putByte(run);
    if (run === 0) return;
    this.#putByte(lo);
    let k = 0;
    for (let i = lo; i < lo + run; i++) {
      if (k < n && indices[k] === i) this.#putVarint(bucketCounts[k++]!);
      else this.#putByte(0);
    }
  }

  #putByte(b: number): void {
    this.#bytes[this.#end % this.#bytes.length] = b;
    this.#end++;
  }

  #putVarint(v: number): void {
    while (v >= 0x80) {
      this.#putByte((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.#putByte(v);
  }

  /** Frees `need` bytes: grows the FIFO up to the cap, then drops the oldest periods. */
  #makeRoom(need: number, newest: number): boolean {
    if (need > this.#limits.maxBytes || need > 0x3fff) return false;
    while (this.#end - this.#tail + need > this.#bytes.length) {
      if (this.#bytes.length < this.#limits.maxBytes) {
        this.#growBytes(need);
      } else {
        if (this.#head === newest) return false;
        this.#dropOldest();
      }
    }
    return true;
  }

  #growBytes(need: number): void {
    const used = this.#end - this.#tail;
    let len = Math.max(FIRST_BYTES, this.#bytes.length * 2);
    while (len < used + need) len *= 2;
    len = Math.min(this.#limits.maxBytes, len);
    const bytes = new Uint8Array(len);
    // Absolute positions stay: each live byte moves to its place modulo the new length.
    for (let a = this.#tail; a < this.#end; a++)
      bytes[a % len] = this.#bytes[a % this.#bytes.length]!;
    this.#bytes = bytes;
  }

  #read(start: number): { counts: number[]; pairs: number[]; end: number } {
    const r = new RingReader(this.#bytes, start);
    const counts: number[] = [];
    for (let f = 0; f < NFIELDS; f++) counts.push(r.varint());
    const run = r.byte();
    const pairs: number[] = [];
    if (run > 0) {
      const lo = r.byte();
      for (let i = lo; i < lo + run; i++) {
        const c = r.varint();
        if (c > 0) pairs.push(i, c);
      }
    }
    return { counts, pairs, end: r.at };
  }

  #mergeIntoLast(
    counts: ArrayLike<number>,
    indices: ArrayLike<number>,
    bucketCounts: ArrayLike<number>,
    n: number,
  ): void {
    const pos = (this.#head + this.#size - 1) % this.#cap;
    const start = this.#starts[pos]!;
    const merged = new Map<number, number>();
    const sum: number[] = [];
    for (let f = 0; f < NFIELDS; f++) sum.push(counts[f] ?? 0);
    if (start !== NONE) {
      const old = this.#read(start);
      old.counts.forEach((c, f) => (sum[f]! += c));
      for (let k = 0; k < old.pairs.length; k += 2) merged.set(old.pairs[k]!, old.pairs[k + 1]!);
      // The newest record is last in the FIFO: take it back and write it anew.
      this.#end = start;
    }
    for (let k = 0; k < n; k++)
      merged.set(indices[k]!, (merged.get(indices[k]!) ?? 0) + bucketCounts[k]!);
    const sorted = [...merged].sort((a, b) => a[0] - b[0]);
    this.#starts[pos] = NONE;
    this.#write(
      pos,
      sum,
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

/** A read position in the ring's bytes, wrapping round at their end. */
class RingReader {
  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
  ) {}

  byte(): number {
    return this.bytes[this.at++ % this.bytes.length]!;
  }

  /** An unsigned LEB128 number (7 bits a byte, low first). */
  varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return v;
    }
  }
}
