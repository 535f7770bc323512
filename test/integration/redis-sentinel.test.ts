// Redis Sentinel, real: a master, its replica and three redis-sentinel
// processes (quorum 2). netpingd and npcli take a redis+sentinel:// URL; the
// master is failed over while netpingd probes: probing never stops, and a
// target added through the sentinels after the failover is applied.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IS_ROOT } from '../support/env.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';
import { cli, commandMissing, Topology } from '../support/redis-topology.js';

const skip =
  commandMissing('redis-server', 'redis-sentinel', 'redis-cli') ||
  (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root');

interface Row {
  name: string;
  sent: number;
}

describe('netpingd through Redis Sentinel', { skip }, () => {
  const topology = new Topology();
  let master = 0;
  let replica = 0;
  const sentinels: number[] = [];
  let url = '';
  let daemon: RunningDaemon | undefined;

  before(async () => {
    master = await topology.server();
    replica = await topology.server(['--replicaof', '127.0.0.1', String(master)]);
    await topology.until('the replica in sync', 10_000, () =>
      cli(replica, ['info', 'replication']).includes('master_link_status:up'),
    );
    for (let i = 0; i < 3; i++) sentinels.push(await topology.sentinel('mymaster', master, 2));
    await topology.until('the sentinels know the replica', 10_000, () =>
      cli(sentinels[0]!, ['sentinel', 'replicas', 'mymaster']).includes(String(replica)),
    );
    url = `redis+sentinel://${sentinels.map((p) => `127.0.0.1:${p}`).join(',')}/mymaster`;
  });

  after(async () => {
    await daemon?.stop();
    topology.dispose();
  });

  it('probes on through a failover and applies a change made after it', async (t) => {
    const add = await runCli(['--redis', url, 'add', 'a@127.0.0.1']);
    assert.equal(add.code, 0, add.stderr);
    daemon = await startDaemon(['--redis', url, '--instance', 's1', '--interval', '0.2s']);
    const d = daemon;
    const sentOf = async (name: string): Promise<number | undefined> => {
      const res = await fetch(`${d.baseUrl}/api/targets`);
      const rows = ((await res.json()) as { targets: Row[] }).targets;
      return rows.find((r) => r.name === name)?.sent;
    };
    await eventually('a probed', async () => ((await sentOf('a')) ?? 0) > 0 || undefined, 10_000);

    assert.match(cli(sentinels[0]!, ['sentinel', 'failover', 'mymaster']), /OK/);
    const samples: number[] = [];
    let switchedAt: number | undefined;
    // Sample every 250 ms while the master changes and 3 s after: the count must keep rising.
    for (let i = 0; i < 80 && (switchedAt === undefined || i < switchedAt + 12); i++) {
      samples.push((await sentOf('a')) ?? -1);
      await sleep(250);
      const now = cli(sentinels[0]!, ['sentinel', 'get-master-addr-by-name', 'mymaster']);
      if (
        switchedAt === undefined &&
        now.includes(String(replica)) &&
        cli(replica, ['role']).startsWith('master')
      )
        switchedAt = i;
    }
    assert.ok(switchedAt !== undefined, 'the replica became master');
    for (let i = 4; i < samples.length; i++) {
      assert.ok(
        samples[i]! > samples[i - 4]!,
        `probing stalled around sample ${i}: ${samples.join(',')}`,
      );
    }
    t.diagnostic(
      `failover in ~${(switchedAt + 1) * 250} ms; sent ${samples[0]} → ${samples.at(-1)}`,
    );

    // After the failover: a change through the sentinels reaches the daemon.
    await eventually(
      'npcli adds through the new master',
      async () => {
        const r = await runCli(['--redis', url, 'add', 'b@127.0.0.2']);
        return r.code === 0 || undefined;
      },
      15_000,
      500,
    );
    assert.ok(cli(replica, ['smembers', '{netping}:targets']).includes('b@127.0.0.2'));
    await eventually('b probed', async () => ((await sentOf('b')) ?? 0) > 0 || undefined, 15_000);
    const before = (await sentOf('a'))!;
    await sleep(1000);
    assert.ok((await sentOf('a'))! > before, 'a probed on');
  });
});
