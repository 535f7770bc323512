// Readers against probing: netpingd with N loopback targets at 1 s and one
// fast target (10 ms), while clients fetch pages back to back. What
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

/** What the readers fetch unless told: the scrape and the plain table. */
export const SCRAPE_PATHS: readonly string[] = ['/metrics', '/'];
/** Every page a crowd of readers may fetch (issue 23's case): the heavy ones and the target page's. */
export const ALL_READ_PATHS: readonly string[] = [
  '/metrics',
  '/',
  '/api/sparklines',
  '/api/targets',
  '/api/history?target=fast@127.0.0.1&range=1h',
];

export interface ScrapeLoadOptions {
  readonly targets: number;
  readonly seconds: number;
  /** Concurrent readers, each fetching one of `paths` (in turn) back to back. */
  readonly clients: number;
  readonly fastIntervalMs: number;
  /** The paths the readers fetch, dealt out in order; SCRAPE_PATHS unless given. */
  readonly paths?: readonly string[];
  /** Extra netpingd arguments and environment. */
  readonly daemonArgs?: readonly string[];
  readonly daemonEnv?: NodeJS.ProcessEnv;
  /** Given netpingd's output before it is stopped (a benchmark's diagnostics). */
  readonly daemonLog?: (log: string) => void;
  /** Called as the readers start and once they have stopped (a reference tool's run, say). */
  readonly atLoadStart?: () => void | Promise<void>;
  readonly atLoadEnd?: () => void | Promise<void>;
}

export interface PathReads {
  path: string;
  /** Reads served (2xx). */
  count: number;
  /** Reads turned away with 503 and a Retry-After (the bound on heavy bodies). */
  refused: number;
  medianMs: number;
  maxMs: number;
}

export interface ScrapeLoadResult {
  readonly seconds: number;
  /** The fast target's probes due between the two reports' generatedAt stamps. */
  readonly expectedProbes: number;
  readonly sentProbes: number;
  /** Fast target's probes sent as % of its interval's due. */
  readonly ratePct: number;
  readonly lost: number;
  readonly maxRttMs: number | undefined;
  /** How late the daemon's event loop ran during the load (loop-delay-probe.ts, 1 ms ticks). */
  readonly loopDelay: LoopDelay;
  readonly reads: PathReads[];
  /** The fast target's reports at the start and end of the load. */
  readonly fastBefore: TargetReport;
  readonly fastAfter: TargetReport;
}

/** Loopback addresses from 127.100.0.1 on, one per target. */
export function loopback(i: number): string {
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

/** The module netpingd is started with (--import) to measure its loop: loop-delay-probe.ts. */
export const LOOP_DELAY_PROBE = pathToFileURL(
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
      ...(o.daemonArgs ?? []),
    ],
    {
      NODE_OPTIONS: `--import=${LOOP_DELAY_PROBE}`,
      NETPING_LOOP_DELAY_FILE: delayFile,
      ...o.daemonEnv,
    },
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
    const fast = async (): Promise<{ at: number; target: TargetReport | undefined }> => {
      const r = await report(d.baseUrl);
      return { at: Date.parse(r.generatedAt), target: r.targets.find((t) => t.name === 'fast') };
    };
    await eventually('the fast target probed', async () =>
      ((await fast()).target?.received ?? 0) > 10 ? true : undefined,
    );
    const before = await fast();
    d.child.kill('SIGUSR2'); // the loop-delay probe starts measuring now
    await o.atLoadStart?.();
    const t0 = performance.now();
    const deadline = t0 + o.seconds * 1000;
    const paths = o.paths ?? SCRAPE_PATHS;
    const reads = new Map(
      paths.slice(0, o.clients).map((p) => [p, { times: [] as number[], refused: 0 }]),
    );
    const reader = async (urlPath: string): Promise<void> => {
      const seen = reads.get(urlPath)!;
      // Bounded in time by the deadline and in count by the number of reads.
      for (let n = 0; n < 100_000 && performance.now() < deadline; n++) {
        const start = performance.now();
        const res = await fetch(`${d.baseUrl}${urlPath}`, { signal: AbortSignal.timeout(30_000) });
        const body = await res.text();
        if (res.status === 503 && res.headers.get('retry-after') !== null) {
          seen.refused++;
          // As a client that honours Retry-After would, but not for a whole second: the load goes on.
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        seen.times.push(performance.now() - start);
        if (!res.ok || body.length === 0) throw new Error(`GET ${urlPath}: HTTP ${res.status}`);
      }
    };
    await Promise.all([
      ...Array.from({ length: o.clients }, (_, i) => reader(paths[i % paths.length]!)),
      // Without readers: the same time at rest, the figures to compare with.
      new Promise((resolve) => setTimeout(resolve, o.seconds * 1000)),
    ]);
    await o.atLoadEnd?.();
    const after = await fast();
    const seconds = (performance.now() - t0) / 1000;
    const first = before.target!;
    const last = after.target!;
    const expected = (after.at - before.at) / o.fastIntervalMs;
    const sent = last.sent - first.sent;
    o.daemonLog?.(d.log());
    stopped = true;
    if ((await d.stop('SIGTERM')) !== 0)
      throw new Error(`netpingd did not stop cleanly:\n${d.log()}`);
    return {
      seconds,
      expectedProbes: Math.round(expected),
      sentProbes: sent,
      ratePct: (100 * sent) / expected,
      lost: last.lost - first.lost,
      maxRttMs: last.maxMs,
      loopDelay: JSON.parse(readFileSync(delayFile, 'utf8')) as LoopDelay,
      reads: [...reads].map(([p, { times, refused }]) => ({
        path: p,
        count: times.length,
        refused,
        medianMs: median(times),
        maxMs: Math.max(...times),
      })),
      fastBefore: first,
      fastAfter: last,
    };
  } finally {
    if (!stopped) await d.stop('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  }
}
