// udp RTTs from the kernel's clock, on real loopback sockets: a probe
// whose answer is read late keeps its true RTT (the prober's receive stamp),
// and a responder whose loop is busy says how long it held the probe, which
// the prober takes off the RTT. node's dgram (stamps on reading) runs beside
// each as the control that shows the test can fail.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { systemClock } from '../../lib/engine/clock.js';
import { ProbeEngine } from '../../lib/engine/probe-engine.js';
import { loadNativeSockets } from '../../lib/probes/icmp/native-sockets.js';
import { openUdpTransport } from '../../lib/probes/udp/open-transport.js';
import { UdpProber } from '../../lib/probes/udp/prober.js';
import { PeerResponder } from '../../lib/probes/udp/responder.js';
import type { UdpTransportChoice } from '../../lib/probes/udp/transport-choice.js';
import type { UdpTransport } from '../../lib/probes/udp/transport.js';
import { parseTargetKey } from '../../lib/target.js';
import { assertHeldOutcome, holdLoop, probeCount } from '../support/held-loop.js';

const KEY = Buffer.from('udp-kernel-stamps-test-key');
const HOLD_MS = 50;
const native = loadNativeSockets();
const skip = native.ok ? false : `the addon: ${native.reason} (npm run build:native)`;

/** Holds the event loop for HOLD_MS right after every send, as a long scrape would. */
function heldAfterSend(inner: UdpTransport): UdpTransport {
  return {
    family: inner.family,
    transport: inner.transport,
    clock: inner.clock,
    send: (packet, address, port, onError) => {
      const sentAt = inner.send(packet, address, port, onError);
      holdLoop(HOLD_MS);
      return sentAt;
    },
    onDatagram: (handler) => inner.onDatagram(handler),
    onIcmpError: (handler) => inner.onIcmpError(handler),
    address: () => inner.address(),
    drain: () => inner.drain(),
    takeProblems: () => inner.takeProblems(),
    close: () => inner.close(),
  };
}

async function engineOn(choice: UdpTransportChoice): Promise<ProbeEngine> {
  const socket = await openUdpTransport(choice, { family: 4, host: '127.0.0.1' });
  assert.equal(socket.transport, choice);
  const prober = new UdpProber({ key: KEY, transports: { 4: heldAfterSend(socket) } });
  return new ProbeEngine({
    clock: systemClock,
    probers: { udp: prober },
    randomUint32: () => Math.floor(Math.random() * 2 ** 32),
  });
}

/** A peer responder in a process of its own (its loop is not held), on dgram; its port. */
async function otherProcessResponder(): Promise<{ child: ChildProcess; port: number }> {
  const responderJs = new URL('../../lib/probes/udp/responder.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { PeerResponder } from ${JSON.stringify(responderJs)};
       const r = await PeerResponder.start({ key: Buffer.from(${JSON.stringify(KEY.toString())}),
         listen: { host: '127.0.0.1', port: 0 }, maxRatePerS: 1000, transport: 'dgram' });
       process.stdout.write(r.address().port + '\\n');`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const timer = setTimeout(() => child.kill(), 10_000);
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  clearTimeout(timer);
  return { child, port: Number(chunk.toString().trim()) };
}

describe('udp kernel receive stamps: an answer read late keeps its RTT', { skip }, () => {
  for (const [choice, onTime] of [
    ['native', true],
    ['dgram', false],
  ] as const) {
    it(`${choice}: with the loop held ${HOLD_MS} ms after each send (timeout 20 ms), answers are ${onTime ? 'on time' : 'late and lost (the control)'}`, async () => {
      const { child, port } = await otherProcessResponder();
      const engine = await engineOn(choice);
      try {
        const target = parseTargetKey(`peer@127.0.0.1?probe=udp&port=${port}`);
        const run = await probeCount(engine, target, { intervalMs: 200, timeoutMs: 20 }, 3);
        const s = assertHeldOutcome(run, 3, onTime, 20);
        if (!onTime) assert.equal(s.late, 3, 'each answer came, late');
      } finally {
        engine.close();
        child.kill();
      }
    });
  }
});

describe("a busy responder's hold is not in the RTT", { skip }, () => {
  for (const [choice, held] of [
    ['native', false],
    ['dgram', true],
  ] as const) {
    it(`${choice}: prober and responder share one loop held ${HOLD_MS} ms after each send; the RTT ${held ? 'holds it (the control)' : 'does not'}`, async () => {
      // One process: the hold after the prober's send keeps the responder
      // from reading the probe too. With kernel stamps the responder's
      // answer says it held the probe ~HOLD_MS, and the prober, whose own
      // stamp of the answer is ~HOLD_MS after its send, takes that off.
      const responder = await PeerResponder.start({
        key: KEY,
        listen: { host: '127.0.0.1', port: 0 },
        maxRatePerS: 1000,
        transport: choice,
      });
      const engine = await engineOn(choice);
      try {
        const target = parseTargetKey(`peer@127.0.0.1?probe=udp&port=${responder.address().port}`);
        const run = await probeCount(engine, target, { intervalMs: 200, timeoutMs: 1_000 }, 3);
        const s = run.stats.summary();
        assert.deepEqual([s.sent, s.received, s.lost], [3, 3, 0], JSON.stringify(s));
        if (held) assert.ok((s.minMs ?? 0) >= HOLD_MS - 1, `min RTT ${s.minMs} ms`);
        else assert.ok((s.maxMs ?? Infinity) < 10, `max RTT ${s.maxMs} ms`);
      } finally {
        engine.close();
        await responder.close();
      }
    });
  }
});
