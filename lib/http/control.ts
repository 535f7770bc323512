// The control API: POST /api/targets and DELETE /api/targets/:selector[?all=1] change
// the target list through the daemon's TargetStore, with the same code as
// npcli. Writes need the bearer token; reads stay open.

import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { NetpingError, ResolveError, StoreUnavailableError } from '../errors.js';
import { tokenMatches } from '../state/token.js';
import type { TargetStore } from '../store/target-store.js';
import type { Lookup } from '../resolve.js';
import {
  addTargets,
  NoSuchTargetError,
  removeTargets,
  type MemberParser,
} from '../target-changes.js';
import { textChunks, type HeavyBody } from './heavy-body.js';

export interface ControlDeps {
  readonly store: TargetStore;
  readonly token: string;
  readonly maxTargets: number;
  /** How a host is checked before its name@host member is written; the system's lookup when absent. */
  readonly lookup?: Lookup;
  /** Reads the set's members: the daemon's parser, which has read them all already (TargetSync). */
  readonly parse?: MemberParser;
}

export const MAX_BODY_BYTES = 64 * 1024;
const MAX_TARGETS_PER_REQUEST = 1000;
const MAX_TARGET_TEXT = 400;

export function addControlRoutes(app: Hono, deps: ControlDeps, heavy: HeavyBody): void {
  // Changes run one at a time: the limit check and the write of one change
  // must not interleave with another's.
  let queue: Promise<unknown> = Promise.resolve();
  const serialised = <T>(change: () => Promise<T>): Promise<T> => {
    const run = queue.then(change);
    queue = run.catch(() => undefined);
    return run;
  };
  const authorized = (c: Context): boolean => {
    const header = c.req.header('authorization') ?? '';
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    const m = /^Bearer (\S+)$/i.exec(header);
    return tokenMatches(m?.[1], deps.token);
  };
  const unauthorized = (c: Context): Response =>
    c.json({ error: 'missing or wrong bearer token' }, 401, { 'WWW-Authenticate': 'Bearer' });

  let membersRead = 0;
  app.get('/api/members', async (c) => {
    // Read first, so that a store that cannot be reached is a 503, not a cut body.
    const members = await deps.store.members();
    // Not shared with another reader's body: that one may predate a change this reader just made.
    const key = `members:${++membersRead}`;
    // The same text as JSON.stringify({ members }), a member at a time, in slices.
    return heavy(
      c,
      { page: '/api/members', key, contentType: 'application/json' },
      textChunks(function* () {
        yield '{"members":[';
        for (let i = 0; i < members.length; i++)
          yield (i === 0 ? '' : ',') + JSON.stringify(members[i]);
        yield ']}';
      }),
    );
  });

  app.post(
    '/api/targets',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `request body over ${MAX_BODY_BYTES} bytes` }, 413),
    }),
    async (c) => {
      if (!authorized(c)) return unauthorized(c);
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return c.json({ error: 'the body is not JSON' }, 400);
      }
      const targets = (body as { targets?: unknown } | null)?.targets;
      if (
        !Array.isArray(targets) ||
        targets.length === 0 ||
        targets.length > MAX_TARGETS_PER_REQUEST ||
        !targets.every((t): t is string => typeof t === 'string' && t.length <= MAX_TARGET_TEXT)
      ) {
        return c.json(
          {
            error: `expected {"targets": [...]} with 1-${MAX_TARGETS_PER_REQUEST} strings of at most ${MAX_TARGET_TEXT} characters`,
          },
          400,
        );
      }
      return respond(c, () =>
        serialised(() =>
          addTargets(deps.store, targets, {
            maxTargets: deps.maxTargets,
            ...(deps.lookup ? { lookup: deps.lookup } : {}),
            ...(deps.parse ? { parse: deps.parse } : {}),
          }),
        ),
      );
    },
  );

  app.delete('/api/targets/:selector', async (c) => {
    if (!authorized(c)) return unauthorized(c);
    const selector = c.req.param('selector');
    // ?all=1: remove every target the selector names; without it, refuse (400) if it names several.
    const all = c.req.query('all');
    const opts = {
      all: all !== undefined && all !== '0' && all !== 'false',
      ...(deps.parse ? { parse: deps.parse } : {}),
    };
    return respond(c, () => serialised(() => removeTargets(deps.store, [selector], opts)));
  });
}

async function respond(c: Context, change: () => Promise<unknown>): Promise<Response> {
  try {
    return c.json({ results: await change() });
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    if (err instanceof NoSuchTargetError) return c.json({ error }, 404);
    if (err instanceof ResolveError) return c.json({ error }, 422);
    if (err instanceof StoreUnavailableError) return c.json({ error }, 503);
    if (err instanceof NetpingError && err.exitCode === 2) return c.json({ error }, 400);
    throw err;
  }
}
