// SIGTERM with probes in flight: netpingd stops sending, lets every probe
// in flight end (here by timeout: the network namespace it runs in answers
// no echo), each by its own target's timeout, saves, and exits 0 — and the
// saved counters balance exactly. A repeat of the signal that comes with the
// first (coreutils' `timeout` signals the process and its group, so it often
// arrives twice) is the same stop, not a demand to exit at once.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DAEMON_JS, IS_ROOT } from '../support/env.js';

function hasIp(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = !IS_ROOT
  ? 'needs root (raw sockets, ip netns)'
  : !hasIp()
    ? 'needs ip (iproute2)'
    : false;

test(
  'SIGTERM with probes in flight, delivered twice: waits for them, saves, exits 0',
  { skip },
  async () => {
    const timeoutMs = 1500; // the daemon's --timeout
    const ownTimeoutMs = 3000; // quiet2's own, longer: the stop must wait for it too
    const ns = `np-quiet-${process.pid}`;
    const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-quiet-'));
    const ip = (...args: string[]): void =>
      void execFileSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
    try {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      // Nobody in this namespace answers echo requests: every probe stays in flight until its timeout.
      ip('netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.icmp_echo_ignore_all=1');
      writeFileSync(
        path.join(stateDir, 'targets.json'),
        JSON.stringify({
          version: 1,
          members: ['quiet@127.0.0.1', `quiet2@127.0.0.2?timeout=${ownTimeoutMs}ms`],
        }),
      );
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          ns,
          process.execPath,
          DAEMON_JS,
          '--state-dir',
          stateDir,
          '--listen',
          '127.0.0.1:0',
          '--interval',
          '100ms',
          '--timeout',
          `${timeoutMs}ms`,
          '--save-interval',
          '1h',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let log = '';
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(child.exitCode, null, `netpingd died early:\n${log}`);
      const signalledAt = Date.now();
      child.kill('SIGTERM'); // ip netns exec execs the daemon: this pid is netpingd
      // Well within REPEAT_SIGNAL_GAP_MS, and after the first has been handled.
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      const tookMs = Date.now() - signalledAt;
      assert.equal(code, 0, log);
      assert.match(log, /SIGTERM again within \d+ ms: the same stop/);
      // It waited for the newest probe's timeout (sent at most 100 ms before
      // the signal), the longest one of any target.
      assert.ok(
        tookMs >= ownTimeoutMs - 150,
        `exited after ${tookMs} ms, before the probes in flight timed out`,
      );
      assert.ok(tookMs < ownTimeoutMs + 3000, `took ${tookMs} ms to stop`);
      const saved = JSON.parse(readFileSync(path.join(stateDir, 'stats.json'), 'utf8')) as {
        stats: Record<string, string>;
      };
      for (const member of ['quiet@127.0.0.1', 'quiet2@127.0.0.2']) {
        const s = JSON.parse(saved.stats[member.split('?')[0]!] ?? '{}') as {
          sent?: number;
          received?: number;
          lost?: number;
          inFlight?: number;
          errors?: Record<string, number>;
        };
        assert.ok((s.sent ?? 0) >= 5, `${member}: sent ${s.sent}`);
        assert.equal(s.received, 0);
        assert.equal(
          s.lost,
          s.sent,
          `${member}: every probe in flight at the stop ended as lost, none vanished`,
        );
        assert.equal(s.inFlight, 0, `${member}: nothing left in flight`);
        assert.deepEqual(s.errors, {}, `${member}: ended by timeouts, none given up`);
      }
    } finally {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
      rmSync(stateDir, { recursive: true, force: true });
    }
  },
);
