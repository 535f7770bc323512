// DnsFollower on a fake clock with answers a test sets (the real resolver
// against a real DNS server is test/integration/dns-names.test.ts), and
// TargetSync turning name@host members into one target per address.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsFollower } from '../../daemon/dns-follower.js';
import { TargetSync, type TargetSink } from '../../daemon/target-sync.js';
import type { LookupOutcome } from '../../lib/dns/host-state.js';
import { ResolveError } from '../../lib/errors.js';
import { addTargets, listTargets, removeTargets } from '../../lib/target-changes.js';
import { parseMember, targetKey, type Target } from '../../lib/target.js';
import { FakeClock } from '../support/fake-clock.js';
import { MemoryTargetStore } from '../support/memory-target-store.js';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Answers by host, changed by the test; counts the lookups. */
function answers(initial: Record<string, LookupOutcome>) {
  const table = new Map(Object.entries(initial));
  const asked: string[] = [];
  return {
    table,
    asked,
    resolve: (host: string): Promise<LookupOutcome> => {
      asked.push(host);
      return Promise.resolve(table.get(host) ?? { result: 'nxdomain', message: 'ENOTFOUND' });
    },
  };
}

const ok = (ttlSeconds: number, ...addresses: string[]): LookupOutcome => ({
  result: 'ok',
  addresses,
  ttlSeconds,
});

function rig(initial: Record<string, LookupOutcome>, forgetMs = 3_600_000) {
  const clock = new FakeClock(0);
  const dns = answers(initial);
  const held = new Map<string, Target>();
  const sink: TargetSink = {
    add: (t) => void held.set(targetKey(t), t),
    remove: (key) => held.delete(key),
    keys: () => held.keys(),
  };
  const store = new MemoryTargetStore();
  const logs: string[] = [];
  let changes = 0;
  const names = new DnsFollower({
    resolve: dns.resolve,
    clock,
    random: () => 0,
    timing: { minTtlMs: 1000, maxTtlMs: 60_000, forgetMs },
    limits: { queriesPerS: 1000, maxInFlight: 8 },
    changed: (hosts) => {
      changes++;
      void sync.namesChanged(hosts);
    },
    log: (line) => logs.push(line),
  });
  const sync = new TargetSync({
    store,
    sink,
    names,
    settings: { intervalMs: 1000, timeoutMs: 1000 },
    maxTargets: 100,
    log: (line) => logs.push(line),
  });
  /** Moves the fake time on, letting the lookups' promises settle on the way. */
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      await settle();
    }
  };
  return { clock, dns, held, store, sync, names, logs, run, changes: () => changes };
}

describe('DnsFollower and TargetSync', () => {
  it('probes every address of a name, labelled with its host, with the member options', async () => {
    const r = rig({ 'svc.test': ok(2, '127.0.0.2', '::1') });
    r.store.set.add('web@svc.test?probe=tcp&port=443&label.dc=fra1');
    await r.sync.request();
    assert.equal(r.held.size, 0); // not looked up yet
    await r.run(500);
    assert.deepEqual([...r.held.keys()].sort(), [
      'web@127.0.0.2?probe=tcp&port=443',
      'web@::1?probe=tcp&port=443',
    ]);
    for (const t of r.held.values()) {
      assert.equal(t.host, 'svc.test');
      assert.deepEqual(t.labels, { dc: 'fra1' });
      assert.deepEqual(t.probe, { kind: 'tcp', port: 443 });
    }
    r.names.close();
  });

  it('moves to the new address when the record changes, at the TTL', async () => {
    const r = rig({ 'svc.test': ok(2, '127.0.0.2') });
    r.store.set.add('web@svc.test');
    await r.sync.request();
    await r.run(500);
    assert.deepEqual([...r.held.keys()], ['web@127.0.0.2']);
    const asked = r.dns.asked.length;
    r.dns.table.set('svc.test', ok(2, '127.0.0.3'));
    await r.run(1000);
    assert.deepEqual([...r.held.keys()], ['web@127.0.0.2'], 'not before the TTL');
    assert.equal(r.dns.asked.length, asked);
    await r.run(1500);
    assert.deepEqual([...r.held.keys()], ['web@127.0.0.3']);
    assert.ok(
      r.logs.some((l) => l === 'dns: svc.test now at 127.0.0.3 (was 127.0.0.2)'),
      r.logs.join('\n'),
    );
    r.names.close();
  });

  it('keeps the last addresses while lookups fail, and counts every lookup by result', async () => {
    const r = rig({ 'svc.test': ok(1, '127.0.0.2') });
    r.store.set.add('web@svc.test');
    await r.sync.request();
    await r.run(500);
    r.dns.table.set('svc.test', { result: 'timeout', message: 'ETIMEOUT' });
    await r.run(10_000);
    assert.deepEqual([...r.held.keys()], ['web@127.0.0.2']);
    const [name] = [...r.names.reports()];
    assert.equal(name!.result, 'timeout');
    assert.equal(name!.error, 'ETIMEOUT');
    assert.ok(name!.failingForMs! >= 9000, String(name!.failingForMs));
    assert.equal(name!.lookups.ok, 1);
    assert.ok(name!.lookups.timeout! >= 3, JSON.stringify(name!.lookups));
    assert.equal(r.logs.filter((l) => l.startsWith('dns: cannot look up svc.test')).length, 1);
    r.names.close();
  });

  it('retires the addresses after --dns-forget of NXDOMAIN and shows the member as an error', async () => {
    const r = rig({ 'gone.test': ok(1, '127.0.0.2') }, 5000);
    r.store.set.add('old@gone.test');
    await r.sync.request();
    await r.run(500);
    r.dns.table.delete('gone.test');
    await r.run(4000);
    assert.deepEqual([...r.held.keys()], ['old@127.0.0.2']);
    await r.run(10_000);
    assert.deepEqual([...r.held.keys()], []);
    assert.equal(r.sync.invalid.length, 1);
    assert.equal(r.sync.invalid[0]!.member, 'old@gone.test');
    assert.match(r.sync.invalid[0]!.error, /^gone\.test: nxdomain for \d+s, its addresses retired/);
    r.names.close();
  });

  it('looks a name up once for all the members that name it, and stops when they go', async () => {
    const r = rig({ 'svc.test': ok(30, '127.0.0.2') });
    r.store.set.add('web@svc.test');
    r.store.set.add('web2@SVC.test.?probe=tcp&port=80');
    await r.sync.request();
    await r.run(500);
    assert.deepEqual(r.dns.asked, ['svc.test']);
    assert.deepEqual([...r.held.keys()].sort(), [
      'web2@127.0.0.2?probe=tcp&port=80',
      'web@127.0.0.2',
    ]);
    r.store.set.clear();
    await r.sync.request();
    assert.equal(r.names.size, 0);
    assert.deepEqual([...r.held.keys()], []);
    await r.run(60_000);
    assert.deepEqual(r.dns.asked, ['svc.test']);
    r.names.close();
  });

  it('re-applies the set at most once per 200 ms while many answers arrive', async () => {
    const table: Record<string, LookupOutcome> = {};
    for (let i = 0; i < 50; i++) table[`h${i}.test`] = ok(60, `127.0.1.${i + 1}`);
    const r = rig(table);
    for (let i = 0; i < 50; i++) r.store.set.add(`n${i}@h${i}.test`);
    await r.sync.request();
    await r.run(1000);
    assert.equal(r.held.size, 50);
    // 50 answers in a second: not 50 re-applications of the whole set.
    assert.ok(r.changes() >= 1 && r.changes() <= 6, `${r.changes()} re-applications`);
    r.names.close();
  });
});

describe('name@host members', () => {
  it('parse as names to follow: host in lower case without the final dot, options kept', () => {
    assert.deepEqual(parseMember('web@Svc.Example.?interval=5s'), {
      kind: 'host',
      member: { name: 'web', host: 'svc.example', options: { overrides: { intervalMs: 5000 } } },
    });
    assert.equal(parseMember('web@192.0.2.1').kind, 'target');
    assert.throws(
      () => parseMember('web@svc.example?label.host=x'),
      /the label 'host' is netping's own/,
    );
    assert.throws(() => parseMember('web@300.1.1.1'), /not an IPv4 or IPv6 address/);
  });

  it('npcli add stores the name and says what it resolves to; --pin stores the addresses', async () => {
    const store = new MemoryTargetStore();
    const lookup = (host: string): Promise<string[]> =>
      host === 'svc.test' ? Promise.resolve(['127.0.0.2', '::1']) : Promise.reject(new Error('x'));
    assert.deepEqual(
      await addTargets(store, ['web@svc.test'], { lookup, probe: { kind: 'tcp', port: 443 } }),
      [
        {
          member: 'web@svc.test?probe=tcp&port=443',
          changed: true,
          addresses: ['127.0.0.2', '::1'],
        },
      ],
    );
    assert.deepEqual(
      (await addTargets(store, ['svc.test'], { lookup, pin: true })).map((r) => r.member),
      ['svc.test@127.0.0.2', 'svc.test@::1'],
    );
    const { targets } = await listTargets(store);
    assert.deepEqual(targets.at(-1), { name: 'web', host: 'svc.test', probe: 'tcp', port: 443 });
    // Removed by name@host, like an address.
    assert.deepEqual(await removeTargets(store, ['web@svc.test']), [
      { member: 'web@svc.test?probe=tcp&port=443', changed: true },
    ]);
  });

  it('npcli add of a name that does not resolve writes nothing', async () => {
    const store = new MemoryTargetStore();
    const lookup = (): Promise<string[]> =>
      Promise.reject(Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' }));
    await assert.rejects(
      addTargets(store, ['a@192.0.2.1', 'web@nowhere.test'], { lookup }),
      (err: unknown) =>
        err instanceof ResolveError &&
        /cannot resolve 'nowhere\.test': no such host/.test(err.message),
    );
    assert.deepEqual(store.writes, []);
  });
});
