// Readers against probing: netpingd with N loopback targets at 1 s and one
// fast target (10 ms), while clients fetch /metrics and / back to back. What
// the fast target saw in that time says whether reading pages held the
// probes up: its probe rate, its losses, its largest RTT. Shared by the
// integration test (small N, a pass/fail bound) and bench/scrape-load.ts
// (large N, figures for docs/BENCHMARKS.md). Traffic: 127.0.0.0/8 only.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { DaemonReport, TargetReport } from '../../lib/report.js';
import { eventually, startDaemon } from './processes.js';

export interface ScrapeLoadOptions {
  readonly targets: number;
  readonly seconds: number;
  /** Concurrent readers: the first half fetch /metrics, the rest /. */
  readonly clients: number;
  readonly fastIntervalMs: number;
}

export interface ScrapeLoadResult {
  readonly seconds: number;
  readonly expectedProbes: number;
  readonly sentProbes: number;
  /** Fast target's probes sent as % of its interval's due. */
  readonly ratePct: number;
  readonly lost: number;
  readonly maxRttMs: number | undefined;
  /** How late the daemon's event loop ran during the load (loop-delay-probe.ts, 1 ms ticks). */
  readonly loopDelay: LoopDelay;
  readonly reads: { path: string; count: number; medianMs: number; maxMs: number }[];
}

/** Loopback addresses from 127.100.0.1 on, one per target. */
function loopback(i: number): string {
  const n = i + 1;
  return `127.${100 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

async function report(baseUrl: string): Promise<DaemonReport> {
  const res = await fetch(`${baseUrl}/api/targets`, { signal: AbortSignal.timeout(30_000) });
  return (await res.json()) as DaemonReport;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

export interface LoopDelay {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

const PROBE_JS = pathToFileURL(
  path.join(path.dirname(fileURLToPath(import.meta.url)), 'loop-delay-probe.js'),
).href;

export async function runScrapeLoad(o: ScrapeLoadOptions): Promise<ScrapeLoadResult> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-scrape-load-'));
  const members = Array.from({ length: o.targets }, (_, i) => `t${i}@${loopback(i)}`);
  writeFileSync(path.join(stateDir, 'targets.json'), JSON.stringify({ version: 1, members }));
  const delayFile = path.join(stateDir, 'loop-delay.json');
  const d = await startDaemon(
    [
      ...['--state-dir', stateDir, '--interval', '1s', '--timeout', '1s'],
      ...['--save-interval', '1h', '--max-targets', String(o.targets + 10)],
    ],
    { NODE_OPTIONS: `--import=${PROBE_JS}`, NETPING_LOOP_DELAY_FILE: delayFile },
  );
  let stopped = false;
  try {
    await eventually(
      `all ${o.targets} targets probed`,
      async () => {
        const r = await report(d.baseUrl);
        return r.targets.length === o.targets && r.targets.every((t) => t.sent > 0)
          ? true
          : undefined;
      },
      60_000,
      500,
    );
    const token = readFileSync(path.join(stateDir, 'api-token'), 'utf8').trim();
    const added = await fetch(`${d.baseUrl}/api/targets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ targets: [`fast@127.0.0.1?interval=${o.fastIntervalMs}ms`] }),
    });
    if (!added.ok) throw new Error(`adding the fast target: HTTP ${added.status}`);
    const fast = async (): Promise<TargetReport | undefined> =>
      (await report(d.baseUrl)).targets.find((t) => t.name === 'fast');
    await eventually('the fast target probed', async () =>
      ((await fast())?.received ?? 0) > 10 ? true : undefined,
    );
    const before = (await fast())!;
    d.child.kill('SIGUSR2'); // the loop-delay probe starts measuring now
    const t0 = performance.now();
    const deadline = t0 + o.seconds * 1000;
    const reads = new Map<string, number[]>();
    const reader = async (urlPath: string): Promise<void> => {
      const times = reads.get(urlPath) ?? [];
      reads.set(urlPath, times);
      // Bounded in time by the deadline and in count by the number of reads.
      for (let n = 0; n < 100_000 && performance.now() < deadline; n++) {
        const start = performance.now();
        const res = await fetch(`${d.baseUrl}${urlPath}`, { signal: AbortSignal.timeout(30_000) });
        const body = await res.text();
        times.push(performance.now() - start);
        if (!res.ok || body.length === 0) throw new Error(`GET ${urlPath}: HTTP ${res.status}`);
      }
    };
    await Promise.all(
      Array.from({ length: o.clients }, (_, i) => reader(i < o.clients / 2 ? '/metrics' : '/')),
    );
    const after = (await fast())!;
    const seconds = (performance.now() - t0) / 1000;
    const expected = (seconds * 1000) / o.fastIntervalMs;
    const sent = after.sent - before.sent;
    stopped = true;
    if ((await d.stop('SIGTERM')) !== 0)
      throw new Error(`netpingd did not stop cleanly:\n${d.log()}`);
    return {
      seconds,
      expectedProbes: Math.round(expected),
      sentProbes: sent,
      ratePct: (100 * sent) / expected,
      lost: after.lost - before.lost,
      maxRttMs: after.maxMs,
      loopDelay: JSON.parse(readFileSync(delayFile, 'utf8')) as LoopDelay,
      reads: [...reads].map(([p, times]) => ({
        path: p,
        count: times.length,
        medianMs: median(times),
        maxMs: Math.max(...times),
      })),
    };
  } finally {
    if (!stopped) await d.stop('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  }
}
