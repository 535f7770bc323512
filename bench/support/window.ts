// One measurement window over a daemon that counts its own probes in
// Prometheus metrics: CPU from /proc between two scrapes, probes from the
// scrapes, then timed scrapes and memory once the window is closed, so the
// scrape cost is not charged to the probes.

import { bucketDelta, bucketMedian, histogramBuckets, sumOf } from './prometheus.js';
import { cpuSeconds, cpuSplit, memory, sleep, timedGet, type Tracked } from './processes.js';

export interface Row {
  tool: string;
  targets: number;
  probesPerS: number;
  cpuUsPerProbe: number;
  cpuPctOfCore: number;
  rssMbPeak: number;
  rssMbEnd: number;
  scrapeMsMedian: number | undefined;
  scrapeMsMax: number | undefined;
  scrapeKb: number | undefined;
  lossPct: number;
  medianRttMs: number;
  notes: string[];
}

export interface MetricNames {
  sent: string;
  /** A lost counter, or undefined to count loss as sent minus answered. */
  lost: string | undefined;
  rttHistogram: string; // in seconds
}

export interface WindowResult {
  row: Row;
  /** The /metrics bodies at the window's two ends, for tool-specific figures. */
  start: string;
  end: string;
}

export const SCRAPES = 5;

export async function measureDaemon(
  tool: string,
  targets: number,
  proc: Tracked,
  metricsUrl: string,
  names: MetricNames,
  windowS: number,
): Promise<WindowResult> {
  const scrape = async (): Promise<{
    body: string;
    atMs: number;
    ms: number;
    cpu: [number, number];
  }> => {
    const cpuBefore = cpuSeconds(proc);
    const t0 = performance.now();
    const { body, ms } = await timedGet(metricsUrl);
    return { body, atMs: t0 + ms / 2, ms, cpu: [cpuBefore, cpuSeconds(proc)] };
  };
  const rssMbBeforeScrapes = memory(proc).rssMb;
  const first = await scrape();
  const cpuStart = first.cpu[1];
  const splitStart = cpuSplit(proc);
  const wallStart = performance.now();
  await sleep(windowS * 1000);
  const splitEnd = cpuSplit(proc);
  const cpuEnd = cpuSeconds(proc);
  const wallEnd = performance.now();
  const rssMbEnd = memory(proc).rssMb;
  const last = await scrape();
  if (proc.child.exitCode !== null) throw new Error(`${tool} exited during the window`);

  const pct = (seconds: number): string => ((seconds / (wallEnd - wallStart)) * 1e5).toFixed(1);
  const ms = (n: number): string => n.toFixed(0);
  const sent = sumOf(last.body, names.sent) - sumOf(first.body, names.sent);
  const probesPerS = sent / ((last.atMs - first.atMs) / 1000);
  const windowProbes = (probesPerS * (wallEnd - wallStart)) / 1000;
  const cpu = cpuEnd - cpuStart;
  const rttStart = histogramBuckets(first.body, names.rttHistogram);
  const rttEnd = histogramBuckets(last.body, names.rttHistogram);
  const rtt = bucketDelta(rttStart, rttEnd);
  const answered =
    sumOf(last.body, `${names.rttHistogram}_count`) -
    sumOf(first.body, `${names.rttHistogram}_count`);
  const lost =
    names.lost === undefined
      ? sent - answered
      : sumOf(last.body, names.lost) - sumOf(first.body, names.lost);

  const timings: number[] = [];
  let bytes = 0;
  for (let i = 0; i < SCRAPES; i++) {
    const { body, ms } = await timedGet(metricsUrl);
    timings.push(ms);
    bytes = Buffer.byteLength(body);
  }
  timings.sort((a, b) => a - b);
  return {
    row: {
      tool,
      targets,
      probesPerS,
      cpuUsPerProbe: (cpu / windowProbes) * 1e6,
      cpuPctOfCore: (cpu / ((wallEnd - wallStart) / 1000)) * 100,
      rssMbPeak: memory(proc).peakRssMb,
      rssMbEnd,
      scrapeMsMedian: timings[Math.floor(SCRAPES / 2)],
      scrapeMsMax: timings[SCRAPES - 1],
      scrapeKb: bytes / 1024,
      lossPct: (lost / Math.max(1, lost + answered)) * 100,
      medianRttMs: bucketMedian(rtt) * 1000,
      notes: [
        `RSS ${rssMbBeforeScrapes.toFixed(1)} MB after warm-up, before the first scrape`,
        `window CPU: ${pct(splitEnd.user - splitStart.user)} user + ` +
          `${pct(splitEnd.system - splitStart.system)} system; main thread ` +
          `${pct(splitEnd.mainThread - splitStart.mainThread)} (% of a core)`,
        `the window's two scrapes took ${ms(first.ms)} and ${ms(last.ms)} ms`,
      ],
    },
    start: first.body,
    end: last.body,
  };
}
