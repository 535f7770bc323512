// Reading the pages must not hold the probes up (the event loop is our
// measuring instrument). Thousands of targets, clients fetching pages back to
// back, and a target at 10 ms on loopback: it keeps its probe rate, loses
// nothing, and its RTTs stay those of loopback.
// Before rendering was sliced, this target got 8-11 probes/s instead of 100
// and a max RTT of ~300 ms. Before the slices of all readers shared one
// budget per turn of the loop (lib/slicing.ts), 16 readers of every large
// page left it 366-639 of 1,000 due probes (issue 23).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IS_ROOT } from '../support/env.js';
import { ALL_READ_PATHS, runScrapeLoad } from '../support/scrape-load.js';

const skip = !IS_ROOT && 'raw ICMP sockets need root: run the suite as root';

// The crowd tests' floor of due probes sent. Issue 23's aim is 99 % (checked
// by bench/scrape-load.ts beside fping, which itself got 83-93 % of its 10 ms
// probes on a loaded machine); the suite guards against starvation, which
// left 64 % on a quiet machine and 32 % on a loaded one, with room for a
// machine whose neighbours take the CPU: a fresh-clone run here gave 95.2 %
// (16 readers) and 98.1 % (--max-pages 1).
const STARVATION_FLOOR = 0.9;

test(
  'a 10 ms target keeps its rate and RTTs while /metrics and / are read in a loop',
  { skip },
  async () => {
    const r = await runScrapeLoad({ targets: 3000, seconds: 8, clients: 2, fastIntervalMs: 10 });
    const detail = JSON.stringify(r);
    assert.ok(
      r.reads.every((x) => x.count >= 3),
      `the readers got their pages: ${detail}`,
    );
    assert.ok(r.ratePct >= 95, `probe rate ${r.ratePct.toFixed(1)} % of due: ${detail}`);
    assert.equal(r.lost, 0, `nothing lost: ${detail}`);
    // Loopback answers in well under a millisecond; a few ms leaves room for a
    // busy machine (two cores shared with the readers) and a GC pause, while a
    // render that holds the loop shows as tens to hundreds of ms.
    assert.ok((r.maxRttMs ?? Infinity) < 25, `max RTT ${r.maxRttMs} ms: ${detail}`);
    console.log(`probing under load: ${detail}`);
  },
);

test(
  'a crowd of 16 readers of every large page leaves a 10 ms target its probes (counts, not times)',
  { skip },
  async () => {
    const r = await runScrapeLoad({
      targets: 5000,
      seconds: 10,
      clients: 16,
      fastIntervalMs: 10,
      paths: ALL_READ_PATHS,
    });
    const detail = JSON.stringify({ ...r, fastBefore: undefined, fastAfter: undefined });
    // Reported, not asserted: how late the loop ran (the figures to compare
    // are in docs/BENCHMARKS.md, beside fping's on the same machine).
    console.log(
      `16 readers: loop delay ${JSON.stringify(r.loopDelay)}; reads ${JSON.stringify(r.reads)}`,
    );
    assert.ok(
      r.reads.every((x) => x.count >= 1),
      `every page was served at least once: ${detail}`,
    );
    assert.equal(r.lost, 0, `nothing lost: ${detail}`);
    assert.ok(
      r.sentProbes >= STARVATION_FLOOR * r.expectedProbes,
      `sent ${r.sentProbes} of ${r.expectedProbes} due probes (${r.ratePct.toFixed(1)} %): ${detail}`,
    );
  },
);

test(
  'readers beyond --max-pages get 503 with Retry-After, and the probes go on',
  { skip },
  async () => {
    // One page made at once and two readers waiting: of 16 readers of five
    // pages, most are turned away, each with a Retry-After (a 503 without one
    // fails the reader).
    const r = await runScrapeLoad({
      targets: 2000,
      seconds: 8,
      clients: 16,
      fastIntervalMs: 10,
      paths: ALL_READ_PATHS,
      daemonArgs: ['--max-pages', '1'],
    });
    const detail = JSON.stringify({ ...r, fastBefore: undefined, fastAfter: undefined });
    console.log(`--max-pages 1: loop delay ${JSON.stringify(r.loopDelay)}`);
    const refused = r.reads.reduce((n, x) => n + x.refused, 0);
    assert.ok(refused > 0, `some readers were turned away: ${detail}`);
    assert.ok(
      r.reads.every((x) => x.count >= 1),
      `every page was still served: ${detail}`,
    );
    assert.equal(r.lost, 0, `nothing lost: ${detail}`);
    assert.ok(
      r.sentProbes >= STARVATION_FLOOR * r.expectedProbes,
      `sent ${r.sentProbes} of ${r.expectedProbes} due probes (${r.ratePct.toFixed(1)} %): ${detail}`,
    );
  },
);
