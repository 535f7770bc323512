// The flags of history retention (lib/history/retention.ts), kept apart
// from options.ts: --history-minutes, --history-hours.

import { Option, type Command } from 'commander';
import { parseRetentionPeriods } from '../lib/duration.js';
import type { HistoryRetention } from '../lib/history/retention.js';

export interface RawHistoryOptions {
  historyMinutes: string;
  historyHours: string;
}

const DAY_MS = 86_400_000;
// Minute records are a chunk (a file, a Redis hash) an hour: a month of them is 720.
const MAX_MINUTES_MS = 31 * DAY_MS;
const MAX_HOURS_MS = 3660 * DAY_MS;

export function addHistoryOptions(program: Command): Command {
  return program
    .addOption(
      new Option(
        '--history-minutes <duration>',
        'keep a record per target and minute this long (0: none; at most 31d)',
      )
        .env('NETPING_HISTORY_MINUTES')
        .default('48h'),
    )
    .addOption(
      new Option(
        '--history-hours <duration>',
        'keep a record per target and hour this long (0: none; at most 3660d)',
      )
        .env('NETPING_HISTORY_HOURS')
        .default('90d'),
    );
}

export function historyRetention(o: RawHistoryOptions): HistoryRetention {
  return {
    minutes: parseRetentionPeriods(o.historyMinutes, 'history minutes', 60_000, MAX_MINUTES_MS),
    hours: parseRetentionPeriods(o.historyHours, 'history hours', 3_600_000, MAX_HOURS_MS),
  };
}
