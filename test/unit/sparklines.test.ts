// /api/sparklines: every target's last hour, a loss ratio and a median per
// minute. The closed minutes change once a minute, so they are read once a
// minute (per change of the target's minute records), not once per request.

import { heldRecords } from '../../lib/http/history-api.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../../lib/http/app.js';
import { TargetHistory, type Resolution } from '../../lib/history/target-history.js';
import type { PeriodRecord } from '../../lib/history/period-ring.js';
import { viewOf } from '../../lib/report.js';

/** The real history, counting the minute records read out of it. */
class CountedHistory extends TargetHistory {
  recordsRead = 0;
  override *records(resolution: Resolution, from: number, to: number): Generator<PeriodRecord> {
    for (const r of super.records(resolution, from, to)) {
      this.recordsRead++;
      yield r;
    }
  }
}

interface Sparks {
  from: number;
  targets: Record<string, { loss: (number | null)[]; medianMs: (number | null)[] }>;
}

const NOW_MINUTE = 29_000_000;

function rig(): { history: CountedHistory; read: () => Promise<Sparks>; nowMs: { v: number } } {
  const history = new CountedHistory();
  // Minutes of the last hour, every third one missing; one lost probe of 60 in each.
  for (let m = NOW_MINUTE - 59; m < NOW_MINUTE; m++) {
    if (m % 3 === 0) continue;
    history.addMinute(m, [60, 1, 0, 0, 0], [100], [60], 1);
  }
  history.current.add(0, 10); // the open minute: 10 sent, none lost
  const nowMs = { v: NOW_MINUTE * 60_000 + 5_000 };
  const app = createApp({
    view: () =>
      viewOf({
        report: {
          ...{ version: '1', generatedAt: '', store: { kind: 'file', location: '', up: true } },
          ...{ targets: [], invalid: [], ignoredPackets: {} },
        },
        histograms: [],
      }),
    metrics: () => [],
    metricsContentType: 'text/plain',
    history: {
      find: () => undefined,
      live: () => [{ key: 'lo@127.0.0.1', stats: { history } }],
      nowMs: () => nowMs.v,
      records: heldRecords,
    },
  });
  const read = async (): Promise<Sparks> => {
    const res = await app.request('/api/sparklines');
    assert.equal(res.status, 200);
    return (await res.json()) as Sparks;
  };
  return { history, read, nowMs };
}

describe('/api/sparklines', () => {
  it('gives the last hour of minutes, nulls where nothing was measured, the open minute last', async () => {
    const { read } = rig();
    const body = await read();
    assert.equal(body.from, (NOW_MINUTE - 59) * 60);
    const { loss, medianMs } = body.targets['lo@127.0.0.1']!;
    assert.equal(loss.length, 60);
    assert.equal(medianMs.length, 60);
    for (let i = 0; i < 59; i++) {
      const m = NOW_MINUTE - 59 + i;
      assert.equal(loss[i], m % 3 === 0 ? null : Math.round((1 / 60) * 1000) / 1000, `minute ${i}`);
      assert.equal(medianMs[i] === null, m % 3 === 0, `minute ${i}`);
    }
    assert.equal(loss[59], 0);
    assert.equal(medianMs[59], null); // no RTT in the open minute
  });

  it('reads the closed minutes once per minute and change, not per request', async () => {
    const { history, read, nowMs } = rig();
    const first = await read();
    const readOnce = history.recordsRead;
    assert.ok(readOnce > 0);
    history.current.add(1, 10); // the open minute changes: 10 lost of the 10 sent
    const second = await read();
    assert.equal(history.recordsRead, readOnce, 'no closed minute read again');
    assert.notDeepEqual(second, first);
    assert.equal(second.targets['lo@127.0.0.1']!.loss[59], 1);
    // The minute closes and the clock moves on: read again, and shifted.
    history.closeMinute(NOW_MINUTE);
    nowMs.v += 60_000;
    const third = await read();
    assert.ok(history.recordsRead > readOnce);
    assert.equal(third.targets['lo@127.0.0.1']!.loss[58], 1);
    assert.equal(third.targets['lo@127.0.0.1']!.loss[59], null);
  });
});
