// The peer responder's rules without sockets: the anti-replay window, the
// per-source rate limit, and the decision for each kind of packet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeUdpPacket, PacketType } from '../../lib/probes/udp/packet.js';
import { PeerPolicy } from '../../lib/probes/udp/peer-policy.js';
import { RateLimiter } from '../../lib/probes/udp/rate-limit.js';
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
    assert.equal(decide(probe(4).subarray(0, 40)), 'peer:truncated');
    assert.equal(decide(Buffer.concat([probe(5), Buffer.alloc(1000)])), 'peer:oversized');
    assert.equal(decide(Buffer.alloc(48, 0x41)), 'peer:foreign');
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
});
