import { canonicalAddress, familyOf, type Family } from './address.js';
import { InvalidInputError } from './errors.js';
import { quoted } from './render/printable.js';

/** One thing to ping: a name (what humans call it) at one address. */
export interface Target {
  readonly name: string;
  readonly address: string; // canonical text
  readonly family: Family;
}

export const MAX_NAME_LENGTH = 100;
const MAX_HOST_LENGTH = 253; // DNS limit
// Whitespace, C0/C1 controls, DEL, and Unicode line/paragraph separators: none
// of them belong in a name that ends up in a table cell and a metric label.
const FORBIDDEN_IN_NAME = /[\s\p{Cc}\u2028\u2029]/u;

/** The member form stored in the Redis set, as meshping wrote it. */
export function targetKey(t: Pick<Target, 'name' | 'address'>): string {
  return `${t.name}@${t.address}`;
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

export function makeTarget(name: string, address: string): Target {
  validateName(name);
  const family = familyOf(address);
  if (family === undefined) {
    throw new InvalidInputError(
      `invalid address '${truncate(address)}': not an IPv4 or IPv6 address`,
    );
  }
  return { name, address: canonicalAddress(address), family };
}

/** Parses a member of the target set ("name@address"). */
export function parseTargetKey(member: string): Target {
  const at = member.lastIndexOf('@');
  if (at < 0) {
    throw new InvalidInputError(`invalid target '${truncate(member)}': expected name@address`);
  }
  return makeTarget(member.slice(0, at), member.slice(at + 1));
}

/**
 * What a user typed on the command line, before DNS: "name@address",
 * "name@host", "address" or "host". The host still needs resolving.
 */
export type TargetRequest =
  { kind: 'address'; target: Target } | { kind: 'host'; name: string; host: string };

export function parseTargetRequest(text: string): TargetRequest {
  if (text.length > MAX_NAME_LENGTH + 1 + MAX_HOST_LENGTH) {
    throw new InvalidInputError(`invalid target: ${text.length} characters is too long`);
  }
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const where = at < 0 ? text : text.slice(at + 1);
  if (at >= 0 && where.includes('@')) {
    throw new InvalidInputError(`invalid target '${truncate(text)}': more than one '@'`);
  }
  if (familyOf(where) !== undefined) return { kind: 'address', target: makeTarget(name, where) };
  validateName(name);
  validateHost(where);
  return { kind: 'host', name, host: where };
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
