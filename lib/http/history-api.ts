// GET /api/history: one target's records over a range (the recent ones
// from memory, older ones read from the store: HistoryDeps.records), and GET
// /api/sparklines: the last hour of every target, small enough for the
// overview to draw a line per row. Both are streamed in slices like every
// body that grows with the targets or the records; sparklines under the
// bound on such bodies made at once (heavy-body.ts), one target's history not.

import type { Context, Hono } from 'hono';
import { FIELDS, type PeriodRecord } from '../history/period-ring.js';
import { quantile } from '../history/quantiles.js';
import { isRange, RANGES, stepOf, type RangeName } from '../history/ranges.js';
import type { ReadRecords, Resolution, TargetHistory } from '../history/target-history.js';
import { BUCKET_BOUNDS_SECONDS } from '../stats/histogram.js';
import { textChunks, type HeavyBody } from './heavy-body.js';

export interface HistoryDeps {
  /** The history of a live (or recently removed) target by `name@address`. */
  find(key: string): TargetHistory | undefined;
  /** The live targets, in the report's order. */
  live(): readonly { readonly key: string; readonly stats: { readonly history: TargetHistory } }[];
  /** The wall clock, Unix milliseconds. */
  nowMs(): number;
  /** The closed records of a page: the recent ones held in `history`, older ones read from the store. */
  records: ReadRecords;
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
    const pieces = (): AsyncIterable<string> => historyPieces(deps, target, range, history, nowS);
    // One target's records: sliced and shared, but not queued behind whole-set pages.
    return json(c, heavy, `history:${range}:${target}`, pieces, false);
  });

  app.get('/api/sparklines', (c) => {
    const nowMinute = Math.floor(deps.nowMs() / 60_000);
    const pieces = (): Iterable<string> => sparklinePieces(deps.live(), nowMinute);
    return json(c, heavy, `sparklines:${nowMinute}`, pieces);
  });
}

async function* historyPieces(
  deps: HistoryDeps,
  target: string,
  range: RangeName,
  history: TargetHistory,
  nowS: number,
): AsyncGenerator<string> {
  const step = stepOf(range);
  const resolution: Resolution = step === 60 ? 'minute' : 'hour';
  const open = Math.floor(nowS / step);
  const from = open - RANGES[range] / step + 1;
  yield `{"target":${JSON.stringify(target)},"range":"${range}","step":${step},"from":${from * step},"to":${(open + 1) * step},"bounds":${JSON.stringify(BUCKET_BOUNDS_SECONDS)},"points":[`;
  let first = true;
  const closed = await deps.records(target, history, resolution, from, open - 1);
  for (const r of closed) {
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

/** One minute's loss ratio and median RTT (ms) for a sparkline; nulls where nothing was measured. */
function sparkPoint(r: PeriodRecord | undefined): [number | null, number | null] {
  if (!r) return [null, null];
  const sent = r.counts[0]!;
  const lost = r.counts[1]!;
  const loss = sent + lost > 0 ? Math.round((lost / Math.max(sent, lost)) * 1000) / 1000 : null;
  const m = quantile(r.pairs, BOUNDS_MS, 0.5);
  return [loss, m === undefined ? null : Math.round(m * 1000) / 1000];
}

/** A target's closed minutes of the last hour as JSON list items, kept while they stay the same. */
interface ClosedSpark {
  readonly nowMinute: number;
  readonly changes: number;
  /** The first SPARK_MINUTES - 1 items of each list, comma-joined, no brackets. */
  readonly loss: string;
  readonly median: string;
}

// By history, so a removed target's entry goes with it. Closed minutes change
// once a minute, so a request costs the open minute per target, not the hour.
const closedSparks = new WeakMap<TargetHistory, ClosedSpark>();

function closedSpark(history: TargetHistory, nowMinute: number): ClosedSpark {
  const changes = history.minutes.changes;
  const kept = closedSparks.get(history);
  if (kept && kept.nowMinute === nowMinute && kept.changes === changes) return kept;
  const from = nowMinute - SPARK_MINUTES + 1;
  const loss = new Array<number | null>(SPARK_MINUTES - 1).fill(null);
  const median = new Array<number | null>(SPARK_MINUTES - 1).fill(null);
  for (const r of history.records('minute', from, nowMinute - 1)) {
    [loss[r.period - from], median[r.period - from]] = sparkPoint(r);
  }
  const made = {
    nowMinute,
    changes,
    loss: JSON.stringify(loss).slice(1, -1),
    median: JSON.stringify(median).slice(1, -1),
  };
  closedSparks.set(history, made);
  return made;
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
    const history = t.stats.history;
    const closed = closedSpark(history, nowMinute);
    const [loss, median] = sparkPoint(history.openRecord('minute', nowMinute));
    yield `${first ? '' : ','}${JSON.stringify(t.key)}:{"loss":[${closed.loss},${JSON.stringify(loss)}],"medianMs":[${closed.median},${JSON.stringify(median)}]}`;
    first = false;
  }
  yield '}}';
}

function json(
  c: Context,
  heavy: HeavyBody,
  key: string,
  pieces: () => Iterable<string> | AsyncIterable<string>,
  bounded = true,
): Response | Promise<Response> {
  c.header('Cache-Control', 'no-store');
  const page = key.slice(0, key.indexOf(':'));
  const request = { page: `/api/${page}`, key, contentType: 'application/json', bounded };
  return heavy(c, request, textChunks(pieces));
}

/** HistoryDeps.records for a history without a store behind it (what memory holds is all there is). */
export const heldRecords: ReadRecords = (_key, history, resolution, from, to) =>
  Promise.resolve([...history.records(resolution, from, to)]);
