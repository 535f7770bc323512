// Whole numbers as LEB128 varints (7 bits a byte, the high bit saying more
// follow), for files where most numbers are small and their size is what the
// disk pays for: a count that grew by 300 since a checkpoint costs 2 bytes,
// not the 8 of a double or the 3-20 of its decimal text. Signed numbers are
// zigzagged (0, -1, 1, -2 → 0, 1, 2, 3), so small ones stay small either way.

/** A varint that runs past its buffer or past 2^53: the bytes are not what was written. */
export class VarintError extends Error {
  override name = 'VarintError';
}

const MAX_SAFE_SCALE = 2 ** 53;

export class VarintWriter {
  #bytes = new Uint8Array(256);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** A whole number from 0 to 2^53. */
  uint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new VarintError(`not a varint: ${v}`);
    this.#room(8);
    while (v >= 0x80) {
      this.#bytes[this.#length++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#bytes[this.#length++] = v;
  }

  /** A whole number of either sign. */
  sint(v: number): void {
    this.uint(v < 0 ? -2 * v - 1 : 2 * v);
  }

  /** Text, its UTF-8 length first. */
  text(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.uint(bytes.length);
    this.#room(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Forgets what was written after the first `length` bytes. */
  truncate(length: number): void {
    this.#length = Math.min(this.#length, length);
  }

  /** What was written so far (a view: copy it before writing more if it is kept). */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  #room(n: number): void {
    if (this.#length + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + n));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}

export class VarintReader {
  readonly #bytes: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get done(): boolean {
    return this.#at >= this.#bytes.length;
  }

  uint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (this.#at >= this.#bytes.length) throw new VarintError('cut short');
      const b = this.#bytes[this.#at++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
      if (scale > MAX_SAFE_SCALE) throw new VarintError('a varint longer than 2^53');
    }
  }

  sint(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  text(): string {
    const n = this.uint();
    if (this.#at + n > this.#bytes.length) throw new VarintError('text cut short');
    const s = Buffer.from(this.#bytes.buffer, this.#bytes.byteOffset + this.#at, n).toString(
      'utf8',
    );
    this.#at += n;
    return s;
  }
}
