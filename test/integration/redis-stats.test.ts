// `npcli --redis URL stats` reads what each instance saved in Redis, not
// whatever daemon answers at --url (before, it silently showed that one's),
// with --instance to choose one; and labels given with `npcli add --label`
// reach the member in Redis.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { daemonPrerequisiteMissing, redisDeletePrefix } from '../support/ops-harness.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = SKIP_NO_REDIS || daemonPrerequisiteMissing() || false;

interface StatsJson {
  instances: {
    instance: string;
    savedAt: string | null;
    targets: { name: string; sent: number }[];
  }[];
}

describe('npcli stats in Redis mode', { skip }, () => {
  const prefix = uniquePrefix();
  const url = TEST_REDIS_URL!;
  const daemons: RunningDaemon[] = [];
  const cli = (...args: string[]) =>
    runCli(['--redis', url, '--prefix', prefix, '--url', 'http://127.0.0.1:9', ...args]);

  before(async () => {
    for (const id of ['alpha', 'beta']) {
      daemons.push(
        await startDaemon([
          '--redis',
          url,
          '--prefix',
          prefix,
          '--instance',
          id,
          '--interval',
          '100ms',
          '--save-interval',
          '200ms',
        ]),
      );
    }
    const added = await cli('add', 'lo@127.0.0.1', '--label', 'dc=fra1', '--label', 'role=lb');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added lo@127\.0\.0\.1\?label\.dc=fra1&label\.role=lb/);
  });

  after(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    redisDeletePrefix(url, prefix);
  });

  it('shows every instance from Redis, each with its own counters', async () => {
    const s = await eventually(
      'both instances saved a probe',
      async () => {
        const r = await cli('stats', '--json');
        if (r.code !== 0) throw new Error(r.stderr);
        const j = JSON.parse(r.stdout) as StatsJson;
        return j.instances.length === 2 &&
          j.instances.every((i) => i.targets.some((t) => t.name === 'lo' && t.sent > 0))
          ? j
          : undefined;
      },
      10_000,
      200,
    );
    assert.deepEqual(
      s.instances.map((i) => i.instance),
      ['alpha', 'beta'],
    );
    const text = await cli('stats');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^instance alpha \(saved \d+ s ago\)$/m);
    assert.match(text.stdout, /^instance beta \(saved \d+ s ago\)$/m);
  });

  it('npcli list shows the labels of the targets that have them', async () => {
    const r = await cli('list', '--json');
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { targets: { name: string; labels?: object }[] };
    assert.deepEqual(list.targets[0]?.labels, { dc: 'fra1', role: 'lb' });
    const table = await cli('list');
    assert.match(table.stdout, /│ lo +│ 127\.0\.0\.1 +│ icmp +│ dc=fra1,role=lb +│/);
  });

  it('shows one instance with --instance, and says which exist for an unknown one', async () => {
    const one = await cli('stats', '--instance', 'beta', '--json');
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(
      (JSON.parse(one.stdout) as StatsJson).instances.map((i) => i.instance),
      ['beta'],
    );
    const none = await cli('stats', '--instance', 'gamma');
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      `npcli: no statistics of instance 'gamma' in this Redis (instances: alpha, beta)\n`,
    );
    const bad = await cli('stats', '--instance', 'a b');
    assert.equal(bad.code, 2, bad.stderr);
  });
});
