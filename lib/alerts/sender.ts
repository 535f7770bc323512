// Posts alerts to every configured Alertmanager (POST /api/v2/alerts). Each
// Alertmanager has its own queue, so one that is down does not hold up the
// others; a queue keeps only the newest form of each alert (by label set)
// and at most MAX_PENDING of them, so a long outage of Alertmanager costs
// bounded memory. Failures are retried with back-off (backoff.ts). Nothing
// here is awaited by the probe path: posting is fire-and-forget.

import type { Log } from '../log.js';
import { printable } from '../render/printable.js';
import { backoffDelayMs, DEFAULT_BACKOFF, type Backoff } from './backoff.js';
import { fingerprint, type PostableAlert } from './payload.js';

export const MAX_PENDING = 10_000;
const BATCH = 500;
const POST_TIMEOUT_MS = 5_000;

/** `http://host:9093` (a path prefix allowed) → the alerts endpoint. */
export function alertsEndpoint(base: string): string {
  return `${base.replace(/\/+$/, '')}/api/v2/alerts`;
}

class Queue {
  readonly pending = new Map<string, PostableAlert>();
  failures = 0;
  inFlight = false;
  timer: NodeJS.Timeout | undefined;
  dropped = 0;

  constructor(readonly url: string) {}
}

export interface SenderOptions {
  readonly urls: readonly string[];
  readonly log: Log;
  readonly backoff?: Backoff;
  readonly random?: () => number;
}

export class AlertSender {
  readonly #queues: Queue[];
  readonly #log: Log;
  readonly #backoff: Backoff;
  readonly #random: () => number;
  #closed = false;
  /** Alerts Alertmanager took, over all of them. */
  posted = 0;

  constructor(opts: SenderOptions) {
    this.#queues = opts.urls.map((u) => new Queue(alertsEndpoint(u)));
    this.#log = opts.log;
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.#random = opts.random ?? Math.random;
  }

  get configured(): boolean {
    return this.#queues.length > 0;
  }

  /** Queues alerts for every Alertmanager and starts posting; returns at once. */
  send(alerts: readonly PostableAlert[]): void {
    if (this.#closed || alerts.length === 0) return;
    for (const q of this.#queues) {
      for (const a of alerts) {
        const fp = fingerprint(a);
        q.pending.delete(fp); // re-inserted last: the oldest are dropped first
        q.pending.set(fp, a);
      }
      while (q.pending.size > MAX_PENDING) {
        q.pending.delete(q.pending.keys().next().value!);
        q.dropped++;
      }
      this.#kick(q);
    }
  }

  /** Alerts still waiting for some Alertmanager. */
  pendingCount(): number {
    return this.#queues.reduce((n, q) => n + q.pending.size, 0);
  }

  #kick(q: Queue): void {
    if (this.#closed || q.inFlight || q.timer !== undefined || q.pending.size === 0) return;
    const batch: [string, PostableAlert][] = [];
    for (const entry of q.pending) {
      batch.push(entry);
      if (batch.length >= BATCH) break;
    }
    for (const [fp] of batch) q.pending.delete(fp);
    q.inFlight = true;
    void this.#post(
      q,
      batch.map(([, a]) => a),
    ).then((ok) => {
      q.inFlight = false;
      if (ok) {
        if (q.failures > 0) this.#log(`alertmanager ${q.url}: posting again`);
        q.failures = 0;
        this.posted += batch.length;
        return this.#kick(q);
      }
      // Put back what no newer form has replaced meanwhile.
      for (const [fp, a] of batch) if (!q.pending.has(fp)) q.pending.set(fp, a);
      q.failures++;
      const delayMs = backoffDelayMs(this.#backoff, q.failures, this.#random());
      q.timer = setTimeout(() => {
        q.timer = undefined;
        this.#kick(q);
      }, delayMs);
      q.timer.unref();
    });
  }

  async #post(q: Queue, alerts: PostableAlert[]): Promise<boolean> {
    try {
      const res = await fetch(q.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(alerts),
        signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
      // Read the body so the connection goes back to the pool.
      const text = await res.text();
      if (res.ok) return true;
      // A 400 is our fault and would fail again: log it, do not retry.
      if (res.status >= 400 && res.status < 500) {
        this.#log(
          `alertmanager ${q.url} refused ${alerts.length} alerts: HTTP ${res.status} ${printable(text.slice(0, 200))}`,
        );
        return true;
      }
      this.#failed(q, `HTTP ${res.status}`);
      return false;
    } catch (err) {
      const cause =
        err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      this.#failed(q, `${err instanceof Error ? err.message : String(err)}${cause}`);
      return false;
    }
  }

  #failed(q: Queue, why: string): void {
    // One line per streak of failures, and then every tenth: not one per retry.
    if (q.failures % 10 === 0)
      this.#log(`alertmanager ${q.url}: ${printable(why)}; retrying with back-off`);
  }

  /** Stops posting; what is pending is dropped (a stop waits for nothing outside). */
  close(): void {
    this.#closed = true;
    for (const q of this.#queues) clearTimeout(q.timer);
  }

  /** Posts what is pending now, once, each Alertmanager for at most `timeoutMs`: for a stop. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 100 && Date.now() < deadline; i++) {
      if (this.#queues.every((q) => q.pending.size === 0 && !q.inFlight)) return;
      if (this.#queues.every((q) => q.timer !== undefined || (q.pending.size === 0 && !q.inFlight)))
        return; // only down ones left
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
