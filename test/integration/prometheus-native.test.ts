// Two real Prometheus servers scrape one netpingd pinging 127.0.0.1 and ::1
// every 100 ms: one with --enable-feature=native-histograms (it asks for
// protobuf and stores netping_rtt_seconds as a native histogram), one without
// (text, classic buckets). Two, because Prometheus 2.42 keeps only the native
// form when a scrape carries both. The native median must be within one
// bucket of the classic one, and the native count rate must be the probe rate.

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

const INTERVAL_S = 0.1;
/** Scrapes to wait for before comparing: rate() over a few seconds is still jumpy. */
const MIN_SCRAPES = 10;
const BUDGET_MS = 60_000;
const TARGETS = ['lo', 'six'];

interface QueryResponse {
  status: string;
  data?: { result?: { metric: Record<string, string>; value: [number, string] }[] };
}

/** Target name → finite value of an instant query. */
async function query(promUrl: string, promql: string): Promise<Map<string, number>> {
  const body = await httpText(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const out = new Map<string, number>();
  for (const r of (JSON.parse(body) as QueryResponse).data?.result ?? []) {
    const value = Number(r.value[1]);
    if (Number.isFinite(value)) out.set(r.metric.target ?? '', value);
  }
  return out;
}

function startPrometheus(
  dir: string,
  name: string,
  port: number,
  daemonPort: number,
  native: boolean,
): Spawned {
  const config = path.join(dir, `${name}.yml`);
  writeFileSync(config, scrapeConfig(daemonPort));
  return new Spawned(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, `${name}-data`)}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(native ? ['--enable-feature=native-histograms'] : []),
    ],
    { cwd: dir },
  );
}

void test('Prometheus reads netping_rtt_seconds as a native histogram', async (t) => {
  const missing = daemonPrerequisiteMissing(['prometheus']);
  if (missing !== undefined) return t.skip(missing);
  const redisUrl = process.env.NETPING_TEST_REDIS_URL ?? '';
  const prefix = `test-${randomUUID()}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'netping-native-'));
  const processes: Spawned[] = [];
  try {
    redisCli(redisUrl, ['sadd', `{${prefix}}:targets`, 'lo@127.0.0.1', 'six@::1']);
    const daemonPort = await freePort();
    const daemon = new Spawned(process.execPath, [
      daemonMain,
      ...['--listen', `127.0.0.1:${daemonPort}`, '--redis', redisUrl, '--prefix', prefix],
      ...['--interval', String(INTERVAL_S), '--state-dir', path.join(dir, 'state')],
    ]);
    processes.push(daemon);
    const nativePort = await freePort();
    const native = startPrometheus(dir, 'native', nativePort, daemonPort, true);
    processes.push(native);
    const classicPort = await freePort();
    const classic = startPrometheus(dir, 'classic', classicPort, daemonPort, false);
    processes.push(classic);
    const nativeUrl = `http://127.0.0.1:${nativePort}`;
    const classicUrl = `http://127.0.0.1:${classicPort}`;
    const context = (): string =>
      `netpingd:\n${daemon.tail()}\nnative prometheus:\n${native.tail(10)}\n` +
      `classic prometheus:\n${classic.tail(10)}`;

    const enough = async (url: string): Promise<boolean> => {
      const scrapes = await query(url, 'count_over_time(up[1m])');
      return (scrapes.get('') ?? 0) >= MIN_SCRAPES;
    };
    const answer = await waitFor(
      async () => {
        if (!daemon.running || !native.running || !classic.running) return 'exited' as const;
        if (!(await enough(nativeUrl)) || !(await enough(classicUrl))) return undefined;
        const nativeP50 = await query(
          nativeUrl,
          'histogram_quantile(0.5, rate(netping_rtt_seconds[1m]))',
        );
        // Over [1m] with only ~10 s of data, rate() is the increase over 60 s
        // (Prometheus extrapolates only half a scrape interval past the
        // first sample), so compare it with the received counter over the
        // same window; the short window, fully covered, gives probes/s.
        const countRate = await query(nativeUrl, 'histogram_count(rate(netping_rtt_seconds[1m]))');
        const receivedRate = await query(nativeUrl, 'rate(netping_received_total[1m])');
        const shortRate = await query(nativeUrl, 'histogram_count(rate(netping_rtt_seconds[5s]))');
        const classicP50 = await query(
          classicUrl,
          'histogram_quantile(0.5, rate(netping_rtt_seconds_bucket[1m]))',
        );
        const all = [nativeP50, countRate, receivedRate, shortRate, classicP50];
        return TARGETS.every((x) => all.every((m) => m.has(x)))
          ? { nativeP50, countRate, receivedRate, shortRate, classicP50 }
          : undefined;
      },
      { timeoutMs: BUDGET_MS, intervalMs: 1_000 },
    );
    assert.ok(answer !== undefined, `no answer within ${BUDGET_MS} ms\n${context()}`);
    assert.ok(answer !== 'exited', `a process exited early\n${context()}`);

    for (const x of TARGETS) {
      const n = answer.nativeP50.get(x)!;
      const c = answer.classicP50.get(x)!;
      const count = answer.countRate.get(x)!;
      const received = answer.receivedRate.get(x)!;
      const rate = answer.shortRate.get(x)!;
      t.diagnostic(
        `${x}: p50 native ${n} s, classic ${c} s; histogram_count(rate[1m]) ${count}, ` +
          `rate(received[1m]) ${received}; histogram_count(rate[5s]) ${rate}/s`,
      );
      // One bucket is a factor 2^(1/8): at most 1 apart in 8·log2.
      const buckets = Math.abs(8 * Math.log2(n / c));
      assert.ok(buckets <= 1, `${x}: native p50 ${n} is ${buckets.toFixed(2)} buckets from ${c}`);
      assert.ok(
        Math.abs(count - received) <= 0.05 * received,
        `${x}: histogram_count(rate) ${count} vs rate(netping_received_total) ${received}`,
      );
      const expected = 1 / INTERVAL_S;
      assert.ok(
        Math.abs(rate - expected) <= 0.2 * expected,
        `${x}: ${rate} answered probes/s, expected about ${expected}`,
      );
    }
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
