// Names that follow DNS, against a real DNS server: dnsmasq on 127.0.0.53
// (test/support/dnsmasq.ts) with a TTL of 2 s, its records pointing at
// loopback addresses, and a real netpingd (embedded store) whose resolver
// is pointed at it with --dns-server, driven by the real npcli.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DaemonReport, TargetReport } from '../../lib/report.js';
import { EmbeddedStore } from '../../lib/store/embedded-store.js';
import { readSavedStats } from '../support/saved-stats-files.js';
import { Dnsmasq } from '../support/dnsmasq.js';
import { IS_ROOT } from '../support/env.js';
import { hasCommand, sampleSum } from '../support/ops-harness.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip =
  (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root') ||
  (!hasCommand('dnsmasq') && 'dnsmasq is not installed (apt-get install dnsmasq)');

async function report(d: RunningDaemon): Promise<DaemonReport> {
  const res = await fetch(`${d.baseUrl}/api/targets`);
  assert.equal(res.status, 200);
  return (await res.json()) as DaemonReport;
}

const rows = (r: DaemonReport, name: string): TargetReport[] =>
  r.targets.filter((t) => t.name === name);

const addressesOf = (r: DaemonReport, name: string): string[] =>
  rows(r, name)
    .map((t) => t.address)
    .sort();

async function metrics(d: RunningDaemon): Promise<string> {
  return (await fetch(`${d.baseUrl}/metrics`)).text();
}

async function members(d: RunningDaemon): Promise<string[]> {
  const body = (await (await fetch(`${d.baseUrl}/api/members`)).json()) as { members: string[] };
  return body.members.sort();
}

describe('names followed in DNS (dnsmasq, TTL 2 s)', { skip }, () => {
  let dir: string;
  let dns: Dnsmasq;
  let daemon: RunningDaemon;
  const cli = (...args: string[]) =>
    runCli(['--url', daemon.baseUrl, '--state-dir', daemon.stateDir, ...args]);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netping-dns-it-'));
    dns = await Dnsmasq.start(
      path.join(dir, 'hosts'),
      '127.0.0.2 svc.test\n::1 svc.test\n127.0.0.4 gone.test\n',
    );
    daemon = await startDaemon([
      '--interval',
      '200ms',
      '--timeout',
      '500ms',
      '--save-interval',
      '500ms',
      '--dns-server',
      dns.server,
      '--dns-min-ttl',
      '1s',
      '--dns-forget',
      '4s',
    ]);
  });

  after(async () => {
    const code = await daemon?.stop();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, `netpingd should exit 0 on SIGTERM; log:\n${daemon?.log()}`);
  });

  it('npcli add stores the name, says what it resolves to, and every address is probed', async () => {
    const added = await cli('add', 'web@svc.test', 'old@gone.test', '--dns-server', dns.server);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(
      added.stdout,
      'added web@svc.test, now 127.0.0.2, ::1\nadded old@gone.test, now 127.0.0.4\n',
    );
    assert.deepEqual(await members(daemon), ['old@gone.test', 'web@svc.test']);
    await eventually(
      'replies from both addresses of svc.test',
      async () => {
        const web = rows(await report(daemon), 'web');
        return web.length === 2 && web.every((t) => t.received > 0 && t.host === 'svc.test')
          ? web
          : undefined;
      },
      10_000,
    );
    const text = await metrics(daemon);
    assert.match(
      text,
      /^netping_received_total\{target="web",address="127\.0\.0\.2",host="svc\.test",probe="icmp"\} [1-9]/m,
    );
    assert.match(
      text,
      /^netping_received_total\{target="web",address="::1",host="svc\.test",probe="icmp"\} [1-9]/m,
    );
    assert.match(text, /^netping_dns_lookups_total\{host="svc\.test",result="ok"\} [1-9]/m);
  });

  it('npcli add of a name that does not resolve exits 1 and writes nothing', async () => {
    const before = await members(daemon);
    const r = await cli('add', 'web2@nowhere.test', '--dns-server', dns.server);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^npcli: cannot resolve 'nowhere\.test': no such host$/m);
    assert.equal(r.stdout, '');
    assert.deepEqual(await members(daemon), before);
  });

  it('a changed record moves the probing to the new address within the TTL and a few seconds', async () => {
    const oldSent = rows(await report(daemon), 'web').find((t) => t.address === '127.0.0.2')!.sent;
    const changedAt = Date.now();
    dns.setHosts('127.0.0.3 svc.test\n::1 svc.test\n127.0.0.4 gone.test\n');
    await eventually(
      'web probed at 127.0.0.3 and ::1 only',
      async () => {
        const r = await report(daemon);
        const fresh = rows(r, 'web').find((t) => t.address === '127.0.0.3');
        return addressesOf(r, 'web').join() === '127.0.0.3,::1' && fresh!.received > 0
          ? true
          : undefined;
      },
      (dns.ttlSeconds + 6) * 1000,
    );
    assert.ok(Date.now() - changedAt < (dns.ttlSeconds + 6) * 1000);
    // The old address stops being probed: gone from the report and from /metrics, its counters saved.
    assert.doesNotMatch(await metrics(daemon), /address="127\.0\.0\.2"/);
    const saved = await eventually(
      'the retired address saved',
      async () => {
        const entry = (await readSavedStats(daemon.stateDir)).get('web@127.0.0.2');
        return entry ? (JSON.parse(entry) as { sent: number }) : undefined;
      },
      5000,
    );
    assert.ok(saved.sent >= oldSent, `${saved.sent} saved, ${oldSent} seen before`);
    assert.match(daemon.log(), /dns: svc\.test now at 127\.0\.0\.3, ::1 \(was 127\.0\.0\.2, ::1\)/);

    // It comes back: its counters continue from what was saved.
    dns.setHosts('127.0.0.2 svc.test\n::1 svc.test\n127.0.0.4 gone.test\n');
    const back = await eventually(
      'web probed at 127.0.0.2 again',
      async () => rows(await report(daemon), 'web').find((t) => t.address === '127.0.0.2'),
      (dns.ttlSeconds + 6) * 1000,
    );
    assert.ok(back.sent >= saved.sent, `${back.sent} after return, ${saved.sent} saved`);
  });

  it('a name that stays NXDOMAIN for --dns-forget has its addresses retired and shows as an error', async () => {
    dns.setHosts('127.0.0.2 svc.test\n::1 svc.test\n');
    const r = await eventually(
      'old@gone.test retired, shown as an error',
      async () => {
        const r = await report(daemon);
        return rows(r, 'old').length === 0 && r.invalid.some((i) => i.member === 'old@gone.test')
          ? r
          : undefined;
      },
      20_000,
    );
    // Not at once: it was probed through the NXDOMAIN answers before --dns-forget (4 s) passed.
    assert.match(
      r.invalid.find((i) => i.member === 'old@gone.test')!.error,
      /^gone\.test: nxdomain for [4-9]s, its addresses retired/,
    );
    assert.ok(
      (sampleSum(await metrics(daemon), 'netping_dns_lookups_total', {
        host: 'gone.test',
        result: 'nxdomain',
      }) ?? 0) >= 2,
    );
    const table = await (await fetch(daemon.baseUrl)).text();
    assert.match(table, /^ERROR  old@gone\.test: gone\.test: nxdomain for/m);
    assert.match(table, /^svc\.test \(DNS\): resolved \d+s ago/m);
  });

  it('a dead DNS server leaves the last addresses probed, the failures counted and shown', async () => {
    await dns.stop();
    const r = await eventually(
      'lookups of svc.test failing',
      async () => {
        const r = await report(daemon);
        const name = r.names?.find((n) => n.host === 'svc.test');
        return name?.failingForMs !== undefined && (name.lookups.refused ?? 0) >= 2 ? r : undefined;
      },
      15_000,
    );
    assert.deepEqual(addressesOf(r, 'web'), ['127.0.0.2', '::1']);
    const received = rows(r, 'web').map((t) => t.received);
    await eventually(
      'replies go on from both addresses',
      async () => {
        const now = rows(await report(daemon), 'web');
        return now.length === 2 && now.every((t, i) => t.received > received[i]!)
          ? true
          : undefined;
      },
      5000,
    );
    const stats = await cli('stats');
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(
      stats.stdout,
      /^svc\.test \(DNS\): failing for \d+s \(refused ECONNREFUSED\); addresses of \d+s ago/m,
    );
    assert.ok(
      (sampleSum(await metrics(daemon), 'netping_dns_lookups_total', {
        host: 'svc.test',
        result: 'refused',
      }) ?? 0) >= 2,
    );
    await dns.restart();
  });
});

describe('10,000 names on one DNS server (dnsmasq counts the queries)', { skip }, () => {
  const NAMES = 10_000;
  const RATE = 2000; // --dns-rate: queries a second
  let dir: string;
  let dns: Dnsmasq;
  let daemon: RunningDaemon;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netping-dns-rate-it-'));
    const names = Array.from({ length: NAMES }, (_, i) => `h${i}.test`);
    dns = await Dnsmasq.start(
      path.join(dir, 'hosts'),
      names.map((n) => `127.0.0.2 ${n}`).join('\n') + '\n',
      { logFile: path.join(dir, 'queries.log') },
    );
    const stateDir = path.join(dir, 'state');
    await mkdir(stateDir);
    const store = await EmbeddedStore.open(stateDir);
    await store.add(names.map((n, i) => `n${i}@${n}`));
    await store.close();
    daemon = await startDaemon([
      '--state-dir',
      stateDir,
      '--interval',
      '10s',
      '--max-targets',
      '20', // the lookups are under test, not 10,000 loopback targets
      '--dns-server',
      dns.server,
      '--dns-min-ttl',
      '1s',
      '--dns-rate',
      String(RATE),
    ]);
  });

  after(async () => {
    const code = await daemon?.stop();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, `netpingd should exit 0 on SIGTERM; log:\n${daemon?.log()}`);
  });

  it('never sends more than --dns-rate queries a second (and the burst), at start or when TTLs run out together', async () => {
    // Every name looked up once (10 s at the rate, longer on a loaded machine)...
    await eventually(
      `all ${NAMES} names resolved`,
      async () => {
        const names = (await report(daemon)).names ?? [];
        return names.length === NAMES && names.every((n) => n.addresses.join() === '127.0.0.2')
          ? true
          : undefined;
      },
      120_000,
      2000,
    );
    // ... then their 2 s TTLs run out together.
    await new Promise((r) => setTimeout(r, 5000));
    const log = await readFile(path.join(dir, 'queries.log'), 'utf8');
    const perSecond = new Map<string, number>();
    for (const line of log.split('\n')) {
      const m =
        /^(\w{3} [ \d]\d \d\d:\d\d:\d\d) dnsmasq\[\d+\]: query\[(A|AAAA)\] h\d+\.test /.exec(line);
      if (m) perSecond.set(m[1]!, (perSecond.get(m[1]!) ?? 0) + 1);
    }
    const counts = [...perSecond.values()];
    const total = counts.reduce((a, b) => a + b, 0);
    // A token bucket of a tenth of a second's queries: no second holds more than the rate and that.
    const most = Math.max(...counts);
    assert.ok(most <= RATE + RATE / 10, `${most} queries in one second: ${counts.join(' ')}`);
    assert.ok(total >= NAMES * 2, `${total} queries: ${counts.join(' ')}`);
  });
});
