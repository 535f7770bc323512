// Throughput targets' own scheduler: the engine's per-probe model (a probe
// a second, an RTT each) does not fit a test that streams for seconds every
// quarter hour. TargetSync hands throughput targets here instead of to the
// engine. Tests run one at a time over all targets, each target every
// `every` (± 10 %, schedule.ts) from its last start, a new target's first
// test at once, a test that found the responder busy again after a random
// back-off (at most 3 times); nothing here holds the event loop
// (client.ts), so the engine's probes keep their schedule while a test runs.

import type { Clock, TimerHandle } from '../engine/clock.js';
import type { Log } from '../log.js';
import { LatencyHistogram, type HistogramSnapshot } from '../stats/histogram.js';
import { targetKey, type Target } from '../target.js';
import type { UdpTransportChoice } from '../probes/udp/transport-choice.js';
import {
  runThroughputTest,
  TEST_OUTCOMES,
  type Direction,
  type TestOptions,
  type TestOutcome,
  type TestResult,
} from './client.js';
import { median } from './meter.js';
import { BUSY_RETRIES, busyRetryDueMs, nextDueMs, type Random } from './schedule.js';
import {
  DEFAULT_THROUGHPUT_DURATION_MS,
  DEFAULT_THROUGHPUT_EVERY_MS,
  THROUGHPUT_PORT,
} from './kind.js';

export interface RunnerOptions {
  readonly clock: Clock;
  readonly wallNowMs: () => number;
  /** The peers' shared key; without it every test fails at once (`error`, no peer key). */
  readonly key: Buffer | undefined;
  readonly log: Log;
  /** The latency probes' socket layer (`--udp-transport`); default auto. */
  readonly udpTransport?: UdpTransportChoice;
  /** The test itself; injected by unit tests. */
  readonly runTest?: (opts: TestOptions) => Promise<TestResult>;
  /** The schedule's jitter and back-off (schedule.ts); default Math.random. */
  readonly random?: Random;
}

/** One test's figures. */
export interface ThroughputFigures {
  /** Wall-clock ms of the test's start. */
  readonly atMs: number;
  readonly downloadBps: number | undefined;
  readonly uploadBps: number | undefined;
  readonly idleRttMs: number | undefined;
  readonly loadedRttMs: Readonly<Record<Direction, number | undefined>>;
}

/** A throughput target as the report shows it. */
export interface ThroughputReport {
  name: string;
  address: string;
  port: number;
  everyMs: number;
  durationMs: number;
  running: boolean;
  tests: Record<TestOutcome, number>;
  /** Tests run again because the responder was busy (each also counts in tests.busy). */
  busyRetries: number;
  /** The last test's outcome, its one-line reason when not ok, and when it started (ISO). */
  lastOutcome: TestOutcome | undefined;
  lastDetail: string | undefined;
  lastAt: string | undefined;
  /** The figures of the last ok test, and their age in seconds at the report's time. */
  measuredAt: string | undefined;
  ageS: number | undefined;
  downloadBps: number | undefined;
  uploadBps: number | undefined;
  idleRttMs: number | undefined;
  loadedDownloadRttMs: number | undefined;
  loadedUploadRttMs: number | undefined;
}

class ThroughputTarget {
  readonly key: string;
  readonly tests = Object.fromEntries(TEST_OUTCOMES.map((o) => [o, 0])) as Record<
    TestOutcome,
    number
  >;
  readonly loaded: Record<Direction, LatencyHistogram> = {
    download: new LatencyHistogram(),
    upload: new LatencyHistogram(),
  };
  last: { outcome: TestOutcome; detail: string | undefined; atMs: number } | undefined;
  figures: ThroughputFigures | undefined;
  nextDueMs: number;
  /** While a busy test is being retried: which retry, and when the period's next test is due. */
  retry: { attempt: number; periodDueMs: number } | undefined;
  busyRetries = 0;
  removed = false;

  constructor(
    public target: Target,
    nowMs: number,
  ) {
    this.key = targetKey(target);
    this.nextDueMs = nowMs;
  }

  get everyMs(): number {
    return this.target.overrides?.everyMs ?? DEFAULT_THROUGHPUT_EVERY_MS;
  }

  get durationMs(): number {
    return this.target.overrides?.durationMs ?? DEFAULT_THROUGHPUT_DURATION_MS;
  }
}

export class ThroughputRunner {
  readonly #opts: RunnerOptions;
  readonly #random: Random;
  readonly #targets = new Map<string, ThroughputTarget>();
  #sorted: ThroughputTarget[] | undefined;
  #timer: TimerHandle | undefined;
  #running: ThroughputTarget | undefined;
  #current: Promise<void> | undefined;
  #stopped = false;
  #warnedNoKey = false;

  constructor(opts: RunnerOptions) {
    this.#opts = opts;
    this.#random = opts.random ?? Math.random;
  }

  /** Tests the target from now on (at once if new); a known one keeps its results and takes new settings. */
  add(target: Target): void {
    const key = targetKey(target);
    const known = this.#targets.get(key);
    if (known) {
      const oldEvery = known.everyMs;
      known.target = target;
      if (known.everyMs !== oldEvery) known.nextDueMs += known.everyMs - oldEvery;
    } else {
      this.#targets.set(key, new ThroughputTarget(target, this.#opts.clock.nowMs()));
      this.#sorted = undefined;
    }
    this.#arm();
  }

  /** Stops testing the target; a test running for it finishes but is not recorded. */
  remove(key: string): boolean {
    const t = this.#targets.get(key);
    if (!t) return false;
    t.removed = true;
    this.#targets.delete(key);
    this.#sorted = undefined;
    this.#arm();
    return true;
  }

  keys(): IterableIterator<string> {
    return this.#targets.keys();
  }

  get size(): number {
    return this.#targets.size;
  }

  /** Whether a test is running now. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** No test starts after this; resolves when the running one (if any) has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#opts.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    await this.#current;
  }

  #sortedTargets(): ThroughputTarget[] {
    this.#sorted ??= [...this.#targets.values()].sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
    );
    return this.#sorted;
  }

  #arm(): void {
    if (this.#stopped || this.#running) return;
    let next: ThroughputTarget | undefined;
    for (const t of this.#targets.values()) if (!next || t.nextDueMs < next.nextDueMs) next = t;
    const clock = this.#opts.clock;
    if (this.#timer) clock.clearTimer(this.#timer);
    this.#timer = undefined;
    if (!next) return;
    this.#timer = clock.setTimer(
      () => {
        this.#timer = undefined;
        this.#startDue();
      },
      Math.max(0, next.nextDueMs - clock.nowMs()),
    );
  }

  #startDue(): void {
    if (this.#stopped || this.#running) return;
    const now = this.#opts.clock.nowMs();
    let due: ThroughputTarget | undefined;
    for (const t of this.#sortedTargets())
      if (t.nextDueMs <= now && (!due || t.nextDueMs < due.nextDueMs)) due = t;
    if (!due) return this.#arm();
    const t = due;
    // Every from this start (a retry keeps its period's); a test that ran
    // long does not make the next one come early.
    t.nextDueMs = t.retry ? t.retry.periodDueMs : nextDueMs(now, t.everyMs, this.#random);
    this.#running = t;
    this.#current = this.#test(t).finally(() => {
      this.#running = undefined;
      this.#current = undefined;
      this.#arm();
    });
  }

  async #test(t: ThroughputTarget): Promise<void> {
    const atMs = this.#opts.wallNowMs();
    const key = this.#opts.key;
    let result: TestResult;
    if (!key) {
      if (!this.#warnedNoKey)
        this.#opts.log('throughput targets need the peer key (--peer-key); their tests fail');
      this.#warnedNoKey = true;
      result = {
        outcome: 'error',
        detail: 'no peer key (--peer-key)',
        idleRttsMs: [],
        probesLost: 0,
      };
    } else {
      const run = this.#opts.runTest ?? runThroughputTest;
      try {
        result = await run({
          host: t.target.address,
          port: t.target.probe?.port ?? THROUGHPUT_PORT,
          key,
          durationMs: t.durationMs,
          ...(this.#opts.udpTransport ? { udpTransport: this.#opts.udpTransport } : {}),
          onRtt: (phase, rttMs) => {
            if (phase !== 'idle' && !t.removed) t.loaded[phase].observe(rttMs / 1000);
          },
        });
      } catch (err) {
        // runThroughputTest does not throw; an injected one might.
        result = { outcome: 'error', detail: String(err), idleRttsMs: [], probesLost: 0 };
      }
    }
    if (t.removed) return;
    t.tests[result.outcome]++;
    this.#retryIfBusy(t, result);
    t.last = { outcome: result.outcome, detail: result.detail, atMs };
    if (result.outcome === 'ok') {
      t.figures = {
        atMs,
        downloadBps: result.download?.bitsPerSecond,
        uploadBps: result.upload?.bitsPerSecond,
        idleRttMs: median(result.idleRttsMs),
        loadedRttMs: {
          download: median(result.download?.rttsMs ?? []),
          upload: median(result.upload?.rttsMs ?? []),
        },
      };
    } else if (result.outcome !== 'busy' && key) {
      this.#opts.log(
        `throughput test of ${t.target.name}@${t.target.address}: ${result.outcome}${result.detail ? `: ${result.detail}` : ''}`,
      );
    }
  }

  /** A busy test is tried again soon, a few times; then the period's next test, and one log line. */
  #retryIfBusy(t: ThroughputTarget, result: TestResult): void {
    if (result.outcome !== 'busy') {
      t.retry = undefined;
      return;
    }
    const attempt = (t.retry?.attempt ?? 0) + 1;
    const periodDueMs = t.retry?.periodDueMs ?? t.nextDueMs;
    const dueMs = busyRetryDueMs(this.#opts.clock.nowMs(), attempt, periodDueMs, this.#random);
    if (dueMs !== undefined) {
      t.retry = { attempt, periodDueMs };
      t.nextDueMs = dueMs;
      t.busyRetries++;
      return;
    }
    t.retry = undefined;
    t.nextDueMs = periodDueMs;
    this.#opts.log(
      `throughput test of ${t.target.name}@${t.target.address}: the responder was busy ` +
        `(another tester) ${attempt} times${attempt > BUSY_RETRIES ? ` (${BUSY_RETRIES} retries)` : ''}; next test in its period`,
    );
  }

  /** The targets in key order, as the report shows them at `nowWallMs`. */
  reports(nowWallMs: number): ThroughputReport[] {
    return this.#sortedTargets().map((t) => {
      const f = t.figures;
      return {
        name: t.target.name,
        address: t.target.address,
        port: t.target.probe?.port ?? THROUGHPUT_PORT,
        everyMs: t.everyMs,
        durationMs: t.durationMs,
        running: this.#running === t,
        tests: { ...t.tests },
        busyRetries: t.busyRetries,
        lastOutcome: t.last?.outcome,
        lastDetail: t.last?.detail,
        lastAt: t.last ? new Date(t.last.atMs).toISOString() : undefined,
        measuredAt: f ? new Date(f.atMs).toISOString() : undefined,
        ageS: f ? Math.max(0, (nowWallMs - f.atMs) / 1000) : undefined,
        downloadBps: f?.downloadBps,
        uploadBps: f?.uploadBps,
        idleRttMs: f?.idleRttMs,
        loadedDownloadRttMs: f?.loadedRttMs.download,
        loadedUploadRttMs: f?.loadedRttMs.upload,
      };
    });
  }

  /** The histograms of RTTs under load, in the order of reports(). */
  histograms(): Record<Direction, HistogramSnapshot>[] {
    return this.#sortedTargets().map((t) => ({
      download: t.loaded.download.snapshot(),
      upload: t.loaded.upload.snapshot(),
    }));
  }
}
