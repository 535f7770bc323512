// LimitedOrder: which keys are within --max-targets, in sorted order, and
// which keys each change moves across the limit.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitedOrder } from '../../lib/limited-order.js';
import { seededRandom } from '../support/prng.js';

describe('LimitedOrder', () => {
  it('says which keys an insert or a delete moves across the limit', () => {
    const order = new LimitedOrder(2);
    const moved = (f: (touched: Set<string>) => void): string[] => {
      const touched = new Set<string>();
      f(touched);
      return [...touched].sort();
    };
    assert.deepEqual(
      moved((t) => order.insert('c', t)),
      ['c'],
    );
    assert.deepEqual(
      moved((t) => order.insert('d', t)),
      ['d'],
    );
    assert.deepEqual(
      moved((t) => order.insert('a', t)),
      ['a', 'd'],
      'd pushed out',
    );
    assert.deepEqual(
      moved((t) => order.insert('a', t)),
      [],
      'already there',
    );
    assert.deepEqual(
      moved((t) => order.insert('e', t)),
      ['e'],
      'past the limit, moves nobody',
    );
    assert.ok(order.within('a') && order.within('c') && !order.within('d'));
    assert.deepEqual(order.overKeys(10), ['d', 'e']);
    assert.equal(order.over, 2);
    assert.deepEqual(
      moved((t) => order.delete('a', t)),
      ['a', 'd'],
      'd let in',
    );
    assert.deepEqual(
      moved((t) => order.delete('x', t)),
      [],
    );
    assert.deepEqual(
      moved((t) => order.delete('e', t)),
      ['e'],
    );
  });

  it('holds within the limit exactly the first keys in sorted order, after any changes', () => {
    const random = seededRandom(7);
    const order = new LimitedOrder(5);
    const held = new Set<string>();
    for (let step = 0; step < 500; step++) {
      const key = `k${Math.floor(random() * 20)}`;
      if (random() < 0.5) {
        order.insert(key, new Set());
        held.add(key);
      } else {
        order.delete(key, new Set());
        held.delete(key);
      }
      const first = [...held].sort().slice(0, 5);
      for (const k of held) assert.equal(order.within(k), first.includes(k), `step ${step}: ${k}`);
      assert.equal(order.size, held.size);
    }
  });
});
