// The tracer (lib/path/tracer.ts) on a fake transport and clock: what a
// simulated network answers to each TTL, each answer matched back to its
// probe (whole quote, 8-byte quote, echo reply), others' packets passed
// over, silent hops timed out, and the MTU search with don't-fragment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TRACE_PLAN } from '../../lib/path/trace-run.js';
import { Tracer, type PathTrace } from '../../lib/path/tracer.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeTransport, type SentPacket } from '../support/fake-transport.js';
import { echoReplyFor, fixIcmpChecksum, icmp4Error } from '../support/packets.js';

const ID = 0x4242;
const TARGET = '192.0.2.2';
const ROUTER = '10.0.0.1';

/** A fake transport that takes socket options, as the addon's does. */
class OptionTransport extends FakeTransport {
  readonly options: [number, number, number][] = [];
  setOption(level: number, name: number, value: number): void {
    this.options.push([level, name, value]);
  }
}

/** Runs a trace to the end, advancing the fake clock past each window's timeouts. */
async function run(clock: FakeClock, tracer: Tracer): Promise<PathTrace> {
  let result: PathTrace | undefined;
  const done = tracer.trace(TARGET, 4).then((r) => (result = r));
  for (let i = 0; i < 200 && result === undefined; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(250);
  }
  await done;
  return result!;
}

function setup(answer: (sent: SentPacket, t: FakeTransport) => void, options = false) {
  const clock = new FakeClock(1000);
  const t = options
    ? new OptionTransport(4, () => clock.nowMs())
    : new FakeTransport(4, () => clock.nowMs());
  t.onSend = (sent) => answer(sent, t);
  let r = 7;
  const tracer = new Tracer({
    transports: { 4: t },
    identifier: ID,
    clock,
    randomUint32: () => (r = (r * 1103515245 + 12345) >>> 0),
    plan: DEFAULT_TRACE_PLAN,
    timeoutMs: 1000,
  });
  return { clock, t, tracer };
}

describe('Tracer', () => {
  it('a — router — target: TTL 1 quoted in 8 bytes only, the rest echo replies; a foreign token passed over', async () => {
    const { clock, t, tracer } = setup((sent, tr) => {
      if (sent.ttl === 1) {
        // An old router: the IP header and the first 8 bytes of our echo.
        tr.queue(
          icmp4Error(11, 0, ROUTER, TARGET, sent.packet.subarray(0, 8)),
          ROUTER,
          sent.atMs + 1,
        );
        return;
      }
      const stranger = Buffer.from(sent.packet);
      stranger.writeUInt32BE((stranger.readUInt32BE(12) + 1) >>> 0, 12); // another token
      tr.queue(echoReplyFor(4, stranger, TARGET), TARGET, sent.atMs + 1);
      tr.queue(echoReplyFor(4, sent.packet, TARGET), TARGET, sent.atMs + 2);
    });
    const out = await run(clock, tracer);
    assert.equal(out.reached, true);
    assert.deepEqual(
      out.hops.map((h) => [h.ttl, h.address, h.sent, h.received, h.medianMs]),
      [
        [1, ROUTER, 3, 3, 1],
        [2, TARGET, 3, 3, 2],
      ],
    );
    assert.equal(out.mtu, null, 'no setOption: no MTU search');
    assert.ok(
      t.sent.every((s) => s.ttl !== undefined && s.ttl <= 4),
      'one window of 4 hops',
    );
  });

  it('a silent router times out into a silent hop; the trace still reaches the target', async () => {
    const { clock, tracer } = setup((sent, tr) => {
      if (sent.ttl !== 1) tr.queue(echoReplyFor(4, sent.packet, TARGET), TARGET, sent.atMs + 1);
    });
    const out = await run(clock, tracer);
    assert.deepEqual(
      out.hops.map((h) => [h.address, h.received]),
      [
        [null, 0],
        [TARGET, 3],
      ],
    );
  });

  it("sets don't-fragment and finds the MTU a router tells in Fragmentation Needed", async () => {
    const { clock, t, tracer } = setup((sent, tr) => {
      const ipBytes = 20 + sent.packet.length;
      if ((sent.ttl ?? 64) === 1) {
        tr.queue(icmp4Error(11, 0, ROUTER, TARGET, sent.packet), ROUTER, sent.atMs + 1);
      } else if (ipBytes > 1400) {
        const error = icmp4Error(3, 4, ROUTER, TARGET, sent.packet);
        error.writeUInt16BE(1400, 20 + 6); // the next-hop MTU, after the outer IP header
        fixIcmpChecksum(error, 20);
        tr.queue(error, ROUTER, sent.atMs + 1);
      } else tr.queue(echoReplyFor(4, sent.packet, TARGET), TARGET, sent.atMs + 1);
    }, true);
    const out = await run(clock, tracer);
    assert.deepEqual(
      (t as OptionTransport).options,
      [[0, 10, 3]],
      'IP_MTU_DISCOVER = IP_PMTUDISC_PROBE',
    );
    assert.equal(out.mtu, 1400);
    const big = t.sent.filter((s) => s.packet.length > 100).map((s) => 20 + s.packet.length);
    assert.deepEqual(big, [1500, 1400], 'two probes: 1500 refused with its MTU, 1400 passed');
  });
});
