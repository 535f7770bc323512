// Readers against probing, at scale: N loopback targets at 1 s, one more at
// 10 ms, and C clients reading pages back to back for S seconds: /metrics
// and / (--paths scrape), or also /api/sparklines, /api/targets and
// /api/history (--paths all, issue 23's case). Prints how the fast target
// fared (probes sent of due, loss, max RTT), how late netpingd's event loop
// ran, and with --fping what fping made of the same targets in the same run
// (the bulk at 1 s, the fast one at 10 ms in a process of its own). Traffic
// goes to 127.0.0.0/8 only.
//
//   node dist/bench/scrape-load.js --targets 10000 --seconds 20 --clients 16 --paths all --fping

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ALL_READ_PATHS, runScrapeLoad, SCRAPE_PATHS } from '../test/support/scrape-load.js';
import type { FastTargetFigures } from './support/fping-alongside.js';
import {
  FAST_INTERVAL_MS,
  fixed,
  fpingAlongside,
  printReferenceAndLoop,
  wholeNumber,
} from './support/fast-target-report.js';
import { stopAll } from './support/processes.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '2' },
    paths: { type: 'string', default: 'scrape' },
    fping: { type: 'boolean', default: false },
  },
  strict: true,
});
const int = wholeNumber('scrape-load');
if (values.paths !== 'scrape' && values.paths !== 'all') {
  console.error('scrape-load: --paths is scrape (/metrics and /) or all (also the /api pages)');
  process.exit(2);
}
const targets = int('targets', values.targets, 1, 60_000);
const dir = mkdtempSync(path.join(tmpdir(), 'netping-scrape-bench-'));
const fping = fpingAlongside(values.fping, dir, targets);
let fpingFigures: FastTargetFigures | undefined;
let r;
try {
  r = await runScrapeLoad({
    targets,
    seconds: int('seconds', values.seconds, 2, 600),
    clients: int('clients', values.clients, 0, 64),
    fastIntervalMs: FAST_INTERVAL_MS,
    paths: values.paths === 'all' ? ALL_READ_PATHS : SCRAPE_PATHS,
    // NETPING_BENCH_V8_FLAGS='--trace-gc' shows where the loop's time went (in netpingd's log, printed).
    daemonEnv: process.env.NETPING_BENCH_V8_FLAGS
      ? { NETPING_V8_FLAGS: process.env.NETPING_BENCH_V8_FLAGS }
      : {},
    daemonLog: (log) => {
      if (process.env.NETPING_BENCH_V8_FLAGS) console.log(log);
    },
    atLoadStart: () => fping?.start(),
    atLoadEnd: async () => {
      if (fping) fpingFigures = await fping.stop();
    },
  });
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
const f = fixed;
console.log(
  `targets ${targets} at 1 s + one at 10 ms; ${values.clients} readers of ` +
    `${values.paths === 'all' ? ALL_READ_PATHS.length : SCRAPE_PATHS.length} pages for ${f(r.seconds)} s`,
);
console.log(
  `netpingd 10 ms target: ${r.sentProbes} of ${r.expectedProbes} probes due (${f(r.ratePct)} %), ` +
    `${r.lost} lost, max RTT ${f(r.maxRttMs, 3)} ms`,
);
printReferenceAndLoop(fpingFigures, r.loopDelay);
for (const x of r.reads) {
  console.log(
    `${x.path}: ${x.count} reads, median ${f(x.medianMs, 0)} ms, max ${f(x.maxMs, 0)} ms` +
      (x.refused > 0 ? `, ${x.refused} turned away (503)` : ''),
  );
}
