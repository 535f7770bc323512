// A Redis that stops answering without closing its connections (SIGSTOP; a
// black-holed host looks the same): netpingd must notice, say the store is
// down, keep probing, and still stop within its budget, at once on a second
// signal. Then Redis answers again and everything carries on.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { DaemonReport } from '../../lib/report.js';
import { IS_ROOT, uniquePrefix } from '../support/env.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';
import { OwnRedis } from '../support/redis-server.js';

const skip = !IS_ROOT && 'raw ICMP sockets need root: run the suite as root';

async function report(d: RunningDaemon): Promise<DaemonReport> {
  return (await (await fetch(`${d.baseUrl}/api/targets`)).json()) as DaemonReport;
}

async function storeUp(d: RunningDaemon): Promise<string | undefined> {
  const text = await (await fetch(`${d.baseUrl}/metrics`)).text();
  return /^netping_store_up\{store="redis"\} (\d)$/m.exec(text)?.[1];
}

describe('netpingd with a Redis that stops answering', { skip }, () => {
  let redis: OwnRedis;
  let stateDir: string;
  const prefix = uniquePrefix();
  const running: RunningDaemon[] = [];

  const start = async (): Promise<RunningDaemon> => {
    const d = await startDaemon([
      ...['--redis', redis.url, '--prefix', prefix, '--instance', 'stall'],
      ...['--state-dir', stateDir, '--interval', '50ms', '--timeout', '500ms'],
      ...['--save-interval', '500ms', '--resync', '500ms'],
    ]);
    running.push(d);
    return d;
  };

  before(async () => {
    redis = await OwnRedis.reserve();
    await redis.start();
    stateDir = mkdtempSync(path.join(tmpdir(), 'netping-stall-'));
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.sadd(`{${prefix}}:targets`, 'lo@127.0.0.1');
    client.disconnect();
  });

  after(async () => {
    redis.signal('SIGCONT');
    for (const d of running) await d.stop('SIGKILL');
    await redis.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('reports the store down, keeps probing, and stops within its budget', async () => {
    const d = await start();
    await eventually('probing', async () =>
      ((await report(d)).targets[0]?.received ?? 0) > 3 ? true : undefined,
    );
    assert.equal(await storeUp(d), '1');
    redis.signal('SIGSTOP');
    try {
      // A resync or save runs into the silence within 0.5 s, and gives up 5 s later.
      await eventually(
        'netping_store_up 0',
        async () => ((await storeUp(d)) === '0' ? true : undefined),
        15_000,
        200,
      );
      const r1 = await report(d);
      assert.equal(r1.store.up, false);
      await new Promise((r) => setTimeout(r, 500));
      const r2 = await report(d);
      assert.ok(r2.targets[0]!.sent > r1.targets[0]!.sent + 5, 'probing goes on');
      const t0 = Date.now();
      const code = await d.stop('SIGTERM');
      const tookMs = Date.now() - t0;
      assert.equal(code, 0, d.log());
      // The budget: the timeout (0.5 s), a save and a goodbye that each give up after ~5 s.
      assert.ok(tookMs < 14_000, `stop took ${tookMs} ms`);
      assert.match(d.log(), /SIGTERM: stopping/);
    } finally {
      redis.signal('SIGCONT');
    }
  });

  it('stops at once on a second signal while Redis is silent', async () => {
    const d = await start();
    await eventually('probing', async () =>
      ((await report(d)).targets[0]?.received ?? 0) > 0 ? true : undefined,
    );
    redis.signal('SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 1500)); // a save is now waiting on Redis
      d.child.kill('SIGTERM');
      // Past REPEAT_SIGNAL_GAP_MS: sooner, it would be the first signal delivered twice.
      await new Promise((r) => setTimeout(r, 1300));
      const t0 = Date.now();
      const code = await d.stop('SIGINT');
      assert.ok(Date.now() - t0 < 2000, `the second signal took ${Date.now() - t0} ms`);
      assert.equal(code, 130, 'exit 128 + SIGINT, as a shell would report it');
      assert.match(d.log(), /SIGINT again: exiting now/);
    } finally {
      redis.signal('SIGCONT');
    }
  });

  it('carries on with Redis once it answers again, without a restart', async () => {
    const d = await start();
    await eventually('probing', async () =>
      ((await report(d)).targets[0]?.received ?? 0) > 0 ? true : undefined,
    );
    redis.signal('SIGSTOP');
    await eventually(
      'store down',
      async () => ((await storeUp(d)) === '0' ? true : undefined),
      15_000,
      200,
    );
    redis.signal('SIGCONT');
    await eventually(
      'store up again',
      async () => ((await storeUp(d)) === '1' ? true : undefined),
      15_000,
      200,
    );
    const client = new Redis(redis.url, { lazyConnect: true });
    try {
      await client.sadd(`{${prefix}}:targets`, 'two@127.0.0.2');
      await client.publish(`{${prefix}}:events`, 'changed');
    } finally {
      client.disconnect();
    }
    await eventually(
      'a change applied after the stall',
      async () => {
        const t = (await report(d)).targets.find((x) => x.name === 'two');
        return t && t.received > 0 ? t : undefined;
      },
      10_000,
    );
    assert.equal(await d.stop('SIGTERM'), 0);
  });
});
