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
import * as fast from './support/fast-target-report.js';
import { stopAll } from './support/processes.js';

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
const int = fast.wholeNumber('target-notices');
const targets = int('targets', values.targets, 1, 60_000);
const changesPerS = int('changes', values.changes, 1, 200);
const dir = mkdtempSync(path.join(tmpdir(), 'netping-notice-bench-'));
const fping = fast.fpingAlongside(values.fping, dir, targets);
let fpingFigures: fast.FastTargetFigures | undefined;
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
    fastIntervalMs: fast.FAST_INTERVAL_MS,
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
const f = fast.fixed;
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
fast.printReferenceAndLoop(fpingFigures, r.loopDelay);
