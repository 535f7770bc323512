// netpingd needs at most one privilege. Run it as the service would run it
// (an unprivileged user holding only CAP_NET_RAW, as systemd's DynamicUser
// and AmbientCapabilities arrange) and show that it pings; with no
// capability at all but net.ipv4.ping_group_range admitting it (in a
// namespace of the test's, so the host's setting stays), show that it pings
// over datagram sockets; take both away and show it stops at once with exit
// code 4 and one line that tells the operator both ways.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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
import { httpGetIn, NetnsPair, netnsPrerequisiteMissing } from '../support/netns.js';
import { TARGETS_FILE } from '../../lib/store/embedded-store.js';

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
    'native/build/Release/netping_sockets.node',
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
  for (const entry of ['package.json', 'dist', 'node_modules', 'native']) {
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

void test('as user nobody with no capabilities and ping_group_range set, netpingd pings 127.0.0.1 and ::1', async (t) => {
  const missing = skipReason() ?? netnsPrerequisiteMissing();
  if (missing !== undefined) return t.skip(missing);
  const prefix = `test-${randomUUID()}`;
  const app = readableAppDir();
  const pair = new NetnsPair();
  const stateDir = stateDirFor(prefix);
  let daemon: Spawned | undefined;
  try {
    pair.create();
    pair.sysctl(pair.near, 'net.ipv4.ping_group_range=0 2147483647');
    mkdirSync(stateDir);
    writeFileSync(
      path.join(stateDir, TARGETS_FILE),
      JSON.stringify({ version: 1, members: ['lo4@127.0.0.1', 'lo6@::1'] }),
    );
    run('chown', ['-R', `${NOBODY}:${NOBODY}`, stateDir]);
    const port = 9000 + Math.floor(Math.random() * 1000); // a namespace of our own: any port is free
    daemon = new Spawned(
      'ip',
      [
        ...['netns', 'exec', pair.near, 'setpriv', ...AS_NOBODY, ...NO_CAPS],
        ...[process.execPath, path.join(app.dir, path.relative(repoRoot, daemonMain))],
        ...['--listen', `127.0.0.1:${port}`, '--interval', '0.2', '--state-dir', stateDir],
      ],
      { cwd: app.dir },
    );
    const d = daemon;
    const metrics = await waitFor(
      async () => {
        if (!d.running) return '';
        const text = await httpGetIn(pair.near, `http://127.0.0.1:${port}/metrics`).catch(() => '');
        const answered = ['lo4', 'lo6'].every(
          (target) => (sampleSum(text, 'netping_received_total', { target }) ?? 0) > 0,
        );
        return answered ? text : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.ok(metrics, `127.0.0.1 and ::1 not both answered\n${d.tail()}`);
    assert.equal(
      sampleSum(metrics, 'netping_icmp_transport_info', { transport: 'datagram', clock: 'kernel' }),
      1,
    );
    assert.match(d.stderr, /icmp: datagram sockets, kernel timestamps/);
    // ip netns exec and setpriv exec in place, so the pid is the daemon's own.
    const status = readFileSync(`/proc/${d.child.pid}/status`, 'utf8');
    assert.match(
      status,
      new RegExp(`^Uid:\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}$`, 'm'),
    );
    assert.match(status, /^CapEff:\s+0{16}$/m);
    assert.match(status, /^CapBnd:\s+0{16}$/m);
  } finally {
    await daemon?.stop();
    await pair.destroy();
    app.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

void test('without CAP_NET_RAW or ping_group_range, netpingd exits 4 with one line naming both', async (t) => {
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
    assert.match(lines[0] ?? '', /ping_group_range/);
    t.diagnostic(lines[0] ?? '');
  } finally {
    await daemon?.stop();
    app.cleanup();
    redisDeletePrefix(redisUrl, prefix);
    rmSync(stateDirFor(prefix), { recursive: true, force: true });
  }
});
