// The ICMP engine over long seeded-random runs and past the 16-bit sequence wrap.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProbedTarget } from '../../lib/engine/probe-engine.js';
import { SendError } from '../../lib/probes/prober.js';
import type { SentPacket } from '../support/fake-transport.js';
import {
  answer,
  lastSent,
  makeHarness,
  transportFor,
  wideSeqOf,
} from '../support/engine-harness.js';
import { echoReplyFor, icmp4Error, icmp6Error } from '../support/packets.js';
import { seededRandom } from '../support/prng.js';

function assertBalanced(p: ProbedTarget, step: number): void {
  const s = p.stats;
  const where = `${p.key} at step ${step}`;
  assert.equal(
    s.sent,
    s.received + s.lost + p.ledger.inFlight,
    `sent = received + lost + in flight: ${where}`,
  );
  assert.ok(p.ledger.inFlight >= 0, where);
  assert.ok(s.late <= s.lost, `each lost probe is late at most once: ${where}`);
}

describe('ProbeEngine: randomised runs', () => {
  for (const seed of [1, 2, 3]) {
    it(`keeps sent = received + lost + in flight at every step (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(random() * xs.length)];
      const h = makeHarness({ seed });
      const specs: [string, string][] = [
        ['a', '192.0.2.1'],
        ['b', '192.0.2.2'],
        ['c', '192.0.2.2'],
        ['d', '198.51.100.7'],
        ['e', '2001:db8::1'],
        ['f', '2001:db8::2'],
      ];
      const addRandom = ([name, address]: [string, string]): void => {
        h.add(name, address, 100 + Math.floor(random() * 900), 50 + Math.floor(random() * 2500));
      };
      specs.forEach(addRandom);
      const recent = (): SentPacket[] => [...h.t4.sent.slice(-40), ...h.t6.sent.slice(-40)];
      const familyOf = (s: SentPacket): 4 | 6 => (s.address.includes(':') ? 6 : 4);

      for (let step = 0; step < 4000; step++) {
        const r = random();
        // mostly the newest probe of a family (in time), sometimes any recent one
        const newest = (random() < 0.5 ? h.t4 : h.t6).sent.at(-1);
        const s = random() < 0.6 && newest ? newest : pick(recent());
        if (r < 0.35 || !s) {
          h.clock.advance(random() * 250);
        } else if (r < 0.6) {
          answer(transportFor(h, familyOf(s)), s); // received, late or duplicate
        } else if (r < 0.65) {
          const t = transportFor(h, familyOf(s));
          t.queue(echoReplyFor(t.family, s.packet, s.address), s.address);
        } else if (r < 0.72) {
          const quote = random() < 0.5 ? s.packet : s.packet.subarray(0, 8);
          if (familyOf(s) === 4) {
            h.t4.inject(icmp4Error(3, 1, '203.0.113.1', s.address, quote), '203.0.113.1');
          } else {
            const full = `2001:db8:0:0:0:0:0:${s.address.split('::')[1]}`;
            h.t6.inject(icmp6Error(1, 0, full, quote), '2001:db8::fe');
          }
        } else if (r < 0.77) {
          // refused sends come in short spells
          const t = random() < 0.5 ? h.t4 : h.t6;
          t.failWith =
            t.failWith || random() < 0.7 ? undefined : new SendError('ENOBUFS', 'No buffer space');
        } else if (r < 0.785) {
          const spec = pick(specs)!;
          h.engine.remove(`${spec[0]}@${spec[1]}`);
          if (random() < 0.8) addRandom(spec);
        } else if (r < 0.9) {
          const garbage = Buffer.from(
            Array.from({ length: Math.floor(random() * 80) }, () => random() * 256),
          );
          if (garbage.length > 0) garbage[0] = 0x45;
          h.t4.inject(garbage, '192.0.2.1');
        } else if (r < 0.95) {
          h.clock.advance(random() * 20);
        } else {
          // a blocked event loop: replies come in before overdue timeouts run
          h.clock.stall(random() * 600);
          answer(transportFor(h, familyOf(s)), s);
        }
        for (const p of h.engine.targets()) assertBalanced(p, step);
      }

      // Every probe ends once sending stops and the longest timeout passes.
      h.engine.stopSending();
      h.clock.advance(3000);
      for (const p of h.engine.targets()) {
        assertBalanced(p, -1);
        assert.equal(p.ledger.inFlight, 0, p.key);
      }
      const sent = h.t4.sent.length + h.t6.sent.length;
      assert.ok(sent > 500, `a long enough run: ${sent} probes`);
      assert.equal(h.engine.inFlight(), 0);
    });
  }
});

describe('ProbeEngine: 16-bit sequence wrap', () => {
  it('matches replies by the wide sequence after 65536+ probes', () => {
    const h = makeHarness();
    const p = h.add('fast', '192.0.2.1', 1, 3);
    const held = new Map<number, SentPacket>();
    h.t4.onSend = (s) => {
      const seq = wideSeqOf(s);
      if (seq === 5 || seq === 0x1_0005) held.set(seq, s);
      else h.t4.queue(echoReplyFor(4, s.packet, s.address), s.address, s.atMs + 0.25);
    };
    for (let i = 0; i < 70_000 && p.stats.sent < 0x1_0006; i++) {
      h.clock.advance(1);
      if (h.t4.sent.length > 1000) h.t4.sent.splice(0, 900); // bound memory
    }
    assert.equal(p.stats.sent, 0x1_0006, 'the loop reached the wrap');
    const wrapped = held.get(0x1_0005)!;
    assert.equal(wrapped.packet.readUInt16BE(6), 5, 'seq16 is the low 16 bits');
    assert.equal(p.ledger.inFlight, 1, 'only probe 65541 is waiting');

    // A very late reply to probe 5 carries the same seq16 as probe 65541 in flight.
    answer(h.t4, held.get(5)!);
    assert.equal(p.stats.late, 1);
    assert.equal(p.ledger.inFlight, 1, 'probe 65541 is still waiting');
    assert.equal(p.stats.received, 0x1_0006 - 2);

    answer(h.t4, wrapped, wrapped.atMs + 0.5);
    assert.equal(p.stats.received, 0x1_0006 - 1);
    assert.equal(p.stats.lastMs, 0.5);
    assert.equal(p.stats.lost, 1, 'probe 5 alone');
    assert.equal(p.stats.duplicates, 0);
    assert.deepEqual(Object.fromEntries(h.engine.ignored), {});

    for (let i = 0; i < 1000; i++) h.clock.advance(1);
    assert.equal(p.stats.sent, p.stats.received + p.stats.lost + p.ledger.inFlight);
    assert.equal(p.stats.lost, 1, 'every probe past the wrap answered in time');
    assert.ok(lastSent(h.t4).packet.readUInt16BE(6) > 1000);
  });
});
