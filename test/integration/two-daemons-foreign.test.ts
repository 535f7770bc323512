// Two netpingd on one host, each pinging 127.0.0.1 ten times a second: on
// the addon's raw sockets (a kernel filter on each one's identifier) neither
// sees the other's echo replies; on raw-socket (no filter: the control that
// shows the test can fail) each counts the other's as `foreign`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { DaemonReport } from '../../lib/report.js';
import { loadNativeSockets } from '../../lib/probes/icmp/native-sockets.js';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { httpText, redisDeletePrefix, sampleSum } from '../support/ops-harness.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';

const native = loadNativeSockets();
const skip =
  SKIP_NO_REDIS ||
  (IS_ROOT ? false : 'raw sockets need root') ||
  (native.ok ? false : `the addon: ${native.reason}`);

async function received(d: RunningDaemon): Promise<number> {
  const r = (await (await fetch(`${d.baseUrl}/api/targets`)).json()) as DaemonReport;
  return r.targets.find((t) => t.name === 'lo')?.received ?? 0;
}

async function foreign(d: RunningDaemon): Promise<number> {
  const m = await httpText(`${d.baseUrl}/metrics`);
  return sampleSum(m, 'netping_packets_ignored_total', { reason: 'foreign' }) ?? 0;
}

describe("a second netpingd on the host: each one's replies reach only it", { skip }, () => {
  let redis: Redis;
  const prefixes: string[] = [];

  before(() => {
    redis = new Redis(TEST_REDIS_URL!);
  });

  after(() => {
    for (const p of prefixes) redisDeletePrefix(TEST_REDIS_URL!, p);
    redis?.disconnect();
  });

  for (const [transport, seen] of [
    ['raw', false],
    ['raw-socket', true],
  ] as const) {
    it(`${transport}: foreign replies ${seen ? 'counted by both (no filter: the control)' : 'stay 0 on both'}`, async () => {
      const daemons: RunningDaemon[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          const prefix = uniquePrefix();
          prefixes.push(prefix);
          await redis.sadd(`{${prefix}}:targets`, 'lo@127.0.0.1');
          daemons.push(
            await startDaemon([
              '--icmp-transport',
              transport,
              '--interval',
              '100ms',
              '--timeout',
              '500ms',
              '--redis',
              TEST_REDIS_URL!,
              '--prefix',
              prefix,
            ]),
          );
        }
        // Both have probed for a while (bounded): 20 replies each, ~2 s.
        await eventually(
          'both daemons answered 20 times',
          async () =>
            (await received(daemons[0]!)) >= 20 && (await received(daemons[1]!)) >= 20
              ? true
              : undefined,
          15_000,
        );
        const counts = [await foreign(daemons[0]!), await foreign(daemons[1]!)];
        if (seen) {
          assert.ok(
            counts.every((n) => n >= 10),
            `foreign ${counts.join(', ')}: each saw the other's replies`,
          );
        } else {
          assert.deepEqual(counts, [0, 0], 'no reply of the other reached JavaScript');
        }
      } finally {
        const codes = await Promise.all(daemons.map((d) => d.stop()));
        codes.forEach((code, i) => assert.equal(code, 0, daemons[i]!.log()));
      }
    });
  }
});
