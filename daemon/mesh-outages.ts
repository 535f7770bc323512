// With --mesh: which vantage point is at fault. Shortly after any outage
// opens or closes, and every mesh refresh, this instance judges its own
// uplink (lib/outages/vantage.ts: most targets down at once), holds its
// target alerts back while it is down, writes its report of what it sees
// down to `{P}:mesh:down:<id>` (expiring like its registration), reads the
// others' and posts NetpingTargetDownEverywhere for targets down from a
// quorum (lib/outages/quorum.ts). Redis trouble is logged once per streak.

import { AlertBook } from '../lib/alerts/alert-book.js';
import {
  downEverywhereAlert,
  vantagePointDownAlert,
  type AlertTiming,
  type PostableAlert,
} from '../lib/alerts/payload.js';
import type { AlertSender } from '../lib/alerts/sender.js';
import type { Labels } from '../lib/labels.js';
import type { Log } from '../lib/log.js';
import {
  downReportText,
  MAX_REPORTED_DOWN,
  parseDownReport,
  type DownReport,
  type DownTarget,
} from '../lib/outages/down-report.js';
import { downEverywhere, type QuorumVerdict } from '../lib/outages/quorum.js';
import { vantageDown, type VantageRule } from '../lib/outages/vantage.js';
import type { Keys } from '../lib/store/keys.js';
import type { MeshStore } from '../lib/store/mesh-store.js';
import type { OutageKeeper } from './outage-keeper.js';

/** Outages are judged this long after one opens or closes: a burst is judged once. */
const JUDGE_DELAY_MS = 100;
const VANTAGE_ID = 'vantage';

export interface MeshOutagesOptions {
  readonly store: MeshStore;
  readonly keys: Keys;
  readonly self: string;
  readonly selfLabels: Labels;
  readonly outages: OutageKeeper;
  /** Targets this instance probes now. */
  readonly probedCount: () => number;
  readonly rule: VantageRule;
  readonly quorum: number | undefined;
  readonly refreshMs: number;
  readonly expiryMs: number;
  readonly sender: AlertSender;
  readonly timing: AlertTiming;
  readonly wallNowMs: () => number;
  readonly log: Log;
}

export class MeshOutages {
  readonly #o: MeshOutagesOptions;
  readonly #book: AlertBook;
  /** The firing down-everywhere alerts' verdicts, by target key. */
  readonly #everywhere = new Map<string, QuorumVerdict>();
  #vantage: { start: string; down: number; probed: number } | undefined;
  #judgeTimer: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;
  #alertTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #failing = false;
  #closed = false;

  constructor(opts: MeshOutagesOptions) {
    this.#o = opts;
    this.#book = new AlertBook(opts.timing.repeatMs);
  }

  get vantageDown(): boolean {
    return this.#vantage !== undefined;
  }

  start(): void {
    this.#interval = setInterval(() => void this.judge(), this.#o.refreshMs);
    this.#alertTimer = setInterval(() => this.#post(this.#book.due(this.#o.wallNowMs())), 250);
  }

  /** An outage opened or closed: judge soon, once for a burst. */
  readonly changed = (): void => {
    if (this.#closed || this.#judgeTimer !== undefined) return;
    this.#judgeTimer = setTimeout(() => {
      this.#judgeTimer = undefined;
      void this.judge();
    }, JUDGE_DELAY_MS);
  };

  /** One round: the vantage point, our report, the quorum. Rounds never overlap. */
  judge(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#round()
      .then(
        () => {
          if (this.#failing) this.#o.log('mesh outages: Redis answers again');
          this.#failing = false;
        },
        (err: unknown) => {
          if (!this.#failing)
            this.#o.log(`mesh outages: ${err instanceof Error ? err.message : String(err)}`);
          this.#failing = true;
        },
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#again && !this.#closed) {
          this.#again = false;
          void this.judge();
        }
      });
    return this.#running;
  }

  async #round(): Promise<void> {
    const nowMs = this.#o.wallNowMs();
    this.#judgeVantage(nowMs);
    const { store, keys, self } = this.#o;
    const report = this.#report();
    await store.putExpiring(keys.mesh.down(self), downReportText(report), this.#o.expiryMs);
    const ids = await store.setMembers(keys.mesh.instances);
    const texts = await store.values(ids.map((id) => keys.mesh.down(id)));
    const reports: DownReport[] = [];
    for (const text of texts) {
      if (text === undefined) continue;
      try {
        reports.push(parseDownReport(text));
      } catch {
        // Another version's or a damaged report: that instance does not count.
      }
    }
    this.#judgeQuorum(reports, nowMs);
  }

  #report(): DownReport {
    const down: DownTarget[] = [];
    if (!this.vantageDown) {
      for (const o of this.#o.outages.detector.open()) {
        if (down.length >= MAX_REPORTED_DOWN) break;
        down.push({
          key: o.key,
          target: o.target,
          address: o.address,
          probe: o.probe,
          labels: o.labels,
          start: o.start,
          ...(o.labels.peer === 'true' ? { peerOf: o.target } : {}),
        });
      }
    }
    return {
      instance: this.#o.self,
      vantageDown: this.vantageDown,
      probed: this.#o.probedCount(),
      down,
    };
  }

  #judgeVantage(nowMs: number): void {
    const declaredAtMs = this.#o.outages.declaredTimes();
    const probed = this.#o.probedCount();
    const down = vantageDown(this.#o.rule, { probed, declaredAtMs, wasDown: this.vantageDown });
    if (down === this.vantageDown) return;
    if (down) {
      this.#vantage = {
        start: new Date(Math.min(...declaredAtMs)).toISOString(),
        down: declaredAtMs.length,
        probed,
      };
      this.#o.log(
        `mesh outages: ${declaredAtMs.length} of ${probed} targets down at once: this vantage point is down; its target alerts are held back`,
      );
      this.#o.outages.setHeld(true);
      const state = this.#vantage;
      this.#book.fire(
        VANTAGE_ID,
        (at) =>
          vantagePointDownAlert(this.#o.self, this.#o.selfLabels, state, null, at, this.#o.timing),
        nowMs,
      );
      // A blind instance cannot judge: it stops posting its down-everywhere
      // alerts, but does not resolve them, for the others post the same
      // alerts (one label set) and still see them.
      for (const key of this.#everywhere.keys()) this.#book.resolve(`everywhere:${key}`);
      this.#everywhere.clear();
    } else {
      const state = this.#vantage!;
      this.#vantage = undefined;
      this.#o.log('mesh outages: this vantage point is up again');
      if (this.#book.resolve(VANTAGE_ID)) {
        const end = new Date(nowMs).toISOString();
        this.#post([
          vantagePointDownAlert(
            this.#o.self,
            this.#o.selfLabels,
            state,
            end,
            nowMs,
            this.#o.timing,
          ),
        ]);
      }
      this.#o.outages.setHeld(false);
    }
    this.#post(this.#book.due(nowMs));
  }

  #judgeQuorum(reports: readonly DownReport[], nowMs: number): void {
    if (this.vantageDown) return;
    const verdicts = downEverywhere(reports, this.#o.quorum);
    const now = new Set<string>();
    for (const v of verdicts) {
      const key = v.target.key;
      now.add(key);
      if (!this.#everywhere.has(key))
        this.#o.log(
          `mesh outages: ${v.target.target} (${v.target.address}, ${v.target.probe}) is down from ${v.downFrom.length} of ${v.judges} instances`,
        );
      this.#everywhere.set(key, v);
      this.#book.fire(
        `everywhere:${key}`,
        (at) =>
          downEverywhereAlert(v.target, this.#everywhere.get(key) ?? v, null, at, this.#o.timing),
        nowMs,
      );
    }
    this.#resolveEverywhere(now, nowMs);
    this.#post(this.#book.due(nowMs));
  }

  #resolveEverywhere(keep: ReadonlySet<string>, nowMs: number): void {
    const end = new Date(nowMs).toISOString();
    const ended: PostableAlert[] = [];
    for (const [key, v] of [...this.#everywhere]) {
      if (keep.has(key)) continue;
      this.#everywhere.delete(key);
      if (this.#book.resolve(`everywhere:${key}`))
        ended.push(downEverywhereAlert(v.target, v, end, nowMs, this.#o.timing));
    }
    this.#post(ended);
  }

  #post(alerts: PostableAlert[]): void {
    this.#o.sender.send(alerts);
  }

  /** Stops judging and removes our report (the others stop counting us now rather than at expiry). */
  async stop(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#judgeTimer);
    clearInterval(this.#interval);
    clearInterval(this.#alertTimer);
    await this.#running;
    await this.#o.store.deleteKey(this.#o.keys.mesh.down(this.#o.self));
  }
}
