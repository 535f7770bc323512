// tcp handshake RTTs from the kernel (TCP_INFO through our addon), on real
// loopback sockets: a handshake whose 'connect' callback runs late keeps
// its true RTT, and one done in the kernel by the deadline counts as
// answered even when its callback has not run yet. The prober without the
// kernel's figure (the callback's time) runs beside each as the control.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../lib/engine/clock.js';
import { ProbeEngine } from '../../lib/engine/probe-engine.js';
import { loadNativeSockets } from '../../lib/probes/icmp/native-sockets.js';
import type { Probe, Prober, ProbeSink } from '../../lib/probes/prober.js';
import { TcpProber, type TcpKernelInfo } from '../../lib/probes/tcp/prober.js';
import { parseTargetKey } from '../../lib/target.js';
import { assertHeldOutcome, holdLoop, probeCount } from '../support/held-loop.js';

const HOLD_MS = 50;
const native = loadNativeSockets();
const skip = native.ok ? false : `the addon: ${native.reason} (npm run build:native)`;
const kernel: TcpKernelInfo | undefined = native.ok
  ? {
      tcpInfo: (fd) => native.sockets.tcpInfo(fd),
      established: native.sockets.TCP_ESTABLISHED,
    }
  : undefined;

function tcpProber(withKernel: boolean): TcpProber {
  return new TcpProber({
    nowMs: () => systemClock.nowMs(),
    maxInFlight: 16,
    ...(withKernel && kernel ? { kernel } : {}),
  });
}

/**
 * Holds the loop HOLD_MS once node has called connect(2) (on the next
 * tick after send), so the handshake completes in the kernel while its
 * 'connect' callback waits.
 */
function heldAfterConnect(inner: Prober): Prober {
  return {
    bind: (sink) => inner.bind(sink),
    send: (probe) => {
      const sent = inner.send(probe);
      process.nextTick(() => holdLoop(HOLD_MS));
      return sent;
    },
    collect: (token, seq) => inner.collect?.(token, seq),
    expire: (token, seq) => inner.expire?.(token, seq),
    drain: (family) => inner.drain(family),
    takeProblems: () => inner.takeProblems(),
    close: () => inner.close(),
  };
}

describe('tcp handshake RTTs from the kernel', { skip }, () => {
  let server: Server;
  let port = 0;

  before(async () => {
    server = createServer((s) => s.on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    assert.ok(addr && typeof addr === 'object');
    port = addr.port;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  for (const [withKernel, onTime] of [
    [true, true],
    [false, false],
  ] as const) {
    it(`${withKernel ? 'TCP_INFO' : 'callback time (the control)'}: with the loop held ${HOLD_MS} ms after connect (timeout 20 ms), answers are ${onTime ? 'on time' : 'late and lost'}`, async () => {
      const engine = new ProbeEngine({
        clock: systemClock,
        probers: { tcp: heldAfterConnect(tcpProber(withKernel)) },
        randomUint32: () => Math.floor(Math.random() * 2 ** 32),
      });
      try {
        const target = parseTargetKey(`t@127.0.0.1?probe=tcp&port=${port}`);
        const run = await probeCount(engine, target, { intervalMs: 200, timeoutMs: 20 }, 3);
        // The control: late when 'connect' runs before the deadline's timer;
        // when the timer runs first, the probe is expired and its socket reset.
        assertHeldOutcome(run, 3, onTime, 20);
      } finally {
        engine.close();
      }
    });
  }

  for (const withKernel of [true, false]) {
    it(`collect() at the deadline: a handshake done in the kernel ${withKernel ? 'is the answer, with its RTT' : 'is not seen without TCP_INFO (the control)'}`, async () => {
      const prober = tcpProber(withKernel);
      const replies: number[] = [];
      const sink: ProbeSink = {
        reply: (_token, _seq, _source, atMs) => replies.push(atMs),
        fail: (_token, _seq, reason) => assert.fail(`failed: ${reason}`),
        ignore: () => {},
        findInFlight: () => undefined,
      };
      prober.bind(sink);
      const target = parseTargetKey(`t@127.0.0.1?probe=tcp&port=${port}`);
      const probe: Probe = { target, token: 5, seq: 0, sentAtMs: systemClock.nowMs() };
      try {
        prober.send(probe);
        // After node's connect(2) (queued on the next tick by send), before 'connect' runs.
        await new Promise<void>((resolve) =>
          process.nextTick(() => {
            holdLoop(20);
            prober.collect(probe.token, probe.seq);
            resolve();
          }),
        );
        if (withKernel) {
          assert.equal(replies.length, 1, 'collected at the deadline');
          assert.ok(replies[0]! - probe.sentAtMs < 5, `RTT ${replies[0]! - probe.sentAtMs} ms`);
        } else {
          assert.equal(replies.length, 0, 'nothing to collect without the kernel');
        }
        await sleep(100); // the 'connect' callback, if any, has run by now
        assert.equal(replies.length, 1, 'one answer, not two');
        if (!withKernel) assert.ok(replies[0]! - probe.sentAtMs >= 20, 'the hold is in it');
      } finally {
        prober.close();
      }
    });
  }
});
