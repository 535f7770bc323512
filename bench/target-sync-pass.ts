// What keeping the targets costs the event loop at scale, in process:
// TargetSync over N members (a Map for the engine's sink, the set in
// memory), for the first read, a resync that finds nothing changed, a
// notice of one member added and removed, a resync that finds one change,
// and the control API's add and remove of one target (lib/target-changes.ts
// with TargetSync's parser, as the daemon runs them), each repeated. For each: the longest the loop was held during it
// (the largest gap between the runs of a 1 ms timer, beyond the 1 ms:
// monitorEventLoopDelay, read right after one piece of work, missed most of
// them), and its CPU time.
// Beside it, the reference: a plain 1 ms timer's lateness with nothing to do,
// measured in the same run. Runs on an older TargetSync too (no notice():
// a notice there is a re-read), for before/after figures.
//
//   node dist/bench/target-sync-pass.js --targets 10000 --rounds 20

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { TargetSync, type TargetSink } from '../daemon/target-sync.js';
import type { TargetChange } from '../lib/store/target-store.js';
import { addTargets, removeTargets } from '../lib/target-changes.js';
import { targetKey, type Target } from '../lib/target.js';
import { MemoryTargetStore } from '../test/support/memory-target-store.js';
import { loopback } from '../test/support/scrape-load.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '20' },
  },
  strict: true,
});
const n = Number(values.targets);
const rounds = Number(values.rounds);
if (!Number.isInteger(n) || n < 1 || n > 100_000 || !Number.isInteger(rounds) || rounds < 1) {
  console.error('target-sync-pass: --targets 1-100000 and --rounds >= 1, whole numbers');
  process.exit(2);
}

const held = new Map<string, Target>();
const sink: TargetSink = {
  add: (t) => void held.set(targetKey(t), t),
  remove: (key) => held.delete(key),
  keys: () => held.keys(),
};
const store = new MemoryTargetStore(Array.from({ length: n }, (_, i) => `t${i}@${loopback(i)}`));
const sync = new TargetSync({
  store,
  sink,
  settings: { intervalMs: 1000, timeoutMs: 1000 },
  maxTargets: n + 100,
  log: () => {},
});
// An older TargetSync has no notice(): every notice was a re-read.
const notice = (change: TargetChange): Promise<void> => {
  const s = sync as unknown as { notice?: (c: TargetChange) => Promise<void> };
  return s.notice ? s.notice(change) : sync.request();
};

interface Figures {
  loopMaxMs: number[];
  cpuMs: number[];
}
const figures = new Map<string, Figures>();
// The largest gap between two runs of a 1 ms timer since the last reset.
let last = performance.now();
let maxGapMs = 0;
const ticker = setInterval(() => {
  const now = performance.now();
  maxGapMs = Math.max(maxGapMs, now - last);
  last = now;
}, 1);
async function measure(name: string, work: () => Promise<unknown>): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  last = performance.now();
  maxGapMs = 0;
  const cpu = process.cpuUsage();
  await work();
  // The work's last piece is seen by the ticker's next run.
  await new Promise((resolve) => setTimeout(resolve, 3));
  const used = process.cpuUsage(cpu);
  const f = figures.get(name) ?? { loopMaxMs: [], cpuMs: [] };
  f.loopMaxMs.push(Math.max(0, maxGapMs - 1));
  f.cpuMs.push((used.user + used.system) / 1000);
  figures.set(name, f);
}

await measure('first read', () => sync.request());
if (held.size !== n) throw new Error(`${held.size} targets held, not ${n}`);
for (let r = 0; r < rounds; r++) {
  await measure('nothing to do (reference: the timer alone)', () => Promise.resolve());
  await measure('resync, nothing changed', () => sync.request());
  const extra = `x${r}@${loopback(n + r)}`;
  await store.add([extra]);
  await measure('notice: one member added', () => notice({ op: 'add', members: [extra] }));
  await store.remove([extra]);
  await measure('notice: one member removed', () => notice({ op: 'remove', members: [extra] }));
  await store.add([extra]);
  await measure('resync, one member added', () => sync.request());
  await store.remove([extra]);
  await sync.request();
  const parse = sync.parse.bind(sync);
  const added = `api${r}@${loopback(n + 1000 + r)}`;
  await measure('control API: add one target', () =>
    addTargets(store, [added], { maxTargets: n + 100, parse }),
  );
  await measure('control API: remove one target', () => removeTargets(store, [added], { parse }));
}
if (held.size !== n) throw new Error(`${held.size} targets held at the end, not ${n}`);

clearInterval(ticker);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`TargetSync over ${n} members, ${rounds} rounds (loop held: beyond a 1 ms tick)`);
for (const [name, f] of figures) {
  console.log(
    `${name}: loop held median ${median(f.loopMaxMs).toFixed(2)} ms, max ${Math.max(...f.loopMaxMs).toFixed(2)} ms; ` +
      `CPU median ${median(f.cpuMs).toFixed(2)} ms`,
  );
}
