import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRouteInterfaces4, defaultRouteInterfaces6 } from '../../daemon/advertise.js';
import { buildMatrix, groupMatrix, renderMeshText } from '../../lib/mesh/matrix.js';
import { meshTargets } from '../../lib/mesh/mesh-targets.js';
import {
  decodeRegistration,
  encodeRegistration,
  type Registration,
} from '../../lib/mesh/registration.js';
import { decodeSummary, encodeSummary, type MeshSummary } from '../../lib/mesh/summary.js';
import { meshReader, readMesh } from '../../lib/mesh/read.js';
import { MeshWindow } from '../../lib/mesh/window.js';
import { keysFor } from '../../lib/store/keys.js';
import { FakeMeshStore } from '../support/fake-mesh-store.js';
import { bucketIndex } from '../../lib/stats/histogram.js';
import { TargetStats } from '../../lib/stats/target-stats.js';
import { targetKey } from '../../lib/target.js';

const reg = (id: string, dc: string, addresses: string[]): Registration => ({
  id,
  addresses,
  peerPort: 9923,
  labels: { dc },
  version: '0.1.0',
  startedAt: '2026-01-01T00:00:00.000Z',
});

describe('mesh registrations', () => {
  it('round-trip, and anything out of shape is refused', () => {
    const r = reg('m1', 'fra1', ['10.0.0.1', '2001:db8::1']);
    assert.deepEqual(decodeRegistration(encodeRegistration(r)), r);
    const bad = (o: Record<string, unknown>) => JSON.stringify({ v: 1, ...r, ...o });
    for (const text of [
      'nope',
      bad({ v: 2 }),
      bad({ id: 'a b' }),
      bad({ addresses: ['host.example'] }),
      bad({ peerPort: 0 }),
      bad({ labels: { job: 'x' } }),
      bad({ version: 'x'.repeat(100) }),
    ]) {
      assert.throws(() => decodeRegistration(text), /./, text);
    }
  });
});

describe('mesh targets', () => {
  it('are every other instance at every address, per kind, labelled peer="true"', () => {
    const targets = meshTargets(
      'm1',
      [reg('m1', 'fra1', ['10.0.0.1']), reg('m2', 'ams1', ['10.0.0.2', '2001:db8::2'])],
      ['icmp', 'udp'],
    );
    assert.deepEqual(targets.map(targetKey).sort(), [
      'm2@10.0.0.2',
      'm2@10.0.0.2?probe=udp&port=9923',
      'm2@2001:db8::2',
      'm2@2001:db8::2?probe=udp&port=9923',
    ]);
    for (const t of targets) {
      assert.deepEqual(t.labels, { dc: 'ams1', peer: 'true' });
      assert.deepEqual(Object.keys(t.labels), ['dc', 'peer'], 'sorted by name');
    }
    const sorted = meshTargets(
      'm1',
      [{ ...reg('m2', 'x', ['10.0.0.2']), labels: { zone: 'z', az: 'a' } }],
      ['icmp'],
    );
    assert.deepEqual(Object.keys(sorted[0]!.labels!), ['az', 'peer', 'zone']);
  });
});

describe('mesh targets under a limit', () => {
  it('come one per peer (by id) before a second target of any', () => {
    const targets = meshTargets(
      'm1',
      [reg('m3', 'x', ['10.0.0.3', '10.0.1.3']), reg('m2', 'x', ['10.0.0.2', '10.0.1.2'])],
      ['icmp', 'udp'],
    );
    assert.deepEqual(targets.map(targetKey), [
      'm2@10.0.0.2',
      'm3@10.0.0.3',
      'm2@10.0.0.2?probe=udp&port=9923',
      'm3@10.0.0.3?probe=udp&port=9923',
      'm2@10.0.1.2',
      'm3@10.0.1.3',
      'm2@10.0.1.2?probe=udp&port=9923',
      'm3@10.0.1.3?probe=udp&port=9923',
    ]);
  });
});

describe('the mesh window', () => {
  it('counts the last minute, not since the start', () => {
    const w = new MeshWindow(60_000);
    const s = new TargetStats();
    const probe = (n: number, answered: boolean) => {
      for (let i = 0; i < n; i++) {
        s.recordSent();
        if (answered) s.recordReply(1, 0);
        else s.recordLost('timeout');
      }
    };
    probe(10, true);
    assert.deepEqual(w.take('k', s, 0), {
      sent: 10,
      received: 10,
      lost: 0,
      buckets: [bucketIndex(0.001), 10],
    });
    probe(5, false);
    assert.equal(w.take('k', s, 30_000).lost, 5);
    probe(3, true);
    // 90 s: the sample at 30 s is the base now.
    assert.deepEqual(w.take('k', s, 90_000), {
      sent: 3,
      received: 3,
      lost: 0,
      buckets: [bucketIndex(0.001), 3],
    });
  });
});

describe('the mesh matrix', () => {
  const regs = [
    reg('m1', 'fra1', ['10.0.0.1']),
    reg('m2', 'fra1', ['10.0.0.2']),
    reg('m3', 'ams1', ['10.0.0.3']),
  ];
  const b = (ms: number, n: number) => [bucketIndex(ms / 1000), n];
  const summary = (from: string, rows: MeshSummary['rows']): MeshSummary =>
    decodeSummary(encodeSummary({ from, at: '', windowMs: 60_000, rows }));
  const summaries = [
    summary('m1', [
      { to: 'm2', probe: 'icmp', sent: 10, received: 10, lost: 0, buckets: b(1, 10) },
      { to: 'm3', probe: 'icmp', sent: 10, received: 5, lost: 5, buckets: b(10, 5) },
      // A peer that has expired: not in the matrix.
      { to: 'gone', probe: 'icmp', sent: 10, received: 0, lost: 10, buckets: [] },
    ]),
    summary('m3', [
      { to: 'm1', probe: 'icmp', sent: 4, received: 4, lost: 0, buckets: b(10, 4) },
      { to: 'm2', probe: 'icmp', sent: 4, received: 0, lost: 0, buckets: [] },
    ]),
  ];

  it('has the JSON shape of the issue, between live instances only', () => {
    const m = buildMatrix(regs, summaries);
    assert.deepEqual(
      m.instances.map((i) => i.id),
      ['m1', 'm2', 'm3'],
    );
    assert.deepEqual(m.instances[0], { id: 'm1', labels: { dc: 'fra1' }, addresses: ['10.0.0.1'] });
    const p = m.pairs.find((x) => x.from === 'm1' && x.to === 'm3')!;
    assert.deepEqual(Object.keys(p), [
      'from',
      'to',
      'probe',
      'sent',
      'received',
      'loss',
      'medianMs',
    ]);
    assert.equal(p.loss, 50);
    assert.ok(p.medianMs! > 9 && p.medianMs! <= 10.5, String(p.medianMs));
    assert.ok(!m.pairs.some((x) => x.to === 'gone'));
    const none = m.pairs.find((x) => x.from === 'm3' && x.to === 'm2')!;
    assert.equal(none.loss, null, 'nothing ended yet');
    assert.equal(none.medianMs, null);
    const text = renderMeshText(m, 60);
    assert.match(text, /^m1\s+icmp\s+·\s+0% 1\.\d+ms\s+50% \d+\.\d+ms$/m);
    assert.match(text, /^m3\s+icmp\s+0% \d+\.\d+ms\s+…\s+·$/m);
  });

  it('collapses to a label: DC × DC, sums and a median of all probes', () => {
    const g = groupMatrix(regs, summaries, 'dc');
    assert.deepEqual(g.groups, [
      { value: 'ams1', instances: ['m3'] },
      { value: 'fra1', instances: ['m1', 'm2'] },
    ]);
    const fraAms = g.pairs.find((x) => x.from === 'fra1' && x.to === 'ams1')!;
    assert.equal(fraAms.loss, 50);
    const amsFra = g.pairs.find((x) => x.from === 'ams1' && x.to === 'fra1')!;
    assert.equal(amsFra.sent, 8);
    assert.equal(amsFra.loss, 0);
    assert.equal(g.pairs.find((x) => x.from === 'fra1' && x.to === 'fra1')!.sent, 10);
    assert.deepEqual(groupMatrix(regs, summaries, 'zone').groups, [
      { value: '-', instances: ['m1', 'm2', 'm3'] },
    ]);
  });
});

describe('default advertise', () => {
  it('finds the interfaces of the default routes', () => {
    const route4 =
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
      'eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'eth1\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
    assert.deepEqual(defaultRouteInterfaces4(route4), ['eth0']);
    const zero = '0'.repeat(32);
    const route6 =
      `${zero} 00 ${zero} 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth2\n` +
      `${zero} 00 ${zero} 00 ${zero} ffffffff 00000001 00000000 00200200 lo\n` +
      `20010db8000000000000000000000000 40 ${zero} 00 ${zero} 00000100 00000001 00000000 00000001 eth2\n`;
    assert.deepEqual(defaultRouteInterfaces6(route6), ['eth2']);
  });
});

describe('reading the mesh', () => {
  it('drops expired ids from the index and believes no entry under another id', async () => {
    const keys = keysFor('t');
    const store = new FakeMeshStore();
    const index = { key: keys.mesh.instances, member: '' };
    for (const id of ['m1', 'm2', 'm3']) {
      await store.putExpiring(
        keys.mesh.instance(id),
        encodeRegistration(reg(id, 'x', ['10.0.0.1'])),
        1,
        {
          ...index,
          member: id,
        },
      );
    }
    store.kv.delete(keys.mesh.instance('m2')); // expired
    store.kv.set(keys.mesh.instance('m3'), encodeRegistration(reg('m1', 'x', ['10.0.0.9'])));
    store.kv.set(
      keys.mesh.summary('m1'),
      encodeSummary({ from: 'm1', at: '', windowMs: 1, rows: [] }),
    );
    const state = await readMesh(store, keys);
    assert.deepEqual(
      state.registrations.map((r) => r.addresses[0]),
      ['10.0.0.1'],
    );
    assert.equal(state.summaries.length, 1);
    assert.deepEqual(state.skipped, ['the entry of m3 names m1']);
    assert.deepEqual([...store.sets.get(keys.mesh.instances)!], ['m1', 'm3']);
  });

  it("as the pages read it: kept for the mesh's refresh, shared while read, no write to Redis", async () => {
    const store = new FakeMeshStore();
    const keys = keysFor('p');
    const index = { key: keys.mesh.instances, member: 'm1' };
    await store.putExpiring(
      keys.mesh.instance('m1'),
      encodeRegistration(reg('m1', 'x', ['10.0.0.1'])),
      1,
      index,
    );
    store.sets.get(keys.mesh.instances)!.add('m2'); // expired: listed, no registration
    let nowMs = 0;
    let reads = 0;
    const setMembers = store.setMembers.bind(store);
    store.setMembers = (key: string) => {
      reads++;
      return setMembers(key);
    };
    const read = meshReader(store, keys, { maxAgeMs: 5000, nowMs: () => nowMs });
    const [a, b] = await Promise.all([read(), read()]);
    assert.equal(a, b);
    assert.equal(reads, 1);
    assert.deepEqual(
      a.registrations.map((r) => r.id),
      ['m1'],
    );
    assert.deepEqual(
      [...store.sets.get(keys.mesh.instances)!],
      ['m1', 'm2'],
      'the index is left alone',
    );
    nowMs = 4999;
    assert.equal(await read(), a);
    nowMs = 5000;
    assert.notEqual(await read(), a);
    assert.equal(reads, 2);
  });
});
