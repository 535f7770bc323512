// The one budget per turn of the loop (lib/slicing.ts): however many jobs are
// sliced at once, a turn runs about a budget's worth of their work, and the
// loop's own timers and I/O come between turns.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { runSliced, slicedChunks, TurnBudget } from '../../lib/slicing.js';

/** Counts turns of the event loop: a setImmediate that queues itself runs once per turn. */
function loopTurns(): { readonly now: () => number; stop: () => void } {
  let turn = 0;
  let on = true;
  const tick = (): void => {
    turn++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return { now: () => turn, stop: () => (on = false) };
}

/** The most pieces of work that ran within one turn of the loop. */
function mostPerTurn(turnsOfPieces: readonly number[]): number {
  const perTurn = new Map<number, number>();
  for (const t of turnsOfPieces) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
  return Math.max(...perTurn.values());
}

describe('sliced work', () => {
  it('sixteen jobs at once run about one budget of work per turn, not sixteen', async () => {
    // Pieces of real work of at least 0.2 ms each: a budget of 1 ms holds
    // about five. With a budget per job (before), the sixteen jobs all
    // resumed in the same turn and ran about eighty pieces in it.
    const turns = loopTurns();
    const seen: number[] = [];
    function* job(): Generator<void> {
      for (let k = 0; k < 15; k++) {
        const until = performance.now() + 0.2;
        while (performance.now() < until); // the piece's work
        seen.push(turns.now());
        yield;
      }
    }
    await Promise.all(Array.from({ length: 16 }, () => runSliced(job())));
    turns.stop();
    assert.equal(seen.length, 16 * 15);
    // A slow machine makes pieces longer, so fewer fit in a turn, never more.
    const most = mostPerTurn(seen);
    assert.ok(most <= 8, `${most} pieces of 0.2 ms ran in one turn`);
  });

  it('shares one budget among jobs, first come first served, on an injected clock', async () => {
    let now = 0;
    const budget = new TurnBudget(1, () => now);
    const turns = loopTurns();
    const log: { job: number; turn: number }[] = [];
    function* job(id: number): Generator<void> {
      for (let k = 0; k < 8; k++) {
        now += 0.25; // each piece costs a quarter of the budget
        log.push({ job: id, turn: turns.now() });
        yield;
      }
    }
    await Promise.all([0, 1, 2].map((id) => runSliced(job(id), budget)));
    turns.stop();
    assert.equal(log.length, 24);
    // Four pieces a turn, whoever's they are: 24 pieces in six turns (and a
    // turn more for each job to find that its generator is done).
    assert.equal(new Set(log.map((x) => x.turn)).size, 6);
    assert.equal(budget.turns, 9);
    assert.equal(mostPerTurn(log.map((x) => x.turn)), 4);
    // Every job got work in early turns: none waited for another to finish.
    const firstTurnOf = [0, 1, 2].map((id) => log.find((x) => x.job === id)!.turn);
    const lastTurn = log.at(-1)!.turn;
    for (const t of firstTurnOf) assert.ok(t < lastTurn, `first turns ${firstTurnOf.join(', ')}`);
  });

  it('lets a timer in between turns while a job is long', async () => {
    let timerFiredAfter = -1;
    let pieces = 0;
    function* long(): Generator<void> {
      // About 40 ms of work in pieces of 0.02 ms (more on a slow machine).
      for (let k = 0; k < 2000; k++) {
        const until = performance.now() + 0.02;
        while (performance.now() < until);
        pieces++;
        yield;
      }
    }
    setTimeout(() => (timerFiredAfter = pieces), 5);
    await runSliced(long());
    assert.ok(
      timerFiredAfter >= 0 && timerFiredAfter < 2000,
      `the timer fired after ${timerFiredAfter} of 2000 pieces`,
    );
  });

  it('joins pieces into chunks of a turn each', async () => {
    let now = 0;
    const budget = new TurnBudget(1, () => now);
    function* pieces(): Generator<string> {
      for (let k = 0; k < 10; k++) {
        now += 0.5;
        yield String(k);
      }
    }
    const chunks: string[] = [];
    for await (const chunk of slicedChunks(pieces(), budget)) chunks.push(chunk);
    assert.deepEqual(chunks, ['01', '23', '45', '67', '89']);
  });
});
