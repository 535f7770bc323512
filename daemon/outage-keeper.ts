// Outages of this instance's targets: every probe's end goes through the
// detector (lib/outages/detector.ts); each outage that opens or closes is
// kept in memory for /api/events, appended to the event store, and posted
// to Alertmanager (lib/alerts/). Target alerts can be held back: with
// --mesh, while this instance's own uplink is down (mesh-outages.ts).
// Route changes (daemon/path-keeper.ts) are kept and saved beside the
// outages as events of their own, never alerted.

import type { ProbedTarget } from '../lib/engine/probe-engine.js';
import { AlertBook } from '../lib/alerts/alert-book.js';
import { targetDownAlert, type AlertTiming, type PostableAlert } from '../lib/alerts/payload.js';
import type { AlertSender } from '../lib/alerts/sender.js';
import type { Log } from '../lib/log.js';
import {
  OutageDetector,
  type OutageChange,
  type OutageRules,
  type OutageSubject,
} from '../lib/outages/detector.js';
import { isOutage, kindOf, latestEvents, type NetpingEvent } from '../lib/outages/events.js';
import { newestFirst, overlapsSince, type Outage } from '../lib/outages/outage.js';
import { routeEvent } from '../lib/outages/route-event.js';
import type { EventQuery } from '../lib/http/events-api.js';
import type { EventStore } from '../lib/store/event-store.js';
import { probeLabel, type Target } from '../lib/target.js';

/** Events kept in memory for /api/events (and read back from the store at start). */
export const KEPT_IN_MEMORY = 2_000;
/** Most unsaved records kept while the store is down. */
const MAX_UNSAVED = 10_000;
/**
 * How long a new outage's alert waits before it is posted: time for the
 * mesh's vantage rule to see the others go down with it (an uplink takes
 * all targets down within about one interval), still within 1 s.
 */
export const TARGET_ALERT_HOLD_MS = 800;

export interface OutageKeeperOptions {
  readonly rules: OutageRules;
  readonly instance: string;
  readonly store: EventStore;
  readonly sender: AlertSender;
  readonly timing: AlertTiming;
  /** Whether alerts wait TARGET_ALERT_HOLD_MS (with --mesh) or go at once. */
  readonly holdAlerts: boolean;
  readonly wallNowMs: () => number;
  readonly log: Log;
  /** Called after each outage opens or closes (the mesh re-judges). */
  readonly changed?: () => void;
}

export class OutageKeeper {
  readonly #opts: OutageKeeperOptions;
  readonly detector: OutageDetector;
  readonly #book: AlertBook;
  /** Recent events by id, as last recorded (open outages read live from the detector). */
  readonly #recent = new Map<string, NetpingEvent>();
  /** When each open outage was declared (its N-th loss), by target key. */
  readonly #declaredAt = new Map<string, number>();
  readonly #subjects = new WeakMap<Target, OutageSubject>();
  #unsaved: string[] = [];
  #saving: Promise<void> | undefined;
  #held = false;
  #timer: NodeJS.Timeout | undefined;
  #timerDueMs = Infinity;
  #closed = false;
  /** Outages opened since start, for netping_outages_total's total. */
  opened = 0;

  constructor(opts: OutageKeeperOptions) {
    this.#opts = opts;
    this.detector = new OutageDetector(opts.rules, opts.instance);
    this.#book = new AlertBook(opts.timing.repeatMs);
  }

  /** The engine's onOutcome: O(1) unless an outage opens or closes. */
  readonly record = (probed: ProbedTarget, lost: string | null): void => {
    const change = this.detector.record(
      this.#subjectOf(probed.target, probed.key),
      lost,
      this.#opts.wallNowMs(),
    );
    if (change) this.#apply(change);
  };

  #subjectOf(target: Target, key: string): OutageSubject {
    let s = this.#subjects.get(target);
    if (!s) {
      s = {
        key,
        target: target.name,
        address: target.address,
        probe: probeLabel(target),
        labels: target.labels ?? {},
      };
      this.#subjects.set(target, s);
    }
    return s;
  }

  #apply(change: OutageChange): void {
    const o = change.outage;
    this.#remember(o);
    this.#save(o);
    const nowMs = this.#opts.wallNowMs();
    if (change.kind === 'opened') {
      this.opened++;
      this.#declaredAt.set(o.key, nowMs);
      this.#opts.log(`outage: ${o.target} (${o.address}, ${o.probe}) down since ${o.start}`);
      if (!this.#held)
        this.#fire(o.key, nowMs + (this.#opts.holdAlerts ? TARGET_ALERT_HOLD_MS : 0));
    } else {
      this.#declaredAt.delete(o.key);
      this.#opts.log(
        `outage: ${o.target} (${o.address}, ${o.probe}) up again at ${o.end}, ${o.lost} lost`,
      );
      if (this.#book.resolve(o.key))
        this.#opts.sender.send([targetDownAlert(o, nowMs, this.#opts.timing)]);
    }
    this.#opts.changed?.();
  }

  #fire(key: string, dueAtMs: number): void {
    this.#book.fire(
      key,
      (nowMs) => {
        const live = this.detector.openOf(key);
        if (!live) throw new Error(`no open outage of ${key}`);
        return targetDownAlert(live, nowMs, this.#opts.timing);
      },
      dueAtMs,
    );
    this.#arm();
  }

  /** Posts what is due and arms the timer for the next. */
  #arm(): void {
    if (this.#closed) return;
    const next = this.#book.nextDueMs();
    if (next === undefined || next >= this.#timerDueMs) return;
    clearTimeout(this.#timer);
    this.#timerDueMs = next;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerDueMs = Infinity;
        this.#opts.sender.send(this.#book.due(this.#opts.wallNowMs()));
        this.#arm();
      },
      Math.max(0, next - this.#opts.wallNowMs()),
    );
    this.#timer.unref();
  }

  /**
   * Holds target alerts back (the vantage point is down) or lets them go
   * again. Held: every target alert is withdrawn, resolved where it was
   * posted. Released: the outages still open are alerted at once.
   */
  setHeld(held: boolean): void {
    if (held === this.#held) return;
    this.#held = held;
    const nowMs = this.#opts.wallNowMs();
    if (held) {
      const end = new Date(nowMs).toISOString();
      const ended: PostableAlert[] = [];
      for (const key of [...this.#book.ids()]) {
        const live = this.detector.openOf(key);
        if (this.#book.resolve(key) && live)
          ended.push(targetDownAlert({ ...live, end }, nowMs, this.#opts.timing));
      }
      this.#opts.sender.send(ended);
    } else {
      for (const o of this.detector.open()) this.#fire(o.key, nowMs);
    }
  }

  get held(): boolean {
    return this.#held;
  }

  /** When each open outage was declared, wall ms (for the vantage rule). */
  declaredTimes(): number[] {
    return [...this.#declaredAt.values()];
  }

  /**
   * A route change of a probed target (the path keeper saw it): kept and
   * saved as an event, not alerted, and no outage for the mesh to judge.
   */
  recordRoute(
    probed: ProbedTarget,
    atMs: number,
    before: readonly (string | null)[],
    after: readonly (string | null)[],
  ): void {
    const subject = this.#subjectOf(probed.target, probed.key);
    const e = routeEvent(subject, this.#opts.instance, atMs, before, after);
    this.#remember(e);
    this.#save(e);
  }

  #remember(o: NetpingEvent): void {
    this.#recent.delete(o.id);
    this.#recent.set(o.id, o);
    if (this.#recent.size <= KEPT_IN_MEMORY) return;
    // Drop the oldest closed one (Map order is insertion order: oldest first).
    for (const [id, old] of this.#recent) {
      if (old.end !== null) {
        this.#recent.delete(id);
        return;
      }
    }
  }

  #save(o: NetpingEvent): void {
    this.#unsaved.push(JSON.stringify(o));
    if (this.#unsaved.length > MAX_UNSAVED) {
      const n = this.#unsaved.length - MAX_UNSAVED;
      this.#unsaved.splice(0, n);
      this.#opts.log(
        `outages: ${n} records dropped unsaved: the event store has been down too long`,
      );
    }
    void this.flush();
  }

  /** Writes the unsaved records; one write at a time, the rest queued behind it. */
  flush(): Promise<void> {
    if (this.#saving) return this.#saving;
    if (this.#unsaved.length === 0) return Promise.resolve();
    const saving = (async () => {
      try {
        while (this.#unsaved.length > 0) {
          const batch = this.#unsaved.slice(0, 500);
          await this.#opts.store.appendOutages(batch);
          this.#unsaved.splice(0, batch.length);
        }
      } catch (err) {
        this.#opts.log(
          `outages not saved yet: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    })();
    // Cleared once done, not from inside: the body may finish before the assignment.
    this.#saving = saving.finally(() => (this.#saving = undefined));
    return this.#saving;
  }

  /**
   * Reads the kept outages back. Those of this instance that were open at
   * the last stop are returned for adopt() once the targets are known.
   */
  async load(): Promise<Outage[]> {
    let records: string[];
    try {
      records = await this.#opts.store.recentOutages(KEPT_IN_MEMORY * 2);
    } catch (err) {
      this.#opts.log(`outages not read: ${err instanceof Error ? err.message : String(err)}`);
      return [];
    }
    const { events, bad } = latestEvents(records);
    if (bad > 0) this.#opts.log(`outages: ${bad} damaged records skipped`);
    const kept = events.slice(0, KEPT_IN_MEMORY).reverse();
    for (const o of kept) this.#recent.set(o.id, o);
    return kept.filter(
      (o): o is Outage => isOutage(o) && o.end === null && o.instance === this.#opts.instance,
    );
  }

  /**
   * Continues outages open at the last stop: a target still probed stays
   * down until it answers; one no longer probed is closed now.
   */
  adoptOpen(open: readonly Outage[], probed: (key: string) => ProbedTarget | undefined): void {
    const nowMs = this.#opts.wallNowMs();
    for (const o of open) {
      const p = probed(o.key);
      if (p) {
        this.detector.adopt(o, this.#subjectOf(p.target, p.key));
        this.#declaredAt.set(o.key, nowMs);
        if (!this.#held) this.#fire(o.key, nowMs);
      } else {
        const closed = { ...o, end: new Date(nowMs).toISOString() };
        this.#remember(closed);
        this.#save(closed);
      }
    }
    if (open.length > 0) {
      this.#opts.log(`outages: ${open.length} open at the last stop taken up`);
      this.#opts.changed?.();
    }
  }

  /** A target no longer probed: its open outage ends now. */
  forget(key: string): void {
    const change = this.detector.forget(key, this.#opts.wallNowMs());
    if (change) this.#apply(change);
  }

  /** The events for /api/events, newest first; open outages with their loss so far. */
  events(q: EventQuery = {}): NetpingEvent[] {
    const out: NetpingEvent[] = [];
    for (const o of this.#recent.values()) {
      if (q.kind !== undefined && kindOf(o) !== q.kind) continue;
      const live =
        o.end === null && o.instance === this.#opts.instance
          ? this.detector.openOf(o.key)
          : undefined;
      const e = live?.id === o.id ? live : o;
      if (q.openOnly && e.end !== null) continue;
      if (q.target !== undefined && e.target !== q.target && e.key !== q.target) continue;
      if (q.sinceMs !== undefined && !overlapsSince(e, q.sinceMs)) continue;
      out.push(e);
    }
    return out.sort(newestFirst);
  }

  /** Stops the alert timer; unsaved records get one more try. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.flush();
  }
}
