// Outages as events and alerts, against a real prometheus-alertmanager. In
// a network namespace of its own (just its loopback, where nothing else of
// the machine can be hurt): netpingd in embedded mode probes 127.0.0.1 and
// 127.0.0.2, and nftables in that namespace drops the echo requests to
// 127.0.0.2 to make an outage. The alert must reach Alertmanager within
// 5 s and resolve within 5 s of the target answering again; events must
// survive a restart of netpingd, an outage open at the stop staying open;
// and with Alertmanager down, probing must go on at its rate and the
// alert arrive once Alertmanager is back.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Outage } from '../../lib/outages/outage.js';
import type { DaemonReport } from '../../lib/report.js';
import { Alertmanager, alertmanagerMissing, type GettableAlert } from '../support/alertmanager.js';
import { CLI_JS, DAEMON_JS } from '../support/env.js';
import {
  exitOf,
  httpGetIn,
  killAllIn,
  NETNS_PREFIX,
  netnsPrerequisiteMissing,
  removeStaleNamespaces,
} from '../support/netns.js';
import { within } from '../support/within.js';
import { hasCommand, run, sampleSum, Spawned } from '../support/ops-harness.js';

const skip =
  netnsPrerequisiteMissing() ??
  alertmanagerMissing() ??
  (hasCommand('nft') ? undefined : 'nft is not installed');
const NS = `${NETNS_PREFIX}${process.pid}-alerts`;
const API = 'http://127.0.0.1:9922';
const AM_PORT = 9093;
const INTERVAL_MS = 200;

function inNs(cmd: string, args: readonly string[]): string {
  const r = run('ip', ['netns', 'exec', NS, cmd, ...args], { timeoutMs: 10_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Drops echo requests to 127.0.0.2 (the "down" target), or stops dropping them. */
function cut(on: boolean): void {
  if (on) {
    inNs('nft', ['add', 'table', 'ip', 'netping_test']);
    inNs('nft', [
      'add',
      'chain',
      'ip',
      'netping_test',
      'in',
      '{ type filter hook input priority 0; }',
    ]);
    inNs('nft', [
      'add',
      'rule',
      'ip',
      'netping_test',
      'in',
      'ip',
      'daddr',
      '127.0.0.2',
      'icmp',
      'type',
      'echo-request',
      'drop',
    ]);
  } else inNs('nft', ['delete', 'table', 'ip', 'netping_test']);
}

describe('outages and Alertmanager', { skip: skip ?? false }, () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-alerts-'));
  let daemon: Spawned | undefined;
  let am: Alertmanager | undefined;

  const startDaemon = async (): Promise<void> => {
    daemon = new Spawned('ip', [
      'netns',
      'exec',
      NS,
      'timeout',
      '-k',
      '5',
      '300',
      process.execPath,
      DAEMON_JS,
      '--state-dir',
      stateDir,
      '--listen',
      '127.0.0.1:9922',
      '--interval',
      `${INTERVAL_MS}ms`,
      '--timeout',
      '300ms',
      '--instance',
      'vp1',
      '--alertmanager',
      am!.url,
    ]);
    await within(`netpingd answers\n${daemon.tail()}`, 10_000, async () =>
      (await httpGetIn(NS, `${API}/healthz`)) === 'ok\n' ? true : undefined,
    );
  };
  const stopDaemon = async (): Promise<void> => {
    daemon!.child.kill('SIGTERM');
    assert.ok((await exitOf(daemon!, 10_000)) !== undefined, 'netpingd stopped');
  };
  const events = async (query = ''): Promise<Outage[]> =>
    (JSON.parse(await httpGetIn(NS, `${API}/api/events${query}`)) as { events: Outage[] }).events;
  const downAlert = async (): Promise<GettableAlert | undefined> =>
    (await am!.active()).find(
      (a) => a.labels.alertname === 'NetpingTargetDown' && a.labels.target === 'down',
    );
  const report = async (): Promise<DaemonReport> =>
    JSON.parse(await httpGetIn(NS, `${API}/api/targets`)) as DaemonReport;

  before(async () => {
    removeStaleNamespaces();
    run('ip', ['netns', 'add', NS]);
    inNs('ip', ['link', 'set', 'lo', 'up']);
    am = new Alertmanager(NS, '127.0.0.1', AM_PORT);
    await am.start();
    await startDaemon();
    const r = run('ip', [
      'netns',
      'exec',
      NS,
      process.execPath,
      CLI_JS,
      '--state-dir',
      stateDir,
      'add',
      'up@127.0.0.1',
      'down@127.0.0.2',
    ]);
    assert.equal(r.status, 0, r.stderr);
    // Both answer first: no outage yet.
    await within('both targets answering', 5_000, async () =>
      (await report()).targets.every((t) => t.received >= 3) ? true : undefined,
    );
  });

  after(async () => {
    await daemon?.stop();
    await am?.remove();
    killAllIn(NS);
    run('ip', ['netns', 'del', NS]);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('raises NetpingTargetDown within 5 s of the cut, and resolves it within 5 s of the answers', async () => {
    assert.deepEqual(await events(), []);
    cut(true);
    const cutAt = Date.now();
    const alert = await within('the alert in Alertmanager', 5_000, downAlert);
    process.stderr.write(`# alert in Alertmanager ${Date.now() - cutAt} ms after the cut\n`);
    assert.deepEqual(
      { ...alert.labels },
      {
        alertname: 'NetpingTargetDown',
        target: 'down',
        address: '127.0.0.2',
        probe: 'icmp',
        instance: 'vp1',
      },
    );
    assert.ok(Date.parse(alert.endsAt) > Date.now(), 'an open outage is valid for a while yet');
    const [open] = await events('?open=1');
    assert.equal(open?.target, 'down');
    assert.equal(open.end, null);
    assert.ok(open.lost >= 3 && open.reasons.timeout === open.lost, JSON.stringify(open));
    const metrics = await httpGetIn(NS, `${API}/metrics`);
    assert.equal(sampleSum(metrics, 'netping_target_up', { target: 'down' }), 0);
    assert.equal(sampleSum(metrics, 'netping_target_up', { target: 'up' }), 1);
    assert.equal(sampleSum(metrics, 'netping_outages_total', { target: 'down' }), 1);
    // The up target saw none of it.
    assert.equal((await events('?target=up')).length, 0);

    cut(false);
    const backAt = Date.now();
    await within('the alert resolved', 5_000, async () => ((await downAlert()) ? undefined : true));
    process.stderr.write(`# resolved ${Date.now() - backAt} ms after the answers came back\n`);
    const [closed] = await events();
    assert.equal(closed?.id, open.id);
    assert.ok(closed.end !== null && Date.parse(closed.end) >= Date.parse(closed.start));
    assert.equal((await events('?open=1')).length, 0);
    // npcli prints the same.
    const cli = run('ip', [
      'netns',
      'exec',
      NS,
      process.execPath,
      CLI_JS,
      '--url',
      API,
      'events',
      '--json',
    ]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.deepEqual(
      (JSON.parse(cli.stdout) as { events: Outage[] }).events.map((e) => e.id),
      [open.id],
    );
  });

  it('keeps events across a restart; an outage open at the stop stays open and closes on answers', async () => {
    cut(true);
    await within('a second outage', 5_000, async () =>
      (await events('?open=1')).length === 1 ? true : undefined,
    );
    const before = await events();
    await stopDaemon();
    await startDaemon();
    const afterRestart = await events();
    assert.deepEqual(
      afterRestart.map((e) => [e.id, e.end === null]),
      before.map((e) => [e.id, e.end === null]),
    );
    // Taken up: still down, and alerted again by this run.
    assert.equal((await events('?open=1')).length, 1);
    await within('the alert of the taken-up outage', 5_000, downAlert);
    cut(false);
    await within('the outage taken up closes', 5_000, async () =>
      (await events('?open=1')).length === 0 ? true : undefined,
    );
    const [latest] = await events();
    assert.equal(latest?.id, before[0]!.id, 'the same outage, not a new one');
    await within('its alert resolved', 5_000, async () => ((await downAlert()) ? undefined : true));
  });

  it('probes on at its rate while Alertmanager is down, and alerts once it is back', async () => {
    await am!.stop();
    cut(true);
    const t0 = await report();
    const at0 = Date.now();
    await within('a third outage', 5_000, async () =>
      (await events('?open=1')).length === 1 ? true : undefined,
    );
    await sleep(3_000); // a few failed posts and back-offs
    const t1 = await report();
    const elapsedMs = Date.now() - at0;
    for (const name of ['up', 'down']) {
      const a = t0.targets.find((t) => t.name === name)!;
      const b = t1.targets.find((t) => t.name === name)!;
      const expected = elapsedMs / INTERVAL_MS;
      // No probe held up by the posts: the rate of sends as configured (± a few at the edges).
      assert.ok(
        Math.abs(b.sent - a.sent - expected) <= 4,
        `${name}: ${b.sent - a.sent} sent in ${elapsedMs} ms, expected ~${expected.toFixed(1)}`,
      );
    }
    const up = t1.targets.find((t) => t.name === 'up')!;
    assert.equal(
      up.lost,
      t0.targets.find((t) => t.name === 'up')!.lost,
      'the up target lost nothing',
    );
    assert.match(
      daemon!.stderr,
      /alertmanager http:\/\/127\.0\.0\.1:9093\/api\/v2\/alerts: .*retrying with back-off/,
    );
    await am!.start();
    const alert = await within('the alert after Alertmanager came back', 20_000, downAlert);
    assert.equal(alert.labels.instance, 'vp1');
    cut(false);
    await within('resolved', 5_000, async () => ((await downAlert()) ? undefined : true));
  });
});
