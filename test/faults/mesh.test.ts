// The mesh, for real: netpingd instances in their own network namespaces,
// joined by a bridge, meeting in one redis-server on the bridge. The matrix
// must fill (every ordered pair, every probe kind, answers received), a
// SIGKILLed instance must show loss (udp: its responder is gone, though its
// kernel still answers pings) and then leave, a new instance must join, and
// after Redis restarts empty the mesh must re-form with no instance
// restarted. Short refresh and expiry (1 s, 4 s) keep the wall time low.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MeshMatrix, MeshPair } from '../../lib/mesh/matrix.js';
import { meshKindAvailable } from '../../lib/mesh/mesh-targets.js';
import { HUB4, hubRedisArgs, meshMemberArgs, MeshNet } from '../support/mesh-net.js';
import {
  exitOf,
  httpGetIn,
  netnsPrerequisiteMissing,
  removeStaleNamespaces,
} from '../support/netns.js';
import { run, type Spawned } from '../support/ops-harness.js';

const skip = netnsPrerequisiteMissing();
const REDIS_PORT = 6390;
const REDIS_URL = `redis://${HUB4}:${REDIS_PORT}`;
const PREFIX = 'meshtest';
const EXPIRY_MS = 4_000;
const KINDS = ['icmp', 'udp', 'tcp'].filter(meshKindAvailable);
const LABELS: Record<number, string[]> = {
  1: ['dc=fra1', 'role=edge'],
  2: ['dc=fra1', 'role=core'],
  3: ['dc=ams1', 'role=edge'],
  4: ['dc=ams1', 'role=core'],
};

const id = (k: number): string => `m${k}`;

/** Polls `check` every 300 ms until it returns a value, for at most `ms`. */
async function within<T>(what: string, ms: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  let last = '';
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    try {
      const v = check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(300);
  }
  throw new Error(`not within ${ms} ms: ${what}${last ? ` (${last})` : ''}`);
}

describe('a mesh of netpingd instances in network namespaces', { skip: skip ?? false }, () => {
  const net = new MeshNet();
  const daemons = new Map<number, { ns: string; p: Spawned; stateDir: string }>();
  let redis: Spawned | undefined;

  const startRedis = (): Spawned =>
    net.spawn(net.hub, 'redis-server', hubRedisArgs(REDIS_PORT, tmpdir()));

  const startDaemon = (k: number, ns: string): void => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-mesh-'));
    const args = meshMemberArgs({
      k,
      redisUrl: REDIS_URL,
      prefix: PREFIX,
      kinds: KINDS,
      expiryMs: EXPIRY_MS,
      stateDir,
      extra: LABELS[k]!.flatMap((l) => ['--label', l]),
    });
    daemons.set(k, { ns, p: net.spawn(ns, process.execPath, args), stateDir });
  };

  const matrix = (): MeshMatrix => {
    const r = net.npcli(net.hub, ['--redis', REDIS_URL, '--prefix', PREFIX, 'mesh', '--json']);
    if (r.status !== 0) throw new Error(`npcli mesh: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as MeshMatrix;
  };

  const complete = (ks: readonly number[]): MeshMatrix | undefined => {
    const m = matrix();
    if (m.instances.map((i) => i.id).join() !== ks.map(id).join()) return undefined;
    for (const from of ks)
      for (const to of ks)
        for (const probe of KINDS) {
          if (from === to) continue;
          const p = m.pairs.find(
            (x) => x.from === id(from) && x.to === id(to) && x.probe === probe,
          );
          if (!p || p.received === 0) return undefined;
        }
    return m;
  };

  const logs = (): string =>
    [...daemons].map(([k, d]) => `--- m${k}\n${d.p.stderr.slice(-2000)}`).join('\n');

  before(async () => {
    removeStaleNamespaces();
    net.create();
    for (const k of [1, 2, 3, 4]) net.addMember(k);
    redis = startRedis();
    await within('redis-server answers', 5_000, () =>
      net.npcli(net.hub, ['--redis', REDIS_URL, '--prefix', PREFIX, 'list', '--json']).status === 0
        ? true
        : undefined,
    );
  });

  after(async () => {
    await net.destroy();
    for (const d of daemons.values()) rmSync(d.stateDir, { recursive: true, force: true });
  });

  it('forms a complete matrix of 3 instances within 20 s, labels and all', async () => {
    const t0 = Date.now();
    for (const k of [1, 2, 3]) startDaemon(k, `${net.hub.replace(/-hub$/, '')}-${k}`);
    const m = await within(`a complete matrix\n${logs()}`, 20_000, () => complete([1, 2, 3]));
    const m1 = m.instances.find((i) => i.id === 'm1')!;
    assert.deepEqual(m1.labels, { dc: 'fra1', role: 'edge' });
    assert.deepEqual(m1.addresses, [MeshNet.address(1)]);
    for (const p of m.pairs) {
      assert.equal(p.loss, 0, `loss on a healthy bridge: ${JSON.stringify(p)}`);
      assert.ok(p.medianMs !== null && p.medianMs > 0 && p.medianMs < 50, JSON.stringify(p));
    }
    // The same matrix from a daemon's own /api/mesh, and the text at /mesh.
    const api = JSON.parse(
      await httpGetIn(daemons.get(2)!.ns, 'http://127.0.0.1:9922/api/mesh'),
    ) as MeshMatrix;
    assert.deepEqual(api.instances, m.instances);
    const text = await httpGetIn(daemons.get(2)!.ns, 'http://127.0.0.1:9922/mesh');
    assert.match(text, /^from \\ to\s+probe\s+m1\s+m2\s+m3$/m);
    const grouped = JSON.parse(
      await httpGetIn(daemons.get(1)!.ns, 'http://127.0.0.1:9922/api/mesh?group-by=dc'),
    ) as { groups: { value: string; instances: string[] }[]; pairs: MeshPair[] };
    assert.deepEqual(grouped.groups, [
      { value: 'ams1', instances: ['m3'] },
      { value: 'fra1', instances: ['m1', 'm2'] },
    ]);
    // fra1 → fra1 is m1 ↔ m2; ams1 → ams1 has no pair (one instance).
    assert.ok(grouped.pairs.some((p) => p.from === 'fra1' && p.to === 'fra1'));
    assert.ok(!grouped.pairs.some((p) => p.from === 'ams1' && p.to === 'ams1'));
    // Mesh targets are the daemon's own: the user's target set stays empty.
    const list = net.npcli(net.hub, ['--redis', REDIS_URL, '--prefix', PREFIX, 'list', '--json']);
    assert.deepEqual((JSON.parse(list.stdout) as { targets: unknown[] }).targets, []);
    // Each series of a peer carries the peer's labels and peer="true".
    const metrics = await httpGetIn(daemons.get(1)!.ns, 'http://127.0.0.1:9922/metrics');
    assert.ok(
      metrics.includes(
        'netping_received_total{target="m2",address="10.201.0.12",probe="icmp",dc="fra1",peer="true",role="core"} ',
      ),
      metrics.slice(0, 3000),
    );
    // The peers are probed as targets named by instance id.
    const table = await httpGetIn(daemons.get(1)!.ns, 'http://127.0.0.1:9922/');
    assert.match(table, /^m2\s+10\.201\.0\.12\s/m);
    process.stderr.write(`# mesh complete after ${Date.now() - t0} ms\n`);
  });

  it('shows a SIGKILLed instance as lost, then drops it after expiry', async () => {
    const victim = daemons.get(3)!;
    victim.p.child.kill('SIGKILL');
    await exitOf(victim.p, 5_000);
    const killedAt = Date.now();
    if (KINDS.includes('udp')) {
      // Its kernel still answers icmp (and refuses tcp), but nothing answers udp now.
      await within('loss to m3 over udp', 5_000, () =>
        matrix().pairs.some((p) => p.to === 'm3' && p.probe === 'udp' && (p.loss ?? 0) > 0)
          ? true
          : undefined,
      );
    }
    await within('m3 gone from the matrix', EXPIRY_MS + 6_000, () => {
      const m = matrix();
      return m.instances.every((i) => i.id !== 'm3') &&
        m.pairs.every((p) => p.from !== 'm3' && p.to !== 'm3')
        ? true
        : undefined;
    });
    assert.ok(
      Date.now() - killedAt >= EXPIRY_MS - 1_500,
      'left before its registration could expire',
    );
  });

  it('takes in a fourth instance within 20 s', async () => {
    startDaemon(4, `${net.hub.replace(/-hub$/, '')}-4`);
    await within(`m4 in a complete matrix\n${logs()}`, 20_000, () => complete([1, 2, 4]));
  });

  it('re-forms after Redis restarts empty, with no instance restarted', async () => {
    redis!.child.kill('SIGKILL');
    await exitOf(redis!, 5_000);
    await sleep(1_500); // a refresh or two fail
    redis = startRedis();
    const m = await within(`the mesh back\n${logs()}`, 20_000, () => complete([1, 2, 4]));
    assert.equal(m.instances.length, 3);
    for (const k of [1, 2, 4]) assert.ok(daemons.get(k)!.p.running, `m${k} still running`);
    // The peer key went back into Redis with the registrations.
    const key = run('ip', [
      'netns',
      'exec',
      net.hub,
      'redis-cli',
      '-h',
      HUB4,
      '-p',
      String(REDIS_PORT),
      'GET',
      `{${PREFIX}}:mesh:peer-key`,
    ]);
    assert.match(key.stdout.trim(), /^[\x21-\x7e]{16,256}$/);
  });
});
