// netpingd's command line and environment, validated into one config.

import { Command, CommanderError, Option } from 'commander';
import { parseBoundedDurationMs } from '../lib/duration.js';
import { InvalidInputError } from '../lib/errors.js';
import { DEFAULT_PAYLOAD_BYTES, MIN_PAYLOAD_BYTES } from '../lib/icmp/packet.js';
import { parseListen, type ListenAddress } from '../lib/listen.js';
import { keysFor, type Keys } from '../lib/store/keys.js';
import { VERSION } from '../lib/version.js';

export interface DaemonConfig {
  redisUrl: string;
  keys: Keys;
  listen: ListenAddress;
  intervalMs: number;
  timeoutMs: number;
  resyncMs: number;
  payloadBytes: number;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

interface RawOptions {
  redis: string;
  prefix: string;
  listen: string;
  interval: string;
  timeout: string;
  resync: string;
  payloadSize: string;
}

/** Parses argv (node, script, ...args) and NETPING_* variables; throws InvalidInputError, or CommanderError for --help/--version. */
export function parseDaemonArgs(argv: readonly string[]): DaemonConfig {
  const program = new Command('netpingd')
    .description(
      'Pings every target in a Redis set, live; serves a table at / and Prometheus metrics at /metrics.',
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .addOption(
      opt(
        '--redis <url>',
        'Redis URL (redis://, rediss://, with password and db)',
        'NETPING_REDIS_URL',
        DEFAULT_REDIS_URL,
      ),
    )
    .addOption(
      opt(
        '--prefix <prefix>',
        'prefix of every Redis key and channel',
        'NETPING_PREFIX',
        'netping',
      ),
    )
    .addOption(
      opt(
        '--listen <address>',
        'HTTP listen address: PORT, HOST:PORT or [IPV6]:PORT',
        'NETPING_LISTEN',
        '9922',
      ),
    )
    .addOption(
      opt(
        '--interval <duration>',
        'time between probes of a target (0.25, 250ms, 1s, 2m)',
        'NETPING_INTERVAL',
        '1s',
      ),
    )
    .addOption(
      opt(
        '--timeout <duration>',
        'a reply later than this is lost (and counted late)',
        'NETPING_TIMEOUT',
        '1s',
      ),
    )
    .addOption(
      opt('--resync <duration>', 're-read the whole target set this often', 'NETPING_RESYNC', '5s'),
    )
    .addOption(
      opt(
        '--payload-size <bytes>',
        `ICMP payload bytes (${MIN_PAYLOAD_BYTES}-1400)`,
        'NETPING_PAYLOAD_SIZE',
        String(DEFAULT_PAYLOAD_BYTES),
      ),
    );
  try {
    program.parse([...argv], { from: 'node' });
  } catch (err) {
    if (
      err instanceof CommanderError &&
      (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
    )
      throw err;
    if (err instanceof CommanderError)
      throw new InvalidInputError(err.message.replace(/^error: /, ''));
    throw err;
  }
  const o = program.opts<RawOptions>();
  const payloadBytes = Number(o.payloadSize);
  if (!Number.isInteger(payloadBytes) || payloadBytes < MIN_PAYLOAD_BYTES || payloadBytes > 1400) {
    throw new InvalidInputError(
      `invalid payload size '${o.payloadSize}': a whole number from ${MIN_PAYLOAD_BYTES} to 1400`,
    );
  }
  return {
    redisUrl: validateRedisUrl(o.redis),
    keys: keysFor(o.prefix),
    listen: parseListen(o.listen),
    intervalMs: parseBoundedDurationMs(o.interval, 'interval', 10, 3_600_000),
    timeoutMs: parseBoundedDurationMs(o.timeout, 'timeout', 1, 60_000),
    resyncMs: parseBoundedDurationMs(o.resync, 'resync period', 100, 3_600_000),
    payloadBytes,
  };
}

function opt(flags: string, description: string, envName: string, fallback: string): Option {
  return new Option(flags, description).env(envName).default(fallback);
}

export function validateRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(
      `invalid Redis URL '${url}': expected redis://[user:password@]host[:port][/db]`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidInputError(
      `invalid Redis URL '${url}': the scheme must be redis:// or rediss://`,
    );
  }
  return url;
}
