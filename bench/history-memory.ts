// Memory and saved size of full history: N targets with 48 h of minutes and
// 90 days of hours each (bench/history-synth.ts), held whole (--full, as
// releases before issue 22 held it) or as netpingd holds it now, the recent
// span only (the rest is in the store).
//   node --expose-gc dist/bench/history-memory.js [targets] [sigma] [--full]

import {
  chunkOf,
  recordsToBinary,
  recordsToText,
  type ChunkId,
} from '../lib/history/history-chunks.js';
import { FULL_LIMITS, RECENT_LIMITS, type TargetHistory } from '../lib/history/target-history.js';
import { chunkRecords, synthHistory, TYPICAL } from './history-synth.js';

const targets = Number(process.argv[2] ?? 1000);
const sigma = Number(process.argv[3] ?? TYPICAL.sigma);
const full = process.argv.includes('--full');
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
    synthHistory(
      i + 1,
      nowMinute,
      { ...TYPICAL, sigma },
      undefined,
      full ? FULL_LIMITS : RECENT_LIMITS,
    ),
  ]);
const builtMs = performance.now() - started;
gc();
const afterMem = process.memoryUsage();
const held = histories.reduce((a, [, h]) => a + h.heldBytes, 0);

// Saved size of one day: 24 minute chunks and one day chunk, in each store's form.
const saved = { text: 0, varints: 0 };
const day = Math.floor(nowMinute / 1440) - 3;
const dayChunks: ChunkId[] = [{ resolution: 'hour', span: day }];
for (let hour = Math.floor(nowMinute / 60) - 24; hour < Math.floor(nowMinute / 60); hour++)
  dayChunks.push(chunkOf('minute', hour * 60));
const perDay = { minutes: { ...saved }, hours: { ...saved } };
// Only full histories hold a whole day of records to save.
for (const id of full ? dayChunks : []) {
  const into = id.resolution === 'minute' ? perDay.minutes : perDay.hours;
  for (const [key, records] of chunkRecords(id, histories)) {
    into.text += JSON.stringify([key, recordsToText(records)]).length + 1;
    into.varints += recordsToBinary(records).length;
  }
}
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
console.log(
  JSON.stringify(
    {
      targets,
      sigma,
      held: full ? 'full history (--full)' : 'the recent span (what netpingd holds)',
      buildMs: Math.round(builtMs),
      heldTypedArrayBytes: mb(held),
      heldPerTargetKB: +(held / targets / 1024).toFixed(1),
      rssDelta: mb(afterMem.rss - before.rss),
      heapPlusArrayBuffersDelta: mb(
        afterMem.heapUsed + afterMem.arrayBuffers - before.heapUsed - before.arrayBuffers,
      ),
      savedBytesPerTargetPerDay: !full
        ? 'with --full'
        : {
            'minutes, embedded (text lines)': Math.round(perDay.minutes.text / targets),
            'minutes, Redis (varints)': Math.round(perDay.minutes.varints / targets),
            'hours, embedded (text lines)': Math.round(perDay.hours.text / targets),
            'hours, Redis (varints)': Math.round(perDay.hours.varints / targets),
          },
    },
    null,
    2,
  ),
);
