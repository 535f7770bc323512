// A route change of one target as one instance saw it (lib/path/route.ts
// decides what is a change): an event beside the outages, in the same
// store and on /api/events, told from them by `kind: "route"`. A change is
// a moment, so `end` equals `start` (null would read as an open outage to
// every reader of outages). `lost: 0` and `reasons: {}` are there so that
// readers that know only outages (npcli and daemons from before route
// events) take one for a closed outage without loss, not a damaged record.

import type { Labels } from '../labels.js';
import { fieldsOf } from './outage.js';

export interface RouteSubject {
  readonly key: string;
  readonly target: string;
  readonly address: string;
  readonly probe: string;
  readonly labels: Labels;
}

export interface RouteEvent extends RouteSubject {
  readonly kind: 'route';
  /** Unique per change: `<instance>:<ms>:<target key>:route`. */
  readonly id: string;
  readonly instance: string;
  /** ISO time of the end of the trace that saw the new route. */
  readonly start: string;
  /** Equal to start. */
  readonly end: string;
  readonly lost: 0;
  readonly reasons: Readonly<Record<string, never>>;
  /** Hop addresses by TTL, before and after; null: a hop never heard. */
  readonly before: readonly (string | null)[];
  readonly after: readonly (string | null)[];
}

/** More than any trace gives (--path-max-hops is at most 64). */
const MAX_HOPS = 255;

export function routeEvent(
  subject: RouteSubject,
  instance: string,
  atMs: number,
  before: readonly (string | null)[],
  after: readonly (string | null)[],
): RouteEvent {
  const at = new Date(atMs).toISOString();
  return {
    kind: 'route',
    id: `${instance}:${atMs}:${subject.key}:route`,
    key: subject.key,
    target: subject.target,
    address: subject.address,
    probe: subject.probe,
    instance,
    labels: subject.labels,
    start: at,
    end: at,
    lost: 0,
    reasons: {},
    before: [...before],
    after: [...after],
  };
}

/** A route event from a record's object, checked field by field; throws on anything else. */
export function routeEventFrom(o: Record<string, unknown>): RouteEvent {
  if (o.kind !== 'route') throw new Error('not a route event');
  const { time, subject } = fieldsOf(o);
  const start = time('start');
  if (o.end !== start) throw new Error('bad end');
  const hops = (name: string): (string | null)[] => {
    const x = o[name];
    if (!Array.isArray(x) || x.length > MAX_HOPS) throw new Error(`bad ${name}`);
    return x.map((a: unknown) => {
      if (a === null) return null;
      if (typeof a !== 'string' || a.length === 0 || a.length > 100) throw new Error(`bad ${name}`);
      return a;
    });
  };
  return {
    kind: 'route',
    ...subject(),
    start,
    end: start,
    lost: 0,
    reasons: {},
    before: hops('before'),
    after: hops('after'),
  };
}
