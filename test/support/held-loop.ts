// For the kernel-stamp tests: hold the event loop as a long scrape would,
// and run a bounded number of probes through an engine.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProbeEngine, ProbedTarget } from '../../lib/engine/probe-engine.js';
import { targetKey, type Target } from '../../lib/target.js';

/** Busy for `ms`: nothing else runs, packets wait in their sockets. */
export function holdLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

/** Time for the kernel to turn receive stamps on after a test opens its sockets. */
const KERNEL_STAMPS_SETTLE_MS = 50;

/** Sends `count` probes to `target` and waits (bounded) for their ends. */
export async function probeCount(
  engine: ProbeEngine,
  target: Target,
  settings: { intervalMs: number; timeoutMs: number },
  count: number,
): Promise<ProbedTarget> {
  // The first socket on a host to ask for receive stamps turns them on
  // through a kernel work item (net_enable_timestamp, deferred); a packet
  // that arrives before it has run has no stamp, and recvmsg stamps it when
  // read ("race occurred between timestamp enabling and packet receiving",
  // net/socket.c), so behind a held loop it reads as ~the hold late: the
  // likely cause of one RTT of 51 ms in a fresh-clone run (not reproduced).
  await sleep(KERNEL_STAMPS_SETTLE_MS);
  engine.add(target, settings);
  const run = engine.get(targetKey(target))!;
  const deadline = Date.now() + 5_000 + count * settings.intervalMs;
  while (Date.now() < deadline && (run.stats.sent < count || run.ledger.inFlight > 0))
    await sleep(10);
  engine.stopSending();
  while (Date.now() < deadline && run.ledger.inFlight > 0) await sleep(10);
  return run;
}

/**
 * The probes' outcome under a held loop: every one on time (received,
 * none late or lost, RTT under `maxRttMs`), or (the control) none received
 * and every one lost. Returns the summary for further checks.
 */
export function assertHeldOutcome(
  run: ProbedTarget,
  count: number,
  onTime: boolean,
  maxRttMs: number,
): ReturnType<ProbedTarget['stats']['summary']> {
  const s = run.stats.summary();
  assert.equal(s.sent, count);
  if (onTime) {
    assert.deepEqual([s.received, s.lost, s.late], [count, 0, 0], JSON.stringify(s));
    assert.ok((s.maxMs ?? Infinity) < maxRttMs, `max RTT ${s.maxMs} ms`);
  } else {
    assert.deepEqual([s.received, s.lost], [0, count], JSON.stringify(s));
  }
  return s;
}
