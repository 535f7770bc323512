import { InvalidInputError } from './errors.js';
import { quoteInput } from './render/printable.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)?$/;

/**
 * Parses a duration as users of ping tools write it: plain seconds with
 * decimals ("0.25", "2") or with a unit ("250ms", "1s", "2m", "1h", "90d").
 * Returns milliseconds.
 */
export function parseDurationMs(text: string, what = 'duration'): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new InvalidInputError(
      `invalid ${what} ${quoteInput(text)}: use seconds like 0.25 or a unit like 250ms, 1s, 2m`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new InvalidInputError(`invalid ${what} ${quoteInput(text)}: must be greater than zero`);
  }
  return ms;
}

/** Parses and checks bounds, so a typo like "1000" (seconds) is caught early. */
export function parseBoundedDurationMs(
  text: string,
  what: string,
  minMs: number,
  maxMs: number,
): number {
  const ms = parseDurationMs(text, what);
  if (ms < minMs || ms > maxMs) {
    throw new InvalidInputError(
      `invalid ${what} ${quoteInput(text)}: must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`,
    );
  }
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${+ms.toFixed(3)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(3)}s`;
  return `${+(ms / 60_000).toFixed(3)}m`;
}

/**
 * A retention (`--history-minutes 48h`): "0" turns it off, anything else
 * is a duration of at least one period and at most `maxMs`. Returns whole
 * periods of `periodMs` (rounded down).
 */
export function parseRetentionPeriods(
  text: string,
  what: string,
  periodMs: number,
  maxMs: number,
): number {
  if (text.trim() === '0') return 0;
  return Math.floor(parseBoundedDurationMs(text, what, periodMs, maxMs) / periodMs);
}
