// A bound on the bodies that grow with the number of targets being made at
// once. Each costs CPU (under the shared turn budget, lib/slicing.ts, so the
// probes go first either way) and memory, and every reader would wait longer
// for its own: past a few, more readers only make each slower. So a few are
// made at once, a few more readers wait their turn, and the rest are told to
// come back (503 with Retry-After), counted by page.

import { Counter, type Registry } from 'prom-client';

/** Given back when the body is made (or its making was abandoned); a second call does nothing. */
export type Release = () => void;

export interface BodyGateOptions {
  /** Bodies made at once. */
  readonly concurrent: number;
  /** Readers waiting for one of those, beyond which readers are refused. */
  readonly queued: number;
}

export const DEFAULT_BODY_GATE: BodyGateOptions = { concurrent: 4, queued: 8 };
/** What a refused reader is told, in seconds: a render of 10,000 targets takes about that. */
export const RETRY_AFTER_S = 1;

export class BodyGate {
  readonly #options: BodyGateOptions;
  readonly #queue: ((release: Release) => void)[] = [];
  #making = 0;
  /** Readers refused so far, by page. */
  readonly refused = new Map<string, number>();

  constructor(options: BodyGateOptions = DEFAULT_BODY_GATE) {
    if (options.concurrent < 1) throw new RangeError('a body gate lets at least one body through');
    this.#options = options;
  }

  get making(): number {
    return this.#making;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /** A slot, at once or after a wait; undefined (counted against `page`) when the queue is full too. */
  enter(page: string): Promise<Release> | undefined {
    if (this.#making < this.#options.concurrent) {
      this.#making++;
      return Promise.resolve(this.#release());
    }
    if (this.#queue.length >= this.#options.queued) {
      this.refused.set(page, (this.refused.get(page) ?? 0) + 1);
      return undefined;
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  #release(): Release {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.#queue.shift();
      // The slot passes straight to the next reader: `making` stays as it is.
      if (next) next(this.#release());
      else this.#making--;
    };
  }
}

/** netping_http_refused_total{page}: readers told to come back later. */
export function registerGateMetrics(gate: BodyGate, registry: Registry): void {
  const counted = new Map<string, number>();
  new Counter({
    name: 'netping_http_refused_total',
    help: 'Reads refused with 503 and Retry-After: the bound on bodies made at once and its queue were full.',
    labelNames: ['page'],
    registers: [registry],
    collect() {
      for (const [page, n] of gate.refused) {
        const delta = n - (counted.get(page) ?? 0);
        if (delta > 0) this.inc({ page }, delta);
        counted.set(page, n);
      }
    },
  });
}
