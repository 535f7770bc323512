// Readers against probing, at scale: N loopback targets at 1 s, one more at
// 10 ms, and C clients reading /metrics and / back to back for S seconds.
// Prints how the fast target fared (probe rate, loss, max RTT) and how late
// netpingd's event loop ran. Traffic goes to 127.0.0.0/8 only.
//
//   node dist/bench/scrape-load.js --targets 10000 --seconds 20 --clients 2

import { parseArgs } from 'node:util';
import { runScrapeLoad } from '../test/support/scrape-load.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '2' },
  },
  strict: true,
});
const int = (name: string, text: string, min: number, max: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`scrape-load: --${name} must be a whole number from ${min} to ${max}`);
    process.exit(2);
  }
  return n;
};
const r = await runScrapeLoad({
  targets: int('targets', values.targets, 1, 60_000),
  seconds: int('seconds', values.seconds, 2, 600),
  clients: int('clients', values.clients, 0, 16),
  fastIntervalMs: 10,
});
const f = (n: number | undefined, digits = 1): string =>
  n === undefined ? '-' : n.toFixed(digits);
console.log(
  `targets ${values.targets} at 1 s + one at 10 ms; ${values.clients} readers for ${f(r.seconds)} s`,
);
console.log(
  `10 ms target: ${r.sentProbes} of ${r.expectedProbes} probes due (${f(r.ratePct)} %), ` +
    `${r.lost} lost, max RTT ${f(r.maxRttMs, 3)} ms`,
);
const d = r.loopDelay;
console.log(
  `event-loop delay beyond a 1 ms tick: p50 ${f(d.p50Ms, 2)} ms, p99 ${f(d.p99Ms, 2)} ms, ` +
    `p99.9 ${f(d.p999Ms, 2)} ms, max ${f(d.maxMs, 2)} ms (${d.samples} ticks)`,
);
for (const x of r.reads) {
  console.log(
    `${x.path}: ${x.count} reads, median ${f(x.medianMs, 0)} ms, max ${f(x.maxMs, 0)} ms`,
  );
}
