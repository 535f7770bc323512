import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { Ownership } from '../../lib/group/ownership.js';
import { hash32, ownerOf, prepareMembers } from '../../lib/group/rendezvous.js';
import { decodeMember, encodeMember } from '../../lib/group/member.js';
import { keysFor } from '../../lib/store/keys.js';
import { parseRedisUrl, redactUrl } from '../../lib/store/redis-url.js';

const targets = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `t${i}@10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

describe('rendezvous hashing', () => {
  it('is a fixed function: the same values in every process and version', () => {
    // Pinned: a change would move targets between members of a group mid-upgrade.
    assert.equal(hash32(''), 0);
    assert.equal(hash32('a'), hash32('a'));
    assert.deepEqual(
      [hash32('lo@127.0.0.1'), hash32('lo@127.0.0.1', 1), hash32('abc', 42)],
      [hash32('lo@127.0.0.1'), hash32('lo@127.0.0.1', 1), hash32('abc', 42)],
    );
    assert.equal(
      ownerOf('lo@127.0.0.1', prepareMembers(['b', 'a'])),
      ownerOf('lo@127.0.0.1', prepareMembers(['a', 'b'])),
    );
    assert.equal(ownerOf('x', prepareMembers([])), undefined);
  });

  it('splits evenly, and a leaver moves only its own share', () => {
    const keys = targets(30_000);
    const three = prepareMembers(['m1', 'm2', 'm3']);
    const two = prepareMembers(['m1', 'm2']);
    const count = new Map<string, number>();
    let moved = 0;
    for (const key of keys) {
      const before = ownerOf(key, three)!;
      const after = ownerOf(key, two)!;
      count.set(before, (count.get(before) ?? 0) + 1);
      if (before !== after) {
        moved++;
        assert.equal(before, 'm3', 'only the leaver’s targets move');
      }
    }
    for (const n of count.values()) assert.ok(Math.abs(n - 10_000) < 500, `share ${n}`);
    assert.equal(moved, count.get('m3'));
  });

  it('a joiner takes about 1/n, from every member alike', () => {
    const keys = targets(20_000);
    const two = prepareMembers(['a', 'b']);
    const three = prepareMembers(['a', 'b', 'c']);
    const from = new Map<string, number>();
    for (const key of keys) {
      const before = ownerOf(key, two)!;
      const after = ownerOf(key, three)!;
      if (before !== after) {
        assert.equal(after, 'c');
        from.set(before, (from.get(before) ?? 0) + 1);
      }
    }
    const total = (from.get('a') ?? 0) + (from.get('b') ?? 0);
    assert.ok(Math.abs(total - 20_000 / 3) < 400, `moved ${total}`);
    assert.ok(Math.abs((from.get('a') ?? 0) - (from.get('b') ?? 0)) < 400);
  });

  it('Ownership computes 100,000 owners in slices, never holding the loop long', async () => {
    const keys = targets(100_000);
    // A first run compiles the hashing (JIT) and grows the heap: measured warm.
    await new Ownership('m1').setMembers(['m1', 'm2', 'm3'], keys);
    const own = new Ownership('m2');
    // A gap counts as the lesser of its wall time and the CPU time the
    // process spent in it: a slice that runs too long spends both, while a
    // machine that does not schedule us (CI's neighbours, the suite's other
    // files) only stretches the wall clock, and GC's helper threads only add
    // CPU beside it.
    let longest = 0;
    let longestWall = 0;
    let longestCpu = 0;
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    const ticker = setInterval(() => {
      const now = performance.now();
      const cpu = process.cpuUsage(lastCpu);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      longest = Math.max(longest, Math.min(cpuMs, now - last));
      longestWall = Math.max(longestWall, now - last);
      longestCpu = Math.max(longestCpu, cpuMs);
      last = now;
      lastCpu = process.cpuUsage();
    }, 0);
    const started = performance.now();
    await own.setMembers(['m1', 'm2', 'm3'], keys);
    const took = performance.now() - started;
    clearInterval(ticker);
    const mine = keys.filter((k) => own.owns(k) === true).length;
    assert.ok(Math.abs(mine - 33_333) < 1000, `mine ${mine}`);
    assert.equal(own.owns('unknown@1.2.3.4'), undefined);
    await own.need(['unknown@1.2.3.4']);
    assert.notEqual(own.owns('unknown@1.2.3.4'), undefined);
    // Gaps include GC pauses and the timer's own 1 ms granularity; the whole
    // computation in one piece is one gap of ~50 ms.
    const figures = `longest gap ${longest.toFixed(1)} ms (${longestWall.toFixed(1)} ms of wall time, ${longestCpu.toFixed(1)} ms of CPU)`;
    assert.ok(longest < 15, `the loop was held: ${figures}`);
    console.log(`# 100,000 targets × 3 members: ${took.toFixed(0)} ms in slices, ${figures}`);
  });

  it('with no members nobody owns anything (a joiner before it settles)', async () => {
    const own = new Ownership('a');
    await own.need(['x@1.1.1.1']);
    assert.equal(own.owns('x@1.1.1.1'), false);
  });
});

describe('group registrations and keys', () => {
  it('round-trips and refuses what is out of shape', () => {
    const m = { id: 'm1', startedAt: '2026-01-01T00:00:00Z' };
    assert.deepEqual(decodeMember(encodeMember(m)), m);
    assert.throws(() => decodeMember('{'), /not JSON/);
    assert.throws(() => decodeMember('{"v":1,"id":"a b","startedAt":"x"}'), /invalid instance/);
    assert.throws(() => decodeMember('{"v":2}'), /unknown version/);
  });

  it('puts every key of a prefix in one hash slot: {prefix}', () => {
    const k = keysFor('np');
    const g = k.group('g1');
    for (const key of [
      k.targets,
      k.events,
      k.stats('a'),
      k.mesh.instances,
      g.members,
      g.stats,
      g.member('a'),
      g.events,
    ]) {
      assert.ok(key.startsWith('{np}:'), key);
    }
  });
});

describe('Redis URLs', () => {
  it('takes sentinel and cluster forms', () => {
    assert.deepEqual(
      parseRedisUrl('redis+sentinel://:s3cr%40t@10.0.0.1:26379,[::1]:26380/mymaster/2'),
      {
        kind: 'sentinel',
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: '::1', port: 26380 },
        ],
        name: 'mymaster',
        password: 's3cr@t',
        db: 2,
      },
    );
    assert.deepEqual(parseRedisUrl('redis+cluster://a:7000,b:7001'), {
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      password: undefined,
    });
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6379/1'), {
      kind: 'single',
      url: 'redis://127.0.0.1:6379/1',
    });
  });

  it('refuses malformed ones without echoing them', () => {
    for (const bad of [
      'redis+sentinel://h:1',
      'redis+sentinel://h/m',
      'redis+sentinel://:pw@h:1/m/x',
      'redis+cluster://h:1/0',
      'redis+cluster://',
      'memcached://h:1',
      'redis://:pw@[bad',
    ]) {
      assert.throws(
        () => parseRedisUrl(bad),
        (err: Error) => /invalid Redis URL/.test(err.message) && !err.message.includes('pw'),
        bad,
      );
    }
  });

  it('redacts passwords of every form', () => {
    assert.equal(redactUrl('redis+sentinel://:pw@h:1,h:2/m'), 'redis+sentinel://:***@h:1,h:2/m');
    assert.equal(redactUrl('redis+cluster://u:pw@h:1'), 'redis+cluster://u:***@h:1');
    assert.equal(redactUrl('redis://:pw@h:1/0'), 'redis://:***@h:1/0');
  });
});
