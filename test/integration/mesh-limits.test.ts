// --max-targets holds for a mesh too: a meshed netpingd (real Redis, real
// sockets on loopback) whose registry lists more peers, addresses and kinds
// than its limit probes the set's members first and fills only the room
// left with peers, one peer before a second target of any; what it leaves
// out is one log line and the gauge netping_mesh_targets_dropped.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { DaemonReport } from '../../lib/report.js';
import { encodeRegistration } from '../../lib/mesh/registration.js';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { freePort, httpText, redisDeletePrefix, sampleSum } from '../support/ops-harness.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = SKIP_NO_REDIS || (!IS_ROOT && 'netpingd needs root for its ICMP sockets');

describe('mesh targets under --max-targets', { skip }, () => {
  const prefix = uniquePrefix();
  let redis: Redis;
  let daemon: RunningDaemon;

  before(async () => {
    redis = new Redis(TEST_REDIS_URL!);
    const p = `{${prefix}}`;
    await redis.sadd(`${p}:targets`, 'own@127.0.0.1');
    // Four peers of two addresses each, probed with icmp and udp: 16 targets.
    for (let i = 1; i <= 4; i++) {
      const id = `peer${i}`;
      const registration = encodeRegistration({
        id,
        addresses: [`127.0.1.${i}`, `127.0.2.${i}`],
        peerPort: 9923,
        labels: {},
        version: 'test',
        startedAt: new Date().toISOString(),
      });
      await redis.set(`${p}:mesh:instance:${id}`, registration, 'PX', 60_000);
      await redis.sadd(`${p}:mesh:instances`, id);
    }
    daemon = await startDaemon([
      '--redis',
      TEST_REDIS_URL!,
      '--prefix',
      prefix,
      '--mesh',
      '--advertise',
      '127.0.0.1',
      '--mesh-refresh',
      '200ms',
      '--peer-key',
      'mesh-limits-test-key-0123456789',
      '--peer-listen',
      `127.0.0.1:${await freePort()}`,
      '--max-targets',
      '5',
      '--interval',
      '1s',
    ]);
  });

  after(async () => {
    const code = await daemon?.stop();
    redisDeletePrefix(TEST_REDIS_URL!, prefix);
    redis?.disconnect();
    assert.equal(code, 0, daemon?.log());
  });

  it('probes the set first, then one target of each peer, and reports what it left out', async () => {
    const report = await eventually('the mesh targets', async () => {
      const r = (await (await fetch(`${daemon.baseUrl}/api/targets`)).json()) as DaemonReport;
      return r.targets.some((t) => t.name.startsWith('peer')) ? r : undefined;
    });
    const names = report.targets.map((t) => t.name).sort();
    assert.deepEqual(names, ['own', 'peer1', 'peer2', 'peer3', 'peer4'], JSON.stringify(names));
    const metrics = await httpText(`${daemon.baseUrl}/metrics`);
    assert.equal(sampleSum(metrics, 'netping_targets', {}), 5);
    assert.equal(sampleSum(metrics, 'netping_mesh_targets_dropped', {}), 12);
    // Several refreshes later: still one line.
    await new Promise((r) => setTimeout(r, 1000));
    const lines = daemon
      .log()
      .split('\n')
      .filter((l) => /mesh targets are not probed/.test(l));
    assert.equal(lines.length, 1, daemon.log());
    assert.match(lines[0]!, /12 of 16 mesh targets are not probed/);
  });
});
