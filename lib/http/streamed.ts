// Response bodies that grow with the number of targets, streamed as they
// are made (text joined into chunks of a turn's work by lib/slicing.ts,
// bytes as the encoder hands them over), the event loop served between
// chunks. Once
// streaming has begun the status is sent, so a failure can only cut the body
// short: it is logged, and the reader sees a truncated body.

import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import type { Log } from '../log.js';

export function streamedBytes(
  c: Context,
  contentType: string,
  chunks: () => AsyncIterable<string | Uint8Array>,
  log: Log,
): Response {
  c.header('Content-Type', contentType);
  return stream(
    c,
    async (out) => {
      for await (const chunk of chunks()) {
        if (out.aborted) return; // the reader has gone: stop producing
        await out.write(chunk);
      }
    },
    (err) => {
      log(`HTTP ${c.req.method} ${c.req.path} failed while streaming: ${err.message}`);
      return Promise.resolve();
    },
  );
}
