// netpingd needs exactly one privilege. Run it as the service would run it
// (an unprivileged user holding only CAP_NET_RAW, as systemd's DynamicUser
// and AmbientCapabilities arrange) and show that it pings; take the
// capability away and show it stops at once with exit code 4 and one line
// that tells the operator what is missing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  daemonMain,
  daemonPrerequisiteMissing,
  freePort,
  httpText,
  redisCli,
  redisDeletePrefix,
  repoRoot,
  run,
  sampleSum,
  Spawned,
  waitFor,
} from '../support/ops-harness.js';

const NOBODY = 65534;
const CAP_NET_RAW_MASK = (1n << 13n).toString(16).padStart(16, '0');
const AS_NOBODY = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
const ONLY_NET_RAW = [
  '--inh-caps=+net_raw',
  '--ambient-caps=+net_raw',
  '--bounding-set=-all,+net_raw',
];
const NO_CAPS = ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all'];

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to switch users with setpriv';
  return daemonPrerequisiteMissing(['setpriv']);
}

/**
 * A directory with the built daemon that user nobody can read: the repo
 * itself when nobody can already read it, else a world-readable copy.
 */
function readableAppDir(): { dir: string; cleanup: () => void } {
  const needed = [
    'package.json',
    path.relative(repoRoot, daemonMain),
    'node_modules/raw-socket/package.json',
    'node_modules/raw-socket/build/Release/raw.node',
  ];
  const probe = (dir: string): boolean =>
    run(
      'setpriv',
      [
        ...AS_NOBODY,
        'sh',
        '-c',
        'cd "$0" && for f in "$@"; do test -r "$f" || exit 1; done',
        dir,
        ...needed,
      ],
      { timeoutMs: 10_000 },
    ).status === 0;
  if (probe(repoRoot)) return { dir: repoRoot, cleanup: () => {} };

  const dir = mkdtempSync(path.join(tmpdir(), 'netping-app-'));
  for (const entry of ['package.json', 'dist', 'node_modules']) {
    cpSync(path.join(repoRoot, entry), path.join(dir, entry), { recursive: true });
  }
  chmodSync(dir, 0o755);
  run('chmod', ['-R', 'a+rX', dir]);
  assert.ok(probe(dir), `user nobody cannot read the copy in ${dir}`);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A state directory user nobody can create (under the sticky /tmp); removed by the test. */
function stateDirFor(prefix: string): string {
  return path.join(tmpdir(), `netping-state-${prefix}`);
}

function daemonArgs(appDir: string, port: number, redisUrl: string, prefix: string): string[] {
  return [
    process.execPath,
    path.join(appDir, path.relative(repoRoot, daemonMain)),
    '--listen',
    `127.0.0.1:${port}`,
    '--redis',
    redisUrl,
    '--prefix',
    prefix,
    '--interval',
    '0.2',
    '--state-dir',
    stateDirFor(prefix),
  ];
}

void test('as user nobody with only CAP_NET_RAW, netpingd pings 127.0.0.1', async (t) => {
  const missing = skipReason();
  if (missing !== undefined) return t.skip(missing);
  const redisUrl = process.env.NETPING_TEST_REDIS_URL ?? '';
  const prefix = `test-${randomUUID()}`;
  const app = readableAppDir();
  let daemon: Spawned | undefined;
  try {
    redisCli(redisUrl, ['sadd', `{${prefix}}:targets`, 'lo@127.0.0.1']);
    const port = await freePort();
    daemon = new Spawned(
      'setpriv',
      [...AS_NOBODY, ...ONLY_NET_RAW, ...daemonArgs(app.dir, port, redisUrl, prefix)],
      { cwd: app.dir },
    );
    const d = daemon;
    const received = await waitFor(
      async () => {
        if (!d.running) return -1;
        const metrics = await httpText(`http://127.0.0.1:${port}/metrics`);
        const n = sampleSum(metrics, 'netping_received_total', { target: 'lo' }) ?? 0;
        return n > 0 ? n : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.ok(received !== undefined && received > 0, `no reply counted\n${d.tail()}`);
    t.diagnostic(`netping_received_total{target="lo"} = ${received}`);

    // setpriv execs node in place, so the pid is the daemon's own.
    const status = readFileSync(`/proc/${d.child.pid}/status`, 'utf8');
    assert.match(
      status,
      new RegExp(`^Uid:\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}$`, 'm'),
    );
    assert.match(status, new RegExp(`^CapEff:\\s+${CAP_NET_RAW_MASK}$`, 'm'));
    assert.match(status, new RegExp(`^CapBnd:\\s+${CAP_NET_RAW_MASK}$`, 'm'));
  } finally {
    await daemon?.stop();
    app.cleanup();
    redisDeletePrefix(redisUrl, prefix);
    rmSync(stateDirFor(prefix), { recursive: true, force: true });
  }
});

void test('without CAP_NET_RAW, netpingd exits 4 with one line naming CAP_NET_RAW', async (t) => {
  const missing = skipReason();
  if (missing !== undefined) return t.skip(missing);
  const redisUrl = process.env.NETPING_TEST_REDIS_URL ?? '';
  const prefix = `test-${randomUUID()}`;
  const app = readableAppDir();
  let daemon: Spawned | undefined;
  try {
    redisCli(redisUrl, ['sadd', `{${prefix}}:targets`, 'lo@127.0.0.1']);
    const port = await freePort();
    daemon = new Spawned(
      'setpriv',
      [...AS_NOBODY, ...NO_CAPS, ...daemonArgs(app.dir, port, redisUrl, prefix)],
      { cwd: app.dir },
    );
    const exit = await daemon.exitWithin(10_000);
    assert.ok(exit !== undefined, `still running after 10 s\n${daemon.tail()}`);
    assert.equal(exit.code, 4, daemon.tail());
    const lines = daemon.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `stderr is one line:\n${daemon.stderr}`);
    assert.match(lines[0] ?? '', /CAP_NET_RAW/);
    t.diagnostic(lines[0] ?? '');
  } finally {
    await daemon?.stop();
    app.cleanup();
    redisDeletePrefix(redisUrl, prefix);
    rmSync(stateDirFor(prefix), { recursive: true, force: true });
  }
});
