// When throughput tests run: the jittered period, the retries of a busy
// test, and two peers started together at one shared responder, with an
// injected clock and seeded randomness (no sockets, no sleeps).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTargetKey } from '../../lib/target.js';
import type { TestOptions, TestResult } from '../../lib/throughput/client.js';
import { ThroughputRunner } from '../../lib/throughput/runner.js';
import {
  BUSY_BACKOFF_MS,
  BUSY_RETRIES,
  busyRetryDueMs,
  EVERY_JITTER,
  nextDueMs,
} from '../../lib/throughput/schedule.js';
import { FakeClock } from '../support/fake-clock.js';
import { seededRandom } from '../support/prng.js';

const KEY = Buffer.from('a-peer-key-of-some-length');

const result = (outcome: TestResult['outcome']): TestResult => ({
  outcome,
  idleRttsMs: [],
  probesLost: 0,
  ...(outcome === 'ok'
    ? {
        download: { bitsPerSecond: 1e6, measured: { bytes: 1, micros: 1 }, rttsMs: [] },
        upload: { bitsPerSecond: 1e6, measured: { bytes: 1, micros: 1 }, rttsMs: [] },
      }
    : {}),
});

const settle = () => new Promise((r) => setImmediate(r));

describe('throughput schedule', () => {
  it('jitters each period within ±10 % of every', () => {
    const random = seededRandom(1);
    const dues = Array.from({ length: 1000 }, () => nextDueMs(0, 60_000, random));
    for (const d of dues) assert.ok(Math.abs(d - 60_000) <= 60_000 * EVERY_JITTER, `${d}`);
    assert.ok(
      Math.max(...dues) - Math.min(...dues) > 60_000 * EVERY_JITTER,
      'spread over the range',
    );
    assert.equal(
      nextDueMs(1000, 60_000, () => 0.5),
      61_000,
    );
  });

  it('backs off a busy test at random, doubling, a bounded number of times, never past the period', () => {
    for (let attempt = 1; attempt <= BUSY_RETRIES; attempt++) {
      const base = BUSY_BACKOFF_MS * 2 ** (attempt - 1);
      assert.equal(
        busyRetryDueMs(0, attempt, 1e9, () => 0),
        base,
      );
      const latest = busyRetryDueMs(0, attempt, 1e9, () => 0.999_999)!;
      assert.ok(Math.abs(latest - base * 1.999_999) < 1e-6, `${latest}`);
    }
    assert.equal(
      busyRetryDueMs(0, BUSY_RETRIES + 1, 1e9, () => 0),
      undefined,
    );
    assert.equal(
      busyRetryDueMs(0, 1, BUSY_BACKOFF_MS, () => 0),
      undefined,
      'the period is as soon',
    );
  });

  it('retries a busy test, counts the retries, and logs one line when they are used up', async () => {
    const clock = new FakeClock(0);
    const calls: number[] = [];
    const lines: string[] = [];
    const runner = new ThroughputRunner({
      clock,
      wallNowMs: () => clock.nowMs(),
      key: KEY,
      log: (l) => lines.push(l),
      random: () => 0.5,
      runTest: () => {
        calls.push(clock.nowMs());
        return Promise.resolve(result('busy'));
      },
    });
    runner.add(parseTargetKey('a@192.0.2.1?probe=throughput&every=15m'));
    for (let i = 0; i < 200; i++) {
      clock.advance(500);
      await settle();
    }
    // At once, then 7.5 s, 15 s and 30 s after each busy answer was taken
    // (the first at the end of the first 500 ms step).
    assert.deepEqual(calls, [0, 8000, 23_000, 53_000]);
    const [a] = runner.reports(0);
    assert.equal(a!.tests.busy, 4);
    assert.equal(a!.busyRetries, 3);
    assert.deepEqual(lines, [
      'throughput test of a@192.0.2.1: the responder was busy (another tester) 4 times (3 retries); next test in its period',
    ]);
    // The period's next test counts from the first attempt's start.
    for (let i = 0; i < 1800 && calls.length === 4; i++) {
      clock.advance(500);
      await settle();
    }
    assert.equal(calls[4], 15 * 60_000);
    await runner.stop();
  });

  it('two peers started together at one responder both get their tests, period after period', async () => {
    const clock = new FakeClock(0);
    const TEST_MS = 15_000;
    let holder: string | undefined;
    const ok = { x: 0, y: 0 };
    const runnerOf = (name: 'x' | 'y', seed: number) =>
      new ThroughputRunner({
        clock,
        wallNowMs: () => clock.nowMs(),
        key: KEY,
        log: () => {},
        random: seededRandom(seed),
        // The shared responder: one test at a time, `busy` at once to the other.
        runTest: (_o: TestOptions) => {
          if (holder !== undefined) return Promise.resolve(result('busy'));
          holder = name;
          return new Promise((resolve) =>
            clock.setTimer(() => {
              holder = undefined;
              ok[name]++;
              resolve(result('ok'));
            }, TEST_MS),
          );
        },
      });
    const x = runnerOf('x', 11);
    const y = runnerOf('y', 12);
    const target = parseTargetKey('shared@192.0.2.9?probe=throughput&every=1m');
    x.add(target);
    y.add(target);
    const PERIODS = 20;
    for (let i = 0; i < (PERIODS * 60_000) / 500; i++) {
      clock.advance(500);
      await settle();
    }
    // Without jitter and retries one of them got `busy` at every period, forever.
    assert.ok(ok.x >= PERIODS - 2 && ok.y >= PERIODS - 2, JSON.stringify(ok));
    await Promise.all([x.stop(), y.stop()]);
  });
});
