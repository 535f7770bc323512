// The ICMP transports on real sockets, without a daemon: a reply read late
// keeps the RTT the kernel saw, and the raw socket's kernel filter keeps
// another pinger's replies away from JavaScript. raw-socket (user-space
// stamps, no filter) runs beside each as the control that shows the test
// can fail.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Family } from '../../lib/address.js';
import { systemClock } from '../../lib/engine/clock.js';
import { ProbeEngine, type ProbedTarget } from '../../lib/engine/probe-engine.js';
import { loadNativeSockets } from '../../lib/probes/icmp/native-sockets.js';
import { openIcmpTransports } from '../../lib/probes/icmp/open-transports.js';
import { IcmpProber } from '../../lib/probes/icmp/prober.js';
import type { IcmpTransportChoice } from '../../lib/probes/icmp/transport-choice.js';
import type { IcmpTransport } from '../../lib/probes/icmp/transport.js';
import { makeTarget, targetKey } from '../../lib/target.js';
import { holdLoop, probeCount } from '../support/held-loop.js';

const HOLD_MS = 50;
const TIMEOUT_MS = 20;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'raw sockets need root';
  const native = loadNativeSockets();
  if (!native.ok) return `the addon: ${native.reason} (npm run build:native)`;
  return undefined;
}

/** Holds the event loop for `HOLD_MS` right after every send, as a long scrape would. */
class HeldAfterSend implements IcmpTransport {
  constructor(readonly inner: IcmpTransport) {}
  get family(): Family {
    return this.inner.family;
  }
  get ipHeader(): boolean | undefined {
    return this.inner.ipHeader;
  }
  send(packet: Buffer, address: string): number | void {
    const sentAt = this.inner.send(packet, address);
    holdLoop(HOLD_MS);
    return sentAt;
  }
  onPacket(handler: Parameters<IcmpTransport['onPacket']>[0]): void {
    this.inner.onPacket(handler);
  }
  takeProblems(): string[] {
    return this.inner.takeProblems();
  }
  drain(): void {
    this.inner.drain();
  }
  close(): void {
    this.inner.close();
  }
}

async function openEngine(
  choice: IcmpTransportChoice,
  wrap: (t: IcmpTransport) => IcmpTransport = (t) => t,
): Promise<{ engine: ProbeEngine; transport: string }> {
  const opened = await openIcmpTransports(choice, () => {});
  const transports: Partial<Record<Family, IcmpTransport>> = {};
  for (const t of Object.values(opened.transports)) transports[t.family] = wrap(t);
  const prober = new IcmpProber({ transports, identifier: opened.identifier, payloadBytes: 56 });
  const engine = new ProbeEngine({
    clock: systemClock,
    probers: { icmp: prober },
    randomUint32: () => Math.floor(Math.random() * 2 ** 32),
  });
  return { engine, transport: opened.info.transport };
}

/** Sends `count` probes to `address` and waits for their ends. */
function probe(
  engine: ProbeEngine,
  address: string,
  intervalMs: number,
  count: number,
): Promise<ProbedTarget> {
  return probeCount(engine, makeTarget('t', address), { intervalMs, timeoutMs: TIMEOUT_MS }, count);
}

describe(
  'kernel receive stamps: a reply read late keeps its RTT',
  { skip: skipReason() ?? false },
  () => {
    for (const [address, label] of [
      ['127.0.0.1', 'IPv4'],
      ['::1', 'IPv6'],
    ] as const) {
      it(`${label}: with the loop held ${HOLD_MS} ms after each send, replies are on time (timeout ${TIMEOUT_MS} ms)`, async () => {
        const { engine, transport } = await openEngine('auto', (t) => new HeldAfterSend(t));
        try {
          assert.notEqual(transport, 'raw-socket');
          const run = await probe(engine, address, 200, 3);
          const s = run.stats.summary();
          assert.equal(s.sent, 3);
          assert.equal(s.received, 3, JSON.stringify(s));
          assert.equal(s.lost, 0);
          assert.equal(s.late, 0);
          assert.ok((s.maxMs ?? Infinity) < TIMEOUT_MS, `max RTT ${s.maxMs} ms`);
        } finally {
          engine.close();
        }
      });
    }

    it('control: raw-socket stamps on reading, so the same replies count as late and lost', async () => {
      const { engine, transport } = await openEngine('raw-socket', (t) => new HeldAfterSend(t));
      try {
        assert.equal(transport, 'raw-socket');
        const run = await probe(engine, '127.0.0.1', 200, 3);
        const s = run.stats.summary();
        assert.equal(s.sent, 3);
        assert.equal(s.received, 0, JSON.stringify(s));
        assert.equal(s.lost, 3);
        assert.equal(s.late, 3);
      } finally {
        engine.close();
      }
    });
  },
);

/** iputils ping toward 127.0.0.1 as another process: `count` echoes, 10 ms apart. */
function otherPinger(count: number): void {
  const r = spawnSync('ping', ['-q', '-n', '-i', '0.01', '-c', String(count), '127.0.0.1'], {
    timeout: 10_000,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `ping failed: ${r.stderr}`);
}

describe(
  "the raw socket filter: another pinger's replies never reach JavaScript",
  { skip: skipReason() ?? (spawnSync('ping', ['-V']).status !== 0 ? 'no ping' : false) },
  () => {
    for (const [choice, seen] of [
      ['raw', false],
      ['raw-socket', true],
    ] as const) {
      it(`${choice}: foreign replies ${seen ? 'counted (no filter: the control)' : 'never seen'}`, async () => {
        const { engine, transport } = await openEngine(choice);
        try {
          assert.equal(transport, choice);
          const target = makeTarget('t', '127.0.0.1');
          engine.add(target, { intervalMs: 100, timeoutMs: 1000 });
          // Our own probes go on meanwhile, so our socket is read throughout.
          otherPinger(100);
          await sleep(300);
          const foreign = engine.ignored.get('foreign') ?? 0;
          const ours = engine.get(targetKey(target))!.stats.summary();
          assert.ok(ours.received > 0, 'our own probes were answered');
          if (seen) assert.ok(foreign >= 100, `${foreign} foreign replies counted`);
          else assert.equal(foreign, 0, `${foreign} foreign replies reached JavaScript`);
        } finally {
          engine.close();
        }
      });
    }
  },
);

describe('the addon in a worker thread', { skip: skipReason() ?? false }, () => {
  it('loads, pings 127.0.0.1 and closes with the worker (context-aware: no state shared with the main thread)', async () => {
    // The main thread holds the addon too, so the worker's is a second instance of it.
    assert.ok(loadNativeSockets().ok);
    const script = `
      const { parentPort } = require('node:worker_threads');
      const { createRequire } = require('node:module');
      const native = createRequire(${JSON.stringify(import.meta.url)})(${JSON.stringify(
        new URL('../../../native/build/Release/netping_sockets.node', import.meta.url).pathname,
      )});
      const slab = Buffer.alloc(2048 * 4), info = new Int32Array(16), times = new Float64Array(4);
      const sources = [], destinations = [];
      let socket;
      socket = new native.ProbeSocket(4, false, 0x5151, 1 << 20, () => {
        const n = socket.receive(slab, 2048, info, times, sources, destinations);
        if (n > 0) parentPort.postMessage({ bytes: info[0], source: sources[0] });
      });
      const echo = Buffer.alloc(64);
      echo[0] = 8;
      echo.writeUInt16BE(0x5151, 4);
      let sum = 0;
      for (let i = 0; i < echo.length; i += 2) sum += echo.readUInt16BE(i);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      echo.writeUInt16BE(~sum & 0xffff, 2);
      socket.send(echo, '127.0.0.1', 0);
    `;
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(script, { eval: true });
    try {
      const reply = await new Promise<{ bytes: number; source: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no reply in the worker in 5 s')), 5_000);
        worker.once('message', (m: { bytes: number; source: string }) => {
          clearTimeout(timer);
          resolve(m);
        });
        worker.once('error', reject);
      });
      assert.equal(reply.source, '127.0.0.1');
      assert.equal(reply.bytes, 84, 'an IPv4 header and our 64-byte echo');
    } finally {
      // The socket is still open: the addon's cleanup hook closes it with the worker.
      assert.equal(await worker.terminate(), 1);
    }
  });
});
