// How long the history's periodic work holds the event loop at N targets
// (default 1,000) with full synthetic history: the minute close and save
// (to an in-memory store, so only our own work is timed), and reading
// /api/history (48 h and 90 d) and /api/sparklines through the app.
//   node dist/bench/history-loop.js [targets]

import { heldRecords } from '../lib/http/history-api.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HistoryKeeper } from '../daemon/history-keeper.js';
import { createApp } from '../lib/http/app.js';
import { TargetStats } from '../lib/stats/target-stats.js';
import type { HistoryStore } from '../lib/store/stats-store.js';
import { synthHistory } from './history-synth.js';

const n = Number(process.argv[2] ?? 1000);
const nowMinute = Math.floor(Date.now() / 60_000);
const live = Array.from({ length: n }, (_, i) => {
  const stats = new TargetStats();
  stats.adoptHistory(synthHistory(i + 1, nowMinute));
  for (let k = 0; k < 60; k++) {
    stats.recordSent();
    stats.recordReply(5 + (k % 7), 0);
  }
  return { key: `t${i}@127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, stats };
});
let saved = 0;
const store: HistoryStore = {
  historyChunkNames: () => Promise.resolve([]),
  loadHistoryChunk: () => Promise.resolve(new Map()),
  appendHistory: (chunks) => {
    for (const targets of chunks.values()) for (const r of targets.values()) saved += r.length;
    return Promise.resolve([]);
  },
  forgetHistory: () => Promise.resolve(),
};
const keeper = new HistoryKeeper({
  store,
  live: () => live,
  wallNowMs: Date.now,
  forgetAfterMs: 600_000,
  log: () => {},
});
const app = createApp({
  view: () => {
    throw new Error('not used');
  },
  metrics: () => [],
  metricsContentType: 'text/plain',
  history: {
    find: (key) => live.find((t) => t.key === key)?.stats.history,
    live: () => live,
    nowMs: Date.now,
    records: heldRecords,
  },
});

async function measure(what: string, work: () => Promise<unknown>): Promise<void> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const started = performance.now();
  await work();
  const tookMs = performance.now() - started;
  h.disable();
  console.log(
    `${what}: ${tookMs.toFixed(0)} ms in all, loop held at most ${Math.max(0, h.max / 1e6 - 1).toFixed(1)} ms (p99 ${Math.max(0, h.percentile(99) / 1e6 - 1).toFixed(1)} ms)`,
  );
}

const body = async (path: string): Promise<number> =>
  (await (await app.request(path)).text()).length;
// Three rounds: the first includes compiling the code; the daemon runs these every minute.
for (let round = 1; round <= 3; round++) {
  console.log(`round ${round}`);
  saved = 0;
  await measure('minute close + save', () => keeper.closeAndSave(nowMinute + round - 1));
  console.log(`  saved ${saved} records`);
  await measure('/api/history 48h', () =>
    body(`/api/history?target=${encodeURIComponent(live[0]!.key)}&range=48h`),
  );
  await measure('/api/history 90d', () =>
    body(`/api/history?target=${encodeURIComponent(live[0]!.key)}&range=90d`),
  );
  await measure('/api/sparklines', () => body('/api/sparklines'));
}
