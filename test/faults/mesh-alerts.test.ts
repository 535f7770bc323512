// Which vantage point is at fault, for real: three netpingd instances in
// network namespaces on a bridge (mesh-net.ts), one redis-server and one
// prometheus-alertmanager in the hub. A target no one can reach must give
// one NetpingTargetDownEverywhere; an instance cut off from every peer
// (nftables in its namespace drops what it sends to them, so Redis and
// Alertmanager on the hub stay reachable) must give one
// NetpingVantagePointDown and no target alert of its own.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { meshKindAvailable } from '../../lib/mesh/mesh-targets.js';
import { Alertmanager, alertmanagerMissing, type GettableAlert } from '../support/alertmanager.js';
import { HUB4, hubRedisArgs, meshMemberArgs, MeshNet } from '../support/mesh-net.js';
import { netnsPrerequisiteMissing, removeStaleNamespaces } from '../support/netns.js';
import { within } from '../support/within.js';
import { hasCommand, run, type Spawned } from '../support/ops-harness.js';

const skip =
  netnsPrerequisiteMissing() ??
  alertmanagerMissing() ??
  (hasCommand('nft') ? undefined : 'nft is not installed');
const REDIS_PORT = 6391;
const REDIS_URL = `redis://${HUB4}:${REDIS_PORT}`;
const PREFIX = 'meshalerts';
const KINDS = ['icmp', 'udp', 'tcp'].filter(meshKindAvailable);
const DEAD = '10.201.0.99'; // on the bridge's subnet, where no one is

const named = (alerts: readonly GettableAlert[], name: string): GettableAlert[] =>
  alerts.filter((a) => a.labels.alertname === name);

describe(
  'the mesh tells a dead target from a cut-off vantage point',
  { skip: skip ?? false },
  () => {
    const net = new MeshNet();
    const nsOf = new Map<number, string>();
    const dirs: string[] = [];
    const daemons: Spawned[] = [];
    let am: Alertmanager | undefined;

    const logs = (): string =>
      daemons.map((p, i) => `--- m${i + 1}\n${p.stderr.slice(-1500)}`).join('\n');

    before(async () => {
      removeStaleNamespaces();
      net.create();
      for (const k of [1, 2, 3]) nsOf.set(k, net.addMember(k));
      net.spawn(net.hub, 'redis-server', hubRedisArgs(REDIS_PORT, tmpdir()));
      am = new Alertmanager(net.hub, HUB4, 9093);
      await am.start();
      await within('redis-server answers', 5_000, () =>
        Promise.resolve(
          net.npcli(net.hub, ['--redis', REDIS_URL, '--prefix', PREFIX, 'list']).status === 0
            ? true
            : undefined,
        ),
      );
      for (const k of [1, 2, 3]) {
        const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-meshalerts-'));
        dirs.push(stateDir);
        daemons.push(
          net.spawn(
            nsOf.get(k)!,
            process.execPath,
            meshMemberArgs({
              k,
              redisUrl: REDIS_URL,
              prefix: PREFIX,
              kinds: KINDS,
              expiryMs: 4_000,
              stateDir,
              extra: ['--label', `dc=dc${k}`, '--alertmanager', am.url],
            }),
          ),
        );
      }
    });

    after(async () => {
      await net.destroy();
      await am?.remove();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('gives one NetpingTargetDownEverywhere for a target dead for all three', async () => {
      // The peers first: everyone up, no alerts.
      await sleep(5_000);
      assert.deepEqual(await am!.active(), [], logs());
      const added = net.npcli(net.hub, [
        '--redis',
        REDIS_URL,
        '--prefix',
        PREFIX,
        'add',
        `dead@${DEAD}`,
      ]);
      assert.equal(added.status, 0, added.stderr);
      const alerts = await within(`down everywhere\n${logs()}`, 20_000, async () => {
        const a = await am!.active();
        const down = named(a, 'NetpingTargetDown').filter((x) => x.labels.target === 'dead');
        return named(a, 'NetpingTargetDownEverywhere').length > 0 && down.length === 3
          ? a
          : undefined;
      });
      const everywhere = named(alerts, 'NetpingTargetDownEverywhere');
      assert.equal(everywhere.length, 1, JSON.stringify(everywhere));
      assert.deepEqual(everywhere[0]!.labels, {
        alertname: 'NetpingTargetDownEverywhere',
        target: 'dead',
        address: DEAD,
        probe: 'icmp',
      });
      assert.match(everywhere[0]!.annotations.summary ?? '', /down from 3 of 3 instances/);
      assert.equal(named(alerts, 'NetpingVantagePointDown').length, 0);
    });

    it('gives one NetpingVantagePointDown for an instance cut off from its peers, and no target alerts of its own', async () => {
      const ns = nsOf.get(3)!;
      const nft = (args: string[]): void => {
        const r = run('ip', ['netns', 'exec', ns, 'nft', ...args]);
        assert.equal(r.status, 0, r.stderr);
      };
      nft(['add', 'table', 'ip', 'cut']);
      nft(['add', 'chain', 'ip', 'cut', 'out', '{ type filter hook output priority 0; }']);
      nft([
        'add',
        'rule',
        'ip',
        'cut',
        'out',
        'ip',
        'daddr',
        `{ ${MeshNet.address(1)}, ${MeshNet.address(2)} }`,
        'drop',
      ]);
      const cutAt = Date.now();
      await within(`the vantage point alert\n${logs()}`, 15_000, async () =>
        named(await am!.active(), 'NetpingVantagePointDown').length > 0 ? true : undefined,
      );
      process.stderr.write(`# NetpingVantagePointDown ${Date.now() - cutAt} ms after the cut\n`);
      // Let every instance judge a few more rounds, then look at everything.
      await sleep(4_000);
      const alerts = await am!.active();
      const vantage = named(alerts, 'NetpingVantagePointDown');
      assert.equal(vantage.length, 1);
      assert.deepEqual(vantage[0]!.labels, {
        alertname: 'NetpingVantagePointDown',
        instance: 'm3',
        dc: 'dc3',
      });
      const fromM3 = named(alerts, 'NetpingTargetDown').filter((a) => a.labels.instance === 'm3');
      assert.deepEqual(fromM3, [], 'm3 holds its target alerts back');
      // The others do see m3 down (it cannot answer them either), and agree on it.
      const aboutM3 = named(alerts, 'NetpingTargetDown').filter((a) => a.labels.target === 'm3');
      assert.ok(
        aboutM3.some((a) => a.labels.instance === 'm1') &&
          aboutM3.some((a) => a.labels.instance === 'm2'),
      );
      const everywhere = named(alerts, 'NetpingTargetDownEverywhere');
      assert.ok(
        everywhere.some((a) => a.labels.target === 'dead'),
        'the dead target is still down everywhere',
      );
      assert.ok(everywhere.some((a) => a.labels.target === 'm3'));
      assert.ok(
        everywhere.every((a) => a.labels.target === 'dead' || a.labels.target === 'm3'),
        JSON.stringify(everywhere.map((a) => a.labels)),
      );
      // One per target and probe, however many instances post it.
      const keys = everywhere.map((a) => `${a.labels.target}/${a.labels.probe}`);
      assert.equal(new Set(keys).size, keys.length);

      nft(['delete', 'table', 'ip', 'cut']);
      await within(`the vantage point up again\n${logs()}`, 15_000, async () =>
        named(await am!.active(), 'NetpingVantagePointDown').length === 0 ? true : undefined,
      );
    });
  },
);
