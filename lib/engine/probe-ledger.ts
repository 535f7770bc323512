// The life of each probe of one target, so that every probe ends in exactly
// one outcome (received or lost) and every later reply is classified (late,
// duplicate) instead of being silently dropped or counted twice.
//
// A ring indexed by the probe's wide sequence holds the recent probes. It is
// sized to cover several timeouts' worth of probes, so a reply old enough to
// have left the ring is certainly past its timeout and is counted as late.

const enum State {
  Empty = 0,
  InFlight = 1,
  Received = 2,
  Lost = 3, // timed out or ended by an error; a reply now is late
  LostThenLate = 4, // a late reply came; one more is a duplicate
}

export type ReplyOutcome =
  | { kind: 'received'; rttMs: number }
  | { kind: 'late' } // the probe already counted as lost; it stays lost
  | { kind: 'late-and-lost'; rttMs: number } // in flight, but the reply came after the timeout
  | { kind: 'duplicate' }
  | { kind: 'unknown' }; // a sequence we never sent

export class ProbeLedger {
  // Slot i: sequence at [2i], send time at [2i + 1].
  #slots: Float64Array;
  #states: Uint8Array;
  #mask: number;
  #timeoutMs: number;
  #nextSeq = 0;
  #inFlight = 0;
  /** Whether the last begin() pushed out a probe still in flight (it is lost). */
  evictedInFlight = false;

  constructor(timeoutMs: number, intervalMs: number) {
    this.#timeoutMs = timeoutMs;
    const size = ringSize(timeoutMs, intervalMs);
    this.#slots = emptySlots(size);
    this.#states = new Uint8Array(size);
    this.#mask = size - 1;
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * New settings for the probes to come. Every probe already sent keeps its
   * state (the ring only grows, so all of them still fit); a reply to one
   * is judged against the new timeout.
   */
  resize(timeoutMs: number, intervalMs: number): void {
    this.#timeoutMs = timeoutMs;
    const size = ringSize(timeoutMs, intervalMs);
    if (size <= this.#mask + 1) return;
    const slots = emptySlots(size);
    const states = new Uint8Array(size);
    for (let i = 0; i <= this.#mask; i++) {
      const seq = this.#slots[2 * i]!;
      if (seq < 0) continue;
      const to = seq & (size - 1);
      slots[2 * to] = seq;
      slots[2 * to + 1] = this.#slots[2 * i + 1]!;
      states[to] = this.#states[i]!;
    }
    this.#slots = slots;
    this.#states = states;
    this.#mask = size - 1;
  }

  /** Ends every probe in flight as lost; returns how many there were. */
  abandonAll(): number {
    const n = this.#inFlight;
    for (let i = 0; i <= this.#mask; i++)
      if (this.#states[i] === State.InFlight) this.#states[i] = State.Lost;
    this.#inFlight = 0;
    return n;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Starts the next probe; returns its wide sequence. */
  begin(sentAtMs: number): number {
    const seq = this.#nextSeq++;
    const slot = seq & this.#mask;
    // A probe still in flight when its slot comes round again is far past its
    // timeout (the ring covers two timeouts): only a stalled event loop gets
    // here. The caller counts it lost, so no probe goes without an outcome.
    this.evictedInFlight = this.#states[slot] === State.InFlight;
    if (this.evictedInFlight) this.#inFlight--;
    this.#slots[2 * slot] = seq;
    this.#slots[2 * slot + 1] = sentAtMs;
    this.#states[slot] = State.InFlight;
    this.#inFlight++;
    return seq;
  }

  /** Probe `seq` (the last begun) went out at `sentAtMs`: a truer stamp than begin()'s. */
  restamp(seq: number, sentAtMs: number): void {
    const slot = seq & this.#mask;
    if (this.#slots[2 * slot] === seq) this.#slots[2 * slot + 1] = sentAtMs;
  }

  /** A reply to `seq` arrived at `atMs` (the kernel's receive stamp where the kind has one). */
  reply(seq: number, atMs: number): ReplyOutcome {
    if (!(seq >= 0 && seq < this.#nextSeq)) return { kind: 'unknown' };
    const slot = seq & this.#mask;
    if (this.#slots[2 * slot] !== seq) return { kind: 'late' };
    switch (this.#states[slot]) {
      case State.InFlight: {
        this.#inFlight--;
        const rttMs = Math.max(0, atMs - this.#slots[2 * slot + 1]!);
        if (rttMs > this.#timeoutMs) {
          this.#states[slot] = State.LostThenLate;
          return { kind: 'late-and-lost', rttMs };
        }
        this.#states[slot] = State.Received;
        return { kind: 'received', rttMs };
      }
      case State.Lost:
        this.#states[slot] = State.LostThenLate;
        return { kind: 'late' };
      default:
        return { kind: 'duplicate' };
    }
  }

  /**
   * Ends probe `seq` as lost (timeout, send failure or ICMP error) if it is
   * still in flight. Returns whether it was.
   */
  end(seq: number): boolean {
    const slot = seq & this.#mask;
    if (this.#slots[2 * slot] !== seq || this.#states[slot] !== State.InFlight) return false;
    this.#states[slot] = State.Lost;
    this.#inFlight--;
    return true;
  }

  /** An in-flight probe whose sequence satisfies `matches` (errors that quote only part of a probe). */
  findInFlight(matches: (seq: number) => boolean): number | undefined {
    for (let i = 0; i <= this.#mask; i++) {
      const seq = this.#slots[2 * i]!;
      if (this.#states[i] === State.InFlight && matches(seq)) return seq;
    }
    return undefined;
  }
}

/** A power of two covering two timeouts' worth of probes, and some. */
function ringSize(timeoutMs: number, intervalMs: number): number {
  const needed = 2 * Math.ceil(timeoutMs / intervalMs) + 16;
  let size = 16;
  while (size < needed) size *= 2;
  return size;
}

function emptySlots(size: number): Float64Array {
  const slots = new Float64Array(2 * size);
  for (let i = 0; i < size; i++) slots[2 * i] = -1;
  return slots;
}
