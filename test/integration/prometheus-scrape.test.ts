// A real Prometheus scrapes a real netpingd pinging 127.0.0.1, and the
// queries the dashboard and alert rules are built on give sensible answers:
// a loopback median round trip well under 10 ms, and no loss.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scrapeConfig } from '../support/promtool.js';
import {
  daemonMain,
  daemonPrerequisiteMissing,
  freePort,
  httpText,
  redisCli,
  redisDeletePrefix,
  Spawned,
  waitFor,
} from '../support/ops-harness.js';

const QUERY_BUDGET_MS = 30_000;

interface QueryResponse {
  status: string;
  data?: { result?: { metric: Record<string, string>; value: [number, string] }[] };
}

/** The value of an instant query for target "lo", when Prometheus has a finite one. */
async function queryLo(promUrl: string, promql: string): Promise<number | undefined> {
  const body = await httpText(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const res = JSON.parse(body) as QueryResponse;
  const sample = res.data?.result?.find((r) => r.metric.target === 'lo');
  if (sample === undefined) return undefined;
  const value = Number(sample.value[1]);
  return Number.isFinite(value) ? value : undefined;
}

void test('Prometheus scrapes netpingd: loopback p50 under 10 ms, no loss', async (t) => {
  const missing = daemonPrerequisiteMissing(['prometheus']);
  if (missing !== undefined) return t.skip(missing);
  const redisUrl = process.env.NETPING_TEST_REDIS_URL ?? '';

  const prefix = `test-${randomUUID()}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'netping-prom-'));
  const processes: Spawned[] = [];
  try {
    redisCli(redisUrl, ['sadd', `{${prefix}}:targets`, 'lo@127.0.0.1']);

    const daemonPort = await freePort();
    const daemon = new Spawned(process.execPath, [
      daemonMain,
      '--listen',
      `127.0.0.1:${daemonPort}`,
      '--redis',
      redisUrl,
      '--prefix',
      prefix,
      '--interval',
      '0.2',
      '--state-dir',
      path.join(dir, 'state'),
    ]);
    processes.push(daemon);

    const promPort = await freePort();
    const config = path.join(dir, 'prometheus.yml');
    writeFileSync(config, scrapeConfig(daemonPort));
    const prometheus = new Spawned(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { cwd: dir },
    );
    processes.push(prometheus);
    const promUrl = `http://127.0.0.1:${promPort}`;

    const p50Query = 'histogram_quantile(0.5, rate(netping_rtt_seconds_bucket[15s]))';
    const lossQuery = 'rate(netping_lost_total[15s]) / rate(netping_sent_total[15s])';
    const answer = await waitFor(
      async () => {
        if (!daemon.running || !prometheus.running) return { exited: true } as const;
        const p50 = await queryLo(promUrl, p50Query);
        const loss = await queryLo(promUrl, lossQuery);
        return p50 !== undefined && loss !== undefined ? ({ p50, loss } as const) : undefined;
      },
      { timeoutMs: QUERY_BUDGET_MS, intervalMs: 500 },
    );
    const context = `netpingd:\n${daemon.tail()}\nprometheus:\n${prometheus.tail(10)}`;
    assert.ok(answer !== undefined, `no answer within ${QUERY_BUDGET_MS} ms\n${context}`);
    assert.ok(!('exited' in answer), `a process exited early\n${context}`);
    t.diagnostic(`p50 ${answer.p50} s, loss ratio ${answer.loss}`);
    assert.ok(answer.p50 > 0 && answer.p50 < 0.01, `p50 ${answer.p50} s on loopback`);
    assert.equal(answer.loss, 0, 'no loss on loopback');
  } finally {
    for (const p of processes) await p.stop();
    rmSync(dir, { recursive: true, force: true });
    try {
      redisDeletePrefix(redisUrl, prefix);
    } catch (err) {
      t.diagnostic(`could not clean ${prefix}:*: ${String(err)}`);
    }
  }
});
