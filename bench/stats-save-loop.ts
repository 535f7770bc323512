// How long the embedded store's statistics saves hold the event loop: N
// targets' entries (probed once a second, RTTs over 40 buckets) saved as
// the keeper saves them, a checkpoint then deltas, while a 1 ms interval
// timer stands in for the probe path; its lateness is what a save costs a
// probe. The reference in the same run is the same timer with no save
// running (what the machine's load alone costs it).
//   node dist/bench/stats-save-loop.js [targets=10000] [saves=6]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SavedStats } from '../lib/stats/saved-stats.js';
import { TargetStats } from '../lib/stats/target-stats.js';
import { EmbeddedStore } from '../lib/store/embedded-store.js';

const targets = Number(process.argv[2] ?? 10_000);
const saves = Number(process.argv[3] ?? 6);
const WALL0 = Date.now();

/** The 1 ms timer's lateness while `work` runs: its 99th percentile and its worst, in ms. */
async function lateness(work: () => Promise<unknown>): Promise<{ p99: number; max: number }> {
  const late: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    late.push(Math.max(0, now - last - 1));
    last = now;
  }, 1);
  await work();
  clearInterval(timer);
  late.sort((a, b) => a - b);
  const round = (v: number): number => Math.round(v * 100) / 100;
  return { p99: round(late[Math.floor(late.length * 0.99)] ?? 0), max: round(late.at(-1) ?? 0) };
}

const dir = mkdtempSync(path.join(process.env.NETPING_BENCH_DIR ?? tmpdir(), 'netping-save-loop-'));
try {
  const stats = Array.from({ length: targets }, () => new TargetStats());
  let at = 0;
  /** The entries as the keeper hands them over: text, and the objects it was made from. */
  const entries = (toS: number): [Map<string, string>, Map<string, SavedStats>] => {
    for (; at < toS; at++)
      stats.forEach((s, i) => {
        s.recordSent();
        s.recordReply(0.03 + ((at * 7 + i) % 40) * 0.01, at * 1000);
      });
    const saved = new Map(
      stats.map((s, i) => [
        `t${i}@127.2.${i >> 8}.${i & 255}`,
        s.toSaved(toS * 1000, WALL0 + toS * 1000),
      ]),
    );
    return [new Map([...saved].map(([k, v]) => [k, JSON.stringify(v)])), saved];
  };
  const store = await EmbeddedStore.open(dir);
  const rows = [];
  for (let n = 1; n <= saves; n++) {
    const [text, parsed] = entries(n * 5);
    const started = performance.now();
    const save = await lateness(() => store.saveStats(text, [], parsed));
    const tookMs = Math.round(performance.now() - started);
    const idle = await lateness(() => new Promise((r) => setTimeout(r, tookMs)));
    rows.push({
      save: n === 1 ? 'checkpoint' : 'delta',
      tookMs,
      timerLateMs: save,
      idleTimerLateMs: idle,
    });
  }
  console.log(JSON.stringify({ targets, rows }, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
