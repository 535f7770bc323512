import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimerQueue } from '../../lib/engine/timer-queue.js';
import { seededRandom } from '../support/prng.js';

function drain<T>(q: TimerQueue<T>, nowMs = Infinity): T[] {
  const out: T[] = [];
  for (let item = q.popDue(nowMs); item !== undefined; item = q.popDue(nowMs)) out.push(item);
  return out;
}

describe('TimerQueue', () => {
  it('is empty to begin with', () => {
    const q = new TimerQueue<string>();
    assert.equal(q.size, 0);
    assert.equal(q.peekDueMs(), undefined);
    assert.equal(q.popDue(Infinity), undefined);
  });

  it('pops events in due order', () => {
    const q = new TimerQueue<string>();
    q.push(30, 'c');
    q.push(10, 'a');
    q.push(40, 'd');
    q.push(20, 'b');
    assert.equal(q.size, 4);
    assert.equal(q.peekDueMs(), 10);
    assert.deepEqual(drain(q), ['a', 'b', 'c', 'd']);
    assert.equal(q.size, 0);
  });

  it('pops events due at the same time in insertion order', () => {
    const q = new TimerQueue<string>();
    q.push(5, 'first');
    q.push(5, 'second');
    q.push(3, 'early');
    q.push(5, 'third');
    q.push(7, 'late');
    q.push(5, 'fourth');
    assert.deepEqual(drain(q), ['early', 'first', 'second', 'third', 'fourth', 'late']);
  });

  it('pops only what is due at or before now', () => {
    const q = new TimerQueue<string>();
    q.push(10, 'x');
    q.push(20, 'y');
    assert.equal(q.popDue(9.999), undefined);
    assert.equal(q.size, 2, 'nothing removed by an early look');
    assert.equal(q.popDue(10), 'x');
    assert.equal(q.popDue(19), undefined);
    assert.equal(q.peekDueMs(), 20);
    assert.deepEqual(drain(q, 25), ['y']);
  });

  it('keeps order with pushes between pops', () => {
    const q = new TimerQueue<number>();
    q.push(100, 100);
    q.push(50, 50);
    assert.equal(q.popDue(60), 50);
    q.push(70, 70);
    q.push(100, 101); // ties with the earlier 100: after it
    q.push(60, 60);
    assert.deepEqual(drain(q, 100), [60, 70, 100, 101]);
  });

  it('returns falsy items such as 0', () => {
    const q = new TimerQueue<number>();
    q.push(1, 0);
    q.push(2, 0);
    assert.equal(q.popDue(5), 0);
    assert.equal(q.size, 1);
  });

  it('orders thousands of random events by (due, insertion)', () => {
    const random = seededRandom(1234);
    const q = new TimerQueue<{ due: number; order: number }>();
    const all: { due: number; order: number }[] = [];
    for (let order = 0; order < 5000; order++) {
      const due = Math.floor(random() * 200); // many ties
      const item = { due, order };
      all.push(item);
      q.push(due, item);
    }
    const expected = [...all].sort((a, b) => a.due - b.due || a.order - b.order);
    const half = drain(q, 99);
    assert.ok(half.every((e) => e.due <= 99));
    assert.deepEqual([...half, ...drain(q)], expected);
  });
});
