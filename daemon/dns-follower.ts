// Follows the names of the target set's name@host members in DNS: looks
// each up, again when its TTL runs out, and tells TargetSync when a name's
// addresses change. Lookups run off the probe path (the resolver's sockets
// are libuv's), paced by LookupPacer; what a result does to a name is
// stepHost() (lib/dns/host-state.ts).

import type { Clock, TimerHandle } from '../lib/engine/clock.js';
import { LookupPacer, type PacerLimits } from '../lib/dns/lookup-pacer.js';
import {
  hostProblem,
  NEW_HOST,
  stepHost,
  type HostState,
  type LookupOutcome,
  type LookupResult,
} from '../lib/dns/host-state.js';
import type { DnsTiming } from '../lib/dns/ttl.js';
import { printable } from '../lib/render/printable.js';
import type { NameReport } from '../lib/report.js';

export interface DnsFollowerOptions {
  readonly resolve: (host: string) => Promise<LookupOutcome>;
  readonly clock: Clock;
  readonly random: () => number;
  readonly timing: DnsTiming;
  readonly limits: PacerLimits;
  /** These names' addresses (or problems) changed (called at most once per CHANGE_COALESCE_MS). */
  readonly changed: (hosts: ReadonlySet<string>) => void;
  readonly log: (line: string) => void;
}

// Answers that arrive together (the first lookups of a large set) are
// applied in one re-application of the set.
const CHANGE_COALESCE_MS = 200;

interface Followed {
  state: HostState;
  readonly lookups: Map<LookupResult, number>;
  nextAtMs: number | undefined;
}

export class DnsFollower {
  readonly #opts: DnsFollowerOptions;
  readonly #pacer: LookupPacer;
  readonly #names = new Map<string, Followed>();
  #timer: TimerHandle | undefined;
  #timerAtMs = Infinity;
  #changeTimer: TimerHandle | undefined;
  /** The names changed since `changed` was last called. */
  #changedHosts = new Set<string>();
  #closed = false;
  #sorted: string[] | undefined;

  constructor(opts: DnsFollowerOptions) {
    this.#opts = opts;
    this.#pacer = new LookupPacer(opts.limits, opts.clock.nowMs());
  }

  get size(): number {
    return this.#names.size;
  }

  /** Makes the followed names exactly these: new ones are looked up (paced), others dropped. */
  follow(hosts: ReadonlySet<string>): void {
    if (this.#closed) return;
    for (const host of this.#names.keys()) {
      if (hosts.has(host)) continue;
      this.#names.delete(host);
      this.#pacer.cancel(host);
      this.#sorted = undefined;
    }
    const nowMs = this.#opts.clock.nowMs();
    let added = false;
    for (const host of hosts) {
      if (this.#names.has(host)) continue;
      this.#names.set(host, { state: NEW_HOST, lookups: new Map(), nextAtMs: nowMs });
      this.#pacer.schedule(host, nowMs);
      this.#sorted = undefined;
      added = true;
    }
    if (added) this.#arm();
  }

  /** The addresses probed for `host` now; empty before its first good lookup. */
  addresses(host: string): readonly string[] {
    return this.#names.get(host)?.state.addresses ?? [];
  }

  /** Why `host` is probed at no address, for an error row; undefined otherwise. */
  problem(host: string): string | undefined {
    const f = this.#names.get(host);
    return f && hostProblem(host, f.state, this.#opts.clock.nowMs());
  }

  /** The names as the report shows them, sorted by host, one at a time. */
  *reports(): Generator<NameReport> {
    const nowMs = this.#opts.clock.nowMs();
    // Sorted once per change of the names, not per page.
    this.#sorted ??= [...this.#names.keys()].sort();
    for (const host of this.#sorted) {
      const f = this.#names.get(host);
      if (!f) continue; // unfollowed while the page was written
      const s = f.state;
      yield {
        host,
        addresses: [...s.addresses],
        ...(s.lastResult === undefined ? {} : { result: s.lastResult }),
        ...(s.failures > 0 && s.lastError !== undefined ? { error: s.lastError } : {}),
        ...(s.okAtMs === undefined ? {} : { resolvedAgoMs: Math.round(nowMs - s.okAtMs) }),
        ...(s.failingSinceMs === undefined
          ? {}
          : { failingForMs: Math.round(nowMs - s.failingSinceMs) }),
        ...(f.nextAtMs === undefined
          ? {}
          : { nextInMs: Math.max(0, Math.round(f.nextAtMs - nowMs)) }),
        lookups: Object.fromEntries(f.lookups),
      };
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) this.#opts.clock.clearTimer(this.#timer);
    if (this.#changeTimer) this.#opts.clock.clearTimer(this.#changeTimer);
    this.#timer = this.#changeTimer = undefined;
  }

  #arm(): void {
    if (this.#closed) return;
    const nowMs = this.#opts.clock.nowMs();
    const at = this.#pacer.nextWakeMs(nowMs);
    if (at === undefined || at >= this.#timerAtMs) return;
    if (this.#timer) this.#opts.clock.clearTimer(this.#timer);
    this.#timerAtMs = at;
    this.#timer = this.#opts.clock.setTimer(() => this.#wake(), Math.max(0, at - nowMs));
  }

  #wake(): void {
    this.#timer = undefined;
    this.#timerAtMs = Infinity;
    if (this.#closed) return;
    for (const host of this.#pacer.takeDue(this.#opts.clock.nowMs())) {
      const f = this.#names.get(host);
      if (f) f.nextAtMs = undefined;
      void this.#lookUp(host);
    }
    this.#arm();
  }

  async #lookUp(host: string): Promise<void> {
    let outcome: LookupOutcome;
    try {
      outcome = await this.#opts.resolve(host);
    } catch (err) {
      outcome = { result: 'error', message: err instanceof Error ? err.message : String(err) };
    }
    this.#pacer.finished();
    this.#apply(host, outcome);
    this.#arm();
  }

  #apply(host: string, outcome: LookupOutcome): void {
    const f = this.#names.get(host);
    if (!f || this.#closed) return; // no longer followed
    const nowMs = this.#opts.clock.nowMs();
    const before = f.state;
    const step = stepHost(before, outcome, nowMs, this.#opts.timing, this.#opts.random);
    f.state = step.state;
    f.lookups.set(outcome.result, (f.lookups.get(outcome.result) ?? 0) + 1);
    f.nextAtMs = nowMs + step.delayMs;
    this.#pacer.schedule(host, f.nextAtMs);
    const shown = printable(host);
    if (step.added.length > 0 || step.retired.length > 0) {
      this.#opts.log(
        `dns: ${shown} now at ${step.state.addresses.join(', ') || 'no address'}` +
          (before.lastResult === undefined
            ? ''
            : ` (was ${before.addresses.join(', ') || 'none'})`),
      );
      this.#changedSoon(host);
    } else if ('message' in outcome && before.failures === 0) {
      // Once per run of failures: a dead server must not fill the log.
      this.#opts.log(
        `dns: cannot look up ${shown} (${outcome.result}: ${printable(outcome.message)}); ` +
          `probing its last addresses (${step.state.addresses.join(', ') || 'none'})`,
      );
      if (step.state.addresses.length === 0) this.#changedSoon(host); // an error row to show
    } else if (before.failures > 0 && step.state.failures === 0) {
      this.#opts.log(`dns: ${shown} answers again`);
      this.#changedSoon(host);
    }
  }

  #changedSoon(host: string): void {
    this.#changedHosts.add(host);
    if (this.#changeTimer || this.#closed) return;
    this.#changeTimer = this.#opts.clock.setTimer(() => {
      this.#changeTimer = undefined;
      const hosts = this.#changedHosts;
      this.#changedHosts = new Set();
      this.#opts.changed(hosts);
    }, CHANGE_COALESCE_MS);
  }
}
