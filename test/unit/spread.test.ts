import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { firstDueMs, SlotAllocator, vanDerCorput } from '../../lib/engine/spread.js';

/** The largest gap between neighbouring phases on the circle [0, 1). */
function maxGap(phases: number[]): number {
  const sorted = [...phases].sort((a, b) => a - b);
  let gap = 1 - sorted.at(-1)! + sorted[0]!; // around the wrap
  for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i]! - sorted[i - 1]!);
  return gap;
}

describe('vanDerCorput', () => {
  it('starts 0, 1/2, 1/4, 3/4, 1/8, 5/8, 3/8, 7/8, 1/16', () => {
    const first = Array.from({ length: 9 }, (_, k) => vanDerCorput(k));
    assert.deepEqual(first, [0, 0.5, 0.25, 0.75, 0.125, 0.625, 0.375, 0.875, 0.0625]);
  });

  it('reverses the binary digits of k', () => {
    assert.equal(vanDerCorput(0b1011), 0b1101 / 16);
    assert.equal(vanDerCorput(1023), 1023 / 1024);
    assert.equal(vanDerCorput(2 ** 20), 2 ** -21);
  });

  it('stays in [0, 1) and never repeats among the first 4096', () => {
    const seen = new Set<number>();
    for (let k = 0; k < 4096; k++) {
      const v = vanDerCorput(k);
      assert.ok(v >= 0 && v < 1, `vdc(${k}) = ${v}`);
      seen.add(v);
    }
    assert.equal(seen.size, 4096);
  });

  it('leaves no gap larger than 2/n among the first n phases, n up to 1000', () => {
    const phases: number[] = [];
    for (let n = 1; n <= 1000; n++) {
      phases.push(vanDerCorput(n - 1));
      const gap = maxGap(phases);
      assert.ok(gap <= 2 / n, `n=${n}: gap ${gap} > ${2 / n}`);
    }
    assert.equal(maxGap(phases.slice(0, 512)), 1 / 512, 'a power of two is perfectly even');
  });
});

describe('SlotAllocator', () => {
  it('hands out 0, 1, 2, ... while nothing is freed', () => {
    const a = new SlotAllocator();
    assert.deepEqual([a.allocate(), a.allocate(), a.allocate(), a.allocate()], [0, 1, 2, 3]);
  });

  it('reuses the smallest freed slot first, whatever order they were freed in', () => {
    const a = new SlotAllocator();
    for (let i = 0; i < 6; i++) a.allocate();
    a.release(4);
    a.release(1);
    a.release(3);
    assert.deepEqual([a.allocate(), a.allocate(), a.allocate()], [1, 3, 4]);
    assert.equal(a.allocate(), 6, 'then carries on after the highest ever handed out');
  });

  it('keeps slots dense as targets come and go', () => {
    const a = new SlotAllocator();
    const used = new Set<number>();
    for (let i = 0; i < 10; i++) used.add(a.allocate());
    for (const s of [9, 0, 5]) {
      a.release(s);
      used.delete(s);
    }
    used.add(a.allocate());
    used.add(a.allocate());
    assert.deepEqual(
      [...used].sort((x, y) => x - y),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    );
  });
});

describe('firstDueMs', () => {
  it('is the phase offset itself when that is not yet past', () => {
    assert.equal(firstDueMs(1000, 1000, 1000, 0), 1000);
    assert.equal(firstDueMs(1000, 1000, 1000, 0.5), 1500);
    assert.equal(firstDueMs(1000, 1200, 1000, 0.25), 1250);
  });

  it('is the phase offset exactly when now is on it', () => {
    assert.equal(firstDueMs(1000, 1500, 1000, 0.5), 1500);
    assert.equal(firstDueMs(1000, 2500, 1000, 0.5), 2500);
  });

  it('is the next point on the grid once the offset is past', () => {
    assert.equal(firstDueMs(1000, 1600, 1000, 0.5), 2500);
    assert.equal(firstDueMs(1000, 2500.001, 1000, 0.5), 3500);
    assert.equal(firstDueMs(0, 10_001, 1000, 0), 11_000);
    assert.equal(firstDueMs(0, 123_456, 30_000, 0.75), 142_500);
  });

  it('never returns a time before now, and stays on the grid', () => {
    for (let now = 0; now < 5000; now += 37) {
      const due = firstDueMs(100, now, 250, 0.375);
      assert.ok(due >= now && due < now + 250, `now ${now}: ${due}`);
      assert.equal((due - 100 - 0.375 * 250) % 250, 0);
    }
  });
});
