// Which alerts are firing and when each is due to be posted (again). Pure:
// the time is an argument. A firing alert is posted when it becomes due,
// then every `repeatMs` while it lasts; resolving it hands back its last
// form to post once, with its endsAt. An alert may be held: due only after
// a delay, and withdrawn without a trace if it is dropped before then.

import type { PostableAlert } from './payload.js';

interface Entry {
  build: (nowMs: number) => PostableAlert;
  dueAtMs: number;
  posted: boolean;
}

export class AlertBook {
  readonly #repeatMs: number;
  readonly #entries = new Map<string, Entry>();

  constructor(repeatMs: number) {
    this.#repeatMs = repeatMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** Starts (or re-times) an alert: due at `dueAtMs` (now, or later to hold it back). */
  fire(id: string, build: (nowMs: number) => PostableAlert, dueAtMs: number): void {
    const entry = this.#entries.get(id);
    if (entry) {
      entry.build = build;
      if (!entry.posted) entry.dueAtMs = Math.min(entry.dueAtMs, dueAtMs);
      return;
    }
    this.#entries.set(id, { build, dueAtMs, posted: false });
  }

  /**
   * Ends an alert. Returns whether it had been posted: if not, Alertmanager
   * never heard of it and there is nothing to resolve there.
   */
  resolve(id: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    this.#entries.delete(id);
    return entry.posted;
  }

  /** The alerts due now, built now; each is due again `repeatMs` later. */
  due(nowMs: number): PostableAlert[] {
    const out: PostableAlert[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.dueAtMs > nowMs) continue;
      out.push(entry.build(nowMs));
      entry.posted = true;
      entry.dueAtMs = nowMs + this.#repeatMs;
    }
    return out;
  }

  /** When the next alert is due; undefined when none is firing. */
  nextDueMs(): number | undefined {
    let next: number | undefined;
    for (const e of this.#entries.values())
      if (next === undefined || e.dueAtMs < next) next = e.dueAtMs;
    return next;
  }

  /** The ids of the firing alerts. */
  ids(): IterableIterator<string> {
    return this.#entries.keys();
  }
}
