// The probe engine: every target's schedule, one timer for all sends and
// timeouts, and each probe's outcome. It knows no protocol: a probe kind's
// Prober (lib/probes/) sends and recognises answers, and tells the engine
// which probe (target token, wide sequence) each answer is for.

import { addressSortKey, canonicalAddress, withoutZone } from '../address.js';
import { SendError, type Prober, type ProbeSink } from '../probes/prober.js';
import { INTERRUPTED_REASON, TargetStats } from '../stats/target-stats.js';
import { labelsChanged, probeKindOf, probeLabel, targetKey, type Target } from '../target.js';
import type { Clock, TimerHandle } from './clock.js';
import { ProbeLedger } from './probe-ledger.js';
import { FirstProbeQueue } from './first-probes.js';
import { firstDueMs, SlotAllocator, vanDerCorput } from './spread.js';
import { TimerQueue } from './timer-queue.js';
import { WakePacing } from './wake-pacing.js';

export interface ProbeSettings {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export interface EngineOptions {
  readonly clock: Clock;
  /** The prober of each probe kind, by name; a target of a kind without one gets failed sends. */
  readonly probers: Readonly<Record<string, Prober>>;
  /** A uniformly random uint32, for target tokens. */
  readonly randomUint32: () => number;
  /**
   * A removed target whose last probe has ended, with its final counters:
   * sent = received + lost, nothing left in flight.
   */
  readonly onRetired?: (retired: ProbedTarget) => void;
  /** Send a new target's first probe at once, paced (first-probes.ts); else at its slot. Default true. */
  readonly firstProbeAtOnce?: boolean;
  /**
   * Every probe's end as it is counted: `null` for an answer, else why it
   * was lost (`timeout`, `send:<errno>`, `icmp:<kind>`). Not for probes a
   * stop abandons. Called on the probe path: it must return at once.
   */
  readonly onOutcome?: (target: ProbedTarget, lost: string | null) => void;
}

/** The reason of a probe lost without one of its own: no answer within its timeout. */
export const TIMEOUT_REASON = 'timeout';

/**
 * Why a received packet did not count for any probe. Probers add their own
 * (ICMP: checksum, truncated, ip-header, other-icmp); the engine's are
 * `unknown-probe` (ours in form, but no such target or sequence) and
 * `wrong-source` (an answer from an address that is not the target's).
 */
export type IgnoredReason = string;

/** What the engine knows of one target; `stats` is live, snapshot before sharing. */
export interface ProbedTarget {
  readonly target: Target;
  readonly key: string;
  readonly settings: ProbeSettings;
  readonly stats: TargetStats;
  readonly ledger: ProbeLedger;
}

function sortKeyOf(target: Target): string {
  // Names and hosts hold no spaces, so each part orders only within the one before.
  const key = `${addressSortKey(target.address)} ${target.name} ${probeLabel(target)}`;
  // '~' sorts after every address key (4…, 6…, 9…).
  return target.host === undefined ? key : `~${target.host} ${target.name} ${key}`;
}

class TargetRun implements ProbedTarget {
  readonly key: string;
  readonly stats = new TargetStats();
  readonly ledger: ProbeLedger;
  /** The address replies come from: ours without its zone, which the kernel does not report. */
  readonly sourceAddress: string;
  readonly kind: string;
  /**
   * Orders targets by address, name, then probe (the report's order); the
   * addresses of a followed name after those, together under their host.
   */
  sortKey: string;
  /** Removed, with probes still in flight: it sends no more, but its replies and timeouts still count. */
  draining = false;
  /** -1 while draining. */
  slot = -1;
  /** Bumped whenever the schedule changes; a queued send of an older schedule is dropped. */
  schedule = 0;
  nextSendMs = 0;

  constructor(
    /** Replaced when only its labels change (the key stays). */
    public target: Target,
    public settings: ProbeSettings,
    readonly token: number,
  ) {
    this.key = targetKey(target);
    this.sourceAddress = withoutZone(target.address);
    this.kind = probeKindOf(target);
    this.sortKey = sortKeyOf(target);
    this.ledger = new ProbeLedger(settings.timeoutMs, settings.intervalMs);
  }
}

// A new target whose slot is this close sends its first probe there, not
// as an extra one now.
const FIRST_PROBE_MIN_LEAD_MS = 20;
// One wake-up sends for at most this long, then lets the loop turn (replies,
// pages, other timers) and goes on at the next turn. On schedule a wake-up's
// batch is far shorter (wake-pacing.ts); behind it (more due than the CPU
// it gets can send) a wake-up would otherwise send all that is overdue at
// once and hold the loop for seconds: at 50,000 targets on the shared
// machine `/healthz` took 7-9 s. A 2 ms budget left the engine too few
// turns there (2,650 probes/s against 29,300 with 10 ms; docs/BENCHMARKS.md,
// 2026-12-07).
const WAKE_BUDGET_MS = 10;

export class ProbeEngine {
  readonly #opts: EngineOptions;
  readonly #epochMs: number;
  readonly #runs = new Map<string, TargetRun>();
  readonly #draining = new Map<string, TargetRun>();
  /** The probed targets in report order; rebuilt on the first read after a change. */
  #sorted: readonly TargetRun[] | undefined;
  readonly #byToken = new Map<number, TargetRun>();
  readonly #byAddress = new Map<string, Set<TargetRun>>();
  readonly #slots = new SlotAllocator();
  /** Sends due: the target, tagged with its schedule. */
  readonly #sends = new TimerQueue<TargetRun>();
  /** New targets whose first probe goes out before their slot (first-probes.ts). */
  readonly #firstProbes = new FirstProbeQueue<TargetRun>();
  /** The steady probe rate (what paces first probes) and how often the timer may wake. */
  readonly #pacing = new WakePacing();
  /** Probes' deadlines: the target, tagged with the probe's wide sequence. */
  readonly #timeouts = new TimerQueue<TargetRun>();
  readonly #probers: ReadonlyMap<string, Prober>;
  readonly ignored = new Map<IgnoredReason, number>();
  #timer: TimerHandle | undefined;
  #timerDueMs = Infinity;
  #lastWakeMs = -Infinity;
  /** The last wake-up ran out of its budget with sends still due: the next one comes at once. */
  #behind = false;
  #running = true;

  constructor(opts: EngineOptions) {
    this.#opts = opts;
    this.#epochMs = opts.clock.nowMs();
    this.#probers = new Map(Object.entries(opts.probers));
    for (const [kind, prober] of this.#probers) prober.bind(this.#sinkFor(kind));
  }

  get size(): number {
    return this.#runs.size;
  }

  has(key: string): boolean {
    return this.#runs.has(key);
  }

  get(key: string): ProbedTarget | undefined {
    return this.#runs.get(key);
  }

  keys(): IterableIterator<string> {
    return this.#runs.keys();
  }

  targets(): IterableIterator<ProbedTarget> {
    return this.#runs.values();
  }

  /**
   * The probed targets and the removed ones still draining: what saves must
   * cover, or a kill -9 during a drain, or a first read of saved statistics
   * then, would lose a target's latest counters.
   */
  *allTargets(): Generator<ProbedTarget> {
    yield* this.#runs.values();
    yield* this.#draining.values();
  }

  /**
   * The probed targets by address, then name. Sorted once per change of the
   * set, not per read: a sort of 10,000 is several milliseconds that no
   * reader should be able to make us spend at will.
   */
  sortedTargets(): readonly ProbedTarget[] {
    this.#sorted ??= [...this.#runs.values()].sort((a, b) =>
      a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0,
    );
    return this.#sorted;
  }

  /**
   * Starts probing a target, or goes on probing it with new settings. A
   * target probed already, or removed with probes still in flight, keeps its
   * counters and its probes in flight, which end as they would have.
   * Returns whether the target is new (had no counters here).
   */
  add(target: Target, settings: ProbeSettings): boolean {
    const key = targetKey(target);
    const live = this.#runs.get(key);
    if (live) {
      if (labelsChanged(live.target, target)) {
        live.target = target;
        const sortKey = sortKeyOf(target); // pinned ↔ followed moves it in the report
        if (sortKey !== live.sortKey) {
          live.sortKey = sortKey;
          this.#sorted = undefined;
        }
      }
      if (!sameSettings(live.settings, settings)) this.#schedule(live, settings);
      return false;
    }
    const draining = this.#draining.get(key);
    if (draining) {
      this.#draining.delete(key);
      draining.draining = false;
      draining.target = target;
      draining.sortKey = sortKeyOf(target);
      this.#runs.set(key, draining);
      this.#sorted = undefined;
      this.#schedule(draining, settings);
      return false;
    }
    let token = this.#opts.randomUint32() >>> 0;
    while (this.#byToken.has(token)) token = this.#opts.randomUint32() >>> 0;
    const run = new TargetRun(target, settings, token);
    this.#runs.set(key, run);
    this.#sorted = undefined;
    this.#byToken.set(token, run);
    let sameAddress = this.#byAddress.get(run.sourceAddress);
    if (!sameAddress) this.#byAddress.set(run.sourceAddress, (sameAddress = new Set()));
    sameAddress.add(run);
    this.#schedule(run, settings);
    if (this.#opts.firstProbeAtOnce ?? true) {
      this.#firstProbes.enqueue(run);
      this.#arm();
    }
    return true;
  }

  /** (Re)places a target's sends on its slot's grid for these settings. */
  #schedule(run: TargetRun, settings: ProbeSettings): void {
    if (run.slot >= 0) this.#pacing.remove(run.settings.intervalMs);
    this.#pacing.add(settings.intervalMs);
    run.settings = settings;
    run.ledger.resize(settings.timeoutMs, settings.intervalMs);
    if (run.slot < 0) run.slot = this.#slots.allocate();
    run.schedule++;
    run.nextSendMs = firstDueMs(
      this.#epochMs,
      this.#opts.clock.nowMs(),
      settings.intervalMs,
      vanDerCorput(run.slot),
    );
    this.#sends.push(run.nextSendMs, run, run.schedule);
    this.#arm();
  }

  /**
   * Stops probing a target. Its probes in flight still end, by reply or
   * timeout; then it is forgotten and handed to `onRetired`.
   */
  remove(key: string): boolean {
    const run = this.#runs.get(key);
    if (!run) return false;
    this.#runs.delete(key);
    this.#sorted = undefined;
    this.#pacing.remove(run.settings.intervalMs);
    run.schedule++;
    this.#slots.release(run.slot);
    run.slot = -1;
    run.draining = true;
    this.#draining.set(key, run);
    this.#retireIfDone(run);
    return true;
  }

  #retireIfDone(run: TargetRun): void {
    if (!run.draining || run.ledger.inFlight > 0) return;
    this.#draining.delete(run.key);
    this.#byToken.delete(run.token);
    const sameAddress = this.#byAddress.get(run.sourceAddress);
    sameAddress?.delete(run);
    if (sameAddress?.size === 0) this.#byAddress.delete(run.sourceAddress);
    this.#opts.onRetired?.(run);
  }

  /** The longest timeout of any target, probed or draining: how long a probe sent now may stay in flight. */
  maxTimeoutMs(): number {
    let max = 0;
    for (const runs of [this.#runs, this.#draining])
      for (const run of runs.values()) max = Math.max(max, run.settings.timeoutMs);
    return max;
  }

  /**
   * Ends every probe still in flight as lost with reason `interrupted`, and
   * retires the removed targets: for a stop that cannot wait any longer, so
   * that what is saved balances.
   */
  abandonInFlight(): void {
    for (const runs of [this.#runs, this.#draining]) {
      for (const run of [...runs.values()]) {
        const n = run.ledger.abandonAll();
        for (let i = 0; i < n; i++) run.stats.recordLost(INTERRUPTED_REASON);
        this.#retireIfDone(run);
      }
    }
  }

  /** Stops sending; probes in flight still end by reply or timeout. */
  stopSending(): void {
    this.#running = false;
  }

  /** The number of probes in flight over all targets, removed ones too. */
  inFlight(): number {
    let n = 0;
    for (const runs of [this.#runs, this.#draining])
      for (const run of runs.values()) n += run.ledger.inFlight;
    return n;
  }

  close(): void {
    this.#running = false;
    if (this.#timer) this.#opts.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    for (const prober of this.#probers.values()) prober.close();
  }

  #arm(): void {
    const pacing = this.#pacing;
    const nextSend = this.#running
      ? (this.#sends.peekDueMs() ?? Infinity) - pacing.slackMs
      : Infinity;
    const clock = this.#opts.clock;
    const nextFirst = this.#running
      ? (this.#firstProbes.nextDueMs(clock.nowMs(), pacing.probesPerMs) ?? Infinity)
      : Infinity;
    const next = Math.min(nextSend, nextFirst, this.#timeouts.peekDueMs() ?? Infinity);
    if (next === Infinity) return;
    // At high rates, not before a gap since the last wake-up (wake-pacing.ts).
    const due = this.#behind ? next : Math.max(next, this.#lastWakeMs + pacing.gapMs);
    if (due >= this.#timerDueMs) return;
    if (this.#timer) clock.clearTimer(this.#timer);
    this.#timerDueMs = due;
    this.#timer = clock.setTimer(this.#onTimer, Math.max(0, due - clock.nowMs()));
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerDueMs = Infinity;
    const clock = this.#opts.clock;
    let now = clock.nowMs();
    this.#lastWakeMs = now;
    this.#behind = false;
    if (this.#running) {
      const sendBy = now + this.#pacing.slackMs;
      const budgetEndMs = now + WAKE_BUDGET_MS;
      for (let run = this.#sends.popDue(sendBy); run; run = this.#sends.popDue(sendBy)) {
        if (this.#sends.lastTag !== run.schedule) continue; // removed, or rescheduled
        this.#sendProbe(run);
        // Read what has come in right after each send, not after the batch:
        // a near target's reply is often in the socket before sendto()
        // returns, and would otherwise wait out the rest of the batch (at
        // 10,000 targets that added ~0.15 ms to loopback RTTs; see
        // docs/BENCHMARKS.md). Costs one empty read per probe elsewhere.
        this.#probers.get(run.kind)?.drain(run.target.family);
        run.nextSendMs += run.settings.intervalMs;
        if (run.nextSendMs < now) {
          // The loop stalled for more than an interval: skip ahead on the
          // same grid rather than burst the missed probes.
          run.nextSendMs = firstDueMs(run.nextSendMs, now, run.settings.intervalMs, 0);
        }
        this.#sends.push(run.nextSendMs, run, run.schedule);
        if (clock.nowMs() > budgetEndMs) {
          this.#behind = true;
          break;
        }
      }
      now = clock.nowMs();
      if (!this.#behind)
        this.#firstProbes.take(now, this.#pacing.probesPerMs, this.#sendFirstProbe);
      now = clock.nowMs();
    }
    if ((this.#timeouts.peekDueMs() ?? Infinity) <= now) {
      // A reply already in the socket buffer arrived before its deadline:
      // read it before declaring its probe lost.
      this.#drainAll();
      for (let run = this.#timeouts.popDue(now); run; run = this.#timeouts.popDue(now)) {
        const seq = this.#timeouts.lastTag;
        const prober = this.#probers.get(run.kind);
        prober?.collect?.(run.token, seq);
        if (run.ledger.end(seq)) {
          prober?.expire?.(run.token, seq);
          run.stats.recordLost();
          this.#outcome(run, TIMEOUT_REASON);
          this.#retireIfDone(run);
        }
      }
    }
    this.#arm();
  };

  /** A new target's first probe, unless it is gone, or its slot came or is about to come anyway. */
  readonly #sendFirstProbe = (run: TargetRun): boolean => {
    if (run.draining || this.#runs.get(run.key) !== run || run.ledger.nextSeq > 0) return false;
    if (run.nextSendMs - this.#opts.clock.nowMs() < FIRST_PROBE_MIN_LEAD_MS) return false;
    this.#sendProbe(run);
    this.#probers.get(run.kind)?.drain(run.target.family);
    return true;
  };

  #drainAll(): void {
    for (const prober of this.#probers.values()) {
      prober.drain(4);
      prober.drain(6);
    }
  }

  #sendProbe(run: TargetRun): void {
    const sentAtMs = this.#opts.clock.nowMs();
    const seq = run.ledger.begin(sentAtMs);
    if (run.ledger.evictedInFlight) {
      run.stats.recordLost();
      this.#outcome(run, TIMEOUT_REASON);
    }
    run.stats.recordSent();
    const prober = this.#probers.get(run.kind);
    let failure: string | undefined;
    let sentAt = sentAtMs;
    if (!prober) {
      failure = `send:no-${run.kind}-prober`;
    } else {
      try {
        const stamped = prober.send({ target: run.target, token: run.token, seq, sentAtMs });
        // The prober's stamp, in the clock of its receive stamps: RTT and deadline count from it.
        if (typeof stamped === 'number') {
          sentAt = stamped;
          run.ledger.restamp(seq, sentAt);
        }
      } catch (err) {
        failure = `send:${err instanceof SendError ? err.code : 'failed'}`;
      }
    }
    if (failure !== undefined) {
      run.ledger.end(seq);
      run.stats.recordLost(failure);
      this.#outcome(run, failure);
      return;
    }
    this.#timeouts.push(sentAt + run.settings.timeoutMs, run, seq);
  }

  /** A probe's end as its kind's prober reports it. */
  #sinkFor(kind: string): ProbeSink {
    const runOf = (token: number): TargetRun | undefined => {
      const run = this.#byToken.get(token);
      return run?.kind === kind ? run : undefined;
    };
    return {
      reply: (token, seq, source, atMs, answer) => {
        const run = runOf(token);
        if (!run) return this.#ignore('unknown-probe');
        // Sources come as inet_ntop text; only unusual IPv6 forms differ from ours.
        if (
          source !== undefined &&
          source !== run.sourceAddress &&
          canonicalAddress(source) !== run.sourceAddress
        ) {
          return this.#ignore('wrong-source');
        }
        this.#onReply(run, seq, atMs, answer);
      },
      fail: (token, seq, reason) => {
        const run = runOf(token);
        if (!run) return this.#ignore('unknown-probe');
        if (run.ledger.end(seq)) {
          run.stats.recordLost(reason);
          this.#outcome(run, reason);
          this.#retireIfDone(run);
        }
      },
      ignore: (reason) => this.#ignore(reason),
      findInFlight: (address, matches) => {
        for (const run of this.#byAddress.get(address) ?? []) {
          if (run.kind !== kind) continue;
          const seq = run.ledger.findInFlight(matches);
          if (seq !== undefined) return { token: run.token, seq };
        }
        return undefined;
      },
    };
  }

  /** A removed target's last probes say nothing of an outage: its outage state is gone with it. */
  #outcome(run: TargetRun, lost: string | null): void {
    if (!run.draining) this.#opts.onOutcome?.(run, lost);
  }

  #ignore(reason: IgnoredReason): void {
    this.ignored.set(reason, (this.ignored.get(reason) ?? 0) + 1);
  }

  #onReply(run: TargetRun, seq: number, atMs: number, answer: string | undefined): void {
    const outcome = run.ledger.reply(seq, atMs);
    switch (outcome.kind) {
      case 'received':
        run.stats.recordReply(outcome.rttMs, atMs, answer);
        this.#outcome(run, null);
        return this.#retireIfDone(run);
      case 'late-and-lost':
        run.stats.recordLost();
        run.stats.recordLate();
        this.#outcome(run, TIMEOUT_REASON);
        return this.#retireIfDone(run);
      case 'late':
        return run.stats.recordLate();
      case 'duplicate':
        return run.stats.recordDuplicate();
      case 'unknown':
        return this.#ignore('unknown-probe');
    }
  }
}

function sameSettings(a: ProbeSettings, b: ProbeSettings): boolean {
  return a.intervalMs === b.intervalMs && a.timeoutMs === b.timeoutMs;
}
