// The product end to end: a real netpingd pinging 127.0.0.0/8 and ::1 with
// raw ICMP sockets, a real redis-server, targets changed with the real npcli.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { DaemonReport, TargetReport } from '../../lib/report.js';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { freePort } from '../support/ops-harness.js';
import { promtoolComplaints } from '../support/promtool.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = SKIP_NO_REDIS || (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root');

async function report(d: RunningDaemon): Promise<DaemonReport> {
  const res = await fetch(`${d.baseUrl}/api/targets`);
  assert.equal(res.status, 200);
  return (await res.json()) as DaemonReport;
}

function row(r: DaemonReport, name: string, address: string): TargetReport | undefined {
  return r.targets.find((t) => t.name === name && t.address === address);
}

describe('netpingd with live targets', { skip }, () => {
  const prefix = uniquePrefix();
  const cli = (...args: string[]) =>
    runCli(['--redis', TEST_REDIS_URL!, '--prefix', prefix, ...args]);
  let redis: Redis;
  let daemon: RunningDaemon;

  before(async () => {
    redis = new Redis(TEST_REDIS_URL!);
    await redis.sadd(`{${prefix}}:targets`, 'lo@127.0.0.1');
    daemon = await startDaemon([
      '--redis',
      TEST_REDIS_URL!,
      '--prefix',
      prefix,
      '--interval',
      '100ms',
      '--timeout',
      '500ms',
    ]);
  });

  after(async () => {
    const code = await daemon?.stop();
    await redis?.del(`{${prefix}}:targets`);
    redis?.disconnect();
    assert.equal(code, 0, `netpingd should exit 0 on SIGTERM; log:\n${daemon?.log()}`);
  });

  it('pings the targets it found at start', async () => {
    const lo = await eventually('replies from 127.0.0.1', async () => {
      const t = row(await report(daemon), 'lo', '127.0.0.1');
      return t && t.received >= 3 ? t : undefined;
    });
    assert.equal(lo.lost, 0);
    assert.ok(lo.minMs! > 0 && lo.minMs! < 50, `loopback RTT ${lo.minMs} ms`);
  });

  // Without --redis: with it, npcli stats reads the instances' saved statistics
  // from Redis instead (redis-stats.test.ts).
  it('npcli stats shows the daemon report as a table and as JSON', async () => {
    const asJson = await runCli(['--url', daemon.baseUrl, 'stats', '--json']);
    assert.equal(asJson.code, 0, asJson.stderr);
    const rep = JSON.parse(asJson.stdout) as DaemonReport;
    const lo = row(rep, 'lo', '127.0.0.1');
    assert.ok((lo?.received ?? 0) > 0);
    for (const value of [lo?.minMs, lo?.avg15mMs, lo?.lastMs])
      assert.match(String(value), /^\d+(\.\d{1,3})?$/, 'rounded to the microsecond');
    const asTable = await runCli(['--url', daemon.baseUrl, 'stats']);
    assert.equal(asTable.code, 0, asTable.stderr);
    assert.match(asTable.stdout, /^Name +Address +Probe +Loss +Avg15m +Avg24h +Last\n-+ +-+ /);
    assert.match(asTable.stdout, /^lo +127\.0\.0\.1 +icmp +\d/m);
    assert.equal(lo?.probe, 'icmp');
    const wide = await runCli(['--url', daemon.baseUrl, 'stats', '--wide']);
    assert.equal(wide.code, 0, wide.stderr);
    assert.match(wide.stdout, /^Name +Address +Probe +Sent +Recv +Succ +Loss +Late +Dup +Min /);
    const port = await freePort(); // free: nothing listens there
    const down = await runCli(['--url', `http://127.0.0.1:${port}`, 'stats']);
    assert.equal(down.code, 3);
    assert.match(
      down.stderr,
      /^npcli: cannot reach netpingd at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
  });

  it('picks up targets added with npcli within a fraction of a second, without disturbing others', async () => {
    const before = row(await report(daemon), 'lo', '127.0.0.1')!;
    const added = await cli('add', 'six@::1', 'two@127.0.0.2', '--json');
    assert.equal(added.code, 0, added.stderr);
    const addedAt = Date.now();
    assert.deepEqual(JSON.parse(added.stdout), [
      { member: 'six@::1', changed: true },
      { member: 'two@127.0.0.2', changed: true },
    ]);
    const [six, two] = await eventually(
      'probes to the new targets',
      async () => {
        const r = await report(daemon);
        const s = row(r, 'six', '::1');
        const t = row(r, 'two', '127.0.0.2');
        return s && t && s.received > 0 && t.received > 0 ? [s, t] : undefined;
      },
      3000,
      20,
    );
    // One interval (100 ms) plus the change notice; a second is the promise.
    assert.ok(Date.now() - addedAt < 1000, `took ${Date.now() - addedAt} ms`);
    assert.equal(six.family, 6);
    assert.equal(two.lost, 0);
    const lo = row(await report(daemon), 'lo', '127.0.0.1')!;
    assert.ok(
      lo.sent >= before.sent && lo.received >= before.received,
      'counters of lo were reset',
    );
  });

  it('stops probing a removed target at once', async () => {
    const removed = await cli('remove', 'two');
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /removed two@127\.0\.0\.2/);
    await eventually(
      'two to be gone',
      async () => (row(await report(daemon), 'two', '127.0.0.2') ? undefined : true),
      2000,
      20,
    );
    const list = await cli('list', '--json');
    assert.deepEqual(JSON.parse(list.stdout), {
      targets: [
        { name: 'lo', address: '127.0.0.1', probe: 'icmp' },
        { name: 'six', address: '::1', probe: 'icmp' },
      ],
      invalid: [],
    });
  });

  it('serves a plaintext table sorted by address, IPv4 first', async () => {
    await cli('add', 'ten@127.0.0.10', 'nine@127.0.0.9');
    await eventually(
      'four rows',
      async () => ((await report(daemon)).targets.length === 4 ? true : undefined),
      2000,
      20,
    );
    const res = await fetch(`${daemon.baseUrl}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const lines = (await res.text()).split('\n');
    assert.match(
      lines[0]!,
      /^Name\s+Address\s+Probe\s+Sent\s+Recv\s+Succ\s+Loss\s+Min\s+Avg15m\s+Avg6h\s+Avg24h\s+Max\s+Last$/,
    );
    const addresses = lines.slice(1, 5).map((l) => l.split(/\s+/)[1]);
    assert.deepEqual(addresses, ['127.0.0.1', '127.0.0.9', '127.0.0.10', '::1']);
  });

  it('survives a garbage member written by hand and shows it as an error row', async () => {
    const huge = `${'h'.repeat(10_000)}@127.0.0.1`;
    await redis.sadd(
      `{${prefix}}:targets`,
      'no-at-sign',
      'x@999.1.1.1',
      '@127.0.0.1',
      'bad\nname@127.0.0.1',
      huge,
    );
    await redis.publish(`{${prefix}}:events`, 'garbage that is not JSON');
    const r = await eventually('invalid members reported', async () => {
      const rep = await report(daemon);
      return rep.invalid.length === 5 ? rep : undefined;
    });
    assert.equal(r.targets.length, 4);
    const table = await (await fetch(`${daemon.baseUrl}/`)).text();
    assert.match(table, /ERROR {2}no-at-sign: invalid target 'no-at-sign': expected name@address/);
    assert.match(table, /ERROR {2}"bad\\nname@127\.0\.0\.1"/);
    assert.match(table, /invalid target name: longer than 100 characters \(10000\)/);
    assert.equal((await fetch(`${daemon.baseUrl}/healthz`)).status, 200);
    const removed = await cli(
      'remove',
      'no-at-sign',
      'x@999.1.1.1',
      '@127.0.0.1',
      'bad\nname@127.0.0.1',
      huge,
    );
    assert.equal(removed.code, 0, removed.stderr);
  });

  it('probes a target at its own interval, and keeps its counters when that changes', async () => {
    const added = await cli('add', 'fast@127.0.0.4', '--interval', '20ms', '--timeout', '0.2');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added fast@127\.0\.0\.4\?interval=20ms&timeout=200ms/);
    const fast = await eventually('fast probed', async () => {
      const t = row(await report(daemon), 'fast', '127.0.0.4');
      return t && t.sent >= 20 ? t : undefined;
    });
    assert.equal(fast.intervalMs, 20);
    assert.equal(fast.timeoutMs, 200);
    const lo = row(await report(daemon), 'lo', '127.0.0.1')!;
    assert.equal(lo.intervalMs, 100, 'the others keep the daemon interval');
    const list = JSON.parse((await cli('list', '--json')).stdout) as {
      targets: { name: string }[];
    };
    assert.deepEqual(
      list.targets.find((t) => t.name === 'fast'),
      { name: 'fast', address: '127.0.0.4', probe: 'icmp', intervalMs: 20, timeoutMs: 200 },
    );
    const changed = await cli('add', 'fast@127.0.0.4', '--interval', '40ms');
    assert.equal(changed.code, 0, changed.stderr);
    const after = await eventually('fast at its new interval', async () => {
      const t = row(await report(daemon), 'fast', '127.0.0.4');
      return t && t.intervalMs === 40 ? t : undefined;
    });
    assert.ok(after.sent >= fast.sent, `counters restarted: ${fast.sent} then ${after.sent}`);
    assert.equal(
      after.timeoutMs,
      500,
      'a change without --timeout goes back to the daemon timeout',
    );
    const members = await redis.smembers(`{${prefix}}:targets`);
    assert.deepEqual(
      members.filter((m) => m.startsWith('fast@')),
      ['fast@127.0.0.4?interval=40ms'],
      'the old member was replaced',
    );
    assert.equal((await cli('remove', 'fast@127.0.0.4')).code, 0);
  });

  it('exports Prometheus metrics that promtool accepts, with hostile names escaped', async (t) => {
    const hostile = 'q"uote\\back€';
    await cli('add', `${hostile}@127.0.0.3`);
    await eventually('the hostile target answered', async () =>
      row(await report(daemon), hostile, '127.0.0.3')?.received ? true : undefined,
    );
    const res = await fetch(`${daemon.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    for (const name of [
      'netping_sent_total',
      'netping_received_total',
      'netping_lost_total',
      'netping_late_total',
      'netping_duplicates_total',
      'netping_rtt_seconds_bucket',
      'netping_rtt_seconds_sum',
      'netping_rtt_seconds_count',
      'netping_targets',
      'netping_store_up',
    ]) {
      assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), `${name} missing`);
    }
    assert.match(text, /^# TYPE netping_rtt_seconds histogram$/m);
    assert.match(
      text,
      /^netping_received_total\{target="q\\"uote\\\\back€",address="127\.0\.0\.3",probe="icmp"\} [1-9]/m,
    );
    assert.match(
      text,
      /^netping_rtt_seconds_bucket\{target="lo",address="127\.0\.0\.1",probe="icmp",le="\+Inf"\} [1-9]/m,
    );
    assert.match(text, /^netping_store_up\{store="redis"\} 1$/m);
    const complaints = await promtoolComplaints(text);
    if (complaints === undefined)
      return t.skip('promtool not installed (test/run.sh installs the prometheus package)');
    assert.equal(complaints, '', 'promtool check metrics should print nothing');
  });
});

describe('npcli refuses bad input and writes nothing', { skip: SKIP_NO_REDIS }, () => {
  const prefix = uniquePrefix();
  const cli = (...args: string[]) =>
    runCli(['--redis', TEST_REDIS_URL!, '--prefix', prefix, ...args]);
  let redis: Redis;

  before(async () => {
    redis = new Redis(TEST_REDIS_URL!);
    await redis.sadd(`{${prefix}}:targets`, 'keep@127.0.0.1');
  });
  after(async () => {
    await redis.del(`{${prefix}}:targets`);
    redis.disconnect();
  });

  const bad: [string, RegExp][] = [
    ['bad name@127.0.0.1', /invalid target name "bad name": no whitespace or control characters/],
    ['@127.0.0.1', /invalid target: the name is empty/],
    ['a@b@127.0.0.1', /more than one '@'/],
    ['tab\tname@127.0.0.1', /no whitespace or control characters/],
    ['x@300.1.1.1', /not an IP address or a host name/],
    [`${'n'.repeat(101)}@127.0.0.1`, /longer than 100 characters/],
    ['x'.repeat(500), /too long/],
    ['bad_host!', /not an IP address or a host name/],
  ];
  for (const [input, message] of bad) {
    it(`refuses ${JSON.stringify(input.slice(0, 30))} with exit 2`, async () => {
      // A valid target alongside proves the whole command is refused.
      const r = await cli('add', 'ok@127.0.0.5', input);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      assert.deepEqual(await redis.smembers(`{${prefix}}:targets`), ['keep@127.0.0.1']);
    });
  }

  it('exits 1 for a name that does not resolve', async () => {
    const r = await cli('add', 'nosuchhost.invalid');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^npcli: cannot resolve 'nosuchhost\.invalid'/);
  });

  it('exits 1 when removing something that is not there', async () => {
    const r = await cli('remove', 'ghost');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no target matches "ghost"/);
    assert.deepEqual(await redis.smembers(`{${prefix}}:targets`), ['keep@127.0.0.1']);
  });

  it('exits 3 at once when Redis is unreachable', async () => {
    const started = Date.now();
    const r = await runCli(['--redis', 'redis://127.0.0.1:1', 'list']);
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      /^npcli: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/?: .*ECONNREFUSED/,
    );
    assert.ok(Date.now() - started < 5000);
  });

  it('exits 2 for an unknown command or option', async () => {
    assert.equal((await cli('frobnicate')).code, 2);
    assert.equal((await cli('list', '--bogus')).code, 2);
  });

  it('with --pin, resolves a host name to one target per address', async () => {
    const r = await cli('add', 'localhost', '--pin', '--json');
    assert.equal(r.code, 0, r.stderr);
    const members = (JSON.parse(r.stdout) as { member: string }[]).map((m) => m.member);
    assert.ok(members.includes('localhost@127.0.0.1'), members.join(','));
    assert.ok(members.every((m) => m.startsWith('localhost@')));
  });

  it('without --pin, stores the host name for netpingd to follow, with what it resolves to now', async () => {
    const r = await cli('add', 'lh@localhost', '--json');
    assert.equal(r.code, 0, r.stderr);
    const [added] = JSON.parse(r.stdout) as { member: string; addresses: string[] }[];
    assert.equal(added!.member, 'lh@localhost');
    assert.ok(added!.addresses.includes('127.0.0.1'), added!.addresses.join(','));
  });
});
