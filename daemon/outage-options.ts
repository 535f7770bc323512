// The flags of outages and alerts (lib/outages/, lib/alerts/), kept apart
// from options.ts: --down-after, --up-after, --alertmanager, --quorum.

import { Option, type Command } from 'commander';
import { InvalidInputError } from '../lib/errors.js';
import { DEFAULT_OUTAGE_RULES, type OutageRules } from '../lib/outages/detector.js';
import { printable } from '../lib/render/printable.js';

export interface OutageConfig {
  readonly rules: OutageRules;
  /** Alertmanager base URLs (http://host:9093); empty: no alerts. */
  readonly alertmanagers: readonly string[];
  /** With --mesh: k of "down from k of n instances"; undefined: a majority, at least 2. */
  readonly quorum: number | undefined;
}

export interface RawOutageOptions {
  downAfter: string;
  upAfter: string;
  alertmanager: string[];
  quorum?: string;
}

export function addOutageOptions(program: Command): Command {
  return program
    .addOption(
      new Option('--down-after <n>', 'a target is down after this many lost probes in a row')
        .env('NETPING_DOWN_AFTER')
        .default(String(DEFAULT_OUTAGE_RULES.downAfter)),
    )
    .addOption(
      new Option(
        '--up-after <n>',
        'a target that is down is up again after this many answers in a row',
      )
        .env('NETPING_UP_AFTER')
        .default(String(DEFAULT_OUTAGE_RULES.upAfter)),
    )
    .addOption(
      new Option(
        '--alertmanager <url>',
        'post outages to this Alertmanager (API v2; repeatable; env NETPING_ALERTMANAGER=url,url)',
      )
        .argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v])
        .default([]),
    )
    .addOption(
      new Option(
        '--quorum <k>',
        'with --mesh: a target down from at least k instances is NetpingTargetDownEverywhere (default: a majority of those probing it, at least 2)',
      ).env('NETPING_QUORUM'),
    );
}

export function outageConfig(o: RawOutageOptions, env: NodeJS.ProcessEnv): OutageConfig {
  const fromEnv = (env.NETPING_ALERTMANAGER ?? '').split(/[\s,]+/).filter((u) => u !== '');
  const urls = o.alertmanager.length > 0 ? o.alertmanager : fromEnv;
  return {
    rules: {
      downAfter: count(o.downAfter, 'down-after count', 1, 1000),
      upAfter: count(o.upAfter, 'up-after count', 1, 1000),
    },
    alertmanagers: [...new Set(urls.map(alertmanagerUrl))],
    quorum:
      o.quorum === undefined || o.quorum === '' ? undefined : count(o.quorum, 'quorum', 1, 1000),
  };
}

function count(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new InvalidInputError(
      `invalid ${what} '${printable(text.slice(0, 20))}': a whole number from ${min} to ${max}`,
    );
  return n;
}

/** An Alertmanager's base URL: http(s), no query or fragment. */
export function alertmanagerUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (
    (url?.protocol !== 'http:' && url?.protocol !== 'https:') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new InvalidInputError(
      `invalid --alertmanager '${printable(text.slice(0, 200))}': expected http://HOST:PORT (Alertmanager's address, without /api/v2)`,
    );
  }
  return url.href.replace(/\/+$/, '');
}
