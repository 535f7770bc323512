// Changes against probing, at scale: N loopback members in Redis at 1 s,
// one more at 10 ms, a writer adding and removing members (one per change,
// announced as npcli announces it) for S seconds while --resync re-reads
// the set. Prints how the fast target fared, how late netpingd's event
// loop ran, how many whole-set reads (SMEMBERS) Redis served, and with
// --fping what fping made of the same targets in the same run. Starts a
// redis-server of its own. Traffic goes to 127.0.0.0/8 only.
//
//   node dist/bench/target-notices.js --targets 10000 --seconds 10 --changes 10 --resync 1s --fping

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runNoticeLoad } from '../test/support/notice-load.js';
import { OwnRedis } from '../test/support/redis-server.js';
import { loopback } from '../test/support/scrape-load.js';
import { FpingAlongside, type FastTargetFigures } from './support/fping-alongside.js';
import { stopAll } from './support/processes.js';

const FAST_INTERVAL_MS = 10;
const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    changes: { type: 'string', default: '10' },
    resync: { type: 'string', default: '1s' },
    fping: { type: 'boolean', default: false },
  },
  strict: true,
});
const int = (name: string, text: string, min: number, max: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`target-notices: --${name} must be a whole number from ${min} to ${max}`);
    process.exit(2);
  }
  return n;
};
const targets = int('targets', values.targets, 1, 60_000);
const changesPerS = int('changes', values.changes, 1, 200);
const dir = mkdtempSync(path.join(tmpdir(), 'netping-notice-bench-'));
const fping = values.fping
  ? new FpingAlongside({
      dir,
      bulk: Array.from({ length: targets }, (_, i) => loopback(i)),
      fast: '127.0.0.1',
      fastIntervalMs: FAST_INTERVAL_MS,
    })
  : undefined;
let fpingFigures: FastTargetFigures | undefined;
const redis = await OwnRedis.reserve();
let r;
try {
  await redis.start();
  r = await runNoticeLoad({
    redisUrl: redis.url,
    prefix: 'bench',
    targets,
    seconds: int('seconds', values.seconds, 2, 600),
    changesPerS,
    resync: values.resync,
    fastIntervalMs: FAST_INTERVAL_MS,
    atLoadStart: () => fping?.start(),
    atLoadEnd: async () => {
      if (fping) fpingFigures = await fping.stop();
    },
  });
} finally {
  await stopAll();
  await redis.dispose();
  rmSync(dir, { recursive: true, force: true });
}
const f = (n: number | undefined, digits = 1): string =>
  n === undefined ? '-' : n.toFixed(digits);
console.log(
  `targets ${targets} at 1 s + one at 10 ms in Redis; ${r.changes} changes (${changesPerS}/s) ` +
    `and --resync ${values.resync} for ${f(r.seconds)} s; whole-set reads: ` +
    `${r.wholeReads.smembers} SMEMBERS, ${r.wholeReads.sscan} SSCAN steps`,
);
console.log(
  `netpingd 10 ms target: ${r.sentProbes} of ${r.expectedProbes} probes due ` +
    `(${f((100 * r.sentProbes) / r.expectedProbes)} %), ${r.lost} lost; ` +
    `ends probing exactly the set: ${r.endsEqual ? 'yes' : 'NO'}`,
);
if (fpingFigures) {
  const p = fpingFigures;
  console.log(
    `fping    10 ms target: ${p.sent} of ${p.due} probes due (${f((100 * p.sent) / p.due)} %), ` +
      `${p.sent - p.received} lost, max RTT ${f(p.maxRttMs, 3)} ms (same run, ${f(p.seconds)} s)`,
  );
}
const d = r.loopDelay;
console.log(
  `netpingd event-loop delay beyond a 1 ms tick: p50 ${f(d.p50Ms, 2)} ms, p99 ${f(d.p99Ms, 2)} ms, ` +
    `p99.9 ${f(d.p999Ms, 2)} ms, max ${f(d.maxMs, 2)} ms (${d.samples} ticks)`,
);
