// What a stop signal asks for (daemon/stop-signals.ts), on an injected clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPEAT_SIGNAL_GAP_MS, StopSignals } from '../../daemon/stop-signals.js';

function clocked(): { signals: StopSignals; at: (ms: number) => void } {
  let now = 5_000;
  return { signals: new StopSignals(() => now), at: (ms) => (now = ms) };
}

describe('stop signals', () => {
  it('the first starts a stop; nothing is stopping before it', () => {
    const { signals } = clocked();
    assert.equal(signals.stopping, false);
    assert.equal(signals.take(), 'stop');
    assert.equal(signals.stopping, true);
  });

  it('a repeat that comes with the first is the same stop, however many there are', () => {
    const { signals, at } = clocked();
    signals.take();
    for (const ms of [5_000, 5_001, 5_000 + REPEAT_SIGNAL_GAP_MS - 1]) {
      at(ms);
      assert.equal(signals.take(), 'repeat', `at +${ms - 5_000} ms`);
    }
  });

  it('a signal a gap or more after the first exits at once', () => {
    const { signals, at } = clocked();
    signals.take();
    at(5_000 + REPEAT_SIGNAL_GAP_MS);
    assert.equal(signals.take(), 'exit-now');
  });

  it('a clock that goes back does not hold off the exit', () => {
    const { signals, at } = clocked();
    signals.take();
    at(4_000);
    assert.equal(signals.take(), 'exit-now');
  });
});
