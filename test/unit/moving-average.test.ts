import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimeWeightedAverage } from '../../lib/stats/moving-average.js';

const ONE_MINUS_1_OVER_E = 1 - 1 / Math.E; // 0.6321...

/** Feeds 0 at t=0, then the value 1 every `stepMs` until `untilMs`. */
function stepResponse(windowMs: number, stepMs: number, untilMs: number): number {
  const avg = new TimeWeightedAverage(windowMs);
  avg.add(0, 0);
  for (let t = stepMs; t <= untilMs; t += stepMs) avg.add(1, t);
  assert.ok(avg.value !== undefined);
  return avg.value;
}

describe('TimeWeightedAverage', () => {
  it('has no value before the first sample', () => {
    assert.equal(new TimeWeightedAverage(1000).value, undefined);
  });

  it('takes the first sample as its value, whatever its time', () => {
    const avg = new TimeWeightedAverage(60_000);
    avg.add(42, 123_456);
    assert.equal(avg.value, 42);
    assert.equal(avg.windowMs, 60_000);
  });

  it('reaches 1 - 1/e of a step after one window, sampled every 1 s or every 30 s', () => {
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

  it('does not depend on irregular spacing of samples', () => {
    const windowMs = 10_000;
    const avg = new TimeWeightedAverage(windowMs);
    avg.add(0, 0);
    for (const t of [13, 900, 901, 4_000, 4_050, 9_999, 10_000]) avg.add(1, t);
    assert.ok(Math.abs(avg.value! - ONE_MINUS_1_OVER_E) < 1e-12, String(avg.value));
  });

  it('scales a step from any level and in either direction', () => {
    const avg = new TimeWeightedAverage(1000);
    avg.add(50, 0);
    avg.add(10, 1000); // 50 + (10 - 50)(1 - 1/e)
    assert.ok(Math.abs(avg.value! - (50 - 40 * ONE_MINUS_1_OVER_E)) < 1e-9);
  });

  it('gives a sample at the same instant (or earlier) no weight', () => {
    const avg = new TimeWeightedAverage(1000);
    avg.add(5, 100);
    avg.add(100, 100);
    assert.equal(avg.value, 5);
    avg.add(100, 50); // time went backwards: clamped to no time at all
    assert.equal(avg.value, 5);
  });

  it('all but forgets the past after many windows', () => {
    const avg = new TimeWeightedAverage(1000);
    avg.add(1000, 0);
    avg.add(3, 50_000);
    assert.ok(Math.abs(avg.value! - 3) < 1e-12);
  });

  it('holds a constant input constant', () => {
    const avg = new TimeWeightedAverage(30_000);
    for (let t = 0; t < 300_000; t += 1234) avg.add(7.25, t);
    assert.equal(avg.value, 7.25);
  });
});
