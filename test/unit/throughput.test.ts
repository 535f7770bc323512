// The throughput protocol, meter, responder policy, target options and
// runner schedule, without sockets: bytes in, bytes out, an injected clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTargetKey, targetMember } from '../../lib/target.js';
import { Meter, bitsPerSecond, median } from '../../lib/throughput/meter.js';
import { ResponderPolicy } from '../../lib/throughput/policy.js';
import {
  decodeChallenge,
  encodeChallenge,
  encodeReply,
  encodeRequest,
  encodeResult,
  FixedReader,
  REQUEST_BYTES,
  verifyReply,
  verifyRequest,
  verifyResult,
  type Request,
} from '../../lib/throughput/protocol.js';
import { ThroughputRunner } from '../../lib/throughput/runner.js';
import type { TestOptions, TestResult } from '../../lib/throughput/client.js';
import { FakeClock } from '../support/fake-clock.js';

const KEY = Buffer.from('a-peer-key-of-some-length');
const nonce = Buffer.alloc(16, 7);
const request: Request = {
  clientNonce: Buffer.alloc(16, 1),
  testId: Buffer.alloc(16, 2),
  mode: 'upload',
  durationMs: 5000,
};

describe('throughput protocol', () => {
  it('a request proves the key for this challenge only', () => {
    assert.deepEqual(decodeChallenge(encodeChallenge(nonce)), nonce);
    const bytes = encodeRequest(KEY, nonce, request);
    assert.equal(bytes.length, REQUEST_BYTES);
    assert.deepEqual(verifyRequest(KEY, nonce, bytes), request);
    assert.equal(verifyRequest(Buffer.from('another-key-entirely'), nonce, bytes), undefined);
    assert.equal(verifyRequest(KEY, Buffer.alloc(16, 8), bytes), undefined, 'replayed elsewhere');
    const tampered = Buffer.from(bytes);
    tampered[37]! ^= 1; // the duration
    assert.equal(verifyRequest(KEY, nonce, tampered), undefined);
    assert.equal(verifyRequest(KEY, nonce, bytes.subarray(1)), undefined);
  });

  it('reply and result prove the server knows the key, bound to the request', () => {
    const reply = encodeReply(KEY, nonce, request, { status: 'ok', grantedMs: 3000 });
    assert.deepEqual(verifyReply(KEY, nonce, request, reply), { status: 'ok', grantedMs: 3000 });
    assert.equal(verifyReply(KEY, nonce, { ...request, mode: 'download' }, reply), undefined);
    assert.equal(verifyReply(Buffer.from('wrong-key-wrong-key'), nonce, request, reply), undefined);
    const busy = encodeReply(KEY, nonce, request, { status: 'busy', grantedMs: 0 });
    assert.equal(verifyReply(KEY, nonce, request, busy)?.status, 'busy');
    const result = encodeResult(KEY, nonce, request, { bytes: 12_345_678_901, micros: 2_000_123 });
    assert.deepEqual(verifyResult(KEY, nonce, request, result), {
      bytes: 12_345_678_901,
      micros: 2_000_123,
    });
    const forged = Buffer.from(result);
    forged[3]! ^= 0x10;
    assert.equal(verifyResult(KEY, nonce, request, forged), undefined);
  });

  it('a fixed reader takes a message over several chunks and hands on the rest', () => {
    const r = new FixedReader(5);
    assert.equal(r.push(Buffer.from('ab')), undefined);
    const got = r.push(Buffer.from('cdefg'));
    assert.equal(got?.message.toString(), 'abcde');
    assert.equal(got?.rest.toString(), 'fg');
  });
});

describe('throughput meter', () => {
  it('counts from the read before the window to the last read in it', () => {
    const m = new Meter(1000, 2000);
    m.add(0, 1000); // first byte: the window is (1000, 3000]
    for (let t = 100; t <= 3500; t += 100) m.add(t, 1000);
    // The read at 1000 ms opens it (reads after it count), the one at 3000 ms is its last.
    assert.deepEqual(m.measured(), { bytes: 20 * 1000, micros: 2_000_000 });
    assert.equal(bitsPerSecond(m.measured()), 80_000);
    assert.equal(m.totalBytes, 36_000);
    assert.ok(m.done(3001) && !m.done(2999));
  });

  it('gives no rate when nothing fell in the window', () => {
    const m = new Meter(1000, 2000);
    m.add(0, 10);
    m.add(500, 10);
    assert.equal(bitsPerSecond(m.measured()), undefined);
  });

  it('median', () => {
    assert.equal(median([]), undefined);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
  });
});

describe('responder policy', () => {
  const id = (n: number): Buffer => Buffer.alloc(16, n);

  it('one test at a time; its own connections join it, each mode once', () => {
    const p = new ResponderPolicy({ maxDurationMs: 10_000 });
    assert.equal(p.admit(id(1), 'echo', 5000, 0).status, 'ok');
    assert.equal(p.admit(id(2), 'echo', 5000, 10).status, 'busy');
    assert.equal(p.admit(id(1), 'download', 5000, 20).status, 'ok');
    assert.equal(p.admit(id(1), 'download', 5000, 30).status, 'busy', 'a mode twice');
    p.closed(id(1));
    assert.ok(p.busy, 'the echo is still open');
    p.closed(id(1));
    assert.ok(!p.busy);
    assert.equal(p.admit(id(2), 'echo', 5000, 40).status, 'ok');
  });

  it('caps the duration, and frees a slot whose time is up', () => {
    const p = new ResponderPolicy({ maxDurationMs: 2000 });
    const g = p.admit(id(1), 'download', 60_000, 0);
    assert.equal(g.status, 'ok');
    assert.equal(g.grantedMs, 2000);
    assert.ok(g.status === 'ok' && g.deadlineMs <= 1000 + 2000 + 3000);
    assert.equal(p.admit(id(2), 'echo', 1000, 1000).status, 'busy');
    assert.equal(p.admit(id(2), 'echo', 1000, p.testLimitMs + 1).status, 'ok');
  });
});

describe('throughput targets', () => {
  it('take every and duration, with defaults left out of the member', () => {
    const t = parseTargetKey('wan@192.0.2.7?probe=throughput&port=9923&every=15m&duration=5s');
    assert.deepEqual(t.probe, { kind: 'throughput', port: 9923 });
    assert.deepEqual(t.overrides, { everyMs: 900_000, durationMs: 5000 });
    // Written as given: the largest unit that holds the value exactly.
    assert.equal(targetMember(t), 'wan@192.0.2.7?probe=throughput&port=9923&every=15m&duration=5s');
    // Exact, so a member parses back the same: 80 s is not 1.333m.
    for (const [every, duration] of [
      ['80s', '1500ms'],
      ['2h', '1m'],
      ['900000ms', '5000ms'],
    ] as const) {
      const u = parseTargetKey(`w@192.0.2.7?probe=throughput&every=${every}&duration=${duration}`);
      assert.deepEqual(parseTargetKey(targetMember(u)).overrides, u.overrides);
    }
    assert.equal(
      targetMember(parseTargetKey('w@192.0.2.7?probe=throughput&every=80s&duration=1500ms')),
      'w@192.0.2.7?probe=throughput&port=9923&every=80s&duration=1500ms',
    );
    assert.deepEqual(parseTargetKey('wan@192.0.2.7?probe=throughput').probe, {
      kind: 'throughput',
      port: 9923,
    });
  });

  it('refuse out-of-bounds and foreign options with one clear line', () => {
    assert.throws(
      () => parseTargetKey('wan@192.0.2.7?probe=throughput&duration=2m'),
      /invalid duration '2m': must be between 1s and 1m/,
    );
    assert.throws(
      () => parseTargetKey('wan@192.0.2.7?probe=throughput&every=1s'),
      /invalid every '1s'/,
    );
    assert.throws(
      () => parseTargetKey('x@192.0.2.7?every=15m'),
      /every and duration are options of throughput targets, not of icmp ones/,
    );
    assert.throws(
      () => parseTargetKey('wan@192.0.2.7?probe=throughput&interval=1s'),
      /throughput targets take every and duration, not interval and timeout/,
    );
  });
});

describe('throughput runner', () => {
  const ok = (): TestResult => ({
    outcome: 'ok',
    idleRttsMs: [1, 2, 3],
    download: { bitsPerSecond: 9e6, measured: { bytes: 1, micros: 1 }, rttsMs: [10, 20, 30] },
    upload: { bitsPerSecond: 8e6, measured: { bytes: 1, micros: 1 }, rttsMs: [40] },
    probesLost: 0,
  });

  it('tests a new target at once, then every `every`, one test at a time', async () => {
    const clock = new FakeClock(0);
    const calls: { host: string; atMs: number }[] = [];
    let finish: (() => void) | undefined;
    const runner = new ThroughputRunner({
      clock,
      wallNowMs: () => 1_700_000_000_000 + clock.nowMs(),
      key: KEY,
      log: () => {},
      random: () => 0.5, // the middle of the jitter: every period exactly `every`
      runTest: (o: TestOptions) => {
        calls.push({ host: o.host, atMs: clock.nowMs() });
        o.onRtt?.('download', 12);
        return new Promise((resolve) => (finish = () => resolve(ok())));
      },
    });
    runner.add(parseTargetKey('a@192.0.2.1?probe=throughput&every=1m&duration=2s'));
    runner.add(parseTargetKey('b@192.0.2.2?probe=throughput&every=1m&duration=2s'));
    clock.advance(0);
    assert.equal(calls.length, 1, 'one test at a time');
    clock.advance(5000);
    assert.equal(calls.length, 1);
    finish!();
    await new Promise((r) => setImmediate(r));
    clock.advance(0);
    assert.equal(calls.length, 2, 'the other one, once the first has ended');
    finish!();
    await new Promise((r) => setImmediate(r));
    clock.advance(54_000);
    assert.equal(calls.length, 2);
    clock.advance(1000);
    assert.equal(calls.length, 3, 'a, a minute after its start');
    assert.equal(calls[2]!.host, '192.0.2.1');
    const [a] = runner.reports(1_700_000_000_000 + 60_000);
    assert.equal(a!.downloadBps, 9e6);
    assert.equal(a!.uploadBps, 8e6);
    assert.equal(a!.idleRttMs, 2);
    assert.equal(a!.loadedDownloadRttMs, 20);
    assert.equal(a!.tests.ok, 1);
    assert.ok(a!.running);
    assert.equal(a!.ageS, 60);
    assert.equal(runner.histograms()[0]!.download.count, 2);
    finish!();
    await runner.stop();
  });

  it("hands the test --udp-transport, for its latency probes' sockets", async () => {
    const clock = new FakeClock(0);
    const seen: (string | undefined)[] = [];
    const runner = new ThroughputRunner({
      clock,
      wallNowMs: () => 0,
      key: KEY,
      log: () => {},
      udpTransport: 'dgram',
      runTest: (o: TestOptions) => {
        seen.push(o.udpTransport);
        return Promise.resolve(ok());
      },
    });
    runner.add(parseTargetKey('a@192.0.2.1?probe=throughput&every=1m&duration=2s'));
    clock.advance(0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ['dgram']);
    await runner.stop();
  });

  it('without a peer key every test is an error, said once', async () => {
    const clock = new FakeClock(0);
    const lines: string[] = [];
    const runner = new ThroughputRunner({
      clock,
      wallNowMs: () => 0,
      key: undefined,
      log: (l) => lines.push(l),
      random: () => 0.5,
    });
    runner.add(parseTargetKey('a@192.0.2.1?probe=throughput&every=10s'));
    clock.advance(0);
    await new Promise((r) => setImmediate(r));
    clock.advance(10_000);
    await new Promise((r) => setImmediate(r));
    const [a] = runner.reports(0);
    assert.equal(a!.tests.error, 2);
    assert.equal(a!.lastDetail, 'no peer key (--peer-key)');
    assert.equal(lines.filter((l) => l.includes('--peer-key')).length, 1);
    await runner.stop();
  });
});
