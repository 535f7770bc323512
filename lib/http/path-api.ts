// GET /api/path?target=<name or name@address>: the target's path as last
// traced (lib/path/path-report.ts); &fresh=1 traces it now first (what
// npcli path asks for; a trace of the last few seconds is reused, and only
// a few run at once, so this cannot be turned into a flood). One small body.

import type { Hono } from 'hono';
import { InvalidInputError } from '../errors.js';
import type { PathJson } from '../path/path-report.js';

/** Too many traces asked for at once (any reader may ask): 429, try again. */
export class TracesBusyError extends Error {
  override name = 'TracesBusyError';
}

export interface PathDeps {
  /** The traced targets' keys a selector names: the key itself, or every key of that name. */
  keysFor(selector: string): string[];
  path(key: string, fresh: boolean): Promise<PathJson>;
}

export function addPathRoutes(app: Hono, deps: PathDeps): void {
  app.get('/api/path', async (c) => {
    const selector = c.req.query('target');
    if (!selector) throw new InvalidInputError('give ?target=<name or name@address>');
    if (selector.length > 400) throw new InvalidInputError('target is too long');
    const keys = deps.keysFor(selector);
    if (keys.length === 0) return c.json({ error: `no icmp target ${selector}` }, 404);
    if (keys.length > 1)
      return c.json(
        {
          error: `${selector} names ${keys.length} targets: give one of ${keys.slice(0, 10).join(', ')}`,
        },
        400,
      );
    const fresh = c.req.query('fresh');
    try {
      return c.json(await deps.path(keys[0]!, fresh === '1' || fresh === 'true'));
    } catch (err) {
      if (err instanceof TracesBusyError) return c.json({ error: err.message }, 429);
      throw err;
    }
  });
}
