// Bytes the embedded store sends to the disk: netpingd with N loopback
// targets at 1 s and its state directory on the real disk, write_bytes of
// /proc/PID/io (bytes the process caused to be written to storage, counted
// per page as it is dirtied) over a window of whole minutes, scaled to a day.
// The reference in the same run is fping probing the same targets: it keeps
// nothing, so it is the floor (0) of a prober's own disk writes.
//   node dist/bench/disk-writes.js [targets=100] [windowS=300] [warmupS=75] [netpingd options...]

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sleep, start, stop, stopAll, waitForLine, type Tracked } from './support/processes.js';

const targets = Number(process.argv[2] ?? 100);
const windowS = Number(process.argv[3] ?? 300);
const warmupS = Number(process.argv[4] ?? 75);
const extra = process.argv.slice(5);
const DAY_S = 86_400;

function writeBytes(t: Tracked): number {
  const io = readFileSync(`/proc/${t.pid}/io`, 'utf8');
  const m = /^write_bytes:\s*(\d+)/m.exec(io);
  if (!m) throw new Error(`no write_bytes in /proc/${t.pid}/io`);
  return Number(m[1]);
}

function address(i: number): string {
  return `127.2.${(i >> 8) & 255}.${(i & 255) + 1}`;
}

const perDay = (bytes: number): string => `${((bytes * DAY_S) / windowS / 1e6).toFixed(1)} MB/day`;

// Under the working directory, not /tmp: /tmp may be a tmpfs, which writes no disk.
const dir = mkdtempSync(path.join(process.env.NETPING_BENCH_DIR ?? tmpdir(), 'netping-disk-'));
try {
  const addresses = Array.from({ length: targets }, (_, i) => address(i));
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  const members = addresses.map((a, i) => `t${i}@${a}`);
  writeFileSync(path.join(stateDir, 'targets.json'), JSON.stringify({ version: 1, members }));
  const again = start('netpingd', process.execPath, [
    'dist/daemon/main.js',
    '--state-dir',
    stateDir,
    '--listen',
    '127.0.0.1:0',
    '--interval',
    '1s',
    '--max-targets',
    String(targets),
    ...extra,
  ]);
  await waitForLine(again, /listening on/, 30_000);
  const fpingList = path.join(dir, 'fping.txt');
  writeFileSync(fpingList, addresses.join('\n') + '\n');
  const fping = start('fping', 'fping', ['-l', '-q', '-p', '1000', '-f', fpingList]);
  await sleep(warmupS * 1000);
  const ours0 = writeBytes(again);
  const ref0 = writeBytes(fping);
  await sleep(windowS * 1000);
  const ours = writeBytes(again) - ours0;
  const ref = writeBytes(fping) - ref0;
  await stop(again);
  await stop(fping);
  console.log(
    JSON.stringify(
      {
        targets,
        windowS,
        options: extra.join(' '),
        netpingd: { writeBytes: ours, perDay: perDay(ours) },
        fping: { writeBytes: ref, perDay: perDay(ref) },
      },
      null,
      2,
    ),
  );
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
