// A Redis Cluster of three masters made by the test (redis-server
// --cluster-enabled yes, redis-cli --cluster create). netpingd and npcli take
// a redis+cluster:// URL: add and remove work, change notices arrive live
// (sharded pub/sub; --resync is set to a minute so only a notice can apply
// a change in time), statistics are saved and read back by npcli, and a
// group's registry works there too.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { IS_ROOT } from '../support/env.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';
import { cli, commandMissing, Topology } from '../support/redis-topology.js';

const skip =
  commandMissing('redis-server', 'redis-cli') ||
  (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root');

describe('netpingd on a Redis Cluster', { skip }, () => {
  const topology = new Topology();
  const ports: number[] = [];
  let url = '';
  let daemon: RunningDaemon | undefined;

  before(async () => {
    for (let i = 0; i < 3; i++) {
      const dir = `${topology.dir}/c${i}`;
      spawnSync('mkdir', ['-p', dir]);
      ports.push(
        await topology.server([
          ...['--cluster-enabled', 'yes', '--cluster-config-file', `${dir}/nodes.conf`],
          ...['--cluster-node-timeout', '2000'],
        ]),
      );
    }
    const made = spawnSync(
      'redis-cli',
      [
        ...['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`)],
        ...['--cluster-replicas', '0', '--cluster-yes'],
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(made.status, 0, made.stdout + made.stderr);
    await topology.until('the cluster ok on every node', 15_000, () =>
      ports.every((p) => cli(p, ['cluster', 'info']).includes('cluster_state:ok')),
    );
    // The seed list names one node only: the others are found through it.
    url = `redis+cluster://127.0.0.1:${ports[0]}`;
  });

  after(async () => {
    await daemon?.stop();
    topology.dispose();
  });

  const npcli = (args: string[]) => runCli(['--redis', url, '--prefix', 'cl', ...args]);

  it('adds, removes, notices live, saves statistics; a group registers', async () => {
    const add = await npcli(['add', 'a@127.0.0.1']);
    assert.equal(add.code, 0, add.stderr);
    daemon = await startDaemon([
      ...['--redis', url, '--prefix', 'cl', '--instance', 'c1', '--group', 'g'],
      ...['--resync', '60s', '--save-interval', '1s', '--interval', '0.5s'],
    ]);
    const d = daemon;
    const names = async (): Promise<string[]> => {
      const res = await fetch(`${d.baseUrl}/api/targets`);
      return ((await res.json()) as { targets: { name: string }[] }).targets
        .map((r) => r.name)
        .sort();
    };
    await eventually(
      'a probed',
      async () => ((await names()).join() === 'a' ? true : undefined),
      10_000,
    );

    // Live: a notice, not the minute-long resync, applies each change.
    const added = Date.now();
    assert.equal((await npcli(['add', 'b@127.0.0.2'])).code, 0);
    await eventually(
      'b probed',
      async () => ((await names()).join() === 'a,b' ? true : undefined),
      5000,
    );
    const noticeMs = Date.now() - added;
    assert.equal((await npcli(['remove', 'a'])).code, 0);
    await eventually(
      'a removed',
      async () => ((await names()).join() === 'b' ? true : undefined),
      5000,
    );

    // Saved statistics, read back by npcli from the group's hash on whichever node holds it.
    const shown = await eventually(
      'b’s saved statistics',
      async () => {
        const r = await npcli(['stats', '--json']);
        if (r.code !== 0) return undefined;
        const g = (
          JSON.parse(r.stdout) as {
            groups: { owner: string; targets: { name: string; sent: number }[] }[];
          }
        ).groups;
        const b = g
          .flatMap((x) => x.targets.map((t) => ({ ...t, owner: x.owner })))
          .find((t) => t.name === 'b');
        return b && b.sent > 0 ? b : undefined;
      },
      10_000,
      500,
    );
    assert.equal(shown.owner, 'c1');
    // Every key of the prefix is in one slot, on one node.
    const slot = cli(ports[0]!, ['cluster', 'keyslot', '{cl}:targets']);
    assert.equal(cli(ports[0]!, ['cluster', 'keyslot', '{cl}:gstats:g']), slot);
    assert.ok(noticeMs < 3000, `notice took ${noticeMs} ms`);
  });
});
