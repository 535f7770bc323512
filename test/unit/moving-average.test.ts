import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimeWeightedAverage } from '../../lib/stats/moving-average.js';

const ONE_MINUS_1_OVER_E = 1 - 1 / Math.E; // 0.6321...
const MINUTE_MS = 60_000;
const WINDOWS_MS = { '15m': 15 * MINUTE_MS, '6h': 360 * MINUTE_MS, '24h': 1440 * MINUTE_MS };

/**
 * Feeds 0 for `warmWindows` windows (every `stepMs`), then 1 every `stepMs`
 * for `untilMs` more: the response to a step of an average long past its start.
 */
function stepResponse(windowMs: number, stepMs: number, untilMs: number, warmWindows = 40): number {
  const avg = new TimeWeightedAverage(windowMs);
  const start = warmWindows * windowMs;
  for (let t = 0; t <= start; t += Math.min(stepMs, windowMs / 10)) avg.add(0, t);
  avg.add(0, start);
  for (let t = start + stepMs; t <= start + untilMs; t += stepMs) avg.add(1, t);
  assert.ok(avg.value !== undefined);
  return avg.value;
}

/** The far end: `firstMs` for the first `firstForMs`, then `thenMs`, a reply every `everyMs`. */
function replies(
  firstMs: number,
  firstForMs: number,
  thenMs: number,
  everyMs: number,
  untilMs: number,
) {
  const out: [number, number][] = [];
  for (let t = 0; t <= untilMs; t += everyMs) out.push([t < firstForMs ? firstMs : thenMs, t]);
  return out;
}

describe('TimeWeightedAverage', () => {
  it('has no value before the first sample', () => {
    assert.equal(new TimeWeightedAverage(1000).value, undefined);
    assert.equal(new TimeWeightedAverage(1000).weight, undefined);
  });

  it('takes the first sample as its value, whatever its time', () => {
    const avg = new TimeWeightedAverage(60_000);
    avg.add(42, 123_456);
    assert.equal(avg.value, 42);
    assert.equal(avg.weight, 0, 'a first sample alone spans no time yet');
    assert.equal(avg.windowMs, 60_000);
  });

  it('describes the replies seen so far until a window has passed, not the first one', () => {
    // 100 ms for 4 s, then 2 ms, a reply every 100 ms: 30 s after the add
    // (issue 20: the old averages said 99, 102 and 102 ms).
    const seen = replies(100, 4000, 2, 100, 30_000);
    const mean = seen.reduce((a, [rtt]) => a + rtt, 0) / seen.length;
    assert.ok(Math.abs(mean - 15.02) < 0.01, String(mean));
    for (const [name, windowMs] of Object.entries(WINDOWS_MS)) {
      const avg = new TimeWeightedAverage(windowMs);
      for (const [rtt, t] of seen) avg.add(rtt, t);
      // Within 30 s of a window of 15 min or more, weights barely decay: the
      // mean of what was seen, the 15-minute one a little nearer the recent.
      const tolerance = name === '15m' ? 1 : 0.1;
      assert.ok(Math.abs(avg.value! - mean) < tolerance, `${name}: ${avg.value} against ${mean}`);
      if (name === '15m') assert.ok(avg.value! < mean, 'recent replies weigh a little more');
    }
  });

  it('lets a slow first reply weigh what any other does (a fresh loopback target)', () => {
    const avg = new TimeWeightedAverage(WINDOWS_MS['15m']);
    avg.add(0.79, 0);
    for (let t = 1000; t <= 99_000; t += 1000) avg.add(0.11, t);
    // 100 replies a second apart: 0.79 weighs one hundredth.
    const mean = (0.79 + 99 * 0.11) / 100;
    assert.ok(Math.abs(avg.value! - mean) < 0.002, `${avg.value} against ${mean}`);
  });

  it('weighs 1 - 1/e after one window of samples, and nearly 1 after many', () => {
    const windowMs = 60_000;
    const avg = new TimeWeightedAverage(windowMs);
    for (let t = 0; t <= windowMs; t += 1000) avg.add(3, t);
    // The first sample gets the first gap: the span is one window and one step.
    assert.ok(Math.abs(avg.weight! - (1 - Math.exp(-61 / 60))) < 1e-12, String(avg.weight));
    for (let t = windowMs; t <= 20 * windowMs; t += 1000) avg.add(3, t);
    assert.ok(avg.weight! > 1 - 1e-8 && avg.weight! <= 1, String(avg.weight));
    assert.equal(avg.value, 3);
  });

  it('long past its start, reaches 1 - 1/e of a step after one window, sampled every 1 s or every 30 s', () => {
    const windowMs = 15 * 60_000;
    const every1s = stepResponse(windowMs, 1000, windowMs);
    const every30s = stepResponse(windowMs, 30_000, windowMs);
    const every5m = stepResponse(windowMs, 300_000, windowMs);
    assert.ok(Math.abs(every1s - ONE_MINUS_1_OVER_E) < 1e-9, `1 s: ${every1s}`);
    assert.ok(Math.abs(every30s - ONE_MINUS_1_OVER_E) < 1e-9, `30 s: ${every30s}`);
    assert.ok(Math.abs(every5m - ONE_MINUS_1_OVER_E) < 1e-9, `5 m: ${every5m}`);
  });

  it('reaches 1 - 1/e^2 after two windows and 1 - 1/e^3 after three', () => {
    const windowMs = 60_000;
    assert.ok(Math.abs(stepResponse(windowMs, 250, 2 * windowMs) - (1 - Math.E ** -2)) < 1e-9);
    assert.ok(Math.abs(stepResponse(windowMs, 9_000, 3 * windowMs) - (1 - Math.E ** -3)) < 1e-9);
  });

  it('young, a step is the share of time since it, however the samples are spaced', () => {
    const windowMs = 1e12; // no decay to speak of: a plain time-weighted mean
    const even = new TimeWeightedAverage(windowMs);
    const uneven = new TimeWeightedAverage(windowMs);
    for (let t = 0; t <= 4000; t += 1000) even.add(0, t);
    for (const t of [0, 10, 3_999, 4_000]) uneven.add(0, t);
    for (let t = 4500; t <= 10_000; t += 500) even.add(1, t);
    for (const t of [4_001, 9_000, 10_000]) uneven.add(1, t);
    // 6 s of the 11 s (the first sample given the first gap) were at 1.
    assert.ok(Math.abs(even.value! - 6 / 11) < 1e-6, String(even.value));
    // 6 s of 10.01 s.
    assert.ok(Math.abs(uneven.value! - 6 / 10.01) < 1e-6, String(uneven.value));
  });

  it('does not depend on irregular spacing of samples', () => {
    const windowMs = 10_000;
    const avg = new TimeWeightedAverage(windowMs);
    for (let t = 0; t <= 50 * windowMs; t += 1000) avg.add(0, t);
    const start = 50 * windowMs;
    for (const t of [13, 900, 901, 4_000, 4_050, 9_999, 10_000]) avg.add(1, start + t);
    assert.ok(Math.abs(avg.value! - ONE_MINUS_1_OVER_E) < 1e-12, String(avg.value));
  });

  it('scales a step from any level and in either direction', () => {
    const avg = new TimeWeightedAverage(1000);
    for (let t = 0; t <= 50_000; t += 100) avg.add(50, t);
    avg.add(10, 51_000); // 50 + (10 - 50)(1 - 1/e)
    assert.ok(Math.abs(avg.value! - (50 - 40 * ONE_MINUS_1_OVER_E)) < 1e-9);
  });

  it('gives a sample at the same instant (or earlier) no weight', () => {
    const avg = new TimeWeightedAverage(1000);
    avg.add(5, 100);
    avg.add(100, 100);
    assert.equal(avg.value, 5);
    avg.add(100, 50); // time went backwards: no time at all
    assert.equal(avg.value, 5);
    avg.add(5, 200);
    avg.add(100, 200);
    avg.add(100, 150);
    assert.equal(avg.value, 5);
    assert.equal(avg.lastAtMs, 200);
  });

  it('all but forgets the past after many windows', () => {
    const avg = new TimeWeightedAverage(1000);
    avg.add(1000, 0);
    avg.add(1000, 10);
    avg.add(3, 50_000);
    assert.ok(Math.abs(avg.value! - 3) < 1e-12);
  });

  it('holds a constant input constant', () => {
    const avg = new TimeWeightedAverage(30_000);
    for (let t = 0; t < 300_000; t += 1234) avg.add(7.25, t);
    assert.equal(avg.value, 7.25);
  });

  it('keeps its precision with a 24 h window and 1 ms between samples', () => {
    const windowMs = WINDOWS_MS['24h'];
    const avg = new TimeWeightedAverage(windowMs);
    for (let t = 0; t < 10_000; t++) avg.add(t < 5000 ? 1 : 3, t);
    // 1 over [-1, 4999] ms (the first sample spans the first ms), 3 over
    // (4999, 9999], each weighted by e^(-age/window): exactly this.
    const decay = (fromMs: number, toMs: number): number =>
      Math.exp(-(9999 - toMs) / windowMs) * -Math.expm1(-(toMs - fromMs) / windowMs);
    const ones = decay(-1, 4999);
    const threes = decay(4999, 9999);
    const exact = (ones + 3 * threes) / (ones + threes);
    assert.ok(Math.abs(avg.value! - exact) < 1e-9, `${avg.value} against ${exact}`);
    assert.ok(Math.abs(avg.weight! - (ones + threes)) < 1e-15, String(avg.weight));
  });
});
