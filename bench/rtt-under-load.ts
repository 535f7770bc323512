// RTT truth under load: a far end in a network namespace answering every
// echo after 20 ms (the fault harness's responder), probed at 10/s by
// netpingd and by fping (kernel timestamps) at the same time, while netpingd
// also probes N loopback targets at 1 s; first at rest, then with R readers
// fetching /metrics, /, /api/sparklines, /api/targets and /api/history in
// loops. Prints p50/p99 of both side by side (netpingd's as the histogram
// bucket that holds the quantile). Traffic stays inside the namespaces.
//
//   node dist/bench/rtt-under-load.js --targets 10000 --readers 16 --seconds 10 [--icmp-transport raw-socket]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FAR4, NetnsPair } from '../test/support/netns.js';
import { DAEMON_JS, REPO_ROOT } from '../test/support/env.js';
import type { ResponderConfig } from '../test/support/fault-plan.js';
import { bucketDelta, histogramBuckets, type Buckets } from './support/prometheus.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '10000' },
    readers: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
    'icmp-transport': { type: 'string', default: 'auto' },
  },
  strict: true,
});
const targets = Number(values.targets);
const readers = Number(values.readers);
const windowS = Number(values.seconds);
const transport = values['icmp-transport'];
const FAR_INTERVAL_MS = 100;
const DELAY_MS = 20;
const PORT = 9922;
const RESPONDER_JS = path.join(REPO_ROOT, 'dist', 'test', 'support', 'responder.js');
const READ_PATHS = ['/metrics', '/', '/api/sparklines', '/api/targets', '/api/history?target=far'];

/** GET from inside a namespace, with room for a slow scrape of thousands of targets on a busy machine. */
async function httpGetIn(ns: string, url: string): Promise<string> {
  const script =
    'fetch(process.argv[1],{signal:AbortSignal.timeout(30000)})' +
    '.then(async r=>process.stdout.write(await r.text()))' +
    '.catch(e=>{process.stderr.write(String(e));process.exit(1)})';
  const { stdout } = await promisify(execFile)(
    'ip',
    ['netns', 'exec', ns, process.execPath, '-e', script, url],
    {
      timeout: 40_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function loopback(i: number): string {
  const n = i + 1;
  return `127.${100 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/** The bucket holding quantile q of netpingd's far target, in ms. */
function bucketOf(buckets: Buckets, q: number): string {
  const list = [...buckets.values()].sort((a, b) => a.upper - b.upper);
  const total = list.reduce((s, b) => s + b.count, 0);
  let seen = 0;
  for (const b of list) {
    seen += b.count;
    if (seen >= q * total) return `${(b.lower * 1000).toFixed(1)}–${(b.upper * 1000).toFixed(1)}`;
  }
  return 'n/a';
}

function quantile(sorted: readonly number[], q: number): string {
  if (sorted.length === 0) return 'n/a';
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!.toFixed(2);
}

/** fping -C's per-probe times for the far end ("10.200.0.2 : 20.1 20.3 - ..."). */
function fpingTimes(stderr: string): number[] {
  const line = stderr.split('\n').find((l) => l.startsWith(`${FAR4} `)) ?? '';
  return line
    .split(':')[1]!
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '-')
    .map(Number)
    .sort((a, b) => a - b);
}

const farBuckets = async (pair: NetnsPair): Promise<Buckets> => {
  const text = await httpGetIn(pair.near, `http://127.0.0.1:${PORT}/metrics`);
  const far = text
    .split('\n')
    .filter((l) => !l.startsWith('netping_rtt_seconds_bucket') || l.includes('target="far"'))
    .join('\n');
  return histogramBuckets(far, 'netping_rtt_seconds');
};

const READER_SCRIPT = `
const [base, seconds, n, ...paths] = process.argv.slice(1);
const until = Date.now() + Number(seconds) * 1000;
let count = 0;
async function loop(i) {
  while (Date.now() < until) {
    const p = paths[(i + count++) % paths.length];
    try { await (await fetch(base + p, { signal: AbortSignal.timeout(10000) })).arrayBuffer(); } catch {}
  }
}
Promise.all(Array.from({ length: Number(n) }, (_, i) => loop(i))).then(() => console.log('reads', count));
`;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'netping-rtt-'));
  const pair = new NetnsPair();
  try {
    pair.create();
    const config: ResponderConfig = {
      family: 4,
      seed: 1,
      faults: {},
      delayMs: DELAY_MS,
      jitterMs: 0,
      lateMs: 0,
      logPath: path.join(dir, 'responder.jsonl'),
      localAddress: FAR4,
      maxLifetimeMs: (windowS * 2 + 120) * 1000,
    };
    writeFileSync(path.join(dir, 'responder.json'), JSON.stringify(config));
    const responder = pair.spawn(pair.far, process.execPath, [
      RESPONDER_JS,
      '--config',
      path.join(dir, 'responder.json'),
    ]);
    const members = [`far@${FAR4}?interval=${FAR_INTERVAL_MS}ms`];
    for (let i = 0; i < targets; i++) members.push(`lo${i}@${loopback(i)}`);
    const state = path.join(dir, 'state');
    rmSync(state, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(state);
    writeFileSync(path.join(state, 'targets.json'), JSON.stringify({ version: 1, members }));
    const daemon = pair.spawn(pair.near, process.execPath, [
      DAEMON_JS,
      ...[
        '--listen',
        `127.0.0.1:${PORT}`,
        '--state-dir',
        state,
        '--max-targets',
        String(targets + 10),
      ],
      ...['--icmp-transport', transport],
    ]);
    for (let i = 0; i < 100 && !/listening on/.test(daemon.stderr); i++) await sleep(100);
    await sleep(5_000); // every target probed a few times, first probes paced
    console.log(`netpingd: ${daemon.stderr.split('\n')[0]}`);
    console.log(
      `far end: ${FAR4}, every echo answered after ${DELAY_MS} ms; netpingd and fping at ${1000 / FAR_INTERVAL_MS}/s; ${targets} loopback targets at 1 s`,
    );
    console.log('');
    console.log(
      '| netpingd load | netpingd p50 (bucket) | fping p50 | netpingd p99 (bucket) | fping p99 | netpingd late/lost |',
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const r of [0, readers]) {
      const count = Math.round((windowS * 1000) / FAR_INTERVAL_MS);
      const before = await farBuckets(pair);
      const fping = pair.spawn(pair.near, 'fping', [
        '-C',
        String(count),
        '-p',
        String(FAR_INTERVAL_MS),
        '-q',
        FAR4,
      ]);
      const reader =
        r > 0
          ? pair.spawn(pair.near, process.execPath, [
              '-e',
              READER_SCRIPT,
              `http://127.0.0.1:${PORT}`,
              String(windowS),
              String(r),
              ...READ_PATHS,
            ])
          : undefined;
      await fping.exited;
      await reader?.exited;
      const delta = bucketDelta(before, await farBuckets(pair));
      const times = fpingTimes(fping.stderr);
      const report = JSON.parse(
        await httpGetIn(pair.near, `http://127.0.0.1:${PORT}/api/targets`),
      ) as {
        targets: { name: string; late: number; lost: number }[];
      };
      const far = report.targets.find((t) => t.name === 'far');
      console.log(
        `| ${targets} targets, ${r} readers${reader ? ` (${reader.stdout.trim()})` : ''} | ${bucketOf(delta, 0.5)} ms | ${quantile(times, 0.5)} ms | ${bucketOf(delta, 0.99)} ms | ${quantile(times, 0.99)} ms | ${far?.late}/${far?.lost} (whole run) |`,
      );
    }
    void responder;
  } finally {
    await pair.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
