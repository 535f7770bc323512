// How long a start takes to read the embedded store's history back: N
// targets with 48 h of minutes saved as netpingd saves them (a line per
// target and minute, appended) and 90 days of hours (a line per target and
// hour), then HistoryKeeper.load(), timed, and the longest hold of the event
// loop meanwhile; then the compaction of the closed chunks (the previous
// format's files) that the start began, and the longest hold through it. Records are fixed (60 sent, three buckets): the cost is in
// the lines, not their content.
//   node dist/bench/history-restore.js [targets=1000]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HistoryKeeper } from '../daemon/history-keeper.js';
import { chunkKey, chunkOf, chunkPeriods } from '../lib/history/history-chunks.js';
import { TargetStats } from '../lib/stats/target-stats.js';
import { EmbeddedStore } from '../lib/store/embedded-store.js';

const targets = Number(process.argv[2] ?? 1000);
const dir = mkdtempSync(path.join(process.env.NETPING_BENCH_DIR ?? tmpdir(), 'netping-restore-'));
try {
  const keys = Array.from({ length: targets }, (_, i) => `t${i}@127.1.${i >> 8}.${i & 255}`);
  const store = await EmbeddedStore.open(dir);
  const nowMinute = Math.floor(Date.now() / 60_000);
  const write = async (resolution: 'minute' | 'hour', period: number): Promise<void> => {
    const id = chunkOf(resolution, period);
    const offset = period - chunkPeriods(id)[0];
    const record = [offset, resolution === 'minute' ? 60 : 3600, 0, 0, 0, 0, 40, 10, 30, 20];
    await store.appendHistory(new Map([[chunkKey(id), new Map(keys.map((k) => [k, [record]]))]]));
  };
  const nowHour = Math.floor(nowMinute / 60);
  for (let h = nowHour - 90 * 24; h < nowHour; h++) await write('hour', h);
  for (let m = nowMinute - 48 * 60; m < nowMinute; m++) await write('minute', m);
  await store.close();

  const live = keys.map((key) => ({ key, stats: new TargetStats() }));
  const again = await EmbeddedStore.open(dir);
  const keeper = new HistoryKeeper({
    store: again,
    live: () => live,
    wallNowMs: Date.now,
    forgetAfterMs: 600_000,
    log: (line) => console.error(line),
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  await keeper.load();
  const tookMs = performance.now() - started;
  const restoreHoldMs = delay.max / 1e6;
  // The closed chunks of the previous format compacted meanwhile, in the background.
  await again.historyFiles.settled();
  const compactedMs = performance.now() - started;
  delay.disable();
  console.log(
    JSON.stringify({
      targets,
      minutesPerTarget: live[0]!.stats.history.minutes.size,
      hoursPerTarget: live[0]!.stats.history.hours.size,
      loadSeconds: +(tookMs / 1000).toFixed(1),
      longestLoopHoldMs: +restoreHoldMs.toFixed(1),
      compactedSeconds: +(compactedMs / 1000).toFixed(1),
      longestLoopHoldWithCompactionMs: +(delay.max / 1e6).toFixed(1),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
