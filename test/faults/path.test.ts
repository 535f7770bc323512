// Paths in network namespaces (test/support/path-net.ts): a — r1 — b and
// a — r2 — b. netpingd runs in a and traces b's address every 2 s, on each
// ICMP transport this host has: the hops are [r1, b]; a router that sends
// no time-exceeded is a silent hop and no route change; routed through r2
// the hops are [r2, b] and one change is counted; a link of MTU 1400 on the
// way gives a path MTU of 1400. npcli path traces on demand.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PathJson } from '../../lib/path/path-report.js';
import { CLI_JS, DAEMON_JS } from '../support/env.js';
import { httpGetIn, netnsPrerequisiteMissing } from '../support/netns.js';
import { hasCommand, type Spawned } from '../support/ops-harness.js';
import { PATH_TARGET, PathNet, ROUTER_NEAR } from '../support/path-net.js';
import { eventually } from '../support/processes.js';

const skipBase = netnsPrerequisiteMissing();
const hasNft = hasCommand('nft');
const LIFETIME_S = 120;
const KEY = `far@${PATH_TARGET}`;

for (const transport of ['datagram', 'raw', 'raw-socket'] as const) {
  describe(
    `paths on ${transport} sockets`,
    { skip: skipBase ?? (hasNft ? false : 'no nft') },
    () => {
      const net = new PathNet();
      let dir = '';
      let daemon: Spawned | undefined;
      let url = '';

      const path_ = async (): Promise<PathJson> =>
        JSON.parse(await httpGetIn(net.a, `${url}/api/path?target=far`)) as PathJson;
      /** Waits for a trace that ends after `sinceS` and passes `ok`. */
      const traced = (
        what: string,
        sinceS: number,
        ok: (p: PathJson) => boolean,
      ): Promise<PathJson> =>
        eventually(
          what,
          async () => {
            const p = await path_();
            return p.at !== null && p.at > sinceS && ok(p) ? p : undefined;
          },
          20_000,
          250,
        );
      const hops = (p: PathJson): (string | null)[] => p.hops.map((h) => h.address);

      before(async () => {
        net.create();
        dir = mkdtempSync(path.join(tmpdir(), 'h26-path-'));
        if (transport === 'datagram')
          net.exec(net.a, 'sysctl', ['-q', '-w', 'net.ipv4.ping_group_range=0 2147483647']);
        const d = net.spawn(
          net.a,
          process.execPath,
          [
            DAEMON_JS,
            ...['--state-dir', dir, '--listen', '127.0.0.1:0', '--interval', '500ms'],
            ...['--path-interval', '2s', '--icmp-transport', transport],
          ],
          LIFETIME_S,
        );
        daemon = d;
        const port = await eventually(
          'netpingd listening',
          () => {
            const m = /listening on [^\s;]*:(\d+);/.exec(d.stderr);
            return Promise.resolve(m ? Number(m[1]) : undefined);
          },
          10_000,
        );
        url = `http://127.0.0.1:${port}`;
        const add = net.exec(net.a, process.execPath, [
          CLI_JS,
          '--url',
          url,
          '--state-dir',
          dir,
          'add',
          KEY,
        ]);
        assert.equal(add.status, 0, add.stderr);
      });

      after(async () => {
        await net.stopAll();
        net.destroy();
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      it('traces [r1, b] with each hop answered, reached, and no change on the first trace', async () => {
        const p = await traced('a path through r1', 0, (x) => x.reached);
        assert.deepEqual(hops(p), [ROUTER_NEAR.r1, PATH_TARGET], daemon?.stderr);
        assert.deepEqual(
          p.hops.map((h) => [h.ttl, h.sent, h.received]),
          [
            [1, 3, 3],
            [2, 3, 3],
          ],
        );
        assert.ok(p.hops.every((h) => h.medianMs !== null && h.medianMs >= 0));
        assert.equal(p.changes, 0);
        assert.equal(p.lastChange, null);
        assert.equal(p.mtu, 1500, 'veth links carry 1500');
      });

      it('a router that sends no time-exceeded is a silent hop, and no route change', async () => {
        net.silent('r1', true);
        try {
          const since = Math.floor(Date.now() / 1000);
          const p = await traced('a silent first hop', since, (x) => x.hops[0]?.address === null);
          assert.deepEqual(hops(p), [null, PATH_TARGET]);
          assert.deepEqual([p.hops[0]!.sent, p.hops[0]!.received], [3, 0]);
          assert.equal(p.changes, 0, 'a silent hop keeps its router');
        } finally {
          net.silent('r1', false);
        }
      });

      it('routed through r2: [r2, b] and one change; npcli path shows it', async () => {
        net.via('r2');
        const since = Math.floor(Date.now() / 1000);
        const p = await traced(
          'a path through r2',
          since,
          (x) => x.hops[0]?.address === ROUTER_NEAR.r2,
        );
        assert.deepEqual(hops(p), [ROUTER_NEAR.r2, PATH_TARGET]);
        assert.equal(p.changes, 1);
        assert.ok(p.lastChange !== null && p.lastChange >= since);
        const metrics = await httpGetIn(net.a, `${url}/metrics`);
        assert.match(
          metrics,
          /netping_path_changes_total\{target="far",address="10\.226\.9\.1",probe="icmp"\} 1\n/,
        );
        const cli = net.exec(
          net.a,
          process.execPath,
          [CLI_JS, '--url', url, 'path', 'far', '--json'],
          70_000,
        );
        assert.equal(cli.status, 0, cli.stderr);
        const shown = JSON.parse(cli.stdout) as PathJson;
        assert.deepEqual(hops(shown), [ROUTER_NEAR.r2, PATH_TARGET]);
        const text = net.exec(net.a, process.execPath, [CLI_JS, '--url', url, 'path', KEY], 70_000);
        assert.equal(text.status, 0, text.stderr);
        assert.match(
          text.stdout,
          new RegExp(`^  1  ${ROUTER_NEAR.r2.replace(/\./g, '\\.')}  `, 'm'),
        );
        assert.match(text.stdout, /route changes: 1, last /);
      });

      it('a 1400-byte link between r2 and b gives a path MTU of 1400', async () => {
        net.farLinkMtu('r2', 1400);
        const since = Math.floor(Date.now() / 1000);
        const p = await traced('path MTU 1400', since, (x) => x.mtu === 1400);
        assert.equal(p.mtu, 1400);
        assert.equal(p.changes, 1, 'the MTU is no route change');
        const metrics = await httpGetIn(net.a, `${url}/metrics`);
        assert.match(
          metrics,
          /netping_path_mtu_bytes\{target="far",address="10\.226\.9\.1",probe="icmp"\} 1400\n/,
        );
      });
    },
  );
}
