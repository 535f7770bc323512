// The fault responder's packets and plan, byte by byte and without root: what
// it sends must decode in netpingd's decoder as the fault it stands for, and
// its choices must replay from the seed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeReceived, encodeEchoRequest } from '../../lib/probes/icmp/packet.js';
import { ACTIONS, decide, requestKey, type ResponderConfig } from '../support/fault-plan.js';
import { ipv4Header } from '../support/packets.js';
import {
  corruptReply,
  echoReply,
  expandIpv6,
  foreignReply,
  parseEchoRequest,
  truncatedReply,
  unreachableFor,
} from '../support/responder-packets.js';

const ID = 0x1234;
const TOKEN = 0xdeadbeef;
const WIDE = 2 ** 33 + 70_000;

/** An echo request as the far end's raw socket receives it. */
function received(family: 4 | 6): Buffer {
  const icmp = encodeEchoRequest(
    family,
    { identifier: ID, token: TOKEN, wideSeq: WIDE, sentAtMs: 1.5 },
    Buffer.alloc(64),
  );
  return family === 4 ? Buffer.concat([ipv4Header('10.200.0.1', '10.200.0.2', 1, 64), icmp]) : icmp;
}

/** What netpingd's raw socket would hand over for an ICMP message we send. */
function asReceivedByDaemon(family: 4 | 6, icmp: Buffer): Buffer {
  return family === 4
    ? Buffer.concat([ipv4Header('10.200.0.2', '10.200.0.1', 1, icmp.length), icmp])
    : icmp;
}

describe('responder packets', () => {
  for (const family of [4, 6] as const) {
    const req = parseEchoRequest(family, received(family));

    it(`IPv${family}: reads identifier, sequence and our wide sequence from a request`, () => {
      assert.ok(req);
      assert.deepEqual([req.id, req.seq, req.wideSeq], [ID, WIDE % 0x10000, WIDE]);
      assert.equal(parseEchoRequest(family, echoReply(family, req)), undefined, 'not a request');
    });

    it(`IPv${family}: a reply, a foreign reply and a truncated one decode as such`, () => {
      assert.ok(req);
      const reply = decodeReceived(family, asReceivedByDaemon(family, echoReply(family, req)));
      assert.ok(reply.kind === 'reply' && reply.identifier === ID);
      assert.deepEqual(reply.echo, { token: TOKEN, wideSeq: WIDE, sentAtMs: 1.5 });
      const foreign = decodeReceived(family, asReceivedByDaemon(family, foreignReply(family, req)));
      assert.ok(foreign.kind === 'reply' && foreign.identifier !== ID);
      const cut = truncatedReply(family, req);
      assert.equal(cut.length, 20);
      const truncated = decodeReceived(family, asReceivedByDaemon(family, cut));
      // Never a reply that carries our fields: malformed, or a reply without them.
      assert.ok(
        truncated.kind === 'malformed' || (truncated.kind === 'reply' && !truncated.echo),
        JSON.stringify(truncated),
      );
    });

    it(`IPv${family}: destination unreachable quotes the request so it matches the probe`, () => {
      assert.ok(req);
      const err = unreachableFor(
        family,
        req,
        family === 4 ? '10.200.0.1' : 'fd00:200::1',
        family === 4 ? '10.200.0.2' : 'fd00:200::2',
      );
      const decoded = decodeReceived(family, asReceivedByDaemon(family, err));
      assert.equal(decoded.kind, 'error');
      assert.ok(decoded.kind === 'error');
      assert.equal(decoded.reason, family === 4 ? 'host-unreachable' : 'address-unreachable');
      assert.equal(decoded.identifier, ID);
      assert.equal(decoded.echo?.wideSeq, WIDE);
      assert.equal(decoded.echo?.token, TOKEN);
    });
  }

  it('IPv4: a corrupt reply fails the checksum', () => {
    const req = parseEchoRequest(4, received(4))!;
    const decoded = decodeReceived(4, asReceivedByDaemon(4, corruptReply(4, req)));
    assert.deepEqual(decoded, { kind: 'malformed', reason: 'checksum' });
  });

  it('expands IPv6 text to the eight groups ipv6Header() takes', () => {
    assert.equal(expandIpv6('fd00:200::1'), 'fd00:200:0:0:0:0:0:1');
    assert.equal(expandIpv6('::1'), '0:0:0:0:0:0:0:1');
    assert.equal(expandIpv6('fe80::'), 'fe80:0:0:0:0:0:0:0');
    assert.equal(expandIpv6('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
    assert.throws(() => expandIpv6('::ffff:1.2.3.4'));
  });
});

describe('fault plan', () => {
  const cfg: ResponderConfig = {
    family: 4,
    seed: 9,
    faults: { drop: 0.2, dup: 0.1, late: 0.05 },
    delayMs: 10,
    jitterMs: 5,
    lateMs: 500,
    logPath: '/dev/null',
    localAddress: '10.200.0.2',
    maxLifetimeMs: 1,
  };

  it('decides from the seed and the request alone, in the given proportions', () => {
    const n = 20_000;
    const counts = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<string, number>;
    for (let k = 0; k < n; k++) {
      const d = decide(cfg, requestKey(k, ID, k & 0xffff), false);
      assert.deepEqual(decide(cfg, requestKey(k, ID, k & 0xffff), false), d, 'replays');
      counts[d.action]!++;
      if (d.action === 'late') assert.equal(d.holdMs, 500);
      if (d.action === 'reply') assert.ok(d.holdMs >= 5 && d.holdMs <= 15, `hold ${d.holdMs}`);
    }
    for (const [action, p] of Object.entries({ drop: 0.2, dup: 0.1, late: 0.05, reply: 0.65 })) {
      // Within 5 standard deviations of a binomial count.
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(counts[action]! - n * p) < 5 * sd, `${action}: ${counts[action]}`);
    }
    assert.equal(counts.foreign, 0);
  });

  it('answers everything promptly once told to stop injecting', () => {
    for (let k = 0; k < 100; k++)
      assert.deepEqual(decide(cfg, k, true), { action: 'reply', holdMs: 0 });
  });

  it('keys other pingers by identifier and sequence, apart from our wide sequences', () => {
    assert.notEqual(requestKey(null, 1, 2), requestKey(null, 2, 1));
    assert.ok(requestKey(null, 0, 0) > 2 ** 31 - 1);
    assert.equal(requestKey(5, 1, 2), 5);
  });
});
