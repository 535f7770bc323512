// How fast the browser view is: the overview with N targets (default 1,000)
// and the target page over 48 h, 30 and 90 days, in real Chromium against a
// real netpingd whose state directory was seeded with synthetic history
// (bench/history-synth.ts): the first three targets have a full 90 days,
// the others their last two hours. Targets are 127.1.x.y: loopback only.
//   node dist/bench/browser-view.js [targets]     (as root: raw sockets)

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chunkKey } from '../lib/history/history-chunks.js';
import { EmbeddedStore } from '../lib/store/embedded-store.js';
import type { TargetHistory } from '../lib/history/target-history.js';
import { openBrowser } from '../test/support/browser.js';
import { startDaemon } from '../test/support/processes.js';
import { chunkRecords, fullChunks, synthHistory, TYPICAL } from './history-synth.js';

const targets = Number(process.argv[2] ?? 1000);
const FULL = 3;
const nowMinute = Math.floor(Date.now() / 60_000);

const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-view-bench-'));
const histories: [string, TargetHistory][] = [];
const members: string[] = [];
for (let i = 0; i < targets; i++) {
  const key = `t${i}@127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  members.push(key);
  histories.push([key, synthHistory(i + 1, nowMinute, TYPICAL, i < FULL ? undefined : 120)]);
}
const seed = await EmbeddedStore.open(stateDir);
for (const id of fullChunks(nowMinute))
  await seed.appendHistory(new Map([[chunkKey(id), chunkRecords(id, histories)]]));
await seed.close();
writeFileSync(path.join(stateDir, 'targets.json'), JSON.stringify({ version: 1, members }));

const daemon = await startDaemon(['--state-dir', stateDir, '--interval', '1s'], {}, 60_000);
const browser = await openBrowser();
const figures: Record<string, unknown> = { targets };
try {
  const page = await browser.newPage();
  // Wait until the daemon probes them all (it reads its state, then its targets).
  for (let i = 0; i < 120; i++) {
    const r = (await (await fetch(`${daemon.baseUrl}/api/targets`)).json()) as {
      targets: unknown[];
    };
    if (i % 10 === 0) console.error(`${r.targets.length} targets probed`);
    if (r.targets.length === targets) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  for (let run = 0; run < 3; run++) {
    await page.goto(`${daemon.baseUrl}/`);
    await page.waitForSelector(`body[data-rows="${targets}"]`, { timeout: 30_000 });
    await page.waitForTimeout(1500); // sparklines arrive, the table redraws with them
    figures[`overview run ${run + 1}`] = await page.evaluate(() => ({
      firstRowsAtMs: Number(document.body.dataset.firstRowsAtMs),
      lastRenderMs: Number(document.body.dataset.renderMs),
      svgs: document.querySelectorAll('#rows svg').length,
    }));
  }
  for (const range of ['48h', '30d', '90d']) {
    await page.goto(`${daemon.baseUrl}/target?t=${encodeURIComponent(members[0]!)}&range=${range}`);
    await page.waitForSelector('body[data-state="drawn"]', { timeout: 30_000 });
    figures[`target page ${range}`] = await page.evaluate(() => {
      const d = document.body.dataset;
      return {
        drawnAtMs: Number(d.drawnAtMs),
        fetchMs: Number(d.fetchMs),
        drawMs: Number(d.drawMs),
        points: Number(d.points),
      };
    });
  }
  if (process.argv.includes('--screenshot'))
    await page.screenshot({ path: path.join(stateDir, '..', 'netping-bench-target.png') });
} finally {
  await browser.close();
  await daemon.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
console.log(JSON.stringify(figures, null, 2));
