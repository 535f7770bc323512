// When each followed name is looked up: a queue by due time, drained no
// faster than a token bucket allows (--dns-rate queries a second, a name
// costing its A and AAAA queries) and with a bounded number in flight, so
// 10,000 names added at once, or coming due together, are spread out rather
// than fired at the DNS server in one go. Pure: time comes in as numbers.

import { TimerQueue } from '../engine/timer-queue.js';

export interface PacerLimits {
  /** Queries a second, on average. */
  readonly queriesPerS: number;
  /** The most names looked up at once. */
  readonly maxInFlight: number;
}

/** A name's lookup asks two questions, A and AAAA. */
export const QUERIES_PER_LOOKUP = 2;

export class LookupPacer {
  readonly #limits: PacerLimits;
  readonly #burst: number;
  readonly #queue = new TimerQueue<string>();
  /** Each queued name's due time; a queue entry with another time is stale. */
  readonly #due = new Map<string, number>();
  #tokens: number;
  #filledAtMs: number;
  #inFlight = 0;

  constructor(limits: PacerLimits, nowMs: number) {
    this.#limits = limits;
    // A tenth of a second's worth at once: enough to keep up, too little to flood.
    this.#burst = Math.max(QUERIES_PER_LOOKUP, limits.queriesPerS / 10);
    this.#tokens = this.#burst;
    this.#filledAtMs = nowMs;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#due.size;
  }

  /** Looks `host` up at `atMs` (or as soon after as the limits allow); replaces an earlier time. */
  schedule(host: string, atMs: number): void {
    this.#due.set(host, atMs);
    this.#queue.push(atMs, host);
  }

  cancel(host: string): void {
    this.#due.delete(host);
  }

  /**
   * The names to look up now, in due order, each taking its queries' tokens
   * and a place in flight (give it back with finished()).
   */
  takeDue(nowMs: number): string[] {
    this.#refill(nowMs);
    const out: string[] = [];
    // The epsilon: a wake-up at nextWakeMs() must find the tokens it was promised.
    while (this.#inFlight < this.#limits.maxInFlight && this.#tokens >= QUERIES_PER_LOOKUP - 1e-9) {
      const host = this.#popDue(nowMs);
      if (host === undefined) break;
      this.#tokens -= QUERIES_PER_LOOKUP;
      this.#inFlight++;
      out.push(host);
    }
    return out;
  }

  finished(): void {
    if (this.#inFlight > 0) this.#inFlight--;
  }

  /**
   * When takeDue() may next return a name: the earliest due time, or later
   * when tokens are short; undefined when nothing is queued or the places in
   * flight are full (finished() frees one).
   */
  nextWakeMs(nowMs: number): number | undefined {
    this.#dropStale();
    const due = this.#queue.peekDueMs();
    if (due === undefined || this.#inFlight >= this.#limits.maxInFlight) return undefined;
    this.#refill(nowMs);
    const short = QUERIES_PER_LOOKUP - this.#tokens;
    const tokensAtMs = short <= 0 ? nowMs : nowMs + (1000 * short) / this.#limits.queriesPerS;
    return Math.max(due, tokensAtMs);
  }

  #refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.#filledAtMs);
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + (elapsed * this.#limits.queriesPerS) / 1000,
    );
    this.#filledAtMs = nowMs;
  }

  #popDue(nowMs: number): string | undefined {
    for (;;) {
      const due = this.#queue.peekDueMs();
      if (due === undefined || due > nowMs) return undefined;
      const host = this.#queue.popDue(nowMs)!;
      if (this.#due.get(host) !== due) continue; // rescheduled or cancelled since
      this.#due.delete(host);
      return host;
    }
  }

  #dropStale(): void {
    for (;;) {
      const due = this.#queue.peekDueMs();
      if (due === undefined) return;
      const host = this.#queue.peekItem()!;
      if (this.#due.get(host) === due) return;
      this.#queue.popDue(due);
    }
  }
}
