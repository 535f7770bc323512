// netpingd against the things around it going wrong: its stderr's reader
// gone, a SIGHUP, damaged or half-written state files. Each must leave the
// daemon probing, saving and able to stop cleanly.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { DaemonReport } from '../../lib/report.js';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = !IS_ROOT && 'raw ICMP sockets need root: run the suite as root';

async function report(d: RunningDaemon): Promise<DaemonReport> {
  return (await (await fetch(`${d.baseUrl}/api/targets`)).json()) as DaemonReport;
}

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 0, utime 11, stime 12 (in clock ticks, 100 Hz on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function stateDirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'netping-hostile-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('netpingd when things around it go wrong', { skip }, () => {
  const dirs: string[] = [];
  const running: RunningDaemon[] = [];
  after(async () => {
    for (const d of running) await d.stop('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'drops log lines when stderr is gone, and goes on probing, saving and stopping',
    {
      skip: SKIP_NO_REDIS,
    },
    async () => {
      const prefix = uniquePrefix();
      const redis = new Redis(TEST_REDIS_URL!, { lazyConnect: true });
      try {
        await redis.sadd(`{${prefix}}:targets`, 'lo@127.0.0.1');
        const stateDir = stateDirWith({});
        dirs.push(stateDir);
        const d = await startDaemon([
          ...['--redis', TEST_REDIS_URL!, '--prefix', prefix, '--instance', 'stderr'],
          ...['--state-dir', stateDir, '--interval', '50ms', '--resync', '200ms'],
          ...['--save-interval', '300ms'],
        ]);
        running.push(d);
        const pid = d.child.pid!;
        // The reader of its stderr goes away, as a dead log pipe or a closed terminal would.
        d.child.stderr!.destroy();
        // Something to log: a member that does not parse, each logged once.
        for (let i = 0; i < 3; i++) await redis.sadd(`{${prefix}}:targets`, `bad member ${i}`);
        await redis.publish(`{${prefix}}:events`, 'changed');
        await new Promise((r) => setTimeout(r, 500));
        const cpuBefore = cpuSeconds(pid);
        await new Promise((r) => setTimeout(r, 2000));
        const cpu = cpuSeconds(pid) - cpuBefore;
        // Spinning on EPIPE took 65-100 % of a core; probing one target takes ~1 %.
        assert.ok(cpu < 0.5, `used ${cpu.toFixed(2)} s of CPU in 2 s with stderr gone`);
        // Still probing, still taking changes.
        await redis.sadd(`{${prefix}}:targets`, 'two@127.0.0.2');
        await redis.publish(`{${prefix}}:events`, 'changed');
        await eventually('the new target probed', async () => {
          const t = (await report(d)).targets.find((x) => x.name === 'two');
          return t && t.received > 0 ? t : undefined;
        });
        // Still saving.
        const saved = await eventually('a save after stderr went', async () => {
          const s = await redis.hget(`{${prefix}}:stats:stderr`, 'two@127.0.0.2');
          return s ?? undefined;
        });
        assert.ok(saved.length > 0);
        assert.equal(await d.stop('SIGTERM'), 0, 'a clean stop');
      } finally {
        const keys = await redis.keys(`{${prefix}}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    },
  );

  it('on SIGHUP re-reads targets and saves, and keeps running', async () => {
    const stateDir = stateDirWith({
      'targets.json': JSON.stringify({ version: 1, members: ['lo@127.0.0.1'] }),
    });
    dirs.push(stateDir);
    const d = await startDaemon([
      '--state-dir',
      stateDir,
      '--interval',
      '50ms',
      '--save-interval',
      '1h',
    ]);
    running.push(d);
    await eventually('probing', async () =>
      ((await report(d)).targets[0]?.received ?? 0) > 3 ? true : undefined,
    );
    d.child.kill('SIGHUP');
    const stats = await eventually('statistics saved on SIGHUP', () => {
      try {
        return Promise.resolve(
          JSON.parse(readFileSync(path.join(stateDir, 'stats.json'), 'utf8')) as {
            stats: Record<string, string>;
          },
        );
      } catch {
        return Promise.resolve(undefined);
      }
    });
    assert.ok(stats.stats['lo@127.0.0.1'], 'the target saved');
    assert.match(d.log(), /SIGHUP: re-reading targets and saving statistics/);
    const sentBefore = (await report(d)).targets[0]!.sent;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(d.child.exitCode, null, 'still running');
    assert.ok((await report(d)).targets[0]!.sent > sentBefore, 'still probing');
    assert.equal(await d.stop('SIGTERM'), 0);
  });

  it('starts with a damaged stats.json and targets.json set aside, saying so once each', async () => {
    const stateDir = stateDirWith({
      'stats.json': '{"version":1,"stats":{"lo@127',
      'targets.json': '\0\0\0',
    });
    dirs.push(stateDir);
    const d = await startDaemon(['--state-dir', stateDir, '--interval', '50ms']);
    running.push(d);
    const names = readdirSync(stateDir);
    for (const file of ['stats.json', 'targets.json']) {
      assert.equal(names.filter((n) => n.startsWith(`${file}.corrupt-`)).length, 1, names.join());
      const lines = d
        .log()
        .split('\n')
        .filter((l) => l.includes(`${file} is damaged`));
      assert.equal(lines.length, 1, d.log());
    }
    assert.equal((await fetch(`${d.baseUrl}/healthz`)).status, 200);
    assert.equal(await d.stop('SIGTERM'), 0);
  });

  it('removes temporary files that a killed write left in the state directory', async () => {
    const stateDir = stateDirWith({ 'stats.json.1234abcd.tmp': '{"half' });
    dirs.push(stateDir);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(path.join(stateDir, 'stats.json.1234abcd.tmp'), old, old);
    const d = await startDaemon(['--state-dir', stateDir]);
    running.push(d);
    assert.ok(!readdirSync(stateDir).some((n) => n.endsWith('.tmp')), readdirSync(stateDir).join());
    assert.match(d.log(), /removed stats\.json\.1234abcd\.tmp/);
    assert.equal(await d.stop('SIGTERM'), 0);
  });
});
