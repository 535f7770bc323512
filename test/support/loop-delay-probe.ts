// Loaded into a netpingd under test with NODE_OPTIONS=--import=<this file>:
// measures how late its event loop runs, with 1 ms resolution (finer than
// prom-client's 10 ms monitor). SIGUSR2 starts a new measurement; at exit
// the figures go to $NETPING_LOOP_DELAY_FILE as JSON, in milliseconds beyond
// the 1 ms tick. For tests and benchmarks only: it adds a 1 kHz timer.

import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 1;
const file = process.env.NETPING_LOOP_DELAY_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  process.on('SIGUSR2', () => h.reset());
  // Node records the whole time between ticks: the delay is what exceeds the tick.
  const late = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  process.on('exit', () => {
    writeFileSync(
      file,
      JSON.stringify({
        samples: h.count,
        p50Ms: late(h.percentile(50)),
        p99Ms: late(h.percentile(99)),
        p999Ms: late(h.percentile(99.9)),
        maxMs: late(h.max),
      }),
    );
  });
}
