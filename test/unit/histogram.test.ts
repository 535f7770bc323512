import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BUCKET_BOUNDS_SECONDS as BOUNDS,
  BUCKETS_PER_DOUBLING,
  bucketIndex,
  LatencyHistogram,
} from '../../lib/stats/histogram.js';
import { seededRandom } from '../support/prng.js';

const bound = (i: number): number => {
  const b = BOUNDS[i];
  assert.ok(b !== undefined, `no bound ${i}`);
  return b;
};
const LAST = BOUNDS.length - 1;

describe('BUCKET_BOUNDS_SECONDS', () => {
  it('has 8 buckets per doubling from about 10 µs to 64 s', () => {
    assert.equal(BUCKETS_PER_DOUBLING, 8);
    assert.equal(BOUNDS.length, 182); // exponents -133..48
    assert.ok(bound(0) > 9.5e-6 && bound(0) < 10.5e-6, `first bound ${bound(0)}`);
    assert.equal(bound(0), 9.894e-6); // 2^(-133/8) to 4 significant digits
    assert.equal(bound(LAST), 64);
    assert.equal(bound(LAST - 8), 32);
    assert.equal(bound(LAST - 48), 1);
  });

  it('is strictly increasing, about 2^(1/8) apart', () => {
    for (let i = 1; i < BOUNDS.length; i++) {
      const ratio = bound(i) / bound(i - 1);
      assert.ok(ratio > 1, `bound ${i} ${bound(i)} <= ${bound(i - 1)}`);
      assert.ok(Math.abs(ratio - 2 ** (1 / 8)) < 0.002, `ratio at ${i}: ${ratio}`);
    }
  });

  it('prints every bound differently and with at most 4 significant digits', () => {
    const printed = BOUNDS.map(String);
    assert.equal(new Set(printed).size, BOUNDS.length);
    for (const b of BOUNDS) {
      assert.equal(Number(b.toPrecision(4)), b);
      assert.equal(Number(String(b)), b); // what /metrics prints parses back to the bound
    }
  });

  it('is frozen', () => {
    assert.ok(Object.isFrozen(BOUNDS));
  });
});

describe('bucketIndex', () => {
  it('puts a value exactly on a bound into that bound’s bucket', () => {
    for (let i = 0; i < BOUNDS.length; i++) assert.equal(bucketIndex(bound(i)), i, `bound ${i}`);
  });

  it('puts a value just above a bound into the next bucket', () => {
    for (let i = 0; i < BOUNDS.length; i++) {
      const above = bound(i) * (1 + 1e-12);
      assert.equal(bucketIndex(above), i + 1, `just above bound ${i} (${bound(i)})`);
    }
  });

  it('puts a value just below a bound into that bound’s bucket', () => {
    for (let i = 1; i < BOUNDS.length; i++) {
      assert.equal(bucketIndex(bound(i) * (1 - 1e-12)), i, `just below bound ${i}`);
      assert.equal(bucketIndex((bound(i - 1) + bound(i)) / 2), i, `between ${i - 1} and ${i}`);
    }
  });

  it('puts zero, negatives, tiny values and NaN into bucket 0', () => {
    for (const v of [0, -0, -1, -Infinity, 1e-300, 5e-6, bound(0) / 2, NaN]) {
      assert.equal(bucketIndex(v), 0, String(v));
    }
  });

  it('puts anything above 64 s into the +Inf index', () => {
    for (const v of [64.000001, 65, 1e6, 1e300, Infinity]) {
      assert.equal(bucketIndex(v), BOUNDS.length, String(v));
    }
  });

  it('agrees with a linear scan on random values', () => {
    const random = seededRandom(7);
    for (let n = 0; n < 5000; n++) {
      const v = 2 ** (random() * 28 - 18); // 4 µs .. 1024 s
      const expected = BOUNDS.findIndex((b) => v <= b);
      assert.equal(bucketIndex(v), expected < 0 ? BOUNDS.length : expected, String(v));
    }
  });
});

describe('LatencyHistogram.snapshot', () => {
  it('exports nothing when empty', () => {
    assert.deepEqual(new LatencyHistogram().snapshot(), {
      bounds: [],
      cumulative: [],
      count: 0,
      sumSeconds: 0,
    });
  });

  it('exports a non-empty bucket with its lower neighbour, counts cumulative', () => {
    const h = new LatencyHistogram();
    h.observe(bound(100));
    h.observe(bound(100) * 0.99);
    h.observe(bound(120));
    assert.deepEqual(h.snapshot().bounds, [bound(99), bound(100), bound(119), bound(120)]);
    assert.deepEqual(h.snapshot().cumulative, [0, 2, 2, 3]);
    assert.equal(h.count, 3);
    assert.ok(Math.abs(h.sumSeconds - (bound(100) * 1.99 + bound(120))) < 1e-12);
  });

  it('does not repeat a bound when neighbours are both non-empty', () => {
    const h = new LatencyHistogram();
    h.observe(bound(10));
    h.observe(bound(11));
    h.observe(bound(11));
    h.observe(bound(13));
    const s = h.snapshot();
    assert.deepEqual(s.bounds, [bound(9), bound(10), bound(11), bound(12), bound(13)]);
    assert.deepEqual(s.cumulative, [0, 1, 3, 3, 4]);
  });

  it('exports bucket 0 alone: it has no lower neighbour', () => {
    const h = new LatencyHistogram();
    h.observe(0);
    h.observe(-1);
    assert.deepEqual(h.snapshot(), {
      bounds: [bound(0)],
      cumulative: [2],
      count: 2,
      sumSeconds: -1,
    });
  });

  it('exports the highest bucket and its neighbour', () => {
    const h = new LatencyHistogram();
    h.observe(64);
    assert.deepEqual(h.snapshot().bounds, [bound(LAST - 1), 64]);
    assert.deepEqual(h.snapshot().cumulative, [0, 1]);
  });

  it('exports the lower neighbour (64 s) of the +Inf bucket', () => {
    // +Inf is a bucket like the others: without le="64" its lower edge is unknown.
    const h = new LatencyHistogram();
    h.observe(100);
    const s = h.snapshot();
    assert.equal(s.count, 1);
    assert.deepEqual(s.bounds, [64]);
    assert.deepEqual(s.cumulative, [0]);
  });

  it('keeps a bucket once exported, with counts that never decrease', () => {
    const random = seededRandom(42);
    const h = new LatencyHistogram();
    let previous = new Map<number, number>();
    for (let n = 0; n < 2000; n++) {
      h.observe(2 ** (random() * 20 - 15)); // 30 µs .. 32 s
      const s = h.snapshot();
      assert.equal(s.bounds.length, s.cumulative.length);
      const now = new Map(s.bounds.map((b, i) => [b, s.cumulative[i]!]));
      for (const [b, c] of previous) {
        const c2 = now.get(b);
        assert.ok(c2 !== undefined, `bound ${b} was exported, then dropped`);
        assert.ok(c2 >= c, `cumulative at ${b} went from ${c} to ${c2}`);
      }
      for (let i = 1; i < s.bounds.length; i++) {
        assert.ok(s.bounds[i]! > s.bounds[i - 1]!, 'bounds ascend');
        assert.ok(s.cumulative[i]! >= s.cumulative[i - 1]!, 'cumulative ascends');
      }
      assert.ok(s.cumulative.at(-1)! <= s.count);
      previous = now;
    }
    assert.equal(h.count, 2000);
  });

  it('returns a copy that later observations do not change', () => {
    const h = new LatencyHistogram();
    h.observe(0.01);
    const s = h.snapshot();
    h.observe(0.01);
    h.observe(1);
    assert.deepEqual(s.cumulative, [0, 1]);
    assert.equal(s.count, 1);
  });
});
