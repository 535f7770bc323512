// A link-local IPv6 target needs its zone: fe80::2 is reachable only through
// the interface named after the '%'. Two namespaces joined by a veth, the far
// end's kernel answering: `ll@fe80::2%<link>` must be probed through that
// link and answered, keep its zone in the report, and be another target than
// the same address through another (absent) link.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonReport } from '../../lib/report.js';
import { DAEMON_JS } from '../support/env.js';
import {
  httpGetIn,
  NetnsPair,
  netnsPrerequisiteMissing,
  removeStaleNamespaces,
} from '../support/netns.js';
import type { Spawned } from '../support/ops-harness.js';

const skip = netnsPrerequisiteMissing();

describe('a link-local target with its zone', { skip: skip ?? false }, () => {
  const pair = new NetnsPair();
  const dir = mkdtempSync(path.join(tmpdir(), 'netping-linklocal-'));
  let daemon: Spawned;
  let port = 0;

  before(async () => {
    removeStaleNamespaces();
    pair.create();
    pair.exec(pair.near, 'ip', ['-6', 'addr', 'add', 'fe80::1/64', 'dev', pair.nearLink, 'nodad']);
    pair.exec(pair.far, 'ip', ['-6', 'addr', 'add', 'fe80::2/64', 'dev', pair.farLink, 'nodad']);
    // Here the far end's kernel answers, not a responder of ours.
    pair.sysctl(pair.far, 'net.ipv6.icmp.echo_ignore_all=0');
    // The embedded store reads its targets from the state directory.
    const state = path.join(dir, 'state');
    mkdirSync(state);
    writeFileSync(
      path.join(state, 'targets.json'),
      JSON.stringify({
        version: 1,
        members: [`ll@fe80::2%${pair.nearLink}`, 'gone@fe80::2%lo'],
      }),
    );
    daemon = pair.spawn(
      pair.near,
      process.execPath,
      [
        DAEMON_JS,
        ...['--state-dir', state, '--listen', '127.0.0.1:0'],
        ...['--interval', '50ms', '--timeout', '300ms'],
      ],
      120,
    );
    for (let i = 0; i < 200 && port === 0; i++) {
      const m = /listening on [^\s;]*:(\d+);/.exec(daemon.stderr);
      if (m) port = Number(m[1]);
      else await sleep(25);
    }
    assert.ok(port > 0, `netpingd did not start:\n${daemon.tail()}`);
  });

  after(async () => {
    await pair.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const report = async (): Promise<DaemonReport> =>
    JSON.parse(await httpGetIn(pair.near, `http://127.0.0.1:${port}/api/targets`)) as DaemonReport;

  it('probes it through its link, and the far end answers', async () => {
    let r: DaemonReport | undefined;
    for (let i = 0; i < 60; i++) {
      r = await report();
      if ((r.targets.find((t) => t.name === 'll')?.received ?? 0) >= 10) break;
      await sleep(100);
    }
    const ll = r?.targets.find((t) => t.name === 'll');
    assert.ok(ll, JSON.stringify(r));
    assert.equal(ll.address, `fe80::2%${pair.nearLink}`, 'the zone is kept and shown');
    assert.ok(ll.received >= 10, JSON.stringify(ll));
    assert.equal(ll.lost, 0, JSON.stringify(ll));
    assert.equal(r!.invalid.length, 0, JSON.stringify(r!.invalid));
  });

  it('keeps the same address through another link apart, as its own target', async () => {
    const r = await report();
    const gone = r.targets.find((t) => t.name === 'gone');
    assert.ok(gone, JSON.stringify(r));
    assert.equal(gone.address, 'fe80::2%lo');
    assert.equal(gone.received, 0, 'nothing answers fe80::2 through lo');
    assert.ok(gone.sent > 0);
  });
});
