// netpingd under load: its own redis-server on a free loopback port holds the
// target set; the daemon listens on an ephemeral port it reports on stderr.

import { Redis } from 'ioredis';
import { median } from './prometheus.js';
import { freePort, memory, sleep, start, stop, timedGet, waitForLine } from './processes.js';
import { measureDaemon, type Row } from './window.js';

export interface NetpingdOptions {
  daemonScript: string; // dist/daemon/main.js
  nodeArgs: readonly string[];
  dir: string; // scratch directory, removed by the caller
  addresses: readonly string[];
  warmupS: number;
  windowS: number;
}

const SADD_CHUNK = 1000;
const PROTOBUF_SCRAPES = 5;
// What Prometheus 2.42 with --enable-feature=native-histograms sends.
const PROTOBUF_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,' +
  'text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

/** Timed protobuf scrapes after the text ones: median / max ms and the body's size. */
async function protobufScrapes(url: string): Promise<string> {
  const timings: number[] = [];
  let bytes = 0;
  let type = '';
  for (let i = 0; i < PROTOBUF_SCRAPES; i++) {
    const t0 = performance.now();
    const res = await fetch(url, {
      headers: { Accept: PROTOBUF_ACCEPT },
      signal: AbortSignal.timeout(30_000),
    });
    bytes = (await res.arrayBuffer()).byteLength;
    timings.push(performance.now() - t0);
    type = res.headers.get('content-type') ?? '';
    if (!res.ok) throw new Error(`GET ${url} (protobuf): HTTP ${res.status}`);
  }
  timings.sort((a, b) => a - b);
  const median = timings[Math.floor(PROTOBUF_SCRAPES / 2)]!;
  const max = timings[PROTOBUF_SCRAPES - 1]!;
  const format = type.startsWith('application/vnd.google.protobuf')
    ? 'protobuf'
    : `NOT protobuf (${type})`;
  return (
    `${format} scrape (native + classic buckets), ${PROTOBUF_SCRAPES} after the text ones: ` +
    `${median.toFixed(0)} ms median / ${max.toFixed(0)} max (${(bytes / 1024).toFixed(0)} KiB)`
  );
}

export async function benchNetpingd(o: NetpingdOptions): Promise<Row> {
  const redisPort = await freePort();
  const redis = start('redis-server', 'redis-server', [
    '--port',
    String(redisPort),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    o.dir,
    '--logfile',
    '',
    '--daemonize',
    'no',
  ]);
  try {
    await waitForLine(redis, /Ready to accept connections/, 10_000);
    const prefix = `bench-${process.pid}`;
    const client = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
    try {
      await client.connect();
      for (let i = 0; i < o.addresses.length; i += SADD_CHUNK) {
        const members = o.addresses.slice(i, i + SADD_CHUNK).map((a, j) => `t${i + j}@${a}`);
        await client.sadd(`{${prefix}}:targets`, ...members);
      }
      const count = await client.scard(`{${prefix}}:targets`);
      if (count !== o.addresses.length) throw new Error(`redis holds ${count} targets`);
    } finally {
      client.disconnect();
    }

    const daemon = start('netpingd', process.execPath, [
      ...o.nodeArgs,
      o.daemonScript,
      '--redis',
      `redis://127.0.0.1:${redisPort}`,
      '--prefix',
      prefix,
      '--listen',
      '127.0.0.1:0',
      '--interval',
      '1s',
      '--timeout',
      '1s',
      '--state-dir',
      `${o.dir}/state`,
      '--max-targets',
      String(o.addresses.length),
    ]);
    try {
      const line = await waitForLine(daemon, /listening on 127\.0\.0\.1:\d+/, 30_000);
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      const base = `http://127.0.0.1:${port}`;
      await sleep(o.warmupS * 1000);
      const { row } = await measureDaemon(
        'netpingd',
        o.addresses.length,
        daemon,
        `${base}/metrics`,
        {
          sent: 'netping_sent_total',
          lost: 'netping_lost_total',
          rttHistogram: 'netping_rtt_seconds',
        },
        o.windowS,
      );
      const api = JSON.parse((await timedGet(`${base}/api/targets`)).body) as {
        targets: { meanMs?: number }[];
      };
      const means = api.targets.flatMap((t) => (t.meanMs === undefined ? [] : [t.meanMs]));
      row.notes.push(
        `median over targets of meanMs (whole run, /api/targets): ${median(means).toFixed(3)} ms`,
      );
      row.notes.push(await protobufScrapes(`${base}/metrics`));
      row.notes.push(
        `RSS peak after the protobuf scrapes too: ${memory(daemon).peakRssMb.toFixed(1)} MB`,
      );
      const problems = daemon.stderr.filter((l) => !/listening on/.test(l));
      if (problems.length > 0) row.notes.push(`stderr: ${problems.slice(-3).join(' | ')}`);
      return row;
    } finally {
      await stop(daemon);
    }
  } finally {
    await stop(redis);
  }
}
