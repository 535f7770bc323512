// One followed name's state, and what one lookup's outcome does to it: the
// addresses probed, when to look again, and how long it has failed. Pure:
// the clock and the randomness come in.

import { canonicalAddress } from '../address.js';
import { ageText } from '../render/name-status.js';
import { diffAddresses, type AddressDiff } from './address-diff.js';
import { clampTtlMs, jitteredMs, retryDelayMs, SYSTEM_REFRESH_MS, type DnsTiming } from './ttl.js';

/** How a lookup ended, as netping_dns_lookups_total{result} counts it. */
export type LookupResult =
  | 'ok' // answered by the DNS server, with TTLs
  | 'system' // not in DNS, found by the system lookup (/etc/hosts): no TTL
  | 'nxdomain' // the name does not exist
  | 'nodata' // the name exists without A or AAAA records
  | 'timeout'
  | 'refused' // the server refused, or nothing listens there
  | 'servfail'
  | 'error';

export const LOOKUP_RESULTS: readonly LookupResult[] = [
  'ok',
  'system',
  'nxdomain',
  'nodata',
  'timeout',
  'refused',
  'servfail',
  'error',
];

export type LookupOutcome =
  | {
      readonly result: 'ok' | 'system';
      readonly addresses: readonly string[];
      /** The smallest TTL of the records, in seconds; undefined for the system lookup. */
      readonly ttlSeconds?: number;
    }
  | { readonly result: Exclude<LookupResult, 'ok' | 'system'>; readonly message: string };

export interface HostState {
  /** Canonical and sorted: the addresses probed now. */
  readonly addresses: readonly string[];
  /** When the addresses were last confirmed by a good lookup. */
  readonly okAtMs?: number;
  /** The first failure of the failures in a row; undefined after a good lookup. */
  readonly failingSinceMs?: number;
  readonly failures: number;
  /** The first NXDOMAIN (or no-data) answer of those in a row. */
  readonly goneSinceMs?: number;
  readonly lastResult?: LookupResult;
  readonly lastError?: string;
  /** The name said it had no addresses for --dns-forget: what it had is retired. */
  readonly forgotten: boolean;
}

export const NEW_HOST: HostState = { addresses: [], failures: 0, forgotten: false };

export interface HostStep extends AddressDiff {
  readonly state: HostState;
  /** When to look the name up again, from now. */
  readonly delayMs: number;
}

export function stepHost(
  prev: HostState,
  outcome: LookupOutcome,
  nowMs: number,
  timing: DnsTiming,
  random: () => number,
): HostStep {
  if (!('message' in outcome)) {
    const addresses = [...new Set(outcome.addresses.map(canonicalAddress))].sort();
    const ttlMs =
      outcome.ttlSeconds === undefined
        ? clampTtlMs(SYSTEM_REFRESH_MS / 1000, timing)
        : clampTtlMs(outcome.ttlSeconds, timing);
    const state: HostState = {
      addresses,
      okAtMs: nowMs,
      failures: 0,
      lastResult: outcome.result,
      forgotten: false,
    };
    return {
      state,
      delayMs: jitteredMs(ttlMs, random),
      ...diffAddresses(prev.addresses, addresses),
    };
  }
  const failures = prev.failures + 1;
  const gone = outcome.result === 'nxdomain' || outcome.result === 'nodata';
  // Only answers in a row that the name is gone count towards forgetting it:
  // a timeout between them says nothing about the name.
  const goneSinceMs = gone ? (prev.goneSinceMs ?? nowMs) : undefined;
  const forget = goneSinceMs !== undefined && nowMs - goneSinceMs >= timing.forgetMs;
  const addresses = forget ? [] : prev.addresses;
  const state: HostState = {
    addresses,
    ...(prev.okAtMs === undefined ? {} : { okAtMs: prev.okAtMs }),
    failingSinceMs: prev.failingSinceMs ?? nowMs,
    failures,
    ...(goneSinceMs === undefined ? {} : { goneSinceMs }),
    lastResult: outcome.result,
    lastError: outcome.message,
    forgotten: forget || (prev.forgotten && gone),
  };
  return {
    state,
    delayMs: jitteredMs(retryDelayMs(failures, timing), random),
    ...diffAddresses(prev.addresses, addresses),
  };
}

/**
 * What an error row says of a name probed at no address, or undefined while
 * it has addresses (or has not been looked up yet).
 */
export function hostProblem(host: string, s: HostState, nowMs: number): string | undefined {
  if (s.addresses.length > 0 || s.lastResult === undefined) return undefined;
  const since = s.goneSinceMs ?? s.failingSinceMs;
  const age = since === undefined ? '' : ` for ${ageText(nowMs - since)}`;
  if (s.forgotten) return `${host}: ${s.lastResult}${age}, its addresses retired (--dns-forget)`;
  return `${host}: not resolved: ${s.lastResult}${age}${s.lastError ? ` (${s.lastError})` : ''}`;
}
