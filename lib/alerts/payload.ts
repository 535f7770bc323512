// The alerts netping posts to Alertmanager (API v2, POST /api/v2/alerts), as
// plain data. Pure: times come in as arguments. Routing, grouping, silences
// and notifications are Alertmanager's; we only say what is firing, from
// when, and until when to believe us if we fall silent.

import type { Labels } from '../labels.js';
import type { DownTarget } from '../outages/down-report.js';
import type { Outage } from '../outages/outage.js';

/** One element of the body of POST /api/v2/alerts. */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
}

export const TARGET_DOWN = 'NetpingTargetDown';
export const TARGET_DOWN_EVERYWHERE = 'NetpingTargetDownEverywhere';
export const VANTAGE_POINT_DOWN = 'NetpingVantagePointDown';

/** How alerts are timed: a firing alert is posted again every `repeatMs`, valid for `validMs`. */
export interface AlertTiming {
  readonly repeatMs: number;
  /**
   * The endsAt of a firing alert is now + this: should netpingd die, or
   * lose its way to Alertmanager, the alert resolves by itself then.
   */
  readonly validMs: number;
}

export const DEFAULT_ALERT_TIMING: AlertTiming = { repeatMs: 30_000, validMs: 120_000 };

/** A target's labels as on its series: target, address, probe, port; then its own under them. */
export function targetAlertLabels(
  t: Pick<Outage, 'target' | 'address' | 'probe' | 'labels'>,
): Record<string, string> {
  const [kind, port] = t.probe.split(':', 2);
  return {
    ...t.labels,
    target: t.target,
    address: t.address,
    probe: kind ?? t.probe,
    ...(port === undefined ? {} : { port }),
  };
}

function endsAt(end: string | null, nowMs: number, timing: AlertTiming): string {
  return end ?? new Date(nowMs + timing.validMs).toISOString();
}

/** One instance's outage of one target. */
export function targetDownAlert(
  outage: Outage,
  nowMs: number,
  timing: AlertTiming,
  generatorURL?: string,
): PostableAlert {
  return {
    labels: { ...targetAlertLabels(outage), alertname: TARGET_DOWN, instance: outage.instance },
    annotations: {
      summary: `${outage.target} (${outage.address}, ${outage.probe}) is down from ${outage.instance}`,
      lost: String(outage.lost),
      reasons: Object.entries(outage.reasons)
        .map(([r, n]) => `${r}=${n}`)
        .join(','),
    },
    startsAt: outage.start,
    endsAt: endsAt(outage.end, nowMs, timing),
    ...(generatorURL ? { generatorURL } : {}),
  };
}

/**
 * A target down from a quorum of instances. No instance label: every
 * instance that sees the quorum posts the same labels, and Alertmanager
 * keeps one alert of them.
 */
export function downEverywhereAlert(
  target: DownTarget,
  verdict: { start: string; downFrom: readonly string[]; judges: number },
  end: string | null,
  nowMs: number,
  timing: AlertTiming,
): PostableAlert {
  return {
    labels: { ...targetAlertLabels(target), alertname: TARGET_DOWN_EVERYWHERE },
    annotations: {
      summary: `${target.target} (${target.address}, ${target.probe}) is down from ${verdict.downFrom.length} of ${verdict.judges} instances`,
      instances: verdict.downFrom.join(','),
    },
    startsAt: verdict.start,
    endsAt: endsAt(end, nowMs, timing),
  };
}

/** This instance lost most of its targets at once: its own uplink, not them. */
export function vantagePointDownAlert(
  instance: string,
  instanceLabels: Labels,
  state: { start: string; down: number; probed: number },
  end: string | null,
  nowMs: number,
  timing: AlertTiming,
): PostableAlert {
  return {
    labels: { ...instanceLabels, alertname: VANTAGE_POINT_DOWN, instance },
    annotations: {
      summary: `${instance} lost ${state.down} of its ${state.probed} targets at once; its target alerts are held back`,
    },
    startsAt: state.start,
    endsAt: endsAt(end, nowMs, timing),
  };
}

/** The identity Alertmanager gives an alert: its label set. */
export function fingerprint(alert: PostableAlert): string {
  return JSON.stringify(Object.entries(alert.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}
