// GET /api/history: one target's records over a range, and GET
// /api/sparklines: the last hour of every target, small enough for the
// overview to draw a line per row. Both are streamed in slices like every
// body that grows with the targets or the records, under the bound on such
// bodies made at once (heavy-body.ts).

import type { Context, Hono } from 'hono';
import { FIELDS, type PeriodRecord } from '../history/period-ring.js';
import { quantile } from '../history/quantiles.js';
import { isRange, RANGES, stepOf, type RangeName } from '../history/ranges.js';
import type { Resolution, TargetHistory } from '../history/target-history.js';
import { BUCKET_BOUNDS_SECONDS } from '../stats/histogram.js';
import { textChunks, type HeavyBody } from './heavy-body.js';

export interface HistoryDeps {
  /** The history of a live (or recently removed) target by `name@address`. */
  find(key: string): TargetHistory | undefined;
  /** The live targets, in the report's order. */
  live(): readonly { readonly key: string; readonly stats: { readonly history: TargetHistory } }[];
  /** The wall clock, Unix milliseconds. */
  nowMs(): number;
}

const SPARK_MINUTES = 60;
const BOUNDS_MS = BUCKET_BOUNDS_SECONDS.map((s) => s * 1000);

export function addHistoryRoutes(app: Hono, deps: HistoryDeps, heavy: HeavyBody): void {
  app.get('/api/history', (c) => {
    const target = c.req.query('target');
    const range = c.req.query('range') ?? '24h';
    if (!target) return c.json({ error: 'missing ?target=<name@address>' }, 400);
    if (target.length > 400) return c.json({ error: 'target is too long' }, 400);
    if (!isRange(range))
      return c.json(
        {
          error: `unknown range ${JSON.stringify(range.slice(0, 20))}: use one of ${Object.keys(RANGES).join(', ')}`,
        },
        400,
      );
    const history = deps.find(target);
    if (!history)
      return c.json({ error: `no target ${JSON.stringify(target)} (use name@address)` }, 404);
    const nowS = deps.nowMs() / 1000;
    const pieces = (): Iterable<string> => historyPieces(target, range, history, nowS);
    return json(c, heavy, `history:${range}:${target}`, pieces);
  });

  app.get('/api/sparklines', (c) => {
    const nowMinute = Math.floor(deps.nowMs() / 60_000);
    const pieces = (): Iterable<string> => sparklinePieces(deps.live(), nowMinute);
    return json(c, heavy, `sparklines:${nowMinute}`, pieces);
  });
}

function* historyPieces(
  target: string,
  range: RangeName,
  history: TargetHistory,
  nowS: number,
): Generator<string> {
  const step = stepOf(range);
  const resolution: Resolution = step === 60 ? 'minute' : 'hour';
  const open = Math.floor(nowS / step);
  const from = open - RANGES[range] / step + 1;
  yield `{"target":${JSON.stringify(target)},"range":"${range}","step":${step},"from":${from * step},"to":${(open + 1) * step},"bounds":${JSON.stringify(BUCKET_BOUNDS_SECONDS)},"points":[`;
  let first = true;
  for (const r of history.records(resolution, from, open - 1)) {
    yield (first ? '' : ',') + pointJson(r, step, false);
    first = false;
  }
  const openRecord = history.openRecord(resolution, open);
  if (openRecord) yield (first ? '' : ',') + pointJson(openRecord, step, true);
  yield ']}';
}

function pointJson(r: PeriodRecord, step: number, open: boolean): string {
  const fields = FIELDS.map((f, i) => `"${f}":${r.counts[i]}`).join(',');
  const buckets: string[] = [];
  for (let k = 0; k < r.pairs.length; k += 2) buckets.push(`[${r.pairs[k]},${r.pairs[k + 1]}]`);
  return `{"t":${r.period * step},${fields},"buckets":[${buckets.join(',')}]${open ? ',"open":true' : ''}}`;
}

/** Per target and minute of the last hour: the loss ratio and the median RTT (ms), null where nothing was measured. */
function* sparklinePieces(
  live: readonly { readonly key: string; readonly stats: { readonly history: TargetHistory } }[],
  nowMinute: number,
): Generator<string> {
  const from = nowMinute - SPARK_MINUTES + 1;
  yield `{"from":${from * 60},"step":60,"targets":{`;
  let first = true;
  for (const t of live) {
    const loss: (number | null)[] = new Array<number | null>(SPARK_MINUTES).fill(null);
    const median: (number | null)[] = new Array<number | null>(SPARK_MINUTES).fill(null);
    const put = (r: PeriodRecord): void => {
      const i = r.period - from;
      const sent = r.counts[0]!;
      const lost = r.counts[1]!;
      if (sent + lost > 0) loss[i] = Math.round((lost / Math.max(sent, lost)) * 1000) / 1000;
      const m = quantile(r.pairs, BOUNDS_MS, 0.5);
      if (m !== undefined) median[i] = Math.round(m * 1000) / 1000;
    };
    for (const r of t.stats.history.records('minute', from, nowMinute - 1)) put(r);
    const open = t.stats.history.openRecord('minute', nowMinute);
    if (open) put(open);
    yield `${first ? '' : ','}${JSON.stringify(t.key)}:{"loss":${JSON.stringify(loss)},"medianMs":${JSON.stringify(median)}}`;
    first = false;
  }
  yield '}}';
}

function json(
  c: Context,
  heavy: HeavyBody,
  key: string,
  pieces: () => Iterable<string>,
): Response | Promise<Response> {
  c.header('Cache-Control', 'no-store');
  const page = key.slice(0, key.indexOf(':'));
  const request = { page: `/api/${page}`, key, contentType: 'application/json' };
  return heavy(c, request, textChunks(pieces));
}
