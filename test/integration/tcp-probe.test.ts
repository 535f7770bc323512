// The tcp probe kind over real loopback sockets, driven by a real
// ProbeEngine on the system clock: an open port answers (and is reset, so no
// TIME_WAIT stays), a closed port answers as tcp:refused, a port that drops
// SYNs fills the in-flight cap, and expiry drops the half-open connections.

import assert from 'node:assert/strict';
import { createServer, connect, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../lib/engine/clock.js';
import { ProbeEngine, type ProbedTarget } from '../../lib/engine/probe-engine.js';
import { TcpProber } from '../../lib/probes/tcp/prober.js';
import { parseTargetKey, targetKey } from '../../lib/target.js';
import { freePort, hasCommand, run } from '../support/ops-harness.js';
import { seededUint32 } from '../support/prng.js';
import { SynBlackhole } from '../support/syn-blackhole.js';

interface Rig {
  readonly engine: ProbeEngine;
  readonly prober: TcpProber;
  readonly retired: ProbedTarget[];
  add(member: string, intervalMs: number, timeoutMs: number): ProbedTarget;
}

function makeRig(maxInFlight = 64): Rig {
  const prober = new TcpProber({ nowMs: () => systemClock.nowMs(), maxInFlight });
  const retired: ProbedTarget[] = [];
  const engine = new ProbeEngine({
    clock: systemClock,
    probers: { tcp: prober },
    randomUint32: seededUint32(9),
    onRetired: (p) => retired.push(p),
  });
  const add = (member: string, intervalMs: number, timeoutMs: number): ProbedTarget => {
    const target = parseTargetKey(member);
    engine.add(target, { intervalMs, timeoutMs });
    const probed = engine.get(targetKey(target));
    assert.ok(probed, `engine did not add ${member}`);
    return probed;
  };
  return { engine, prober, retired, add };
}

/** Polls `check` every 10 ms for at most `timeoutMs`; whether it came true. */
async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  for (let i = 0; i < timeoutMs / 10; i++) {
    if (check()) return true;
    await sleep(10);
  }
  return check();
}

/** Removes a target and waits for its last probe to end; then closes the engine. */
async function finish(rig: Rig, probed: ProbedTarget): Promise<void> {
  rig.engine.remove(probed.key);
  const done = await until(() => rig.retired.includes(probed), 3_000);
  rig.engine.close();
  assert.ok(done, `${probed.key} did not retire`);
  assert.ok(await until(() => rig.prober.openSockets === 0, 2_000), 'sockets left open');
}

/** Sockets in `state` (ss's names: time-wait, syn-sent) to or from `port` on this host. */
function socketsIn(state: string, port: number): number {
  const r = run('ss', ['-Htan', 'state', state, `( dport = :${port} or sport = :${port} )`], {
    timeoutMs: 5_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

async function listen(host: string): Promise<{ server: Server; port: number; resets: number[] }> {
  const resets = [0];
  const server = createServer((s) => {
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') resets[0]!++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  return { server, port: addr.port, resets };
}

const skipSs = hasCommand('ss') ? false : 'needs ss (iproute2)';

describe('the tcp probe kind on loopback', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  it(
    'an open port: received, by the handshake, and reset so no TIME_WAIT stays',
    { skip: skipSs },
    async (ctx) => {
      const { server, port, resets } = await listen('127.0.0.1');
      servers.push(server);
      const rig = makeRig();
      const probed = rig.add(`web@127.0.0.1?probe=tcp&port=${port}`, 20, 500);
      assert.ok(await until(() => probed.stats.received >= 30, 5_000), 'too few answers');
      await finish(rig, probed);
      const s = probed.stats;
      ctx.diagnostic(
        `${s.received} received, RTT ${s.minMs.toFixed(3)}..${s.maxMs.toFixed(3)} ms, ${resets[0]} resets seen by the server`,
      );
      assert.equal(s.lost, 0);
      assert.equal(s.received, s.sent);
      assert.deepEqual([...s.answers], []);
      assert.ok(s.minMs > 0 && s.maxMs < 200, `RTT ${s.minMs}..${s.maxMs} ms`);
      // The server's ends saw resets, not FINs, and nothing waits in TIME_WAIT.
      assert.ok(await until(() => resets[0]! > 0, 1_000), 'the server saw no reset');
      assert.equal(socketsIn('time-wait', port), 0);

      // The control: a connection closed the ordinary way does leave TIME_WAIT,
      // so the check above can see one.
      const plain = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => plain.once('connect', resolve));
      plain.end();
      await new Promise<void>((resolve) => plain.once('close', () => resolve()));
      assert.ok(await until(() => socketsIn('time-wait', port) > 0, 1_000), 'no TIME_WAIT seen');
    },
  );

  it('a closed port: received, as tcp:refused', async () => {
    const port = await freePort();
    const rig = makeRig();
    const probed = rig.add(`shut@127.0.0.1?probe=tcp&port=${port}`, 20, 500);
    assert.ok(await until(() => probed.stats.received >= 10, 5_000), 'too few answers');
    await finish(rig, probed);
    const s = probed.stats;
    assert.equal(s.lost, 0);
    assert.equal(s.received, s.sent);
    assert.equal(s.answers.get('tcp:refused'), s.received);
    assert.ok(s.maxMs < 200, `RTT up to ${s.maxMs} ms`);
  });

  it('IPv6 (::1): an open port answers', async () => {
    const { server, port } = await listen('::1');
    servers.push(server);
    const rig = makeRig();
    const probed = rig.add(`web6@::1?probe=tcp&port=${port}`, 20, 500);
    assert.ok(await until(() => probed.stats.received >= 10, 5_000), 'too few answers');
    await finish(rig, probed);
    assert.equal(probed.stats.lost, 0);
    assert.deepEqual([...probed.stats.answers], []);
  });

  it(
    'SYNs dropped: the cap loses probes as send:in-flight-cap, expiry drops the connections',
    { skip: skipSs },
    async (ctx) => {
      const hole = await SynBlackhole.start();
      try {
        const cap = 2;
        const rig = makeRig(cap);
        // Each probe lives 300 ms, one goes every 20 ms: at most 2 are let out.
        const probed = rig.add(`hole@127.0.0.1?probe=tcp&port=${hole.port}`, 20, 300);
        let maxOpen = 0;
        let maxSynSent = 0;
        for (let i = 0; i < 100; i++) {
          maxOpen = Math.max(maxOpen, rig.prober.openSockets);
          if (i % 10 === 0) maxSynSent = Math.max(maxSynSent, socketsIn('syn-sent', hole.port));
          await sleep(10);
        }
        const problems = rig.prober.takeProblems();
        await finish(rig, probed);
        const s = probed.stats;
        const capped = s.errors.get('send:in-flight-cap') ?? 0;
        ctx.diagnostic(
          `${s.sent} sent, ${capped} lost at the cap, ${s.lost - capped} by timeout; ` +
            `at most ${maxOpen} open, ${maxSynSent} in SYN-SENT; log: ${problems.join(' | ')}`,
        );
        assert.equal(s.received, 0);
        assert.equal(s.lost, s.sent);
        assert.ok(capped >= s.sent / 2, `only ${capped} of ${s.sent} lost at the cap`);
        assert.ok(s.lost - capped >= 2, 'no probe went out and timed out');
        assert.deepEqual(
          [...s.errors.keys()],
          ['send:in-flight-cap'],
          'timeouts carry no reason, and nothing else failed',
        );
        assert.ok(maxOpen <= cap, `${maxOpen} sockets open, cap ${cap}`);
        assert.ok(maxSynSent >= 1, 'the kernel never showed a probe connecting');
        // Logged once, then not again within the minute.
        assert.equal(problems.length, 1);
        assert.match(problems[0]!, /in-flight-cap/);
        assert.deepEqual(rig.prober.takeProblems(), []);
        // Every expired probe's connection is gone from the kernel too.
        assert.ok(
          await until(() => socketsIn('syn-sent', hole.port) === 0, 1_000),
          'half-open connections left after expiry',
        );
      } finally {
        hole.stop();
      }
    },
  );
});
