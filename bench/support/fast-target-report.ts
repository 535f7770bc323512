// What the benchmarks with a fast target beside N loopback targets share
// (scrape-load.ts, target-notices.ts): whole-number options, fping on the
// same targets in the same run, and the lines that report the reference and
// netpingd's event loop.

import { loopback, type LoopDelay } from '../../test/support/scrape-load.js';
import { FpingAlongside, type FastTargetFigures } from './fping-alongside.js';

/** The fast target's interval: 10 ms, in netpingd and in fping. */
export const FAST_INTERVAL_MS = 10;

export type { FastTargetFigures };

/** Reads a whole-number option within [min, max]; out of range, says so and exits 2. */
export function wholeNumber(
  tool: string,
): (name: string, text: string, min: number, max: number) => number {
  return (name, text, min, max) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      console.error(`${tool}: --${name} must be a whole number from ${min} to ${max}`);
      process.exit(2);
    }
    return n;
  };
}

/** fping on netpingd's `targets` loopback targets and on the fast one, if asked for. */
export function fpingAlongside(
  wanted: boolean | undefined,
  dir: string,
  targets: number,
): FpingAlongside | undefined {
  if (!wanted) return undefined;
  return new FpingAlongside({
    dir,
    bulk: Array.from({ length: targets }, (_, i) => loopback(i)),
    fast: '127.0.0.1',
    fastIntervalMs: FAST_INTERVAL_MS,
  });
}

export const fixed = (n: number | undefined, digits = 1): string =>
  n === undefined ? '-' : n.toFixed(digits);

/** The reference's line (if fping ran) and netpingd's loop-delay line. */
export function printReferenceAndLoop(fping: FastTargetFigures | undefined, loop: LoopDelay): void {
  const f = fixed;
  if (fping) {
    const p = fping;
    console.log(
      `fping    10 ms target: ${p.sent} of ${p.due} probes due (${f((100 * p.sent) / p.due)} %), ` +
        `${p.sent - p.received} lost, max RTT ${f(p.maxRttMs, 3)} ms (same run, ${f(p.seconds)} s)`,
    );
  }
  const d = loop;
  console.log(
    `netpingd event-loop delay beyond a 1 ms tick: p50 ${f(d.p50Ms, 2)} ms, p99 ${f(d.p99Ms, 2)} ms, ` +
      `p99.9 ${f(d.p999Ms, 2)} ms, max ${f(d.maxMs, 2)} ms (${d.samples} ticks)`,
  );
}
