// Paths in network namespaces (test/support/path-net.ts): a — r1 — b and
// a — r2 — b. netpingd runs in a and traces b's IPv4 and IPv6 addresses
// every 2 s, on each ICMP transport: the hops are [r1, b]; a router that
// sends no time-exceeded is a silent hop and no route change; routed
// through r2 the hops are [r2, b] and one change is counted; a link of MTU
// 1400 on the way gives a path MTU of 1400, one of 1300 on a's own link
// (refused at send) 1300. npcli path traces on demand; the route change is
// an event on /api/events and in npcli events.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RouteEvent } from '../../lib/outages/route-event.js';
import type { PathJson } from '../../lib/path/path-report.js';
import { CLI_JS, DAEMON_JS } from '../support/env.js';
import { httpGetIn, netnsPrerequisiteMissing } from '../support/netns.js';
import { hasCommand, type Spawned } from '../support/ops-harness.js';
import { execIn, spawnIn } from '../support/netns-exec.js';
import { PATH_TARGET, PathNet, ROUTER_NEAR } from '../support/path-net.js';
import { eventually } from '../support/processes.js';

const skip = netnsPrerequisiteMissing() ?? (hasCommand('nft') ? false : 'nft is not installed');
const LIFETIME_S = 150;
const FAMILIES = [4, 6] as const;
const NAME = { 4: 'far4', 6: 'far6' } as const;
const KEY = { 4: `far4@${PATH_TARGET[4]}`, 6: `far6@${PATH_TARGET[6]}` } as const;

for (const transport of ['datagram', 'raw', 'raw-socket'] as const) {
  describe(`paths on ${transport} sockets`, { skip }, () => {
    const net = new PathNet();
    let dir = '';
    let daemon: Spawned | undefined;
    let url = '';

    const pathOf = async (f: 4 | 6): Promise<PathJson> =>
      JSON.parse(await httpGetIn(net.a, `${url}/api/path?target=${NAME[f]}`)) as PathJson;
    /** Waits, for each family, for a trace that ends after `sinceS` and passes `ok`. */
    const traced = (
      what: string,
      sinceS: number,
      ok: (p: PathJson, f: 4 | 6) => boolean,
    ): Promise<PathJson[]> =>
      Promise.all(
        FAMILIES.map((f) =>
          eventually(
            `${what} (IPv${f})`,
            async () => {
              const p = await pathOf(f);
              return p.at !== null && p.at > sinceS && ok(p, f) ? p : undefined;
            },
            20_000,
            250,
          ),
        ),
      );
    const hops = (p: PathJson): (string | null)[] => p.hops.map((h) => h.address);
    const nowS = (): number => Math.floor(Date.now() / 1000);
    const metrics = (): Promise<string> => httpGetIn(net.a, `${url}/metrics`);
    const series = (name: string, f: 4 | 6, value: number): RegExp =>
      new RegExp(
        `^${name}\\{target="${NAME[f]}",address="${PATH_TARGET[f].replace(/\./g, '\\.')}",probe="icmp"\\} ${value}$`,
        'm',
      );

    before(async () => {
      net.create();
      dir = mkdtempSync(path.join(tmpdir(), 'h26-path-'));
      if (transport === 'datagram')
        execIn(net.a, 'sysctl', ['-q', '-w', 'net.ipv4.ping_group_range=0 2147483647']);
      const d = spawnIn(
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
      const add = execIn(net.a, process.execPath, [
        ...[CLI_JS, '--url', url, '--state-dir', dir, 'add'],
        ...FAMILIES.map((f) => KEY[f]),
      ]);
      assert.equal(add.status, 0, add.stderr);
    });

    after(async () => {
      await daemon?.stop(3_000);
      net.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('traces [r1, b] with each hop answered, reached, and no change on the first trace', async () => {
      const paths = await traced('a path through r1', 0, (p) => p.reached);
      for (const [i, f] of FAMILIES.entries()) {
        const p = paths[i]!;
        assert.deepEqual(hops(p), [ROUTER_NEAR[f].r1, PATH_TARGET[f]], daemon?.stderr);
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
      }
    });

    it('a router that sends no time-exceeded is a silent hop, and no route change', async () => {
      net.silent('r1', true);
      try {
        const since = nowS();
        const paths = await traced('a silent first hop', since, (p) => p.hops[0]?.address === null);
        for (const [i, f] of FAMILIES.entries()) {
          const p = paths[i]!;
          assert.deepEqual(hops(p), [null, PATH_TARGET[f]]);
          assert.deepEqual([p.hops[0]!.sent, p.hops[0]!.received], [3, 0]);
          assert.equal(p.changes, 0, 'a silent hop keeps its router');
        }
      } finally {
        net.silent('r1', false);
      }
    });

    it('routed through r2: [r2, b] and one change; npcli path shows it', async () => {
      net.via('r2');
      const since = nowS();
      const paths = await traced(
        'a path through r2',
        since,
        (p, f) => p.hops[0]?.address === ROUTER_NEAR[f].r2,
      );
      const exposed = await metrics();
      for (const [i, f] of FAMILIES.entries()) {
        const p = paths[i]!;
        assert.deepEqual(hops(p), [ROUTER_NEAR[f].r2, PATH_TARGET[f]]);
        assert.equal(p.changes, 1);
        assert.ok(p.lastChange !== null && p.lastChange >= since);
        assert.match(exposed, series('netping_path_changes_total', f, 1));
      }
      const cli = execIn(
        net.a,
        process.execPath,
        [CLI_JS, '--url', url, 'path', 'far6', '--json'],
        70_000,
      );
      assert.equal(cli.status, 0, cli.stderr);
      assert.deepEqual(hops(JSON.parse(cli.stdout) as PathJson), [
        ROUTER_NEAR[6].r2,
        PATH_TARGET[6],
      ]);
      const text = execIn(net.a, process.execPath, [CLI_JS, '--url', url, 'path', KEY[4]], 70_000);
      assert.equal(text.status, 0, text.stderr);
      assert.match(
        text.stdout,
        new RegExp(`^  1  ${ROUTER_NEAR[4].r2.replace(/\./g, '\\.')}  `, 'm'),
      );
      assert.match(text.stdout, /route changes: 1, last /);
      // The change is an event beside the outages: on /api/events, and npcli events.
      const routeEvents = (
        JSON.parse(await httpGetIn(net.a, `${url}/api/events?kind=route`)) as {
          events: RouteEvent[];
        }
      ).events;
      for (const f of FAMILIES) {
        const e = routeEvents.filter((x) => x.key === KEY[f]);
        assert.equal(e.length, 1, JSON.stringify(routeEvents));
        assert.deepEqual(
          [e[0]!.kind, e[0]!.probe, e[0]!.before, e[0]!.after, e[0]!.end],
          [
            'route',
            'icmp',
            [ROUTER_NEAR[f].r1, PATH_TARGET[f]],
            [ROUTER_NEAR[f].r2, PATH_TARGET[f]],
            e[0]!.start,
          ],
        );
        assert.ok(Date.parse(e[0]!.start) >= since * 1000);
      }
      const all = (
        JSON.parse(await httpGetIn(net.a, `${url}/api/events`)) as { events: RouteEvent[] }
      ).events;
      assert.deepEqual(
        all.filter((x) => x.kind === 'route').map((x) => x.id),
        routeEvents.map((x) => x.id),
        'among the outages, newest first',
      );
      const open = (
        JSON.parse(await httpGetIn(net.a, `${url}/api/events?open=1`)) as {
          events: RouteEvent[];
        }
      ).events;
      assert.ok(
        open.every((x) => x.kind !== 'route'),
        'a route change is no open outage',
      );
      const cliEvents = execIn(net.a, process.execPath, [
        ...[CLI_JS, '--url', url, 'events', '--kind', 'route', '--json'],
      ]);
      assert.equal(cliEvents.status, 0, cliEvents.stderr);
      assert.deepEqual(
        (JSON.parse(cliEvents.stdout) as { events: RouteEvent[] }).events.map((x) => x.id),
        routeEvents.map((x) => x.id),
      );
    });

    it('a 1400-byte link between r2 and b gives a path MTU of 1400', async () => {
      net.farLinkMtu('r2', 1400);
      const since = nowS();
      const paths = await traced('path MTU 1400', since, (p) => p.mtu === 1400);
      const exposed = await metrics();
      for (const [i, f] of FAMILIES.entries()) {
        assert.equal(paths[i]!.changes, 1, 'the MTU is no route change');
        assert.match(exposed, series('netping_path_mtu_bytes', f, 1400));
      }
    });

    it("a smaller MTU on a's own link (sends refused with EMSGSIZE) gives that MTU, without log noise", async () => {
      net.nearLinkMtu('r2', 1300);
      const since = nowS();
      await traced('path MTU 1300', since, (p) => p.mtu === 1300);
      assert.doesNotMatch(
        daemon?.stderr ?? '',
        /errno/,
        "EMSGSIZE is the search's answer, not trouble",
      );
    });
  });
}
