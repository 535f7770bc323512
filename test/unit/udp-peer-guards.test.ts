// The peer responder's rules without sockets: the anti-replay window, the
// per-source rate limit, and the decision for each kind of packet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeUdpPacket, PacketType } from '../../lib/probes/udp/packet.js';
import { PeerPolicy } from '../../lib/probes/udp/peer-policy.js';
import { CheckBudget, RateLimiter } from '../../lib/probes/udp/rate-limit.js';
import { ownAddresses } from '../../lib/probes/udp/own-addresses.js';
import { ReplayWindow, WINDOW_SEQS } from '../../lib/probes/udp/replay-window.js';

const NOW = 1_764_000_000_000; // a wall clock, Unix ms

describe('replay window', () => {
  const check = (w: ReplayWindow, seq: number, token = 7, sentAt = NOW, nonceLo = 2) =>
    w.check(1, nonceLo, token, seq, sentAt, NOW);

  it('answers each sequence of a stream once, in any order within the window', () => {
    const w = new ReplayWindow();
    for (const seq of [0, 1, 2, 5, 4, 3, 100, 50]) assert.equal(check(w, seq), 'fresh', `${seq}`);
    for (const seq of [0, 1, 2, 5, 4, 3, 100, 50]) assert.equal(check(w, seq), 'replay', `${seq}`);
  });

  it('refuses what is older than the window, and forgets nothing inside it', () => {
    const w = new ReplayWindow();
    assert.equal(check(w, 0), 'fresh');
    assert.equal(check(w, WINDOW_SEQS + 10), 'fresh');
    assert.equal(check(w, 10), 'replay', 'top - 1024: out of the window');
    assert.equal(check(w, 11), 'fresh', 'top - 1023: in the window, unseen');
    // A jump of more than a window, then the slots reused must read unseen.
    assert.equal(check(w, 5 * WINDOW_SEQS), 'fresh');
    assert.equal(check(w, 5 * WINDOW_SEQS - 1), 'fresh');
    assert.equal(check(w, 5 * WINDOW_SEQS - 1), 'replay');
    // Sequences beyond 2^32 work as well.
    assert.equal(check(w, 2 ** 40), 'fresh');
    assert.equal(check(w, 2 ** 40 - 3), 'fresh');
    assert.equal(check(w, 2 ** 40 - 3), 'replay');
  });

  it('keeps streams apart: another token or another nonce is another stream', () => {
    const w = new ReplayWindow();
    assert.equal(check(w, 3, 7), 'fresh');
    assert.equal(check(w, 3, 8), 'fresh');
    assert.equal(check(w, 3, 7, NOW, 9), 'fresh');
    assert.equal(check(w, 3, 8), 'replay');
  });

  it('refuses probes sent longer ago (or later) than maxAgeMs, and NaN times', () => {
    const w = new ReplayWindow({ maxAgeMs: 30_000 });
    assert.equal(check(w, 0, 7, NOW - 30_000), 'fresh');
    assert.equal(check(w, 1, 7, NOW - 30_001), 'stale');
    assert.equal(check(w, 2, 7, NOW + 30_001), 'stale');
    assert.equal(check(w, 3, 7, NaN), 'stale');
    assert.equal(check(w, 1, 7, NOW), 'fresh', 'a stale probe is not recorded');
  });

  it('holds at most maxStreams, evicting the least recently used', () => {
    const w = new ReplayWindow({ maxStreams: 3 });
    for (const token of [1, 2, 3]) assert.equal(check(w, 0, token), 'fresh');
    assert.equal(check(w, 1, 1), 'fresh'); // stream 1 used: 2 is now the oldest
    assert.equal(check(w, 0, 4), 'fresh'); // evicts 2
    assert.equal(w.size, 3);
    assert.equal(check(w, 0, 1), 'replay', 'stream 1 kept');
    assert.equal(check(w, 0, 3), 'replay', 'stream 3 kept');
    // Stream 2 was forgotten (the documented hole the age check bounds).
    assert.equal(check(w, 0, 2), 'fresh');
    assert.equal(w.size, 3);
  });
});

describe('rate limiter', () => {
  it('gives a source ratePerS answers at once, then ratePerS a second', () => {
    const r = new RateLimiter({ ratePerS: 10 });
    let given = 0;
    for (let i = 0; i < 20; i++) if (r.take('a', 0)) given++;
    assert.equal(given, 10);
    assert.equal(r.take('a', 99), false, '0.99 token after 99 ms');
    assert.equal(r.take('a', 100), true, 'one token after 100 ms');
    assert.equal(r.take('a', 100), false);
    given = 0;
    for (let t = 200; t <= 1_100; t += 100) if (r.take('a', t)) given++;
    assert.equal(given, 10, 'one every 100 ms');
    // Idle for long: no more than one second's worth.
    given = 0;
    for (let i = 0; i < 20; i++) if (r.take('a', 60_000)) given++;
    assert.equal(given, 10);
  });

  it('counts each source apart', () => {
    const r = new RateLimiter({ ratePerS: 2 });
    assert.deepEqual(
      ['a', 'b', 'a', 'b', 'a', 'b'].map((s) => r.take(s, 0)),
      [true, true, true, true, false, false],
    );
  });

  it('holds at most maxSources buckets; an evicted source starts afresh', () => {
    const r = new RateLimiter({ ratePerS: 1, maxSources: 2 });
    assert.equal(r.take('a', 0), true);
    assert.equal(r.take('b', 0), true);
    assert.equal(r.take('a', 0), false);
    assert.equal(r.take('c', 0), true); // evicts b, the least recently used
    assert.equal(r.size, 2);
    assert.equal(r.take('a', 0), false, 'a kept, still empty');
    assert.equal(r.take('b', 0), true, 'b forgotten: a full bucket again');
  });

  it('does not go backwards with a clock that does', () => {
    const r = new RateLimiter({ ratePerS: 1 });
    assert.equal(r.take('a', 1_000), true);
    assert.equal(r.take('a', 0), false);
  });
});

describe('peer policy', () => {
  const KEY = Buffer.from('policy-test-key-0123456789');
  const fields = (seq: number, extra: Partial<{ sentAtWallMs: number; token: number }> = {}) => ({
    token: 42,
    seq,
    sentAtWallMs: NOW,
    nonceHi: 1,
    nonceLo: 2,
    toAddress: '192.0.2.9',
    toPort: 9923,
    ...extra,
  });
  const probe = (seq: number, key = KEY, extra = {}) =>
    encodeUdpPacket(PacketType.probe, fields(seq, extra), key);
  const policy = (rate = 1000) => new PeerPolicy({ key: KEY, maxRatePerS: rate });

  it('answers a valid probe with the echo of its fields, as an answer, of the same size', () => {
    const p = probe(9);
    const d = policy().decide(p, '192.0.2.1', 0, NOW);
    assert.ok(d.answer);
    assert.equal(d.answer.length, p.length);
    assert.deepEqual(d.answer, encodeUdpPacket(PacketType.answer, fields(9), KEY));
  });

  it('drops and names every packet it must not answer', () => {
    const pol = policy();
    const ok = probe(1);
    const decide = (packet: Buffer, source = '192.0.2.1') =>
      pol.decide(packet, source, 0, NOW).drop;
    assert.equal(decide(ok), undefined);
    assert.equal(decide(ok), 'peer:replay');
    assert.equal(decide(ok, '198.51.100.7'), 'peer:replay', 'a replay from another address');
    assert.equal(decide(probe(2, Buffer.from('the wrong key, 16+ chars'))), 'peer:bad-mac');
    const flipped = Buffer.from(probe(3));
    flipped[20]! ^= 0x80;
    assert.equal(decide(flipped), 'peer:bad-mac');
    assert.equal(decide(probe(4).subarray(0, 60)), 'peer:truncated');
    assert.equal(decide(Buffer.concat([probe(5), Buffer.alloc(1000)])), 'peer:oversized');
    assert.equal(decide(Buffer.alloc(68, 0x41)), 'peer:foreign');
    assert.equal(decide(encodeUdpPacket(PacketType.answer, fields(6), KEY)), 'peer:foreign');
    assert.equal(decide(probe(7, KEY, { sentAtWallMs: NOW - 60_000 })), 'peer:stale');
    // None of the refused ones used up sequence 3, 4, 5 or 7.
    assert.equal(decide(probe(3)), undefined);
  });

  it('limits answers per source address per second, after every other check', () => {
    const pol = policy(3);
    const sources = ['192.0.2.1', '192.0.2.1', '192.0.2.1', '192.0.2.1', '192.0.2.2'];
    const drops = sources.map((s, i) => pol.decide(probe(i), s, 0, NOW).drop);
    assert.deepEqual(drops, [undefined, undefined, undefined, 'peer:rate-limit', undefined]);
    // Bad packets from a spoofed 192.0.2.3 do not use up its answers.
    for (let i = 0; i < 10; i++) pol.decide(probe(100 + i).subarray(0, 47), '192.0.2.3', 0, NOW);
    for (let i = 0; i < 10; i++)
      pol.decide(probe(200 + i, Buffer.from('wrong key wrong key')), '192.0.2.3', 0, NOW);
    assert.equal(pol.decide(probe(300), '192.0.2.3', 0, NOW).drop, undefined);
    // A second later, the first source has answers again.
    assert.equal(pol.decide(probe(400), '192.0.2.1', 1000, NOW).drop, undefined);
  });

  it('answers only a probe sent to one of its addresses and its port', () => {
    const pol = new PeerPolicy({
      key: KEY,
      maxRatePerS: 1000,
      isOurs: (address, port) => address === '192.0.2.9' && port === 9923,
    });
    assert.equal(pol.decide(probe(1), '198.51.100.1', 0, NOW).drop, undefined);
    const elsewhere = probe(2, KEY, { toAddress: '192.0.2.10' });
    assert.equal(pol.decide(elsewhere, '198.51.100.1', 0, NOW).drop, 'peer:not-our-address');
    const otherPort = probe(3, KEY, { toPort: 9924 });
    assert.equal(pol.decide(otherPort, '198.51.100.1', 0, NOW).drop, 'peer:not-our-address');
  });

  it('spends its check budget before the MAC, and keeps a reserve for proven sources', () => {
    const pol = new PeerPolicy({ key: KEY, maxRatePerS: 1000, maxChecksPerS: 8 });
    // 192.0.2.1 proves the key; then forged ones from elsewhere may take 6 of 8 checks.
    assert.equal(pol.decide(probe(1), '192.0.2.1', 0, NOW).drop, undefined);
    const wrong = Buffer.from('the wrong key, 16+ chars');
    const forged = Array.from(
      { length: 10 },
      (_, i) => pol.decide(probe(10 + i, wrong), `203.0.113.${i}`, 0, NOW).drop,
    );
    assert.deepEqual(forged.filter((d) => d === 'peer:bad-mac').length, 5);
    assert.deepEqual(forged.filter((d) => d === 'peer:budget').length, 5);
    // The proven source still gets its checks from the reserve, then none.
    assert.equal(pol.decide(probe(2), '192.0.2.1', 0, NOW).drop, undefined);
    assert.equal(pol.decide(probe(3), '192.0.2.1', 0, NOW).drop, undefined);
    assert.equal(pol.decide(probe(4), '192.0.2.1', 0, NOW).drop, 'peer:budget');
    // Refilled a second later; junk that fails the form costs nothing.
    for (let i = 0; i < 100; i++)
      assert.equal(pol.decide(Buffer.alloc(68), '203.0.113.1', 1000, NOW).drop, 'peer:foreign');
    assert.equal(pol.decide(probe(5), '203.0.113.200', 1000, NOW).drop, undefined);
  });
});

describe('check budget', () => {
  it('forgets a proven source after its time', () => {
    const b = new CheckBudget({ perS: 4, provenForMs: 100 });
    b.proved('a', 0);
    for (let i = 0; i < 3; i++) assert.ok(b.take('x', 0), `unproven ${i}`);
    assert.ok(!b.take('x', 0), 'the reserve is not for x');
    assert.ok(b.take('a', 0), 'a takes the reserve');
    assert.ok(!b.take('a', 200), 'a is no longer proven (and the bucket holds 0.8)');
  });
});

describe('own addresses', () => {
  it('bound to one address: that one and the port, and the advertised ones', () => {
    const ours = ownAddresses({
      host: '127.0.0.1',
      port: () => 9923,
      also: ['203.0.113.5'],
      nowMs: () => 0,
    });
    assert.ok(ours('127.0.0.1', 9923));
    assert.ok(ours('203.0.113.5', 9923));
    assert.ok(!ours('127.0.0.3', 9923));
    assert.ok(!ours('127.0.0.1', 9924));
  });

  it('bound to all: the interfaces, the loopback range, re-read on a miss at most every 10 s', () => {
    let now = 0;
    let addresses = ['192.0.2.9', '2001:db8::9'];
    let reads = 0;
    const ours = ownAddresses({
      host: undefined,
      port: () => 9923,
      interfaceAddresses: () => {
        reads++;
        return addresses;
      },
      nowMs: () => now,
    });
    assert.ok(ours('192.0.2.9', 9923) && ours('2001:db8::9', 9923));
    assert.ok(ours('127.0.0.3', 9923) && ours('::1', 9923));
    assert.ok(!ours('198.51.100.1', 9923));
    addresses = ['192.0.2.9', '198.51.100.1'];
    assert.ok(!ours('198.51.100.1', 9923), 'not re-read yet');
    now = 10_000;
    assert.ok(ours('198.51.100.1', 9923), 'an address added since');
    assert.ok(!ours('198.51.100.2', 9923));
    assert.equal(reads, 2);
  });
});
