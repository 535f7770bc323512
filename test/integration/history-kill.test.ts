// kill -9 in the middle of probing, embedded store: after the restart the
// history holds every minute closed before the kill (appended to
// history/m-<hour>.jsonl once a minute), so at most the minute under way is
// lost, and it goes on. Waits for one wall-clock minute to close (up to
// ~70 s): history is saved once a minute.

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { IS_ROOT } from '../support/env.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';

interface Point {
  t: number;
  sent: number;
  open?: boolean;
}

async function points(d: RunningDaemon): Promise<Point[]> {
  const res = await fetch(`${d.baseUrl}/api/history?target=lo@127.0.0.1&range=1h`);
  if (res.status !== 200) return [];
  return ((await res.json()) as { points: Point[] }).points;
}

describe('history across a kill -9 (embedded store)', { skip: !IS_ROOT && 'needs root' }, () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-history-kill-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  it('keeps every minute closed before the kill, and goes on', { timeout: 150_000 }, async () => {
    writeFileSync(
      path.join(stateDir, 'targets.json'),
      JSON.stringify({ version: 1, members: ['lo@127.0.0.1'] }),
      { mode: 0o600 },
    );
    const args = ['--state-dir', stateDir, '--interval', '200ms'];
    const first = await startDaemon(args);
    // A minute closed and saved: a line in the hour's file.
    const saved = await eventually(
      'a closed minute saved',
      async () => {
        const files = (await readdir(path.join(stateDir, 'history')).catch(() => [])).filter((f) =>
          f.endsWith('.jsonl'),
        );
        for (const f of files)
          if ((await readFile(path.join(stateDir, 'history', f), 'utf8')).includes('lo@127.0.0.1'))
            return points(first);
        return undefined;
      },
      80_000,
      500,
    );
    const closed = saved.filter((p) => !p.open);
    assert.ok(closed.length > 0, JSON.stringify(saved));
    await first.stop('SIGKILL');

    const second = await startDaemon(args);
    try {
      const back = await eventually(
        'the closed minutes back, and new probes on top',
        async () => {
          const p = await points(second);
          const open = p.find((x) => x.open);
          return open && open.sent > 0 ? p : undefined;
        },
        10_000,
        200,
      );
      for (const c of closed) {
        const now = back.find((p) => p.t === c.t);
        assert.ok(
          now && now.sent >= c.sent,
          `minute ${c.t}: ${c.sent} sent before, ${now?.sent} after`,
        );
      }
    } finally {
      assert.equal(await second.stop(), 0, second.log());
    }
  });
});
