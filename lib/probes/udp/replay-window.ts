// The peer responder's memory of the probes it has answered, so that a
// captured probe sent again (by anyone, from any address) gets no answer.
// Pure: the caller passes its own wall clock.
//
// Two bounds, because memory is finite:
// - Time: a probe whose send time is more than `maxAgeMs` from our wall
//   clock, either way, is refused as stale. Peers' clocks must agree within
//   that (NTP does far better). This is what bounds replays of probes we
//   no longer remember: after a restart, or after a stream was evicted.
// - Per stream: a prober process (its random 64-bit nonce) probing one
//   target (its 32-bit token) sends sequences 0, 1, 2, ...; for each such
//   stream we keep the highest sequence seen and a bitmap of the
//   `WINDOW_SEQS` below it (as IPsec and DTLS do). A sequence seen before,
//   or older than the bitmap reaches, is refused as a replay. At most
//   `maxStreams` streams are kept, the least recently used evicted first;
//   only packets with a valid MAC get here, so only key holders can make
//   streams.
// The source address is deliberately not part of a stream: a probe replayed
// from another (spoofed) address is refused all the same.

export const WINDOW_SEQS = 1024;
const WORDS = WINDOW_SEQS / 32;

export interface ReplayWindowOptions {
  /** Default 30 s. */
  readonly maxAgeMs?: number;
  /** Default 8192 streams (about 1.5 MB at most). */
  readonly maxStreams?: number;
}

export type ReplayVerdict = 'fresh' | 'replay' | 'stale';

interface Stream {
  top: number;
  readonly seen: Uint32Array;
}

export class ReplayWindow {
  readonly maxAgeMs: number;
  readonly maxStreams: number;
  /** Insertion order is recency order: a stream is re-inserted on each use. */
  readonly #streams = new Map<string, Stream>();

  constructor(opts: ReplayWindowOptions = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 30_000;
    this.maxStreams = opts.maxStreams ?? 8192;
  }

  get size(): number {
    return this.#streams.size;
  }

  /**
   * Whether a probe (authenticated already) may be answered, and if so
   * records it as answered: a second call with the same probe says 'replay'.
   */
  check(
    nonceHi: number,
    nonceLo: number,
    token: number,
    seq: number,
    sentAtWallMs: number,
    nowWallMs: number,
  ): ReplayVerdict {
    if (!(Math.abs(nowWallMs - sentAtWallMs) <= this.maxAgeMs)) return 'stale'; // NaN too
    const key = `${nonceHi}.${nonceLo}.${token}`;
    let stream = this.#streams.get(key);
    if (stream) {
      this.#streams.delete(key);
    } else {
      if (this.#streams.size >= this.maxStreams) {
        const oldest = this.#streams.keys().next();
        if (!oldest.done) this.#streams.delete(oldest.value);
      }
      stream = { top: seq, seen: new Uint32Array(WORDS) };
      mark(stream.seen, seq);
      this.#streams.set(key, stream);
      return 'fresh';
    }
    this.#streams.set(key, stream);
    return advance(stream, seq) ? 'fresh' : 'replay';
  }
}

/** Records `seq` in the stream; false when it was seen before or is older than the window. */
function advance(stream: Stream, seq: number): boolean {
  if (seq > stream.top) {
    // Slots of the sequences skipped over were last used WINDOW_SEQS ago: clear them.
    const steps = Math.min(seq - stream.top, WINDOW_SEQS);
    for (let i = 1; i <= steps; i++) unmark(stream.seen, stream.top + i);
    stream.top = seq;
    mark(stream.seen, seq);
    return true;
  }
  if (seq <= stream.top - WINDOW_SEQS) return false;
  if (isMarked(stream.seen, seq)) return false;
  mark(stream.seen, seq);
  return true;
}

// A sequence's slot in the ring of bits: seq mod WINDOW_SEQS (seq may exceed 2^32).
function slot(seq: number): number {
  return seq % WINDOW_SEQS;
}

function mark(bits: Uint32Array, seq: number): void {
  const s = slot(seq);
  bits[s >> 5]! |= 1 << (s & 31);
}

function unmark(bits: Uint32Array, seq: number): void {
  const s = slot(seq);
  bits[s >> 5]! &= ~(1 << (s & 31));
}

function isMarked(bits: Uint32Array, seq: number): boolean {
  const s = slot(seq);
  return (bits[s >> 5]! & (1 << (s & 31))) !== 0;
}
