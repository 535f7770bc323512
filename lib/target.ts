import { canonicalAddress, familyOf, zoneOf, type Family } from './address.js';
import { parseBoundedDurationMs } from './duration.js';
import { InvalidInputError } from './errors.js';
import { quoted } from './render/printable.js';

/** One thing to ping: a name (what humans call it) at one address. */
export interface Target {
  readonly name: string;
  readonly address: string; // canonical text
  readonly family: Family;
  /** This target's own interval and timeout, where it does not use the daemon's. */
  readonly overrides?: ProbeOverrides;
}

export interface ProbeOverrides {
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

export const INTERVAL_BOUNDS_MS = [10, 3_600_000] as const;
export const TIMEOUT_BOUNDS_MS = [1, 60_000] as const;

export const MAX_NAME_LENGTH = 100;
const MAX_HOST_LENGTH = 253; // DNS limit
// Whitespace, C0/C1 controls, DEL, and Unicode line/paragraph separators: none
// of them belong in a name that ends up in a table cell and a metric label.
const FORBIDDEN_IN_NAME = /[\s\p{Cc}\u2028\u2029]/u;

/** A target's identity, "name@address": what counters and saved statistics are kept under. */
export function targetKey(t: Pick<Target, 'name' | 'address'>): string {
  return `${t.name}@${t.address}`;
}

/**
 * The member form stored in the target set: "name@address" as meshping
 * wrote it, followed by "?interval=…&timeout=…" when the target has its own.
 */
export function targetMember(t: Target): string {
  return targetKey(t) + formatOverrides(t.overrides);
}

export function formatOverrides(o: ProbeOverrides | undefined): string {
  const parts: string[] = [];
  if (o?.intervalMs !== undefined) parts.push(`interval=${o.intervalMs}ms`);
  if (o?.timeoutMs !== undefined) parts.push(`timeout=${o.timeoutMs}ms`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** Parses "interval=5s&timeout=2s" (either part optional). */
export function parseOverrides(text: string): ProbeOverrides {
  let intervalMs: number | undefined;
  let timeoutMs: number | undefined;
  for (const part of text.split('&')) {
    const [key, value = ''] = part.split('=', 2) as [string, string | undefined];
    if (key === 'interval' && intervalMs === undefined) {
      intervalMs = parseBoundedDurationMs(value, 'interval', ...INTERVAL_BOUNDS_MS);
    } else if (key === 'timeout' && timeoutMs === undefined) {
      timeoutMs = parseBoundedDurationMs(value, 'timeout', ...TIMEOUT_BOUNDS_MS);
    } else {
      throw new InvalidInputError(
        `invalid target options '${truncate(text)}': expected interval=DURATION&timeout=DURATION`,
      );
    }
  }
  return {
    ...(intervalMs === undefined ? {} : { intervalMs }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
}

/** Splits "x?options" at the first '?' at or after `from`. */
function splitOptions(text: string, from: number): [string, ProbeOverrides | undefined] {
  const q = text.indexOf('?', from);
  if (q < 0) return [text, undefined];
  return [text.slice(0, q), parseOverrides(text.slice(q + 1))];
}

function withOverrides(t: Target, o: ProbeOverrides | undefined): Target {
  return o && (o.intervalMs !== undefined || o.timeoutMs !== undefined)
    ? { ...t, overrides: o }
    : t;
}

export function validateName(name: string): string {
  if (name.length === 0) throw new InvalidInputError('invalid target: the name is empty');
  const characters = [...name].length;
  if (characters > MAX_NAME_LENGTH) {
    throw new InvalidInputError(
      `invalid target name: longer than ${MAX_NAME_LENGTH} characters (${characters})`,
    );
  }
  if (name.includes('@')) {
    throw new InvalidInputError(`invalid target name '${truncate(name)}': it may not contain '@'`);
  }
  if (FORBIDDEN_IN_NAME.test(name)) {
    throw new InvalidInputError(
      `invalid target name "${truncate(name)}": no whitespace or control characters`,
    );
  }
  return name;
}

// Linux interface names: at most 15 bytes, no '/', no whitespace; we also
// keep out what would break a member ('@', '?', '&', '%').
const ZONE = /^[A-Za-z0-9_.:-]{1,15}$/;

export function makeTarget(name: string, address: string): Target {
  validateName(name);
  const family = familyOf(address);
  if (family === undefined) {
    throw new InvalidInputError(
      `invalid address '${truncate(address)}': not an IPv4 or IPv6 address`,
    );
  }
  const zone = zoneOf(address);
  if (zone !== undefined && (!ZONE.test(zone) || /^\d+$/.test(zone))) {
    // A numeric zone is an interface index, which the send path (libuv's
    // uv_ip6_addr, if_nametoindex) does not take.
    throw new InvalidInputError(
      `invalid address '${truncate(address)}': the zone after '%' must be an interface name, e.g. fe80::1%eth0`,
    );
  }
  return { name, address: canonicalAddress(address), family };
}

/** Parses a member of the target set ("name@address", options optional). */
export function parseTargetKey(member: string): Target {
  const at = member.lastIndexOf('@');
  if (at < 0) {
    throw new InvalidInputError(`invalid target '${truncate(member)}': expected name@address`);
  }
  const [address, overrides] = splitOptions(member.slice(at + 1), 0);
  return withOverrides(makeTarget(member.slice(0, at), address), overrides);
}

/**
 * What a user typed on the command line, before DNS: "name@address",
 * "name@host", "address" or "host". The host still needs resolving.
 */
export type TargetRequest =
  | { kind: 'address'; target: Target }
  | { kind: 'host'; name: string; host: string; overrides: ProbeOverrides | undefined };

const MAX_OPTIONS_LENGTH = 64;

export function parseTargetRequest(input: string): TargetRequest {
  if (input.length > MAX_NAME_LENGTH + 1 + MAX_HOST_LENGTH + MAX_OPTIONS_LENGTH) {
    throw new InvalidInputError(`invalid target: ${input.length} characters is too long`);
  }
  const firstAt = input.indexOf('@');
  const [text, overrides] = splitOptions(input, firstAt < 0 ? 0 : firstAt);
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const where = at < 0 ? text : text.slice(at + 1);
  if (at >= 0 && where.includes('@')) {
    throw new InvalidInputError(`invalid target '${truncate(text)}': more than one '@'`);
  }
  if (familyOf(where) !== undefined) {
    return { kind: 'address', target: withOverrides(makeTarget(name, where), overrides) };
  }
  validateName(name);
  validateHost(where);
  return { kind: 'host', name, host: where, overrides };
}

const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function validateHost(host: string): void {
  const labels = host.replace(/\.$/, '').split('.');
  if (
    host.length === 0 ||
    host.length > MAX_HOST_LENGTH ||
    !labels.every((l) => HOST_LABEL.test(l)) ||
    /^\d+$/.test(labels[labels.length - 1]!) // no all-numeric TLD: "300.1.1.1" is a bad address, not a host
  ) {
    throw new InvalidInputError(
      `invalid target '${truncate(host)}': not an IP address or a host name`,
    );
  }
}

/** User text as it may appear in a one-line message: escaped, and cut if long. */
function truncate(s: string): string {
  return quoted(s.length > 60 ? `${s.slice(0, 60)}…` : s).slice(1, -1);
}
