// CPU of the path keeper's tick at N traced targets: one take() and one
// nextDueMs() of lib/path/trace-schedule.ts, as daemon/path-keeper.ts calls
// them at every trace start (~N / 900 a second at the default 15 min). Pure
// and in-process: no reference tool applies; compare commits.
//
//   node dist/bench/trace-schedule-ticks.js 50000

import { TraceSchedule } from '../lib/path/trace-schedule.js';

const RUN_MS = 2000;
const TICK_MS = 10; // path-keeper's MIN_GAP_MS
const CONCURRENT = 4;

const targets = Number(process.argv[2] ?? '10000');
if (!Number.isInteger(targets) || targets < 1)
  throw new Error('usage: trace-schedule-ticks.js TARGETS');
const schedule = new TraceSchedule({ intervalMs: 900_000, maxConcurrent: 8, minGapMs: TICK_MS });
schedule.set(
  Array.from({ length: targets }, (_, i) => `t${i}@127.0.0.1`),
  0,
);
const running: [string, number][] = [];
let now = 0;
let ticks = 0;
let starts = 0;
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
while (performance.now() - wall0 < RUN_MS) {
  now += TICK_MS;
  ticks++;
  for (const key of schedule.take(now)) {
    running.push([key, now]);
    starts++;
  }
  schedule.nextDueMs();
  if (running.length >= CONCURRENT) {
    const [key, at] = running.shift()!;
    schedule.finished(key, at);
  }
}
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  `${targets} targets: ${ticks} ticks, ${starts} trace starts, ` +
    `${((cpu.user + cpu.system) / ticks).toFixed(2)} µs CPU per tick (take + nextDueMs)\n`,
);
