import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import { canonicalAddress } from './address.js';
import type { LookupOutcome, LookupResult } from './dns/host-state.js';
import { InvalidInputError, ResolveError } from './errors.js';
import { makeTarget, parseTargetRequest, withOptions, type Target } from './target.js';
import { quoteInput } from './render/printable.js';

export type Lookup = (host: string) => Promise<string[]>;

/** Every A and AAAA address of a host, as the system resolver (and /etc/hosts) sees it. */
export const systemLookup: Lookup = async (host) => {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
};

/**
 * Turns what a user typed into targets: an address is used as it is, a host
 * becomes one target per address, all named after the host (or the given name).
 */
export async function resolveTargetRequest(
  text: string,
  resolve: Lookup = systemLookup,
): Promise<Target[]> {
  const request = parseTargetRequest(text);
  if (request.kind === 'address') return [request.target];
  const addresses = await resolveHost(request.host, resolve);
  return addresses.map((address) => {
    return withOptions(makeTarget(request.name, address), request.options);
  });
}

/** A host's addresses, canonical and without repeats; a ResolveError if it has none. */
export async function resolveHost(host: string, resolve: Lookup): Promise<string[]> {
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    if (err instanceof ResolveError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why = code === 'ENOTFOUND' || code === 'ENODATA' ? 'no such host' : code || String(err);
    throw new ResolveError(`cannot resolve ${quoteInput(host)}: ${why}`);
  }
  const unique = [...new Set(addresses.map(canonicalAddress))];
  if (unique.length === 0)
    throw new ResolveError(`cannot resolve ${quoteInput(host)}: no addresses`);
  return unique;
}

export interface NameResolverOptions {
  /** --dns-server: "ADDRESS", "ADDRESS:PORT", "[IPV6]:PORT"; default: /etc/resolv.conf's. */
  readonly servers?: readonly string[];
  /** Per query try; c-ares's default is 5 s with 4 tries, too long to hold a place in flight. */
  readonly timeoutMs?: number;
  readonly tries?: number;
}

/** The servers as the resolver takes them, or an InvalidInputError naming the bad one. */
export function checkDnsServers(servers: readonly string[]): readonly string[] {
  for (const server of servers) {
    try {
      new Resolver().setServers([server]);
    } catch {
      throw new InvalidInputError(
        `invalid DNS server '${server.slice(0, 80)}': expected ADDRESS, ADDRESS:PORT or [IPV6]:PORT`,
      );
    }
  }
  return servers;
}

// The system lookup (getaddrinfo) runs on libuv's thread pool, which file
// writes share: at most this many at once, so names in /etc/hosts, or a slow
// system resolver, cannot take the pool from the saves.
const MAX_SYSTEM_LOOKUPS = 2;

/**
 * A name's A and AAAA records with their TTLs, from the DNS server; a name
 * the server does not know (or, with the system's servers, a lookup they
 * failed) is asked of the system lookup, which reads /etc/hosts. The result says how it went (the
 * DNS server's failure when the system lookup found nothing either); this
 * never throws.
 */
export function nameResolver(
  opts: NameResolverOptions = {},
): (host: string) => Promise<LookupOutcome> {
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 2000, tries: opts.tries ?? 2 });
  const ownServers = opts.servers !== undefined && opts.servers.length > 0;
  if (ownServers) resolver.setServers([...(opts.servers ?? [])]);
  const systemSlots = slots(MAX_SYSTEM_LOOKUPS);
  return async (host) => {
    const [v4, v6] = await Promise.allSettled([
      resolver.resolve4(host, { ttl: true }),
      resolver.resolve6(host, { ttl: true }),
    ]);
    const records = [
      ...(v4.status === 'fulfilled' ? v4.value : []),
      ...(v6.status === 'fulfilled' ? v6.value : []),
    ];
    const failed = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [errorCode(r.reason)] : []));
    // A family that failed for another reason than "no such records" makes
    // the whole lookup a failure: answering with the other family alone
    // would retire the addresses of the one that did not answer.
    const hard = failed.find((code) => code !== 'ENOTFOUND' && code !== 'ENODATA');
    if (hard === undefined && records.length > 0) {
      return {
        result: 'ok',
        addresses: records.map((r) => r.address),
        ttlSeconds: Math.min(...records.map((r) => r.ttl)),
      };
    }
    // With servers of its own (--dns-server), a failed lookup is not asked
    // of the system's servers: their answer may be another view of the name.
    if (hard !== undefined && (records.length > 0 || ownServers)) {
      return { result: resultOf(hard), message: hard };
    }
    // Not in DNS, or (with the system's servers) DNS did not answer: a name
    // in /etc/hosts (localhost) is still found, by the system lookup.
    const system = await systemSlots(() => systemLookup(host).catch(() => [] as string[]));
    if (system.length > 0) return { result: 'system', addresses: system };
    const code = hard ?? (failed.includes('ENOTFOUND') ? 'ENOTFOUND' : 'ENODATA');
    return { result: resultOf(code), message: code };
  };
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

function resultOf(code: string): Exclude<LookupResult, 'ok' | 'system'> {
  switch (code) {
    case 'ENOTFOUND':
      return 'nxdomain';
    case 'ENODATA':
      return 'nodata';
    case 'ETIMEOUT':
      return 'timeout';
    case 'ECONNREFUSED':
    case 'EREFUSED':
      return 'refused';
    case 'ESERVFAIL':
      return 'servfail';
    default:
      return 'error';
  }
}

/** Runs at most `n` of the given tasks at once. */
function slots(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    while (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** The name resolver as a plain Lookup (npcli add's check): the addresses, or a ResolveError. */
export function lookupFrom(resolve: (host: string) => Promise<LookupOutcome>): Lookup {
  return async (host) => {
    const outcome = await resolve(host);
    if (outcome.result === 'ok' || outcome.result === 'system') return [...outcome.addresses];
    const why = outcome.result === 'nxdomain' ? 'no such host' : outcome.result;
    throw new ResolveError(`cannot resolve ${quoteInput(host)}: ${why}`);
  };
}
