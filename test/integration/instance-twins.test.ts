// Two netpingd with one --instance on one Redis (cloned hosts share a host
// name, the default): the second refuses to start with exit code 6 and one
// line naming the first, which goes on alone. A clean restart and a restart
// after kill -9 are not refused. A daemon cut off from Redis for longer than
// its claim, whose id another process claimed meanwhile, exits with code 6
// once it reaches Redis again instead of writing under that id.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { DAEMON_JS, IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { PausableProxy } from '../support/pausable-proxy.js';
import { eventually, runNode, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = SKIP_NO_REDIS || (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root');
const TWIN_EXIT = 6;

describe('two netpingd under one instance id', { skip }, () => {
  const prefix = uniquePrefix();
  const url = TEST_REDIS_URL!;
  const key = `{${prefix}}:instance:twin`;
  let redis: Redis;
  let proxy: PausableProxy;
  const running: RunningDaemon[] = [];
  const dirs: string[] = [];
  const args = (via: string): string[] => [
    ...['--redis', via, '--prefix', prefix, '--instance', 'twin'],
    ...['--interval', '200ms', '--save-interval', '300ms'],
  ];
  const start = async (via: string): Promise<RunningDaemon> => {
    const d = await startDaemon(args(via), {}, 20_000);
    running.push(d);
    return d;
  };
  /** A second daemon run to its end: it must not get as far as listening. */
  const runTwin = async (via: string) => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-twin-'));
    dirs.push(stateDir);
    return runNode(
      DAEMON_JS,
      ['--listen', '127.0.0.1:0', '--state-dir', stateDir, ...args(via)],
      {},
      30_000,
    );
  };
  const holderPid = async (): Promise<number | undefined> => {
    const text = await redis.get(key);
    return text ? (JSON.parse(text) as { pid: number }).pid : undefined;
  };

  before(async () => {
    redis = new Redis(url);
    const u = new URL(url);
    proxy = await PausableProxy.start({ host: u.hostname, port: Number(u.port) });
    await redis.sadd(`{${prefix}}:targets`, 'lo@127.0.0.1');
  });

  after(async () => {
    proxy.resume();
    for (const d of running) await d.stop('SIGKILL');
    await proxy.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('refuses the second, restarts the first cleanly and after kill -9, and stops one replaced while cut off', async (t) => {
    const viaProxy = `redis://127.0.0.1:${proxy.port}`;
    const first = await start(viaProxy);
    await eventually(
      'the first saving under the id',
      async () => ((await redis.hlen(`{${prefix}}:stats:twin`)) > 0 ? true : undefined),
      10_000,
    );
    assert.equal(await holderPid(), first.child.pid);

    // The twin.
    const startedAt = Date.now();
    const twin = await runTwin(url);
    t.diagnostic(`the twin exited with ${twin.code} after ${Date.now() - startedAt} ms`);
    assert.equal(twin.code, TWIN_EXIT, twin.stderr);
    const refusals = twin.stderr
      .split('\n')
      .filter((line) => line.includes('another netpingd runs as instance twin'));
    assert.equal(refusals.length, 1, twin.stderr);
    assert.match(
      refusals[0]!,
      new RegExp(`pid ${first.child.pid}\\b.*give each daemon its own --instance`),
    );
    assert.doesNotMatch(twin.stderr, /listening on/);
    assert.equal(first.child.exitCode, null, 'the first runs on');
    assert.equal(await holderPid(), first.child.pid, 'and holds the id still');

    // A clean restart: the key goes at stop, the next run claims it at once.
    assert.equal(await first.stop(), 0, first.log());
    assert.equal(await redis.exists(key), 0, 'released at stop');
    const second = await start(viaProxy);
    assert.doesNotMatch(second.log(), /is held by/);
    assert.equal(await holderPid(), second.child.pid);

    // kill -9: the key stays behind, but its holder is a gone process of this host.
    await second.stop('SIGKILL');
    assert.equal(await holderPid(), second.child.pid, 'left behind by the crash');
    const restartAt = Date.now();
    const third = await start(viaProxy);
    t.diagnostic(`restart after kill -9 listening after ${Date.now() - restartAt} ms`);
    assert.match(third.log(), /taken over from host .*, which is gone/);
    assert.equal(await holderPid(), third.child.pid);

    // Cut off past the claim's expiry, while saving (a save goes out and is
    // held in the proxy); another process takes the id meanwhile.
    const savedSent = async (): Promise<number> => {
      const text = await redis.hget(`{${prefix}}:stats:twin`, 'lo@127.0.0.1');
      return text ? (JSON.parse(text) as { sent: number }).sent : 0;
    };
    const atRestart = await savedSent();
    await eventually(
      'the third saving',
      async () => ((await savedSent()) > atRestart + 2 ? true : undefined),
      10_000,
    );
    proxy.pause();
    await eventually(
      'the claim expired in Redis',
      async () => ((await redis.exists(key)) === 0 ? true : undefined),
      20_000,
      250,
    );
    const usurper = await start(url);
    assert.equal(await holderPid(), usurper.child.pid);
    // Long enough for its counts to pass whatever the cut-off one had queued.
    await new Promise((r) => setTimeout(r, 4000));
    const samples = [await savedSent()];
    proxy.resume();
    // The writes held in the proxy arrive now; fenced, they change nothing.
    const watchUntil = Date.now() + 3000;
    while (Date.now() < watchUntil) {
      samples.push(await savedSent());
      await new Promise((r) => setTimeout(r, 20));
    }
    const code = await eventually(
      'the cut-off daemon exiting',
      () => Promise.resolve(third.child.exitCode ?? undefined),
      15_000,
      100,
    );
    assert.equal(code, TWIN_EXIT, third.log());
    assert.match(
      third.log(),
      new RegExp(`another netpingd runs as instance twin \\(host .*, pid ${usurper.child.pid}\\b`),
    );
    assert.equal(await holderPid(), usurper.child.pid, 'the id stays with the one that holds it');
    assert.equal(usurper.child.exitCode, null);
    const drops = samples.filter((v, i) => i > 0 && v < samples[i - 1]!);
    assert.equal(drops.length, 0, `the saved count went back: ${samples.join(' ')}`);
  });
});
