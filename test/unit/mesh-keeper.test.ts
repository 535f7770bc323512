// MeshKeeper and the mesh's peer key against an in-memory store: what a
// round writes and reads, what Redis trouble changes (nothing probed is
// dropped), and the leave at stop.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MeshKeeper } from '../../daemon/mesh-keeper.js';
import { meshPeerKey } from '../../daemon/mesh-peer-key.js';
import type { ProbedTarget } from '../../lib/engine/probe-engine.js';
import { InvalidInputError } from '../../lib/errors.js';
import { encodeRegistration, type Registration } from '../../lib/mesh/registration.js';
import { decodeSummary } from '../../lib/mesh/summary.js';
import { TargetStats } from '../../lib/stats/target-stats.js';
import { keysFor } from '../../lib/store/keys.js';
import { targetKey, type Target } from '../../lib/target.js';
import { FakeMeshStore } from '../support/fake-mesh-store.js';

const keys = keysFor('t');
const reg = (id: string, address: string, labels = {}): Registration => ({
  id,
  addresses: [address],
  peerPort: 9923,
  labels,
  version: '1',
  startedAt: `start-${id}`,
});

function rig(store = new FakeMeshStore()) {
  const logs: string[] = [];
  let targets: readonly Target[] = [];
  const stats = new Map<string, TargetStats>();
  const keeper = new MeshKeeper({
    store,
    keys,
    self: reg('me', '10.0.0.1', { dc: 'fra1' }),
    probes: ['icmp', 'udp'],
    refreshMs: 1000,
    expiryMs: 3000,
    sharedPeerKey: 'k'.repeat(20),
    setTargets: (t) => (targets = t),
    probed: (key) => {
      const s = stats.get(key);
      return s && ({ stats: s } as unknown as ProbedTarget); // only stats is read
    },
    nowMs: () => 0,
    log: (l) => logs.push(l),
  });
  const peer = async (r: Registration) =>
    store.putExpiring(keys.mesh.instance(r.id), encodeRegistration(r), 3000, {
      key: keys.mesh.instances,
      member: r.id,
    });
  return { store, keeper, logs, targets: () => targets, stats, peer };
}

describe('MeshKeeper', () => {
  it('registers with an expiry, puts the peer key, and probes the peers it reads', async () => {
    const { store, keeper, targets, peer, logs } = rig();
    await peer(reg('p1', '10.0.0.2', { dc: 'ams1' }));
    await keeper.refresh();
    assert.equal(store.ttl.get(keys.mesh.instance('me')), 3000);
    assert.deepEqual([...store.sets.get(keys.mesh.instances)!], ['p1', 'me']);
    assert.equal(store.kv.get(keys.mesh.peerKey), 'k'.repeat(20));
    assert.deepEqual(targets().map(targetKey), ['p1@10.0.0.2', 'p1@10.0.0.2?probe=udp&port=9923']);
    assert.ok(logs.includes('mesh: peer p1 joined'));
    // An expired peer goes, and is said to.
    store.kv.delete(keys.mesh.instance('p1'));
    await keeper.refresh();
    assert.deepEqual(targets(), []);
    assert.ok(logs.includes('mesh: peer p1 left'));
  });

  it('writes a summary row per peer and kind from the probed targets', async () => {
    const { store, keeper, stats, peer } = rig();
    await peer(reg('p1', '10.0.0.2'));
    await keeper.refresh();
    const s = new TargetStats();
    s.recordSent();
    s.recordReply(2, 0);
    s.recordSent();
    s.recordLost('timeout');
    stats.set('p1@10.0.0.2', s);
    await keeper.refresh();
    const summary = decodeSummary(store.kv.get(keys.mesh.summary('me'))!);
    assert.equal(summary.from, 'me');
    assert.equal(store.ttl.get(keys.mesh.summary('me')), 3000);
    assert.deepEqual(
      summary.rows.map((r) => [r.to, r.probe, r.sent, r.received, r.lost]),
      [['p1', 'icmp', 2, 1, 1]],
    );
  });

  it('keeps probing the peers it knew while Redis is down, logging once, and says when it is back', async () => {
    const { store, keeper, targets, peer, logs } = rig();
    await peer(reg('p1', '10.0.0.2'));
    await keeper.refresh();
    store.failing = true;
    await keeper.refresh();
    await keeper.refresh();
    assert.equal(targets().length, 2, 'peers kept');
    assert.equal(logs.filter((l) => l.startsWith('mesh: cannot reach the registry')).length, 1);
    // Redis comes back empty: we register again and put the key back.
    store.failing = false;
    store.kv.clear();
    store.sets.clear();
    await keeper.refresh();
    assert.ok(store.kv.has(keys.mesh.instance('me')));
    assert.equal(store.kv.get(keys.mesh.peerKey), 'k'.repeat(20));
    assert.deepEqual(targets(), [], 'p1 has not registered again');
    assert.ok(logs.includes('mesh: Redis answers again; registered and registry re-read'));
  });

  it('warns once of a peer key in Redis other than its own, and of a twin', async () => {
    const { store, keeper, logs } = rig();
    store.kv.set(keys.mesh.peerKey, 'x'.repeat(20));
    await keeper.refresh();
    const twin = encodeRegistration({ ...reg('me', '10.9.9.9'), startedAt: 'later' });
    // The twin's write lands between our SET and our read.
    const put = store.putExpiring.bind(store);
    store.putExpiring = async (...args) => {
      await put(...args);
      if (args[0] === keys.mesh.instance('me')) store.kv.set(args[0], twin);
    };
    await keeper.refresh();
    await keeper.refresh();
    assert.equal(
      logs.filter((l) => l.includes('is not the one this instance started with')).length,
      1,
    );
    assert.equal(logs.filter((l) => l.includes('another instance registers as me')).length, 1);
  });

  it('leaves at stop: registration, summary and index entry go', async () => {
    const { store, keeper } = rig();
    await keeper.refresh();
    await keeper.stop();
    assert.equal(store.kv.has(keys.mesh.instance('me')), false);
    assert.equal(store.kv.has(keys.mesh.summary('me')), false);
    assert.deepEqual([...store.sets.get(keys.mesh.instances)!], []);
  });
});

describe('the mesh peer key', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'netping-peerkey-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is generated once, kept in Redis and in the state directory (0600)', async () => {
    const store = new FakeMeshStore();
    const first = await meshPeerKey(store, keys, dir, () => {});
    assert.match(first, /^[\x21-\x7e]{16,256}$/);
    assert.equal(store.kv.get(keys.mesh.peerKey), first);
    const file = path.join(dir, 'mesh-peer-key.t');
    assert.equal(readFileSync(file, 'utf8'), `${first}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // Another instance (another state directory) takes the same key.
    const other = mkdtempSync(path.join(tmpdir(), 'netping-peerkey-'));
    try {
      assert.equal(await meshPeerKey(store, keys, other, () => {}), first);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('comes from the copy when Redis is down, and a bad one in Redis is refused', async () => {
    const down = new FakeMeshStore();
    down.failing = true;
    const logs: string[] = [];
    const cached = readFileSync(path.join(dir, 'mesh-peer-key.t'), 'utf8').trim();
    assert.equal(await meshPeerKey(down, keys, dir, (l) => logs.push(l)), cached);
    assert.match(logs[0]!, /using the copy in/);
    const bad = new FakeMeshStore();
    bad.kv.set(keys.mesh.peerKey, 'short');
    await assert.rejects(
      meshPeerKey(bad, keys, dir, () => {}),
      InvalidInputError,
    );
  });
});
