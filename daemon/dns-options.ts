// netpingd's flags for the names it follows in DNS (name@host members).

import { Option, type Command } from 'commander';
import type { PacerLimits } from '../lib/dns/lookup-pacer.js';
import type { DnsTiming } from '../lib/dns/ttl.js';
import { parseBoundedDurationMs } from '../lib/duration.js';
import { InvalidInputError } from '../lib/errors.js';
import { checkDnsServers } from '../lib/resolve.js';

export interface DnsConfig {
  /** undefined: the servers of /etc/resolv.conf. */
  readonly servers: readonly string[] | undefined;
  readonly timing: DnsTiming;
  readonly limits: PacerLimits;
}

export interface RawDnsOptions {
  dnsServer?: string;
  dnsMinTtl: string;
  dnsMaxTtl: string;
  dnsForget: string;
  dnsRate: string;
}

// Lookups in flight at once: enough for a fast server at the default rate,
// few enough that a dead one (2 tries of 2 s) holds little.
const MAX_LOOKUPS_IN_FLIGHT = 32;

export function addDnsOptions(program: Command): Command {
  const opt = (flags: string, description: string, env: string, fallback?: string): Option => {
    const o = new Option(flags, description).env(env);
    return fallback === undefined ? o : o.default(fallback);
  };
  return program
    .addOption(
      opt(
        '--dns-server <servers>',
        'look names up at these servers (ADDRESS, ADDRESS:PORT or [IPV6]:PORT, comma-separated); default: /etc/resolv.conf',
        'NETPING_DNS_SERVER',
      ),
    )
    .addOption(
      opt(
        '--dns-min-ttl <duration>',
        'look a name up again no sooner than this, whatever its TTL',
        'NETPING_DNS_MIN_TTL',
        '5s',
      ),
    )
    .addOption(
      opt(
        '--dns-max-ttl <duration>',
        'look a name up again at least this often, whatever its TTL',
        'NETPING_DNS_MAX_TTL',
        '1h',
      ),
    )
    .addOption(
      opt(
        '--dns-forget <duration>',
        'retire the addresses of a name that has answered NXDOMAIN (or no addresses) for this long',
        'NETPING_DNS_FORGET',
        '1h',
      ),
    )
    .addOption(
      opt(
        '--dns-rate <n>',
        'send at most this many DNS queries a second (a name is two: A and AAAA)',
        'NETPING_DNS_RATE',
        '200',
      ),
    );
}

export function dnsConfig(o: RawDnsOptions): DnsConfig {
  const minTtlMs = parseBoundedDurationMs(o.dnsMinTtl, 'dns-min-ttl', 100, 86_400_000);
  const maxTtlMs = parseBoundedDurationMs(o.dnsMaxTtl, 'dns-max-ttl', 100, 7 * 86_400_000);
  if (maxTtlMs < minTtlMs) {
    throw new InvalidInputError(
      `invalid dns-max-ttl ${maxTtlMs} ms: below dns-min-ttl (${minTtlMs} ms)`,
    );
  }
  const rate = Number(o.dnsRate);
  if (!/^\d+$/.test(o.dnsRate) || rate < 1 || rate > 100_000) {
    throw new InvalidInputError(
      `invalid dns-rate '${o.dnsRate.slice(0, 40)}': a whole number from 1 to 100000`,
    );
  }
  // Empty means unset, as for the other variables.
  const servers =
    o.dnsServer === undefined || o.dnsServer.trim() === ''
      ? undefined
      : checkDnsServers(o.dnsServer.split(',').map((s) => s.trim()));
  return {
    servers,
    timing: {
      minTtlMs,
      maxTtlMs,
      forgetMs: parseBoundedDurationMs(o.dnsForget, 'dns-forget', 100, 30 * 86_400_000),
    },
    limits: { queriesPerS: rate, maxInFlight: MAX_LOOKUPS_IN_FLIGHT },
  };
}
