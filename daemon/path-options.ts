// The flags of path tracing (lib/path/, daemon/path-keeper.ts), kept apart
// from options.ts: --path-interval, --path-max-hops.

import { Option, type Command } from 'commander';
import { parseBoundedDurationMs } from '../lib/duration.js';
import { InvalidInputError } from '../lib/errors.js';
import { printable } from '../lib/render/printable.js';

export interface PathConfig {
  /** How often each icmp target's path is traced; 0: never (npcli path still traces on demand). */
  readonly intervalMs: number;
  readonly maxHops: number;
}

export interface RawPathOptions {
  pathInterval: string;
  pathMaxHops: string;
}

export function addPathOptions(program: Command): Command {
  return program
    .addOption(
      new Option(
        '--path-interval <duration>',
        "trace each icmp target's path this often, spread over the interval (0: never)",
      )
        .env('NETPING_PATH_INTERVAL')
        .default('15m'),
    )
    .addOption(
      new Option('--path-max-hops <n>', 'trace at most this many hops')
        .env('NETPING_PATH_MAX_HOPS')
        .default('30'),
    );
}

export function pathConfig(o: RawPathOptions): PathConfig {
  const hops = Number(o.pathMaxHops);
  if (!/^\d+$/.test(o.pathMaxHops) || hops < 1 || hops > 64)
    throw new InvalidInputError(
      `invalid path max hops '${printable(o.pathMaxHops.slice(0, 20))}': a whole number from 1 to 64`,
    );
  const intervalMs =
    o.pathInterval.trim() === '0'
      ? 0
      : parseBoundedDurationMs(o.pathInterval, 'path interval', 1000, 7 * 86_400_000);
  return { intervalMs, maxHops: hops };
}
