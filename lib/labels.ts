// Labels: KEY=VALUE pairs that describe a netpingd instance (--label,
// NETPING_LABELS) or a target (member option label.KEY=VALUE). A target's
// labels become Prometheus labels on its series, so names follow
// Prometheus's rules, and the names netping writes itself are refused.

import { InvalidInputError } from './errors.js';
import { quoteInput } from './render/printable.js';

export type Labels = Readonly<Record<string, string>>;

/** Prometheus label names; `__` is reserved for Prometheus's own. */
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** The names netping's series carry already, or Prometheus adds at scrape. */
export const RESERVED_LABEL_NAMES: readonly string[] = [
  'target',
  'address',
  'probe',
  'port',
  'reason',
  'le',
  'instance',
  'job',
];
export const MAX_LABELS = 16;
const MAX_VALUE_LENGTH = 128;
// Values end up in members, table cells and metric lines: no '&', '=' or
// ',' (they separate labels in members and NETPING_LABELS), no '@' or '?'
// (they split members), no whitespace or controls.
const VALUE = /^[^\s\p{Cc}\u2028\u2029&=,@?%]*$/u;

export function validateLabelName(name: string): string {
  if (!LABEL_NAME.test(name) || name.startsWith('__')) {
    throw new InvalidInputError(
      `invalid label name ${quoteInput(name, 64)}: use a letter or _ then letters, digits, _ (at most 63; not starting with __)`,
    );
  }
  if (RESERVED_LABEL_NAMES.includes(name)) {
    throw new InvalidInputError(
      `invalid label name ${quoteInput(name)}: netping sets it itself (reserved: ${RESERVED_LABEL_NAMES.join(', ')})`,
    );
  }
  return name;
}

export function validateLabelValue(name: string, value: string): string {
  if (value.length > MAX_VALUE_LENGTH || !VALUE.test(value)) {
    throw new InvalidInputError(
      `invalid value for label ${quoteInput(name)}: at most ${MAX_VALUE_LENGTH} characters, no whitespace, controls, & = , @ ? %`,
    );
  }
  return value;
}

/** One "KEY=VALUE". */
export function parseLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq < 0) {
    throw new InvalidInputError(`invalid label ${quoteInput(text, 80)}: expected KEY=VALUE`);
  }
  const name = validateLabelName(text.slice(0, eq));
  return [name, validateLabelValue(name, text.slice(eq + 1))];
}

/** Several "KEY=VALUE" (a later one for a name replaces an earlier), checked and sorted by name. */
export function labelsFrom(pairs: Iterable<string>): Labels {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const [name, value] = parseLabel(pair);
    out[name] = value;
  }
  return sortedLabels(out);
}

/** NETPING_LABELS: "dc=fra1,az=b"; empty for none. */
export function parseLabelList(text: string): Labels {
  return labelsFrom(
    text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

/** The labels with names in order, and at most MAX_LABELS of them. */
export function sortedLabels(labels: Labels): Labels {
  const names = Object.keys(labels).sort();
  if (names.length > MAX_LABELS) {
    throw new InvalidInputError(`too many labels: ${names.length} (at most ${MAX_LABELS})`);
  }
  const out: Record<string, string> = {};
  for (const n of names) out[n] = labels[n]!;
  return out;
}

/** Checks labels that came from elsewhere (a peer's registration, a JSON body). */
export function checkedLabels(value: unknown): Labels {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError('invalid labels: expected an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string')
      throw new InvalidInputError(`invalid label ${quoteInput(name)}: not a string`);
    out[validateLabelName(name)] = validateLabelValue(name, v);
  }
  return sortedLabels(out);
}

export function sameLabels(a: Labels | undefined, b: Labels | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  return ka.length === kb.length && ka.every((k) => a![k] === b?.[k]);
}

/** "dc=fra1,role=lb" ('' for none): for tables and logs. */
export function formatLabels(labels: Labels | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
