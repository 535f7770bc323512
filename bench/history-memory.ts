// Memory and saved size of full history: N targets with 48 h of minutes and
// 90 days of hours each (bench/history-synth.ts).
//   node --expose-gc dist/bench/history-memory.js [targets] [sigma]

import { chunkKey, chunkOf, chunkPieces } from '../lib/history/history-chunks.js';
import type { TargetHistory } from '../lib/history/target-history.js';
import { synthHistory, TYPICAL } from './history-synth.js';

const targets = Number(process.argv[2] ?? 1000);
const sigma = Number(process.argv[3] ?? TYPICAL.sigma);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const nowMinute = Math.floor(Date.now() / 60_000);
gc();
const before = process.memoryUsage();
const histories: [string, TargetHistory][] = [];
const started = performance.now();
for (let i = 0; i < targets; i++)
  histories.push([
    `t${i}@127.1.${i >> 8}.${i & 255}`,
    synthHistory(i + 1, nowMinute, { ...TYPICAL, sigma }),
  ]);
const builtMs = performance.now() - started;
gc();
const afterMem = process.memoryUsage();
const held = histories.reduce((a, [, h]) => a + h.heldBytes, 0);

// Saved size: one day of minute chunks and one day of hour chunks.
let minuteDayChars = 0;
for (let hour = Math.floor(nowMinute / 60) - 24; hour < Math.floor(nowMinute / 60); hour++)
  for (const piece of chunkPieces(chunkOf('minute', hour * 60), histories))
    minuteDayChars += piece.length;
let hourDayChars = 0;
const day = chunkOf('hour', Math.floor(nowMinute / 60) - 72);
for (const piece of chunkPieces(day, histories)) hourDayChars += piece.length;
const lastHourChunk = chunkOf('minute', nowMinute - 1);
let lastChunkChars = 0;
for (const piece of chunkPieces(lastHourChunk, histories)) lastChunkChars += piece.length;

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
console.log(
  JSON.stringify(
    {
      targets,
      sigma,
      buildMs: Math.round(builtMs),
      heldTypedArrayBytes: mb(held),
      heldPerTargetKB: +(held / targets / 1024).toFixed(1),
      rssDelta: mb(afterMem.rss - before.rss),
      heapPlusArrayBuffersDelta: mb(
        afterMem.heapUsed + afterMem.arrayBuffers - before.heapUsed - before.arrayBuffers,
      ),
      savedBytesPerTargetPerDay: {
        minutes: Math.round(minuteDayChars / targets),
        hours: Math.round(hourDayChars / targets),
      },
      [`chunk ${chunkKey(lastHourChunk)} (a full hour, rewritten each minute)`]: mb(lastChunkChars),
    },
    null,
    2,
  ),
);
