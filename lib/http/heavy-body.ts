// A body that grows with the number of targets, served under the bound on
// bodies made at once (body-gate.ts) and shared with every reader of the
// same page who comes while it is made (shared-render.ts).

import type { Context } from 'hono';
import type { Log } from '../log.js';
import { slicedChunks } from '../slicing.js';
import { BodyGate, RETRY_AFTER_S } from './body-gate.js';
import { SharedRenders } from './shared-render.js';
import { streamedBytes } from './streamed.js';

export interface HeavyBodyRequest {
  /** The page, for the count of refused readers: /metrics, /api/targets… */
  readonly page: string;
  /** Readers with the same key get the same body: the page and whatever varies it. */
  readonly key: string;
  readonly contentType: string;
  /**
   * Whether it waits for a slot under the bound; false for a body of one
   * target (its history), which should not queue behind whole-set pages.
   */
  readonly bounded?: boolean;
}

export type HeavyBody = (
  c: Context,
  request: HeavyBodyRequest,
  /** Bytes as the encoder hands them over (slicing its own work). */
  make: () => AsyncIterable<string | Uint8Array>,
) => Response | Promise<Response>;

/** Text pieces joined into chunks of the turn's budget (lib/slicing.ts), for a HeavyBody. */
export function textChunks(
  pieces: () => AsyncIterable<string> | Iterable<string>,
): () => AsyncIterable<string> {
  return () => slicedChunks(pieces());
}

export function heavyBodies(gate: BodyGate, renders: SharedRenders, log: Log): HeavyBody {
  return async (c, request, make) => {
    const { key, page, contentType } = request;
    if (request.bounded === false) {
      const body = renders.read(key, make);
      return streamedBytes(c, contentType, () => body, log);
    }
    if (!renders.has(key)) {
      const entered = gate.enter(page);
      if (entered === undefined) {
        return c.text(
          `busy: more pages are being made than netpingd makes at once; try again in ${RETRY_AFTER_S} s\n`,
          503,
          { 'Retry-After': String(RETRY_AFTER_S), 'Cache-Control': 'no-store' },
        );
      }
      const release = await entered;
      // Read at once, in this turn: a reader that waited with us and began it first is joined.
      const body = renders.read(key, make, release);
      return streamedBytes(c, contentType, () => body, log);
    }
    const body = renders.read(key, make);
    return streamedBytes(c, contentType, () => body, log);
  };
}
