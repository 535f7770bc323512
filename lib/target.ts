import { canonicalAddress, familyOf, zoneOf, type Family } from './address.js';
import { parseBoundedDurationMs } from './duration.js';
import { InvalidInputError } from './errors.js';
import { MAX_LABELS, parseLabel, sameLabels, sortedLabels, type Labels } from './labels.js';
import { DEFAULT_PROBE_KIND, probeKind, PROBE_KIND_NAMES } from './probes/kinds.js';
import { cutToChars, QUOTE_MAX_CHARS, quoted, quoteInput } from './render/printable.js';

/** One thing to ping: a name (what humans call it) at one address. */
export interface Target {
  readonly name: string;
  readonly address: string; // canonical text
  readonly family: Family;
  /** How it is probed; ICMP echo when absent. Part of the target's identity. */
  readonly probe?: ProbeSpec;
  /** This target's own interval and timeout, where it does not use the daemon's. */
  readonly overrides?: ProbeOverrides;
  /** Labels its series carry (lib/labels.ts); not part of its identity. */
  readonly labels?: Labels;
  /**
   * The name followed in DNS that this address is one of (a name@host
   * member); its series carry it as host="…". Not part of its identity: an
   * address keeps its counters whether it was pinned or followed.
   */
  readonly host?: string;
}

/** A probe kind (lib/probes/kinds.ts) and, for the kinds that need one, a port. */
export interface ProbeSpec {
  readonly kind: string;
  readonly port?: number;
}

export interface ProbeOverrides {
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  /** Kinds with their own schedule (throughput): time between tests, and each one's duration. */
  readonly everyMs?: number;
  readonly durationMs?: number;
}

export const INTERVAL_BOUNDS_MS = [10, 3_600_000] as const;
export const TIMEOUT_BOUNDS_MS = [1, 60_000] as const;

export const MAX_NAME_LENGTH = 100;
const MAX_HOST_LENGTH = 253; // DNS limit
// Whitespace, C0/C1 controls, DEL, and Unicode line/paragraph separators: none
// of them belong in a name that ends up in a table cell and a metric label.
const FORBIDDEN_IN_NAME = /[\s\p{Cc}\u2028\u2029]/u;

/** The probe kind's name: `icmp` for a target without a probe spec. */
export function probeKindOf(t: Pick<Target, 'probe'>): string {
  return t.probe?.kind ?? DEFAULT_PROBE_KIND;
}

/** How the table, npcli and the browser name a target's probe: `icmp`, `tcp:443`, `udp:9923`. */
export function probeLabel(t: Pick<Target, 'probe'>): string {
  const port = t.probe?.port;
  return port === undefined ? probeKindOf(t) : `${probeKindOf(t)}:${port}`;
}

/**
 * A target's identity: what counters and saved statistics are kept under.
 * "name@address" for ICMP, as meshping wrote it; "name@address?probe=tcp&port=443"
 * for other kinds, so the same host probed two ways is two targets.
 */
export function targetKey(t: Pick<Target, 'name' | 'address' | 'probe'>): string {
  const probe = formatProbe(t.probe);
  return `${t.name}@${t.address}${probe ? `?${probe}` : ''}`;
}

/**
 * The member form stored in the target set: the key, followed by the
 * target's own "interval=…&timeout=…" when it has them.
 */
export function targetMember(t: Target): string {
  return `${t.name}@${t.address}${formatOptions(t)}`;
}

/** "?probe=…&interval=…&label.K=V", '' for none. */
function formatOptions(o: TargetOptions): string {
  const options = [
    formatProbe(o.probe),
    formatOverrides(o.overrides),
    formatTargetLabels(o.labels),
  ].filter((s) => s !== '');
  return options.length > 0 ? `?${options.join('&')}` : '';
}

/**
 * A member naming a host that netpingd follows in DNS (`name@host`, options
 * optional): every address the name has is a target, with these options.
 */
export interface HostMember {
  readonly name: string;
  /** Lower case, without a final dot: one lookup for every way of writing it. */
  readonly host: string;
  readonly options: TargetOptions;
}

/** The member text of a followed name, as npcli add stores it. */
export function hostMemberText(m: HostMember): string {
  return `${m.name}@${m.host}${formatOptions(m.options)}`;
}

/** A followed name's identity: two members of one name, host and probe are one. */
export function hostMemberKey(m: HostMember): string {
  const probe = formatProbe(m.options.probe);
  return `${m.name}@${m.host}${probe ? `?${probe}` : ''}`;
}

/** The target one address of a followed name is. */
export function hostTarget(m: HostMember, address: string): Target {
  return { ...withOptions(makeTarget(m.name, address), m.options), host: m.host };
}

/** What a member of the target set names: one target, or a name to follow in DNS. */
export type Member =
  | { readonly kind: 'target'; readonly target: Target }
  | { readonly kind: 'host'; readonly member: HostMember };

/** Parses a member of the target set: "name@address" or "name@host", options optional. */
export function parseMember(member: string): Member {
  const at = member.lastIndexOf('@');
  if (at < 0) {
    throw new InvalidInputError(
      `invalid target ${quoteInput(member)}: expected name@address or name@host`,
    );
  }
  const [where, options] = splitOptions(member.slice(at + 1), 0);
  if (familyOf(where) !== undefined || !looksLikeHost(where)) {
    return { kind: 'target', target: withOptions(makeTarget(member.slice(0, at), where), options) };
  }
  const name = validateName(member.slice(0, at));
  if (options?.labels?.host !== undefined) {
    throw new InvalidInputError(
      `invalid target ${quoteInput(member)}: the label 'host' is netping's own on a followed name`,
    );
  }
  return {
    kind: 'host',
    member: { name, host: where.toLowerCase().replace(/\.$/, ''), options: options ?? {} },
  };
}

function formatProbe(p: ProbeSpec | undefined): string {
  if (p === undefined || p.kind === DEFAULT_PROBE_KIND) return '';
  return p.port === undefined ? `probe=${p.kind}` : `probe=${p.kind}&port=${p.port}`;
}

/** "interval=5000ms&timeout=2000ms", either part only when set; '' for none. */
export function formatOverrides(o: ProbeOverrides | undefined): string {
  const parts: string[] = [];
  if (o?.intervalMs !== undefined) parts.push(`interval=${o.intervalMs}ms`);
  if (o?.timeoutMs !== undefined) parts.push(`timeout=${o.timeoutMs}ms`);
  if (o?.everyMs !== undefined) parts.push(`every=${exactDuration(o.everyMs)}`);
  if (o?.durationMs !== undefined) parts.push(`duration=${exactDuration(o.durationMs)}`);
  return parts.join('&');
}

/** "15m", "5s", "1500ms": the largest unit that holds `ms` exactly, so it parses back the same. */
function exactDuration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/**
 * Refuses overrides a target's kind does not take: interval and timeout on
 * a kind with its own schedule (throughput), every and duration on one
 * without. For npcli's flags, merged after the member was parsed.
 */
export function checkOverridesFit(t: Target): void {
  const o = t.overrides;
  const kind = probeKindOf(t);
  const schedules = probeKind(kind)?.schedule !== undefined;
  if (schedules && (o?.intervalMs !== undefined || o?.timeoutMs !== undefined)) {
    throw new InvalidInputError(
      `invalid target ${t.name}@${t.address}: ${kind} targets take every and duration (--every, --duration), not interval and timeout`,
    );
  }
  if (!schedules && (o?.everyMs !== undefined || o?.durationMs !== undefined)) {
    throw new InvalidInputError(
      `invalid target ${t.name}@${t.address}: every and duration (--every, --duration) are options of throughput targets, not of ${kind} ones`,
    );
  }
}

/** "label.dc=fra1&label.role=lb", '' for none. */
function formatTargetLabels(labels: Labels | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `label.${k}=${v}`)
    .join('&');
}

/** What follows the '?' of a member or a request: how to probe, how often, and labels. */
export interface TargetOptions {
  readonly probe?: ProbeSpec;
  readonly overrides?: ProbeOverrides;
  readonly labels?: Labels;
}

const OPTIONS_HELP =
  'expected probe=KIND&port=PORT&interval=DURATION&timeout=DURATION&label.KEY=VALUE ' +
  '(throughput: every=DURATION&duration=DURATION), each optional';

/** Parses "probe=tcp&port=443&interval=5s&timeout=2s" (every part optional). */
export function parseTargetOptions(text: string): TargetOptions {
  let intervalMs: number | undefined;
  let timeoutMs: number | undefined;
  let every: string | undefined;
  let duration: string | undefined;
  let kind: string | undefined;
  let port: string | undefined;
  const labels: Record<string, string> = {};
  for (const part of text.split('&')) {
    const [key, value = ''] = part.split('=', 2) as [string, string | undefined];
    if (key.startsWith('label.')) {
      const [name, labelValue] = parseLabel(part.slice('label.'.length));
      if (name in labels) {
        throw new InvalidInputError(`invalid target options: label '${name}' given twice`);
      }
      if (Object.keys(labels).length >= MAX_LABELS) {
        throw new InvalidInputError(`invalid target options: more than ${MAX_LABELS} labels`);
      }
      labels[name] = labelValue;
    } else if (key === 'every' && every === undefined) {
      every = value;
    } else if (key === 'duration' && duration === undefined) {
      duration = value;
    } else if (key === 'interval' && intervalMs === undefined) {
      intervalMs = parseBoundedDurationMs(value, 'interval', ...INTERVAL_BOUNDS_MS);
    } else if (key === 'timeout' && timeoutMs === undefined) {
      timeoutMs = parseBoundedDurationMs(value, 'timeout', ...TIMEOUT_BOUNDS_MS);
    } else if (key === 'probe' && kind === undefined) {
      kind = value;
    } else if (key === 'port' && port === undefined) {
      port = value;
    } else {
      throw new InvalidInputError(`invalid target options ${quoteInput(text)}: ${OPTIONS_HELP}`);
    }
  }
  const probe = kind === undefined && port === undefined ? undefined : makeProbeSpec(kind, port);
  const schedule = parseSchedule(probe?.kind ?? DEFAULT_PROBE_KIND, every, duration);
  const schedules = probeKind(probe?.kind ?? DEFAULT_PROBE_KIND)?.schedule !== undefined;
  if (schedules && (intervalMs !== undefined || timeoutMs !== undefined)) {
    throw new InvalidInputError(
      `invalid target options ${quoteInput(text)}: ${probe?.kind} targets take every and duration, not interval and timeout`,
    );
  }
  const overrides = {
    ...(intervalMs === undefined ? {} : { intervalMs }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...schedule,
  };
  return {
    ...(probe === undefined ? {} : { probe }),
    ...(Object.keys(overrides).length > 0 ? { overrides } : {}),
    ...(Object.keys(labels).length > 0 ? { labels: sortedLabels(labels) } : {}),
  };
}

/**
 * A kind's own schedule options (every, duration), checked against its
 * bounds; an error for a kind that has none.
 */
export function parseSchedule(
  kind: string,
  every: string | undefined,
  duration: string | undefined,
): { everyMs?: number; durationMs?: number } {
  if (every === undefined && duration === undefined) return {};
  const schedule = probeKind(kind)?.schedule;
  if (!schedule) {
    throw new InvalidInputError(
      `invalid target: every and duration are options of throughput targets, not of ${kind} ones`,
    );
  }
  return {
    ...(every === undefined
      ? {}
      : { everyMs: parseBoundedDurationMs(every, 'every', ...schedule.every.bounds) }),
    ...(duration === undefined
      ? {}
      : { durationMs: parseBoundedDurationMs(duration, 'duration', ...schedule.duration.bounds) }),
  };
}

/**
 * A checked probe spec from user text: a known kind (ICMP when not given),
 * and a port in 1..65535 exactly for the kinds that take one (a kind's
 * default port when it has one and none is given).
 */
export function makeProbeSpec(
  kind: string | undefined,
  port: string | number | undefined,
): ProbeSpec {
  const name = kind ?? DEFAULT_PROBE_KIND;
  const described = probeKind(name);
  if (!described) {
    throw new InvalidInputError(
      `invalid probe kind ${quoteInput(name)}: expected one of ${PROBE_KIND_NAMES.join(', ')}`,
    );
  }
  if (described.port === undefined) {
    if (port !== undefined) {
      throw new InvalidInputError(`invalid target: ${name} probes take no port`);
    }
    return { kind: name };
  }
  if (port === undefined) {
    if (described.port === 'required') {
      throw new InvalidInputError(`invalid target: ${name} probes need a port (port=N, 1-65535)`);
    }
    return { kind: name, port: described.port };
  }
  const text = String(port);
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) {
    throw new InvalidInputError(
      `invalid port ${quoteInput(text)}: expected a number from 1 to 65535`,
    );
  }
  return { kind: name, port: n };
}

/** Splits "x?options" at the first '?' at or after `from`. */
function splitOptions(text: string, from: number): [string, TargetOptions | undefined] {
  const q = text.indexOf('?', from);
  if (q < 0) return [text, undefined];
  return [text.slice(0, q), parseTargetOptions(text.slice(q + 1))];
}

/**
 * The target probed by `probe` instead of the way it was: what the --probe
 * and --port flags of npcli do to every target of a command. An ICMP spec is
 * left out, so ICMP targets look as they always did.
 */
export function withProbe(t: Target, probe: ProbeSpec): Target {
  // Only the probe changes: labels and the followed name are the member's own.
  if (probe.kind !== DEFAULT_PROBE_KIND) return { ...t, probe };
  const rest = { ...t };
  delete (rest as { probe?: ProbeSpec }).probe;
  return rest;
}

/** The probe as /api/targets and `npcli list --json` write it: the kind, and the port where it has one. */
export function probeFields(t: Pick<Target, 'probe'>): { probe: string; port?: number } {
  const port = t.probe?.port;
  return port === undefined ? { probe: probeKindOf(t) } : { probe: probeKindOf(t), port };
}

/** The target with these options; an ICMP spec is left out, so ICMP targets look as they always did. */
export function withOptions(t: Target, o: TargetOptions | undefined): Target {
  let result = t;
  if (o?.probe !== undefined && o.probe.kind !== DEFAULT_PROBE_KIND)
    result = { ...result, probe: o.probe };
  const v = o?.overrides;
  if (v && Object.values(v).some((x) => x !== undefined)) result = { ...result, overrides: v };
  if (o?.labels !== undefined && Object.keys(o.labels).length > 0)
    result = { ...result, labels: o.labels };
  return result;
}

/** Whether two targets of one key differ in labels (the engine then takes the new target). */
export function labelsChanged(a: Target, b: Target): boolean {
  return !sameLabels(a.labels, b.labels) || a.host !== b.host;
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
    throw new InvalidInputError(`invalid target name ${quoteInput(name)}: it may not contain '@'`);
  }
  if (FORBIDDEN_IN_NAME.test(name)) {
    throw new InvalidInputError(
      `invalid target name ${quoted(cutToChars(name, QUOTE_MAX_CHARS))}: no whitespace or control characters`,
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
      `invalid address ${quoteInput(address)}: not an IPv4 or IPv6 address`,
    );
  }
  const zone = zoneOf(address);
  if (zone !== undefined && (!ZONE.test(zone) || /^\d+$/.test(zone))) {
    // A numeric zone is an interface index, which the send path (libuv's
    // uv_ip6_addr, if_nametoindex) does not take.
    throw new InvalidInputError(
      `invalid address ${quoteInput(address)}: the zone after '%' must be an interface name, e.g. fe80::1%eth0`,
    );
  }
  return { name, address: canonicalAddress(address), family };
}

/** Parses a member of the target set ("name@address", options optional). */
export function parseTargetKey(member: string): Target {
  const at = member.lastIndexOf('@');
  if (at < 0) {
    throw new InvalidInputError(`invalid target ${quoteInput(member)}: expected name@address`);
  }
  const [address, options] = splitOptions(member.slice(at + 1), 0);
  return withOptions(makeTarget(member.slice(0, at), address), options);
}

/**
 * What a user typed on the command line, before DNS: "name@address",
 * "name@host", "address" or "host". The host still needs resolving.
 */
export type TargetRequest =
  | { kind: 'address'; target: Target }
  | { kind: 'host'; name: string; host: string; options: TargetOptions | undefined };

const MAX_OPTIONS_LENGTH = 512; // room for a few labels

export function parseTargetRequest(input: string): TargetRequest {
  const optionsRoom = input.includes('?') ? 1 + MAX_OPTIONS_LENGTH : 0;
  if (input.length > MAX_NAME_LENGTH + 1 + MAX_HOST_LENGTH + optionsRoom) {
    throw new InvalidInputError(`invalid target: ${input.length} characters is too long`);
  }
  const firstAt = input.indexOf('@');
  const [text, options] = splitOptions(input, firstAt < 0 ? 0 : firstAt);
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const where = at < 0 ? text : text.slice(at + 1);
  if (at >= 0 && where.includes('@')) {
    throw new InvalidInputError(`invalid target ${quoteInput(text)}: more than one '@'`);
  }
  if (familyOf(where) !== undefined) {
    return { kind: 'address', target: withOptions(makeTarget(name, where), options) };
  }
  validateName(name);
  validateHost(where);
  return { kind: 'host', name, host: where, options };
}

const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** A host name by DNS's rules (letters, digits, hyphens; not all-numeric at the end). */
function looksLikeHost(host: string): boolean {
  const labels = host.replace(/\.$/, '').split('.');
  return (
    host.length > 0 &&
    host.length <= MAX_HOST_LENGTH &&
    labels.every((l) => HOST_LABEL.test(l)) &&
    !/^\d+$/.test(labels[labels.length - 1]!) // no all-numeric TLD: "300.1.1.1" is a bad address, not a host
  );
}

function validateHost(host: string): void {
  if (!looksLikeHost(host)) {
    throw new InvalidInputError(
      `invalid target ${quoteInput(host)}: not an IP address or a host name`,
    );
  }
}

/** User text as it may appear in a one-line message: escaped, and cut if long. */
