// Response bodies that grow with the number of targets, streamed: text
// joined into chunks of about a slice's work (lib/slicing.ts), bytes as the
// encoder hands them over, and the event loop served between chunks. Once
// streaming has begun the status is sent, so a failure can only cut the body
// short: it is logged, and the reader sees a truncated body.

import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import type { Log } from '../log.js';
import { slicedChunks } from '../slicing.js';

export function streamedText(
  c: Context,
  contentType: string,
  pieces: () => AsyncIterable<string> | Iterable<string>,
  log: Log,
): Response {
  return streamedBytes(c, contentType, () => slicedChunks(pieces()), log);
}

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
