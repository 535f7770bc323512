// A real netpingd on an embedded store seeded with full history (48 h of
// minutes, 90 days of hours, closed chunks already compacted) for N targets: how long
// its start takes to restore what it holds, its RSS at rest once the closed
// chunks are compacted, and how long /api/history takes for a target page
// over 90 days and 48 h (the first read from disk, then again). Beside it,
// the RSS of a bare node process (the floor any node daemon stands on).
// Targets are 127.1.x.y (loopback), probed every 10 s.
//   NETPING_BENCH_DIR=<disk dir> node dist/bench/history-daemon.js [targets=10000]   (as root)

import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chunkKey, chunkPeriods } from '../lib/history/history-chunks.js';
import { fileOf } from '../lib/store/history-files.js';
import { compareKeys } from '../lib/store/sorted-lines.js';
import { startDaemon } from '../test/support/processes.js';
import { fullChunks } from './history-synth.js';

const targets = Number(process.argv[2] ?? 10_000);
// A record with the counters and eight buckets of a typical minute / hour
// (bench/history-synth.ts draws them, at ~0.7 s a target here: too slow for
// 10,000); the cost is in the number of lines and records, not their values.
const RECORD_MINUTE = '60,0,0,0,0,38,2,5,12,18,12,6,3,2';
const RECORD_HOUR = '3600,18,0,0,0,37,3,40,310,900,1300,700,250,80,17';
const REST_S = 30;
const nowMinute = Math.floor(Date.now() / 60_000);
const stateDir = mkdtempSync(path.join(process.env.NETPING_BENCH_DIR ?? tmpdir(), 'netping-hd-'));
const keyOf = (i: number): string => `t${i}@127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function timedMs(url: string): Promise<[number, number]> {
  const t0 = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const body = (await res.json()) as { points?: unknown[] };
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return [Math.round(performance.now() - t0), body.points?.length ?? 0];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const figures: Record<string, unknown> = { targets };
try {
  const seedStarted = performance.now();
  const members = Array.from({ length: targets }, (_, i) => keyOf(i)).sort(compareKeys);
  const dir = path.join(stateDir, 'history');
  mkdirSync(dir, { recursive: true });
  const ids = fullChunks(nowMinute);
  const newest = new Map<string, number>();
  for (const id of ids)
    newest.set(id.resolution, Math.max(newest.get(id.resolution) ?? 0, id.span));
  for (const id of ids) {
    const [from] = chunkPeriods(id);
    const last = Math.min(
      chunkPeriods(id)[1],
      id.resolution === 'minute' ? nowMinute - 1 : Math.floor(nowMinute / 60) - 1,
    );
    const list: string[] = [];
    for (let p = from; p <= last; p++)
      list.push(`${p - from},${id.resolution === 'minute' ? RECORD_MINUTE : RECORD_HOUR}`);
    if (list.length === 0) continue;
    const records = list.join(';');
    // Closed chunks as a compaction leaves them (a line per target, sorted), the newest as appended.
    const closed = id.span < newest.get(id.resolution)!;
    const fh = openSync(path.join(dir, fileOf(chunkKey(id), closed ? 'sorted' : 'appended')), 'w');
    let piece = '';
    for (const key of members) {
      piece += `${JSON.stringify([key, records])}\n`;
      if (piece.length > 1 << 20) {
        writeSync(fh, piece);
        piece = '';
      }
    }
    writeSync(fh, piece);
    closeSync(fh);
  }
  writeFileSync(path.join(stateDir, 'targets.json'), JSON.stringify({ version: 1, members }));
  const du = execFileSync('du', ['-sb', path.join(stateDir, 'history')], { encoding: 'utf8' });
  figures.seedS = Math.round((performance.now() - seedStarted) / 1000);
  figures.historyDiskMB = Math.round(Number(du.split('\t')[0]) / 1e6);

  const started = performance.now();
  const daemon = await startDaemon(['--state-dir', stateDir, '--interval', '10s'], {}, 120_000);
  try {
    for (let i = 0; i < 1200 && !/restored history/.test(daemon.log()); i++) await sleep(100);
    figures.restoreLine = /restored history[^\n]*/.exec(daemon.log())?.[0];
    figures.startToRestoredS = +((performance.now() - started) / 1000).toFixed(1);
    const dir = path.join(stateDir, 'history');
    const appended = (): number =>
      readdirSync(dir).filter((f) => /^[mh]-\d+\.jsonl$/.test(f)).length;
    for (let i = 0; i < 1800 && appended() > 3; i++) await sleep(1000);
    figures.compactedAfterS = Math.round((performance.now() - started) / 1000);
    figures.appendedFilesLeft = appended();
    await sleep(REST_S * 1000);
    figures.rssAtRestMB = rssMb(daemon.child.pid!);
    for (const i of [0, Math.floor(targets / 2), targets - 1]) {
      const url = (range: string): string =>
        `${daemon.baseUrl}/api/history?target=${encodeURIComponent(keyOf(i))}&range=${range}`;
      const row: Record<string, string> = {};
      for (const range of ['90d', '48h']) {
        const [cold, points] = await timedMs(url(range));
        const [warm] = await timedMs(url(range));
        row[range] = `${cold} ms first, ${warm} ms again (${points} points)`;
      }
      figures[`page of ${keyOf(i)}`] = row;
    }
    figures.rssAfterPagesMB = rssMb(daemon.child.pid!);
  } finally {
    await daemon.stop();
  }
  const bare = execFileSync(process.execPath, [
    '-e',
    "console.log(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])",
  ]);
  figures.referenceBareNodeRssMB = Math.round(Number(bare.toString()) / 1024);
  console.log(JSON.stringify(figures, null, 2));
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
