// How long after `npcli add` returns the new target's first reply is in:
// netpingd (embedded store) with N loopback targets at 1 s, then R targets
// added one at a time with npcli, each timed until /api/targets shows a
// received probe for it (polled every 2 ms). Traffic: 127.0.0.0/8 only.
//
//   node dist/bench/add-to-reply.js --targets 1000 --adds 10

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { DaemonReport } from '../lib/report.js';
import { runCli, startDaemon } from '../test/support/processes.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '1000' },
    adds: { type: 'string', default: '10' },
  },
  strict: true,
});
const targets = Number(values.targets);
const adds = Number(values.adds);
if (
  !Number.isInteger(targets) ||
  targets < 0 ||
  targets > 50_000 ||
  !Number.isInteger(adds) ||
  adds < 1 ||
  adds > 100
) {
  console.error('add-to-reply: --targets 0..50000, --adds 1..100');
  process.exit(2);
}
const dir = mkdtempSync(path.join(tmpdir(), 'netping-add-'));
const members = Array.from(
  { length: targets },
  (_, i) => `t${i}@127.101.${(i >> 8) & 255}.${i & 255}`,
);
writeFileSync(path.join(dir, 'targets.json'), JSON.stringify({ version: 1, members }));
const d = await startDaemon(['--state-dir', dir, '--max-targets', String(targets + adds + 10)]);
try {
  await new Promise((r) => setTimeout(r, 3000));
  const delays: number[] = [];
  for (let i = 0; i < adds; i++) {
    const name = `new${i}`;
    const r = await runCli([
      'add',
      `${name}@127.102.0.${i + 1}`,
      '--url',
      d.baseUrl,
      '--state-dir',
      dir,
    ]);
    if (r.code !== 0) throw new Error(`npcli add failed: ${r.stderr}`);
    const returned = performance.now();
    for (let n = 0; n < 2000; n++) {
      const rep = (await (await fetch(`${d.baseUrl}/api/targets`)).json()) as DaemonReport;
      if ((rep.targets.find((t) => t.name === name)?.received ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    delays.push(performance.now() - returned);
  }
  delays.sort((a, b) => a - b);
  console.log(
    `${targets} targets; ${adds} adds: first reply after npcli add returned: ` +
      `median ${delays[delays.length >> 1]!.toFixed(0)} ms, max ${delays.at(-1)!.toFixed(0)} ms`,
  );
} finally {
  await d.stop('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
