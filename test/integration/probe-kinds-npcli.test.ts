// Issue 9's acceptance, end to end with the real npcli and netpingd: a tcp
// target at netpingd's own HTTP port answers within a second, a closed port
// answers with a refusal, and a udp target at another netpingd is answered
// with the same peer key and all lost with another.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DaemonReport, TargetReport } from '../../lib/report.js';
import { IS_ROOT } from '../support/env.js';
import { freePort } from '../support/ops-harness.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = !IS_ROOT && 'raw ICMP sockets need root: run the suite as root';
const KEY = 'probe-kinds-test-key-0123456789';

async function rowOf(d: RunningDaemon, name: string): Promise<TargetReport | undefined> {
  const res = await fetch(`${d.baseUrl}/api/targets`);
  assert.equal(res.status, 200);
  return ((await res.json()) as DaemonReport).targets.find((t) => t.name === name);
}

/** A free udp port for a peer responder, found the same way. */
async function freeUdpPort(): Promise<number> {
  const dgram = await import('node:dgram');
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

describe('probe kinds through npcli', { skip }, () => {
  const dirs: string[] = [];
  let prober: RunningDaemon;
  let peer: RunningDaemon;
  let stranger: RunningDaemon;
  let peerPort: number;
  let strangerPort: number;
  const cli = (...args: string[]) =>
    runCli(['--url', prober.baseUrl, '--state-dir', dirs[0]!, ...args]);

  before(async () => {
    for (let i = 0; i < 3; i++) dirs.push(await mkdtemp(path.join(tmpdir(), 'netping-kinds-')));
    peerPort = await freeUdpPort();
    strangerPort = await freeUdpPort();
    const common = ['--interval', '200ms', '--timeout', '500ms'];
    [prober, peer, stranger] = await Promise.all([
      startDaemon(['--state-dir', dirs[0]!, ...common], {
        NETPING_PEER_KEY: KEY,
        NETPING_PEER_LISTEN: `127.0.0.1:${await freeUdpPort()}`,
      }),
      startDaemon(['--state-dir', dirs[1]!, ...common], {
        NETPING_PEER_KEY: KEY,
        NETPING_PEER_LISTEN: `127.0.0.1:${peerPort}`,
      }),
      startDaemon(['--state-dir', dirs[2]!, ...common], {
        NETPING_PEER_KEY: `${KEY}-not-the-same`,
        NETPING_PEER_LISTEN: `127.0.0.1:${strangerPort}`,
      }),
    ]);
  });

  after(async () => {
    const codes = await Promise.all([prober, peer, stranger].map((d) => d?.stop()));
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    assert.deepEqual(codes, [0, 0, 0], `netpingd should exit 0 on SIGTERM:\n${prober?.log()}`);
  });

  it('probes netpingd’s own HTTP port by tcp, answered within a second of npcli add', async () => {
    const port = new URL(prober.baseUrl).port;
    const added = await cli('add', 'web@127.0.0.1', '--probe', 'tcp', '--port', port);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, `added web@127.0.0.1?probe=tcp&port=${port}\n`);
    const addedAt = performance.now();
    await eventually(
      'an answer from the tcp target',
      async () => {
        const row = await rowOf(prober, 'web');
        return row && row.received > 0 ? row : undefined;
      },
      1000,
      20,
    );
    const row = (await rowOf(prober, 'web'))!;
    assert.equal(row.probe, 'tcp');
    assert.equal(row.port, Number(port));
    assert.deepEqual(row.answers, {}, 'an open port is an ordinary answer');
    assert.ok(performance.now() - addedAt <= 1100, 'within a second of npcli add returning');
  });

  it('shows a closed port as answered by tcp:refused, in the JSON and in npcli stats', async () => {
    const port = await freePort(); // nothing listens there now
    const added = await cli('add', 'shut@127.0.0.1', '--probe', 'tcp', '--port', String(port));
    assert.equal(added.code, 0, added.stderr);
    const row = await eventually(
      'three refusals',
      async () => {
        const r = await rowOf(prober, 'shut');
        return r && (r.answers['tcp:refused'] ?? 0) >= 3 ? r : undefined;
      },
      5000,
    );
    assert.equal(row.lost, 0, 'a refusal is an answer, not a loss');
    assert.equal(row.received, row.answers['tcp:refused']);
    const stats = await cli('stats');
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, new RegExp(`shut +127\\.0\\.0\\.1 +tcp:${port}`));
    assert.match(stats.stdout, /tcp:refused \d+/);
  });

  it('gets every udp probe answered by a peer with the same key, none by one with another', async () => {
    let res = await cli('add', `peer@127.0.0.1`, '--probe', 'udp', '--port', String(peerPort));
    assert.equal(res.code, 0, res.stderr);
    res = await cli('add', `stranger@127.0.0.1`, '--probe', 'udp', '--port', String(strangerPort));
    assert.equal(res.code, 0, res.stderr);
    await eventually(
      'five probes ended at each udp target',
      async () => {
        const good = await rowOf(prober, 'peer');
        const bad = await rowOf(prober, 'stranger');
        return good && good.received >= 5 && bad && bad.lost >= 5 ? true : undefined;
      },
      10_000,
    );
    const good = (await rowOf(prober, 'peer'))!;
    const bad = (await rowOf(prober, 'stranger'))!;
    assert.equal(good.lost, 0, JSON.stringify(good));
    assert.equal(bad.received, 0, JSON.stringify(bad));
    const strangerMetrics = await (await fetch(`${stranger.baseUrl}/metrics`)).text();
    const refused = /netping_packets_ignored_total\{reason="peer:bad-mac"\} (\d+)/.exec(
      strangerMetrics,
    );
    assert.ok(refused && Number(refused[1]) >= bad.lost, strangerMetrics.slice(0, 2000));
  });
});
