// What a meshed instance tells the others of its outages, every refresh
// (daemon/mesh-outages.ts writes it to `{P}:mesh:down:<id>` with the
// registration's expiry): whether its own uplink is down, and the targets it
// sees down. Checked field by field on the way back, like the summaries.

import { checkedLabels, type Labels } from '../labels.js';

export interface DownTarget {
  readonly key: string;
  readonly target: string;
  readonly address: string;
  readonly probe: string;
  readonly labels: Labels;
  /** ISO start of the outage as this instance saw it. */
  readonly start: string;
  /** The instance id, when the target is a mesh peer (labels peer="true"). */
  readonly peerOf?: string;
}

export interface DownReport {
  readonly instance: string;
  readonly vantageDown: boolean;
  /** Targets this instance probes. */
  readonly probed: number;
  readonly down: readonly DownTarget[];
}

/** The most targets a report lists: beyond it a report would take too long to write and read. */
export const MAX_REPORTED_DOWN = 1000;

export function downReportText(report: DownReport): string {
  return JSON.stringify({ v: 1, ...report, down: report.down.slice(0, MAX_REPORTED_DOWN) });
}

export function parseDownReport(text: string): DownReport {
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null) throw new Error('not an object');
  const o = v as Record<string, unknown>;
  if (o.v !== 1) throw new Error('unknown version');
  if (typeof o.instance !== 'string' || o.instance === '') throw new Error('bad instance');
  if (typeof o.vantageDown !== 'boolean') throw new Error('bad vantageDown');
  if (typeof o.probed !== 'number' || !Number.isSafeInteger(o.probed) || o.probed < 0)
    throw new Error('bad probed');
  if (!Array.isArray(o.down) || o.down.length > MAX_REPORTED_DOWN) throw new Error('bad down');
  return {
    instance: o.instance,
    vantageDown: o.vantageDown,
    probed: o.probed,
    down: o.down.map(downTarget),
  };
}

function downTarget(v: unknown): DownTarget {
  if (typeof v !== 'object' || v === null) throw new Error('bad down target');
  const o = v as Record<string, unknown>;
  const str = (name: string): string => {
    const x = o[name];
    if (typeof x !== 'string' || x === '' || x.length > 1000) throw new Error(`bad ${name}`);
    return x;
  };
  const start = str('start');
  if (Number.isNaN(Date.parse(start))) throw new Error('bad start');
  return {
    key: str('key'),
    target: str('target'),
    address: str('address'),
    probe: str('probe'),
    labels: checkedLabels(o.labels ?? {}),
    start,
    ...(o.peerOf === undefined ? {} : { peerOf: str('peerOf') }),
  };
}
