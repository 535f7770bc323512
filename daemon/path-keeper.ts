// The paths to the icmp targets: each traced every --path-interval on
// sockets of its own (lib/path/tracer.ts), spread and rate-limited
// (lib/path/trace-schedule.ts); the route as last known, its changes
// (lib/path/route.ts) and the path MTU per target, for /api/path, npcli
// path, the target page and the metrics (written with every target's other
// series, lib/http/exposition.ts, from pathOf()). Trace probes never pass through
// the engine: they are not counted in any target's statistics.

import { randomInt } from 'node:crypto';
import { TracesBusyError, type PathDeps } from '../lib/http/path-api.js';
import { pathJson, untracedPathJson } from '../lib/path/path-report.js';
import type { Clock, TimerHandle } from '../lib/engine/clock.js';
import type { ProbedTarget } from '../lib/engine/probe-engine.js';
import { formatDuration } from '../lib/duration.js';
import type { Log } from '../lib/log.js';
import type { TargetPathState } from '../lib/report.js';
import { openIcmpTransports } from '../lib/probes/icmp/open-transports.js';
import {
  ICMP_TRANSPORT_CHOICES,
  type IcmpTransportChoice,
} from '../lib/probes/icmp/transport-choice.js';
import { nextRoute, type Route } from '../lib/path/route.js';
import { DEFAULT_TRACE_PLAN } from '../lib/path/trace-run.js';
import { TraceSchedule } from '../lib/path/trace-schedule.js';
import { runSliced } from '../lib/slicing.js';
import { Tracer, type PathTrace } from '../lib/path/tracer.js';
import type { PathConfig } from './path-options.js';

/** A trace probe's timeout: a hop that has not answered in a second is silent. */
const TRACE_TIMEOUT_MS = 1000;
/** At most this many traces at once, started at least this far apart (20 a second). */
const MAX_CONCURRENT_TRACES = 16;
const MIN_GAP_MS = 50;
/** The traced set is re-read from the engine this often. */
const REFRESH_MS = 5000;
/** A trace asked for (npcli path) within this of the last one gets that one. */
const ON_DEMAND_REUSE_MS = 5000;
/** Traces asked for that may run at once, beside the scheduled ones: /api/path?fresh=1 needs no token. */
const MAX_ON_DEMAND = 4;

export interface PathState {
  readonly key: string;
  readonly target: string;
  readonly address: string;
  readonly host: string | undefined;
  /** Wall-clock ms of the last trace's end. */
  readonly atMs: number;
  readonly trace: PathTrace;
  /** The route as known: silent hops filled from earlier traces. */
  readonly route: Route;
  readonly changes: number;
  readonly lastChangeMs: number | null;
}

export interface PathKeeperOptions {
  readonly config: PathConfig;
  /** The regular icmp probes' transport; trace sockets are of the same kind. */
  readonly transport: string;
  /** The regular probes' echo identifier, which the trace sockets must not share. */
  readonly avoidIdentifier?: number;
  readonly targets: () => Iterable<ProbedTarget>;
  readonly find: (key: string) => ProbedTarget | undefined;
  readonly clock: Clock;
  readonly wallNowMs: () => number;
  readonly log: Log;
  /** Each route change, with the hops before and after (recorded as an event). */
  readonly routeChanged?: (
    probed: ProbedTarget,
    atMs: number,
    before: readonly (string | null)[],
    after: readonly (string | null)[],
  ) => void;
}

export function isTraced(probed: ProbedTarget): boolean {
  const kind = probed.target.probe?.kind;
  return kind === undefined || kind === 'icmp';
}

export class PathKeeper {
  readonly #opts: PathKeeperOptions;
  readonly #tracer: Tracer;
  readonly #schedule: TraceSchedule | undefined;
  readonly #states = new Map<string, PathState>();
  readonly #running = new Map<string, Promise<PathState | undefined>>();
  #timer: TimerHandle | undefined;
  #lastRefreshMs = -Infinity;
  #refreshing = false;
  #onDemand = 0;
  #closed = false;

  /** Logged at start(): after the daemon's own start lines, so a failed start stays one line. */
  readonly #startLine: string;

  private constructor(opts: PathKeeperOptions, tracer: Tracer, startLine: string) {
    this.#opts = opts;
    this.#startLine = startLine;
    this.#tracer = tracer;
    if (opts.config.intervalMs > 0)
      this.#schedule = new TraceSchedule({
        intervalMs: opts.config.intervalMs,
        maxConcurrent: MAX_CONCURRENT_TRACES,
        minGapMs: MIN_GAP_MS,
      });
  }

  /** Opens the trace sockets; undefined (and a log line) when they cannot be opened. */
  static async open(opts: PathKeeperOptions): Promise<PathKeeper | undefined> {
    const choice = (ICMP_TRANSPORT_CHOICES as readonly string[]).includes(opts.transport)
      ? (opts.transport as IcmpTransportChoice)
      : 'auto';
    try {
      let opened = await openIcmpTransports(choice, () => {});
      // A raw socket's identifier is drawn at random: one equal to the
      // regular probes' would have each socket see the other's answers.
      for (let i = 0; i < 3 && opened.identifier === opts.avoidIdentifier; i++) {
        Object.values(opened.transports).forEach((t) => t.close());
        opened = await openIcmpTransports(choice, () => {});
      }
      const tracer = new Tracer({
        transports: opened.transports,
        identifier: opened.identifier,
        clock: opts.clock,
        randomUint32: () => randomInt(2 ** 32 - 1),
        plan: { ...DEFAULT_TRACE_PLAN, maxHops: opts.config.maxHops },
        timeoutMs: TRACE_TIMEOUT_MS,
      });
      const every =
        opts.config.intervalMs > 0
          ? `every ${formatDuration(opts.config.intervalMs)}`
          : 'only when asked';
      const line =
        `paths: traced ${every}, at most ${opts.config.maxHops} hops, on ${opened.info.transport} sockets of their own` +
        (tracer.searchesMtu(4)
          ? ", path MTU with don't-fragment probes"
          : ", no path MTU (no don't-fragment)");
      return new PathKeeper(opts, tracer, line);
    } catch (err) {
      opts.log(
        `paths: not traced, no trace socket: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
  }

  start(): void {
    this.#opts.log(this.#startLine);
    this.#tick();
  }

  #tick(): void {
    if (this.#closed) return;
    const now = this.#opts.clock.nowMs();
    if (now - this.#lastRefreshMs >= REFRESH_MS && !this.#refreshing) {
      this.#lastRefreshMs = now;
      this.#refreshing = true;
      void runSliced(this.#refresh(now)).finally(() => (this.#refreshing = false));
    }
    if (!this.#schedule) {
      // --path-interval 0: traces only when asked; removed targets' paths still go.
      this.#timer = this.#opts.clock.setTimer(() => this.#tick(), REFRESH_MS);
      return;
    }
    for (const key of this.#schedule.take(now)) {
      const schedule = this.#schedule;
      void this.#run(key).finally(() => schedule.finished(key, now));
    }
    const due = this.#schedule.nextDueMs();
    const wait = Math.min(REFRESH_MS, Math.max(MIN_GAP_MS, (due ?? Infinity) - now));
    this.#timer = this.#opts.clock.setTimer(() => this.#tick(), wait);
  }

  /** Re-reads the traced targets, in slices (10,000 targets take ~5 ms). */
  *#refresh(nowMs: number): Generator<void> {
    const targets = this.#opts.targets;
    function* traced(): Generator<string> {
      for (const probed of targets()) if (isTraced(probed)) yield probed.key;
    }
    if (this.#schedule) yield* this.#schedule.setInSteps(traced(), nowMs);
    let n = 0;
    for (const key of this.#states.keys()) {
      if (!this.#opts.find(key)) this.#states.delete(key);
      if (++n % 256 === 0) yield;
    }
  }

  /** Traces a target now (npcli path): the trace running for it, or a fresh one. */
  async traceNow(key: string): Promise<PathState | undefined> {
    const running = this.#running.get(key);
    if (running) return running;
    const last = this.#states.get(key);
    if (last && this.#opts.wallNowMs() - last.atMs < ON_DEMAND_REUSE_MS) return last;
    if (this.#onDemand >= MAX_ON_DEMAND)
      throw new TracesBusyError(
        `${MAX_ON_DEMAND} traces asked for are running: try again in a few seconds`,
      );
    this.#onDemand++;
    try {
      return await this.#run(key);
    } finally {
      this.#onDemand--;
    }
  }

  #run(key: string): Promise<PathState | undefined> {
    const existing = this.#running.get(key);
    if (existing) return existing;
    const run = this.#trace(key).finally(() => this.#running.delete(key));
    this.#running.set(key, run);
    return run;
  }

  async #trace(key: string): Promise<PathState | undefined> {
    const probed = this.#opts.find(key);
    if (!probed || !isTraced(probed) || this.#closed) return undefined;
    const { name, address, family, host } = probed.target;
    let trace: PathTrace;
    try {
      trace = await this.#tracer.trace(address, family);
    } catch (err) {
      this.#opts.log(
        `path of ${key}: trace failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
    if (this.#closed) return undefined;
    const before = this.#states.get(key);
    const step = nextRoute(before?.route, trace.hops, trace.reached);
    const atMs = this.#opts.wallNowMs();
    const state: PathState = {
      key,
      target: name,
      address,
      host,
      atMs,
      trace,
      route: step.route,
      changes: (before?.changes ?? 0) + (step.changed ? 1 : 0),
      lastChangeMs: step.changed ? atMs : (before?.lastChangeMs ?? null),
    };
    if (step.changed && before) {
      this.#opts.log(
        `path of ${key} changed: ${routeText(before.route)} -> ${routeText(step.route)}`,
      );
      this.#opts.routeChanged?.(probed, atMs, before.route.hops, step.route.hops);
    }
    // A target removed while it was traced is not brought back.
    if (this.#opts.find(key)) this.#states.set(key, state);
    for (const line of this.#tracer.takeProblems().slice(0, 5)) this.#opts.log(`paths: ${line}`);
    return state;
  }

  get(key: string): PathState | undefined {
    return this.#states.get(key);
  }

  /** For the metrics (lib/report.ts PathStates): a traced target's changes and MTU. */
  pathOf(key: string): TargetPathState | undefined {
    const state = this.#states.get(key);
    return state && { changes: state.changes, mtu: state.trace.mtu };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) this.#opts.clock.clearTimer(this.#timer);
    this.#tracer.close();
  }
}

function routeText(route: Route): string {
  return route.hops.map((a) => a ?? '*').join(', ');
}

/** /api/path's view of the keeper: selectors to keys among the traced targets, a path by key. */
export function pathDeps(keeper: PathKeeper, targets: () => Iterable<ProbedTarget>): PathDeps {
  return {
    keysFor(selector) {
      const keys: string[] = [];
      for (const probed of targets()) {
        if (!isTraced(probed)) continue;
        if (probed.key === selector) return [probed.key];
        if (probed.target.name === selector) keys.push(probed.key);
      }
      return keys;
    },
    async path(key, fresh) {
      const state = fresh ? await keeper.traceNow(key) : keeper.get(key);
      return state ? pathJson(state) : untracedPathJson(key);
    },
  };
}
