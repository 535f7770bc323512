// One outage of one target as seen from one instance: the event that
// /api/events, `npcli events`, the stores and the alerts all speak of.

import { checkedLabels, type Labels } from '../labels.js';

/** What every event record says of whom it is about. */
export interface EventSubjectFields {
  /** Unique per event: `<instance>:<start ms>:<target key>` (a route event adds `:route`). */
  readonly id: string;
  /** The target's key (lib/target.ts targetKey): which target, probe kind included. */
  readonly key: string;
  readonly target: string;
  readonly address: string;
  /** As everything else names it: `icmp`, `tcp:443`, `udp:9923`. */
  readonly probe: string;
  readonly instance: string;
  readonly labels: Labels;
}

export interface Outage extends EventSubjectFields {
  /**
   * Absent in outage records (as before route events existed): readers
   * take an event without a kind for an outage. Route events say `route`
   * (route-event.ts).
   */
  readonly kind?: 'outage';
  /** ISO time of the first of the lost probes that made it an outage. */
  readonly start: string;
  /** ISO time of the first of the answers that ended it; null while open. */
  readonly end: string | null;
  /** Lost probes from start to end. */
  readonly lost: number;
  /** The lost probes by why: `timeout`, `send:<errno>`, `icmp:<kind>`. */
  readonly reasons: Readonly<Record<string, number>>;
}

const MAX_FIELD = 1000;
const MAX_REASONS = 64;

/** A stored record's JSON object; throws on anything else. */
export function recordOf(text: string): Record<string, unknown> {
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
  return v as Record<string, unknown>;
}

/** Checked readers of a record's string and ISO time fields, and of its subject. */
export function fieldsOf(o: Record<string, unknown>): {
  str: (name: string) => string;
  time: (name: string) => string;
  subject: () => EventSubjectFields;
} {
  const str = (name: string): string => {
    const x = o[name];
    if (typeof x !== 'string' || x.length === 0 || x.length > MAX_FIELD)
      throw new Error(`bad ${name}`);
    return x;
  };
  const time = (name: string): string => {
    const x = str(name);
    if (Number.isNaN(Date.parse(x))) throw new Error(`bad ${name}`);
    return x;
  };
  const subject = (): EventSubjectFields => ({
    id: str('id'),
    key: str('key'),
    target: str('target'),
    address: str('address'),
    probe: str('probe'),
    instance: str('instance'),
    labels: checkedLabels(o.labels ?? {}),
  });
  return { str, time, subject };
}

/** An outage read back from a store, checked field by field; throws on anything else. */
export function parseOutage(text: string): Outage {
  return outageFrom(recordOf(text));
}

/** An outage from a record's object; throws on another kind or a bad field. */
export function outageFrom(o: Record<string, unknown>): Outage {
  if (o.kind !== undefined && o.kind !== 'outage') throw new Error('not an outage');
  const { time, subject } = fieldsOf(o);
  const lost = o.lost;
  if (typeof lost !== 'number' || !Number.isSafeInteger(lost) || lost < 0)
    throw new Error('bad lost');
  const reasonsIn = o.reasons;
  if (typeof reasonsIn !== 'object' || reasonsIn === null || Array.isArray(reasonsIn))
    throw new Error('bad reasons');
  const entries = Object.entries(reasonsIn as Record<string, unknown>);
  if (entries.length > MAX_REASONS) throw new Error('too many reasons');
  const reasons: Record<string, number> = {};
  for (const [reason, n] of entries) {
    if (reason.length > 100 || typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
      throw new Error('bad reason');
    reasons[reason] = n;
  }
  return {
    ...subject(),
    start: time('start'),
    end: o.end === null ? null : time('end'),
    lost,
    reasons,
  };
}

/** Newest first: by start, then by id so the order is total. */
export function newestFirst(
  a: { readonly start: string; readonly id: string },
  b: { readonly start: string; readonly id: string },
): number {
  const d = Date.parse(b.start) - Date.parse(a.start);
  return d !== 0 ? d : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Whether an event overlaps [sinceMs, now]: open, or ended at or after sinceMs. */
export function overlapsSince(o: { readonly end: string | null }, sinceMs: number): boolean {
  return o.end === null || Date.parse(o.end) >= sinceMs;
}
