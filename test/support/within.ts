// Polls an async check until it gives a value, bounded in tries and time;
// throws saying what did not happen (and the check's last error).

import { setTimeout as sleep } from 'node:timers/promises';

export async function within<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined>,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last = '';
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(everyMs);
  }
  throw new Error(`not within ${ms} ms: ${what}${last ? ` (${last})` : ''}`);
}
