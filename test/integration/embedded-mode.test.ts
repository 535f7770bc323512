// netpingd without Redis: targets live in its state directory, changed with
// the real npcli through the daemon's control API (token read from the state
// directory), and both targets and counters survive a restart.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DaemonReport, TargetReport } from '../../lib/report.js';
import { IS_ROOT } from '../support/env.js';
import { freePort } from '../support/ops-harness.js';
import { promtoolComplaints } from '../support/promtool.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = !IS_ROOT && 'raw ICMP sockets need root: run the suite as root';
const HOSTILE = 'q"uote\\back€ü';
const DAEMON_ARGS = ['--interval', '100ms', '--timeout', '500ms'];

async function report(d: RunningDaemon): Promise<DaemonReport> {
  const res = await fetch(`${d.baseUrl}/api/targets`);
  assert.equal(res.status, 200);
  return (await res.json()) as DaemonReport;
}

function row(r: DaemonReport, name: string, address: string): TargetReport | undefined {
  return r.targets.find((t) => t.name === name && t.address === address);
}

/** The `sent` counter per member in the daemon's stats.json. */
async function savedSent(stateDir: string): Promise<Map<string, number>> {
  const file = JSON.parse(await readFile(path.join(stateDir, 'stats.json'), 'utf8')) as {
    stats: Record<string, string>;
  };
  return new Map(
    Object.entries(file.stats).map(([k, v]) => [k, (JSON.parse(v) as { sent: number }).sent]),
  );
}

describe('netpingd with its embedded store, driven by npcli', { skip }, () => {
  let stateDir: string;
  let daemon: RunningDaemon;
  const cli = (...args: string[]) =>
    runCli(['--url', daemon.baseUrl, '--state-dir', stateDir, ...args]);

  before(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'netping-embedded-it-'));
    daemon = await startDaemon(['--state-dir', stateDir, ...DAEMON_ARGS]);
  });

  after(async () => {
    const code = await daemon?.stop();
    await rm(stateDir, { recursive: true, force: true });
    assert.equal(code, 0, `netpingd should exit 0 on SIGTERM; log:\n${daemon?.log()}`);
  });

  it('says it uses the embedded store in its state directory', async () => {
    assert.match(daemon.log(), /targets from embedded store at /);
    const r = await report(daemon);
    assert.deepEqual(r.store, { kind: 'embedded', location: stateDir, up: true });
    assert.deepEqual(r.targets, []);
  });

  it('adds IPv4 and IPv6 loopback targets with npcli and probes them', async () => {
    const added = await cli('add', 'lo@127.0.0.1', 'six@::1', '--json');
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(JSON.parse(added.stdout), [
      { member: 'lo@127.0.0.1', changed: true },
      { member: 'six@::1', changed: true },
    ]);
    const again = await cli('add', 'lo@127.0.0.1');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'unchanged lo@127.0.0.1\n');
    const [lo, six] = await eventually(
      'replies from 127.0.0.1 and ::1',
      async () => {
        const r = await report(daemon);
        const l = row(r, 'lo', '127.0.0.1');
        const s = row(r, 'six', '::1');
        return l && s && l.received > 0 && s.received > 0 ? [l, s] : undefined;
      },
      10_000,
    );
    assert.equal(lo.family, 4);
    assert.equal(six.family, 6);
  });

  it('lists the targets with npcli', async () => {
    const list = await cli('list', '--json');
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), {
      targets: [
        { name: 'lo', address: '127.0.0.1', probe: 'icmp' },
        { name: 'six', address: '::1', probe: 'icmp' },
      ],
      invalid: [],
    });
  });

  it('refuses a wrong --token with exit 4 and one line, changing nothing', async () => {
    const res = await cli('--token', 'wrong-token-0123456789', 'add', 'x@127.0.0.2');
    assert.equal(res.code, 4, res.stderr);
    assert.equal(res.stdout, '');
    assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr);
    assert.match(res.stderr, /^npcli: .*refused.*check --token/);
    const members = (await (await fetch(`${daemon.baseUrl}/api/members`)).json()) as unknown;
    assert.deepEqual(members, { members: ['lo@127.0.0.1', 'six@::1'] });
  });

  it('exits 3 with one line when nothing listens at --url', async () => {
    const port = await freePort();
    const res = await runCli([
      '--url',
      `http://127.0.0.1:${port}`,
      '--state-dir',
      stateDir,
      'list',
    ]);
    assert.equal(res.code, 3, res.stderr);
    assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr);
    assert.match(res.stderr, /^npcli: cannot reach netpingd at /);
  });

  it('takes a hostile name through the API and keeps /metrics valid', async (t) => {
    const added = await cli('add', `${HOSTILE}@127.0.0.3`);
    assert.equal(added.code, 0, added.stderr);
    await eventually(
      'replies for the hostile name',
      async () => (row(await report(daemon), HOSTILE, '127.0.0.3')?.received ? true : undefined),
      10_000,
    );
    const res = await fetch(`${daemon.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(
      text,
      /^netping_sent_total\{target="q\\"uote\\\\back€ü",address="127\.0\.0\.3",probe="icmp"\} \d+$/m,
    );
    assert.match(text, /^netping_store_up\{store="embedded"\} 1$/m);
    const complaints = await promtoolComplaints(text);
    if (complaints === undefined)
      return t.skip('promtool not installed (test/run.sh installs the prometheus package)');
    assert.equal(complaints, '', 'promtool check metrics should print nothing');
  });

  it('removes targets with npcli, and says so for one that is not there', async () => {
    const removed = await cli('remove', HOSTILE, '--json');
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(JSON.parse(removed.stdout), [
      { member: `${HOSTILE}@127.0.0.3`, changed: true },
    ]);
    await eventually('the hostile target gone', async () =>
      row(await report(daemon), HOSTILE, '127.0.0.3') ? undefined : true,
    );
    const missing = await cli('remove', 'nothere');
    assert.equal(missing.code, 1, missing.stderr);
    assert.equal(missing.stderr.trimEnd().split('\n').length, 1, missing.stderr);
  });

  it('refuses to remove several targets by one address without --all (exit 2), then removes them', async () => {
    const added = await cli('add', 'x@127.0.0.5', 'y@127.0.0.5');
    assert.equal(added.code, 0, added.stderr);
    const members = async (): Promise<unknown> =>
      (await fetch(`${daemon.baseUrl}/api/members`)).json();
    const refused = await cli('remove', '127.0.0.5');
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^npcli: "127\.0\.0\.5" matches 2 targets .*--all/);
    assert.deepEqual(await members(), {
      members: ['lo@127.0.0.1', 'six@::1', 'x@127.0.0.5', 'y@127.0.0.5'],
    });
    const removed = await cli('remove', '127.0.0.5', '--all');
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, 'removed x@127.0.0.5\nremoved y@127.0.0.5\n2 targets removed\n');
    assert.deepEqual(await members(), { members: ['lo@127.0.0.1', 'six@::1'] });
  });

  it('keeps targets and counters across a SIGTERM and a restart on the same --state-dir', async () => {
    await eventually('a few probes each', async () => {
      const r = await report(daemon);
      return (row(r, 'lo', '127.0.0.1')?.sent ?? 0) >= 5 && (row(r, 'six', '::1')?.sent ?? 0) >= 5
        ? true
        : undefined;
    });
    const code = await daemon.stop();
    assert.equal(code, 0, `netpingd should exit 0 on SIGTERM; log:\n${daemon.log()}`);
    const saved = await savedSent(stateDir);
    const savedLo = saved.get('lo@127.0.0.1');
    const savedSix = saved.get('six@::1');
    assert.ok(savedLo !== undefined && savedLo >= 5, `saved lo: ${savedLo}`);
    assert.ok(savedSix !== undefined && savedSix >= 5, `saved six: ${savedSix}`);

    daemon = await startDaemon(['--state-dir', stateDir, ...DAEMON_ARGS]);
    const first = await eventually('the targets back after the restart', async () => {
      const r = await report(daemon);
      return r.targets.length >= 2 ? r : undefined;
    });
    assert.deepEqual(
      first.targets.map((t) => `${t.name}@${t.address}`),
      ['lo@127.0.0.1', 'six@::1'],
      'the targets came back from the state directory',
    );
    await eventually('the restore logged', () =>
      Promise.resolve(
        /restored the saved statistics of 2 targets[;\n]/.test(daemon.log()) ? true : undefined,
      ),
    );
    for (const t of first.targets) {
      const before = t.name === 'lo' ? savedLo : savedSix;
      assert.ok(t.sent >= before, `${t.name}: sent ${t.sent} after restart, ${before} saved`);
    }
    await eventually('counters moving on from the saved values', async () => {
      const r = await report(daemon);
      const lo = row(r, 'lo', '127.0.0.1');
      const six = row(r, 'six', '::1');
      return lo && six && lo.sent > savedLo && six.received > 0 && six.sent > savedSix
        ? true
        : undefined;
    });
    const list = await cli('list', '--json');
    assert.equal(list.code, 0, list.stderr);
    assert.equal((JSON.parse(list.stdout) as { targets: unknown[] }).targets.length, 2);
  });
});
