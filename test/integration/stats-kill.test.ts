// The embedded store's statistics across a kill -9, a real netpingd: between
// checkpoints each save writes only a delta (stats.delta), and a restart
// reads checkpoint + delta, so the counters come back within one save
// interval; a delta copy cut short is set aside with one log line and the
// other copy read; a stop leaves everything in stats.json; and a state
// directory of the release before deltas loads.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { DaemonReport } from '../../lib/report.js';
import { parseSavedStats } from '../../lib/stats/saved-stats.js';
import { decodeCopy } from '../../lib/state/delta-slot.js';
import { EmbeddedStore, STATS_DELTA_FILE, STATS_FILE } from '../../lib/store/embedded-store.js';
import { IS_ROOT } from '../support/env.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';

const KEY = 'lo@127.0.0.1';
const INTERVAL_MS = 200;
const SAVE_INTERVAL_MS = 1_000;
/** Probes in one save interval: what a kill -9 may lose. */
const PER_SAVE = SAVE_INTERVAL_MS / INTERVAL_MS;
const ARGS = ['--interval', `${INTERVAL_MS}ms`, '--save-interval', `${SAVE_INTERVAL_MS}ms`];
const OLD_RELEASE = path.join(import.meta.dirname, '../../../test/fixtures/state-3958308');

async function sent(d: RunningDaemon, key = KEY): Promise<number | undefined> {
  const res = await fetch(`${d.baseUrl}/api/targets`);
  if (res.status !== 200) return undefined;
  const t = ((await res.json()) as DaemonReport).targets.find(
    (r) => `${r.name}@${r.address}` === key,
  );
  return t?.sent;
}

/** The sent counter as the state directory holds it (checkpoint + delta), read by the store itself. */
async function savedSent(stateDir: string, log?: (line: string) => void): Promise<number> {
  const text = (await (await EmbeddedStore.open(stateDir, log)).loadStats()).get(KEY);
  assert.ok(text, 'an entry saved');
  return parseSavedStats(text).sent;
}

/** A delta copy's sequence number; 0 for none or one that does not check out. */
function deltaSeq(file: string): number {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return 0;
  }
  const copy = decodeCopy(bytes);
  return typeof copy === 'string' ? 0 : copy.seq;
}

function checkpointSent(stateDir: string): number {
  const copies = [STATS_FILE, `${STATS_FILE}.b`].map(
    (f) =>
      JSON.parse(readFileSync(path.join(stateDir, f), 'utf8')) as {
        seq: number;
        stats: Record<string, string>;
      },
  );
  const newest = copies.sort((a, b) => b.seq - a.seq)[0]!;
  return parseSavedStats(newest.stats[KEY]!).sent;
}

describe('statistics across a kill -9 (embedded store)', { skip: !IS_ROOT && 'needs root' }, () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-stats-kill-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  it(
    'keeps the counters within one save interval, and sets a torn delta aside',
    { timeout: 60_000 },
    async () => {
      writeFileSync(
        path.join(stateDir, 'targets.json'),
        JSON.stringify({ version: 1, members: [KEY] }),
        { mode: 0o600 },
      );
      const first = await startDaemon(['--state-dir', stateDir, ...ARGS]);
      // Several saves after the first (a checkpoint): deltas, both copies written.
      const before = await eventually(
        'probes counted and deltas saved',
        async () => {
          const n = await sent(first);
          const seqs = [STATS_DELTA_FILE, `${STATS_DELTA_FILE}.b`].map((f) =>
            deltaSeq(path.join(stateDir, f)),
          );
          return n !== undefined && n >= 6 * PER_SAVE && Math.min(...seqs) >= 2 ? n : undefined;
        },
        30_000,
        100,
      );
      await first.stop('SIGKILL');
      const restored = await savedSent(stateDir);
      // One probe more: one sent in the same millisecond as the last save.
      assert.ok(
        restored >= before - PER_SAVE - 1,
        `${restored} sent restored, ${before} counted before the kill: more than one save interval lost`,
      );
      assert.ok(restored > checkpointSent(stateDir), 'more than the checkpoint: its delta applied');

      // The newer delta copy cut short, as a power cut while it is written back leaves it.
      const files = [STATS_DELTA_FILE, `${STATS_DELTA_FILE}.b`].map((f) => path.join(stateDir, f));
      const newer = files.sort((a, b) => deltaSeq(b) - deltaSeq(a))[0]!;
      const bytes = readFileSync(newer);
      writeFileSync(newer, bytes.subarray(0, bytes.length - 7));
      const second = await startDaemon(['--state-dir', stateDir, ...ARGS]);
      try {
        const damaged = second
          .log()
          .split('\n')
          .filter((l) => l.includes('is damaged'));
        await eventually('the restore logged', () =>
          Promise.resolve(
            /restored the saved statistics of 1 target/.test(second.log()) || undefined,
          ),
        );
        assert.equal(damaged.length, 1, second.log());
        assert.match(damaged[0]!, /stats\.delta(\.b)? is damaged \(cut short.*moved aside/);
        const back = await eventually('counting on', async () => {
          const n = await sent(second);
          return n !== undefined && n > restored - PER_SAVE ? n : undefined;
        });
        assert.ok(back >= restored - PER_SAVE, `${back} after the restart, ${restored} saved`);
      } finally {
        assert.equal(await second.stop(), 0, second.log());
      }
      // A stop leaves everything in stats.json itself, whole: what an older netping reads.
      const file = JSON.parse(await readFile(path.join(stateDir, STATS_FILE), 'utf8')) as {
        stats: Record<string, string>;
      };
      assert.equal(parseSavedStats(file.stats[KEY]!).sent, await savedSent(stateDir));
    },
  );

  it('loads a state directory of the release before deltas', { timeout: 30_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'netping-stats-old-'));
    try {
      cpSync(OLD_RELEASE, dir, { recursive: true });
      rmSync(path.join(dir, 'README.md'));
      const d = await startDaemon(['--state-dir', dir, ...ARGS]);
      try {
        await eventually('the restore logged', () =>
          Promise.resolve(/restored the saved statistics of 2 targets/.test(d.log()) || undefined),
        );
        for (const key of [KEY, 'six@::1']) {
          const n = await eventually(`${key} counting on from 15`, async () => {
            const s = await sent(d, key);
            return s !== undefined && s > 15 ? s : undefined;
          });
          assert.ok(n > 15, `${key}: ${n}`);
        }
        assert.doesNotMatch(d.log(), /damaged/);
      } finally {
        assert.equal(await d.stop(), 0, d.log());
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
