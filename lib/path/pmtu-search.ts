// The path MTU search, pure: which packet size to send next with don't
// fragment set, given what became of the last. A router that cannot pass a
// packet says so (Fragmentation Needed / Packet Too Big) with the MTU of its
// next hop, which is tried next; the host's own interface refuses at send
// (EMSGSIZE); a path that drops big packets silently (an ICMP black hole) is
// bisected, a silent size tried twice before it counts as too big. Sizes are
// whole IP packets, headers included.

import type { Family } from '../address.js';

export type PmtuOutcome =
  /** The echo's reply came back. */
  | { readonly kind: 'passed' }
  /** An error said the packet was too big; `mtu` when it told the next hop's. */
  | { readonly kind: 'too-big'; readonly mtu?: number }
  /** Refused at send: bigger than the local interface (or route) allows. */
  | { readonly kind: 'refused' }
  /** No answer within the timeout. */
  | { readonly kind: 'silent' };

/** The smallest MTU each family must carry (RFC 791, RFC 8200). */
export const MIN_MTU: Record<Family, number> = { 4: 68, 6: 1280 };
/** Where the search starts: Ethernet's; a jumbo path shows as 1500. */
export const START_MTU = 1500;
const MAX_PROBES = 20;
const SILENT_TRIES = 2;

export class PmtuSearch {
  /** Largest size known to pass. */
  #passes: number;
  /** Smallest size known not to. */
  #fails: number;
  #next: number | undefined;
  #probes = 0;
  #silentAtNext = 0;
  #heardAny = false;
  /** The MTU a router told, while it is being tried. */
  #told: number | undefined;

  /** `passed`: a size already known to pass (the trace's own echo), if any. */
  constructor(
    readonly family: Family,
    start = START_MTU,
    passed?: number,
  ) {
    this.#passes = Math.max(MIN_MTU[family] - 1, passed ?? 0);
    this.#heardAny = passed !== undefined && passed >= MIN_MTU[family];
    this.#fails = start + 1;
    this.#next = start;
  }

  /** The size to try now; undefined when the search is over. */
  next(): number | undefined {
    return this.#probes >= MAX_PROBES ? undefined : this.#next;
  }

  record(size: number, outcome: PmtuOutcome): void {
    this.#probes++;
    switch (outcome.kind) {
      case 'passed':
        this.#heardAny = true;
        this.#passes = Math.max(this.#passes, size);
        if (size === this.#told) {
          // What the router said holds: done, without bisecting up to the next failure.
          this.#next = undefined;
          return;
        }
        break;
      case 'too-big':
        this.#heardAny = true;
        this.#fails = Math.min(this.#fails, size);
        // A told MTU is tried next: it is most likely the answer.
        if (outcome.mtu !== undefined && outcome.mtu > this.#passes && outcome.mtu < size) {
          this.#next = this.#told = outcome.mtu;
          return;
        }
        break;
      case 'refused':
        this.#fails = Math.min(this.#fails, size);
        break;
      case 'silent':
        if (++this.#silentAtNext < SILENT_TRIES) return; // once more, the same size
        this.#fails = Math.min(this.#fails, size);
        break;
    }
    this.#silentAtNext = 0;
    this.#next = this.#fails - this.#passes > 1 ? (this.#passes + this.#fails) >> 1 : undefined;
  }

  /** The path MTU found; null when nothing ever passed (or the target never answers). */
  result(): number | null {
    return this.#heardAny && this.#passes >= MIN_MTU[this.family] ? this.#passes : null;
  }
}
