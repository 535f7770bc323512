// netpingd outliving the failures around it: Redis down at start, Redis
// killed and restarted mid-run with changes made around the gap, the daemon
// itself killed -9 and restarted, garbage saved statistics. Each test counts
// targets and probes to show nothing was lost.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { DaemonReport, TargetReport } from '../../lib/report.js';
import { IS_ROOT, uniquePrefix } from '../support/env.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';
import { OwnRedis } from '../support/redis-server.js';

const skip = !IS_ROOT && 'raw ICMP sockets need root: run the suite as root';

async function report(d: RunningDaemon): Promise<DaemonReport> {
  const res = await fetch(`${d.baseUrl}/api/targets`);
  return (await res.json()) as DaemonReport;
}

function byName(r: DaemonReport, name: string): TargetReport | undefined {
  return r.targets.find((t) => t.name === name);
}

function names(r: DaemonReport): string[] {
  return r.targets.map((t) => t.name).sort();
}

/** Every probe accounted for: nothing double-counted, nothing vanished. */
function assertBalanced(t: TargetReport): void {
  assert.equal(t.received + t.lost + t.inFlight, t.sent, `unbalanced ${JSON.stringify(t)}`);
}

describe('netpingd through store and process failures', { skip }, () => {
  let redis: OwnRedis;
  let client: Redis;
  let stateDir: string;
  const prefix = uniquePrefix();
  const running: RunningDaemon[] = [];

  const start = async (...extra: string[]): Promise<RunningDaemon> => {
    const d = await startDaemon([
      '--redis',
      redis.url,
      '--prefix',
      prefix,
      '--instance',
      'resilience',
      '--state-dir',
      stateDir,
      '--interval',
      '50ms',
      '--timeout',
      '500ms',
      '--save-interval',
      '300ms',
      ...extra,
    ]);
    running.push(d);
    return d;
  };

  before(async () => {
    redis = await OwnRedis.reserve();
    stateDir = mkdtempSync(path.join(tmpdir(), 'netping-resilience-'));
    client = new Redis(redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
    });
    client.on('error', () => {});
  });

  after(async () => {
    for (const d of running) await d.stop('SIGKILL');
    client.disconnect();
    await redis.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts while Redis is down, and takes its targets when Redis comes', async () => {
    const d = await start();
    const down = await report(d);
    assert.equal(down.store.up, false);
    assert.match(
      await (await fetch(`${d.baseUrl}/`)).text(),
      /^# store redis at .* is unreachable: targets may be stale/,
    );
    assert.match(
      await (await fetch(`${d.baseUrl}/metrics`)).text(),
      /^netping_store_up\{store="redis"\} 0$/m,
    );
    await redis.start();
    await client.connect();
    await client.sadd(`{${prefix}}:targets`, 'a@127.0.0.1', 'b@127.0.0.2');
    const r = await eventually(
      'targets from the late Redis',
      async () => {
        const rep = await report(d);
        return rep.store.up && byName(rep, 'a')?.received && byName(rep, 'b')?.received
          ? rep
          : undefined;
      },
      15_000,
      100,
    );
    assert.deepEqual(names(r), ['a', 'b']);
    assert.equal(await d.stop(), 0);
  });

  it('applies every change made while it was cut off from a restarted Redis', async () => {
    const d = await start();
    const first = await eventually(
      'a probed',
      async () => {
        const t = byName(await report(d), 'a');
        return t && t.received > 5 ? t : undefined;
      },
      10_000,
    );
    await redis.stop('SIGKILL');
    await eventually(
      'store down seen',
      async () => ((await report(d)).store.up ? undefined : true),
      5000,
    );
    // While it is down, probing goes on.
    const during = byName(await report(d), 'a')!;
    await redis.start();
    // Changes land before the daemon has reconnected and re-subscribed: the
    // notices reach nobody, the re-read after re-subscribing must find them.
    await client.srem(`{${prefix}}:targets`, 'b@127.0.0.2');
    await client.sadd(`{${prefix}}:targets`, 'c@127.0.0.3');
    await client.publish(`{${prefix}}:events`, 'lost notice');
    const r = await eventually(
      'the changes applied',
      async () => {
        const rep = await report(d);
        return rep.store.up && names(rep).join() === 'a,c' && byName(rep, 'c')?.received
          ? rep
          : undefined;
      },
      20_000,
      100,
    );
    const a = byName(r, 'a')!;
    assert.ok(
      a.sent > during.sent && during.sent >= first.sent,
      'counters of a kept running across the outage',
    );
    assertBalanced(a);
    assert.equal(await d.stop(), 0);
  });

  it('after kill -9, counters continue from the last save (at most one save interval lost)', async () => {
    const d = await start();
    await eventually(
      'c probed a while',
      async () => ((byName(await report(d), 'c')?.sent ?? 0) > 40 ? true : undefined),
      10_000,
    );
    const before = byName(await report(d), 'c')!;
    await d.stop('SIGKILL');
    const again = await start();
    const after = await eventually(
      'c restored',
      async () => {
        const t = byName(await report(again), 'c');
        return t && t.sent > 0 ? t : undefined;
      },
      10_000,
    );
    // 300 ms between saves at one probe per 50 ms: at most ~6 probes, plus
    // the one in flight; allow for a save slowed by a busy machine.
    assert.ok(after.sent >= before.sent - 12, `sent went from ${before.sent} to ${after.sent}`);
    assert.ok(after.received >= before.received - 12);
    assertBalanced(after);
    assert.equal(await again.stop('SIGTERM'), 0);
  });

  it('a clean stop saves everything: the restart starts exactly where it stopped', async () => {
    const d = await start();
    await eventually('a few probes', async () =>
      (byName(await report(d), 'a')?.sent ?? 0) > 0 ? true : undefined,
    );
    assert.equal(await d.stop('SIGTERM'), 0);
    const saved = new Map(Object.entries(await client.hgetall(`{${prefix}}:stats:resilience`)));
    const savedA = JSON.parse(saved.get('a@127.0.0.1') ?? '{}') as {
      sent?: number;
      received?: number;
      lost?: number;
    };
    assert.ok((savedA.sent ?? 0) > 0);
    assert.equal(
      savedA.sent,
      (savedA.received ?? 0) + (savedA.lost ?? 0),
      'no probe left in flight at a clean stop',
    );
    const again = await start('--interval', '1h');
    const t = await eventually('a restored', async () => byName(await report(again), 'a'));
    assert.ok(
      t.sent === savedA.sent || t.sent === savedA.sent + 1,
      `saved ${savedA.sent}, restored ${t.sent}`,
    );
    assert.equal(await again.stop(), 0);
  });

  it('skips garbage saved statistics and still restores the good ones', async () => {
    await client.hset(
      `{${prefix}}:stats:resilience`,
      'c@127.0.0.3',
      'not json',
      'zz@127.0.0.9',
      '{"v":99}',
    );
    const d = await start();
    const r = await eventually(
      'probing again',
      async () => {
        const rep = await report(d);
        return (byName(rep, 'c')?.received ?? 0) > 0 && (byName(rep, 'a')?.sent ?? 0) > 20
          ? rep
          : undefined;
      },
      10_000,
    );
    assert.match(d.log(), /skipping saved statistics of "c@127\.0\.0\.3": not JSON/);
    assert.match(d.log(), /skipping saved statistics of "zz@127\.0\.0\.9": unknown version 99/);
    assertBalanced(byName(r, 'a')!);
    assert.equal(await d.stop(), 0);
  });
});
