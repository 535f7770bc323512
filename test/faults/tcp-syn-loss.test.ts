// tcp probes end to end: netpingd in the near namespace, a TCP listener in
// the far one, and nftables there dropping a share of the SYNs at random
// (counted by the rule). Two targets on the same path:
//
// - timeout 500 ms, below the kernel's first SYN retransmission (1 s): every
//   dropped SYN is a lost probe, so the losses equal the drops counted, and
//   their share is the drop share within ±0.04;
// - timeout 3.5 s: the kernel retransmits the SYN inside the timeout, so a
//   dropped SYN comes back as an RTT of about one retransmission time
//   (1 s, 2 s... with Linux's linear SYN timeouts; 1 s, 3 s... without), not
//   as a loss. The RTTs are bimodal: the share at ≥ 0.9 s is the drop share
//   within ±0.04, none lie between, and the retransmissions each RTT implies,
//   plus those of the probes lost, add up to the drops counted.
//
// netpingd is stopped cleanly before the counters are compared: the stop
// waits for every probe in flight and saves, so the saved counters and the
// nftables counters cover the same SYNs exactly.
//
// Beside them: an IPv6 target, a link-local one with its zone, and a closed
// port (refused: received). And no TIME_WAIT is left on either side.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonReport } from '../../lib/report.js';
import { parseSavedStats, type SavedStats } from '../../lib/stats/saved-stats.js';
import { BUCKET_BOUNDS_SECONDS } from '../../lib/stats/histogram.js';
import { DAEMON_JS, uniquePrefix } from '../support/env.js';
import {
  exitOf,
  FAR4,
  FAR6,
  httpGetIn,
  NetnsPair,
  netnsPrerequisiteMissing,
  removeStaleNamespaces,
} from '../support/netns.js';
import { hasCommand, type Spawned } from '../support/ops-harness.js';

const DROP_PCT = 20;
const TOLERANCE = 0.04;
const INTERVAL_MS = 10;
const RUN_MS = 10_000; // ~1,000 probes per target: ±0.04 is over 3 standard deviations
const SHORT_TIMEOUT_MS = 500;
const LONG_TIMEOUT_MS = 3_500;
const PORTS = { short: 7001, long: 7002, clean: 7003, closed: 7009 } as const;
const REDIS_PORT = 6379;
const INSTANCE = 'tcpfault';
const LIFETIME_S = 120;

const skip =
  netnsPrerequisiteMissing() ??
  (hasCommand('nft') ? undefined : 'needs nft (nftables)') ??
  (hasCommand('ss') ? undefined : 'needs ss (iproute2)');

const LISTENER = `
const net = require('net');
for (const port of process.argv.slice(1).map(Number)) {
  net.createServer((s) => s.on('error', () => {})).listen({ port, host: '::' });
}
process.stdout.write('ready\\n');
`;

describe('tcp probes through SYN loss', { skip: skip ?? false }, () => {
  const pair = new NetnsPair();
  const dir = mkdtempSync(path.join(tmpdir(), 'netping-tcp-'));
  const prefix = uniquePrefix();
  const member = {
    short: `short@${FAR4}?probe=tcp&port=${PORTS.short}&interval=${INTERVAL_MS}ms&timeout=${SHORT_TIMEOUT_MS}ms`,
    long: `long@${FAR4}?probe=tcp&port=${PORTS.long}&interval=${INTERVAL_MS}ms&timeout=${LONG_TIMEOUT_MS}ms`,
    v6: `v6@${FAR6}?probe=tcp&port=${PORTS.clean}&interval=100ms&timeout=500ms`,
    ll: '', // needs the link's name: set in before()
    closed: `closed@${FAR4}?probe=tcp&port=${PORTS.closed}&interval=100ms&timeout=500ms`,
  };
  let daemon: Spawned;
  let report: DaemonReport;
  const saved = new Map<string, SavedStats>();
  const drops = { short: 0, long: 0 };
  const timeWait = { near: -1, far: -1 };
  let synTimes: number[] = [];

  const redisCli = (args: readonly string[]): string =>
    pair.exec(pair.near, 'redis-cli', ['-p', String(REDIS_PORT), ...args]).stdout;
  const nft = (args: readonly string[]): string => {
    const r = pair.exec(pair.far, 'nft', args);
    assert.equal(r.status, 0, `nft ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    removeStaleNamespaces();
    pair.create();
    pair.exec(pair.near, 'ip', ['-6', 'addr', 'add', 'fe80::1/64', 'dev', pair.nearLink, 'nodad']);
    pair.exec(pair.far, 'ip', ['-6', 'addr', 'add', 'fe80::2/64', 'dev', pair.farLink, 'nodad']);
    member.ll = `ll@fe80::2%${pair.nearLink}?probe=tcp&port=${PORTS.clean}&interval=100ms&timeout=500ms`;
    synTimes = synSendTimes(
      pair.exec(pair.near, 'sysctl', ['-n', 'net.ipv4.tcp_syn_linear_timeouts']).stdout,
    );

    // Pure SYNs only (not SYN-ACKs), into the far end, per port, counted.
    nft(['add', 'table', 'inet', 'synloss']);
    nft(['add', 'chain', 'inet', 'synloss', 'input', '{ type filter hook input priority 0; }']);
    for (const which of ['short', 'long'] as const) {
      nft(['add', 'counter', 'inet', 'synloss', which]);
      nft([
        ...['add', 'rule', 'inet', 'synloss', 'input'],
        ...['tcp', 'dport', String(PORTS[which]), 'tcp', 'flags', '&', '(syn|ack)', '==', 'syn'],
        ...[
          'numgen',
          'random',
          'mod',
          '100',
          '<',
          String(DROP_PCT),
          'counter',
          'name',
          which,
          'drop',
        ],
      ]);
    }
    const listener = pair.spawn(
      pair.far,
      process.execPath,
      ['-e', LISTENER, String(PORTS.short), String(PORTS.long), String(PORTS.clean)],
      LIFETIME_S,
    );
    await waitFor(
      () => listener.stdout.includes('ready'),
      5_000,
      () => listener.tail(),
    );

    pair.spawn(
      pair.near,
      'redis-server',
      [
        ...['--port', String(REDIS_PORT), '--bind', '127.0.0.1'],
        ...['--save', '', '--appendonly', 'no', '--dir', dir],
      ],
      LIFETIME_S,
    );
    await waitFor(
      () => redisCli(['ping']).trim() === 'PONG',
      5_000,
      () => 'redis-server',
    );
    redisCli(['sadd', `{${prefix}}:targets`, ...Object.values(member)]);

    daemon = pair.spawn(
      pair.near,
      process.execPath,
      [
        DAEMON_JS,
        ...['--redis', `redis://127.0.0.1:${REDIS_PORT}`, '--prefix', prefix],
        ...['--instance', INSTANCE, '--listen', '127.0.0.1:0'],
        ...['--state-dir', path.join(dir, 'state')],
      ],
      LIFETIME_S,
    );
    let port = 0;
    await waitFor(
      () => {
        const m = /listening on [^\s;]*:(\d+);/.exec(daemon.stderr);
        port = m ? Number(m[1]) : 0;
        return port > 0;
      },
      10_000,
      () => daemon.tail(),
    );
    await sleep(RUN_MS);
    report = JSON.parse(
      await httpGetIn(pair.near, `http://127.0.0.1:${port}/api/targets`),
    ) as DaemonReport;

    // A clean stop ends every probe in flight (the longest waits 3.5 s) and saves.
    daemon.child.kill('SIGTERM');
    const exit = await exitOf(daemon, 15_000);
    assert.equal(exit?.code, 0, `netpingd did not stop cleanly:\n${daemon.tail()}`);
    for (const [name, m] of Object.entries(member)) {
      const key = m.replace(/&interval=.*$/, '');
      const text = redisCli(['hget', `{${prefix}}:stats:${INSTANCE}`, key]).trim();
      assert.ok(text !== '', `no saved statistics for ${key}`);
      saved.set(name, parseSavedStats(text));
    }
    const counters = JSON.parse(nft(['-j', 'list', 'counters', 'table', 'inet', 'synloss'])) as {
      nftables: { counter?: { name: string; packets: number } }[];
    };
    for (const entry of counters.nftables) {
      if (entry.counter?.name === 'short') drops.short = entry.counter.packets;
      if (entry.counter?.name === 'long') drops.long = entry.counter.packets;
    }
    timeWait.near = countTimeWait(pair, pair.near);
    timeWait.far = countTimeWait(pair, pair.far);
  });

  after(async () => {
    await pair.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const stats = (name: string): SavedStats => {
    const s = saved.get(name);
    assert.ok(s, `no statistics for ${name}`);
    assert.equal(s.inFlight ?? 0, 0, `${name}: probes still in flight after the stop`);
    assert.equal(s.sent, s.received + s.lost, `${name}: counters do not balance`);
    return s;
  };

  it(`timeout ${SHORT_TIMEOUT_MS} ms: each dropped SYN is one lost probe, ${DROP_PCT} % ± ${TOLERANCE * 100} %`, (ctx) => {
    const s = stats('short');
    const loss = s.lost / s.sent;
    ctx.diagnostic(
      `${drops.short} SYNs dropped; ${s.lost} of ${s.sent} probes lost (${(100 * loss).toFixed(1)} %); RTT max ${s.maxMs} ms`,
    );
    assert.ok(s.sent >= 500, `only ${s.sent} probes`);
    assert.equal(s.lost, drops.short);
    assert.deepEqual(s.errors, {}, 'losses by timeout carry no reason');
    assert.ok(Math.abs(loss - DROP_PCT / 100) <= TOLERANCE, `loss ${loss}`);
    assert.ok((s.maxMs ?? Infinity) < 100, `RTT up to ${s.maxMs} ms with no retransmission`);
  });

  it(`timeout ${LONG_TIMEOUT_MS} ms: dropped SYNs come back as RTTs of a retransmission time`, (ctx) => {
    const s = stats('long');
    const samples = histogramSamples(s);
    const fast = samples.filter((x) => x.upperS <= 0.1).reduce((n, x) => n + x.count, 0);
    const between = samples.filter((x) => x.lowerS >= 0.1 && x.upperS < 0.9);
    const slow = samples.filter((x) => x.lowerS >= 0.9);
    const slowCount = slow.reduce((n, x) => n + x.count, 0);
    const share = slowCount / s.received;
    // Retransmissions before each answer, from when the answer came.
    const retransmissions = slow.reduce(
      (n, x) => n + x.count * synTimes.filter((t) => t > 0 && t <= x.upperS).length,
      0,
    );
    const perLost = synTimes.filter((t) => t < LONG_TIMEOUT_MS / 1000).length;
    ctx.diagnostic(
      `${s.received} received: ${fast} under 100 ms, ${slowCount} at >= 0.9 s ` +
        `(${(100 * share).toFixed(1)} %: ${slow.map((x) => `${x.count} in (${x.lowerS}, ${x.upperS}] s`).join(', ')}); ` +
        `${s.lost} lost; ${drops.long} SYNs dropped; SYN send times ${synTimes.slice(0, 6).join(', ')} s`,
    );
    assert.ok(s.received >= 500, `only ${s.received} answers`);
    assert.deepEqual(between, [], 'RTTs between the modes');
    assert.equal(fast + slowCount, s.received);
    assert.ok(Math.abs(share - DROP_PCT / 100) <= TOLERANCE, `share at >= 0.9 s: ${share}`);
    assert.equal(retransmissions + perLost * s.lost, drops.long, 'SYNs dropped');
  });

  it('IPv6, link-local with its zone, and a closed port all answer', () => {
    for (const name of ['v6', 'll', 'closed']) {
      const s = stats(name);
      assert.ok(s.received >= 20, `${name}: only ${s.received} answers`);
      assert.equal(s.lost, 0, `${name}: ${s.lost} lost ${JSON.stringify(s.errors)}`);
    }
    assert.ok(report.targets.some((t) => t.address === `fe80::2%${pair.nearLink}`));
  });

  it('the resets leave no TIME_WAIT on either side', () => {
    assert.equal(timeWait.near, 0);
    assert.equal(timeWait.far, 0);
  });
});

/**
 * When the kernel sends a connection's SYNs, in seconds: the retransmission
 * timeout is 1 s for the first `linear` + 1 retransmissions, then doubles
 * (Linux 6.5's tcp_syn_linear_timeouts; 0 before it: 1, 3, 7 s...).
 */
function synSendTimes(linearText: string): number[] {
  const linear = Number(linearText.trim()) || 0; // absent before Linux 6.5: exponential from the start
  const times = [0];
  let rto = 1;
  for (let i = 0; i < 8; i++) {
    times.push(times.at(-1)! + rto);
    if (i >= linear) rto *= 2;
  }
  return times;
}

/** The saved histogram as buckets with their bounds in seconds. */
function histogramSamples(s: SavedStats): { lowerS: number; upperS: number; count: number }[] {
  return Object.entries(s.histogram.counts).map(([index, count]) => {
    const i = Number(index);
    return {
      lowerS: i === 0 ? 0 : BUCKET_BOUNDS_SECONDS[i - 1]!,
      upperS: BUCKET_BOUNDS_SECONDS[i] ?? Infinity,
      count,
    };
  });
}

/** Connections in TIME_WAIT to or from the probed ports (not redis-cli's or the HTTP reads'). */
function countTimeWait(pair: NetnsPair, ns: string): number {
  const ports = Object.values(PORTS).map((p) => `sport = :${p} or dport = :${p}`);
  const r = pair.exec(ns, 'ss', ['-Htan', 'state', 'time-wait', `( ${ports.join(' or ')} )`]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

async function waitFor(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  for (let i = 0; i < timeoutMs / 25; i++) {
    try {
      if (check()) return;
    } catch {
      // not ready yet
    }
    await sleep(25);
  }
  throw new Error(`not ready after ${timeoutMs} ms: ${what()}`);
}
