// GET /api/events: the outages and route changes this instance saw
// (lib/outages/events.ts), newest first. ?since= an ISO time, Unix
// milliseconds or a duration ago (1h, 30m); ?target= a name or a
// name@address key; ?open=1 only outages still open; ?kind=outage|route.
// At most a few thousand small objects, so one body.

import type { Hono } from 'hono';
import { parseDurationMs } from '../duration.js';
import { InvalidInputError } from '../errors.js';
import { EVENT_KINDS, type EventKind, type NetpingEvent } from '../outages/events.js';

export interface EventQuery {
  readonly sinceMs?: number;
  readonly target?: string;
  readonly openOnly?: boolean;
  readonly kind?: EventKind;
}

export interface EventsDeps {
  events(q: EventQuery): readonly NetpingEvent[];
  nowMs(): number;
}

/** `since` as Unix ms: an ISO time, Unix ms, or a duration before now. */
export function parseSince(text: string, nowMs: number): number {
  if (/^\d{10,}$/.test(text)) return Number(text);
  if (/^\d{4}-\d\d-\d\d/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  try {
    return nowMs - parseDurationMs(text, 'since');
  } catch {
    throw new InvalidInputError(
      `invalid since '${text.slice(0, 40)}': an ISO time, Unix milliseconds or a duration like 1h`,
    );
  }
}

export function addEventRoutes(app: Hono, deps: EventsDeps): void {
  app.get('/api/events', (c) => {
    const since = c.req.query('since');
    const target = c.req.query('target');
    const open = c.req.query('open');
    const kind = c.req.query('kind');
    if (target !== undefined && target.length > 400)
      throw new InvalidInputError('target is too long');
    if (kind !== undefined && !(EVENT_KINDS as readonly string[]).includes(kind))
      throw new InvalidInputError(`invalid kind: ${EVENT_KINDS.join(' or ')}`);
    const events = deps.events({
      ...(since ? { sinceMs: parseSince(since, deps.nowMs()) } : {}),
      ...(target ? { target } : {}),
      openOnly: open === '1' || open === 'true',
      ...(kind ? { kind: kind as EventKind } : {}),
    });
    return c.json({ events });
  });
}
