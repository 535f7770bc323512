import { lookup } from 'node:dns/promises';
import { canonicalAddress } from './address.js';
import { ResolveError } from './errors.js';
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
  let addresses: string[];
  try {
    addresses = await resolve(request.host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why = code === 'ENOTFOUND' || code === 'ENODATA' ? 'no such host' : code || String(err);
    throw new ResolveError(`cannot resolve ${quoteInput(request.host)}: ${why}`);
  }
  const unique = [...new Set(addresses.map(canonicalAddress))];
  if (unique.length === 0)
    throw new ResolveError(`cannot resolve ${quoteInput(request.host)}: no addresses`);
  return unique.map((address) => {
    return withOptions(makeTarget(request.name, address), request.options);
  });
}
