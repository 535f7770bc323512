// Sending a direction's bytes without holding the event loop, which is our
// measuring instrument (docs/MEASUREMENT.md): one buffer, filled once and
// written again and again (a write keeps a reference, it does not copy);
// after a write the kernel did not take at once, wait for 'drain'; and at
// most a few writes per loop turn, so timers and probe replies are served
// between them even when the kernel takes everything.

import { randomFillSync } from 'node:crypto';
import type { Socket } from 'node:net';

export const STREAM_BUFFER_BYTES = 128 * 1024;
const WRITES_PER_TURN = 8;

let shared: Buffer | undefined;

/** The bytes every stream sends: random, so nothing on the way can compress them. */
function streamBuffer(): Buffer {
  shared ??= randomFillSync(Buffer.allocUnsafe(STREAM_BUFFER_BYTES));
  return shared;
}

/**
 * Writes to `socket` until `untilMs` (on `nowMs`'s clock) or `maxBytes`,
 * then ends it. Resolves with the bytes handed to the socket when ended,
 * closed or failed.
 */
export function streamUntil(
  socket: Socket,
  untilMs: number,
  maxBytes: number,
  nowMs: () => number,
): Promise<number> {
  const buf = streamBuffer();
  let written = 0;
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.off('drain', pump);
      socket.off('close', finish);
      resolve(written);
    };
    function pump(): void {
      if (done) return;
      if (socket.destroyed) return finish();
      for (let i = 0; i < WRITES_PER_TURN; i++) {
        const left = maxBytes - written;
        if (nowMs() >= untilMs || left <= 0) {
          socket.end();
          return finish();
        }
        const chunk = left < buf.length ? buf.subarray(0, left) : buf;
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      setImmediate(pump);
    }
    socket.once('close', finish);
    pump();
  });
}
