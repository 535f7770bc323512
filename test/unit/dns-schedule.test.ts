// The pure parts of following names in DNS: the TTL's clamp and jitter, the
// retry after failures, the address diff, what one lookup does to a name's
// state, and the pacing of lookups (rate limit, places in flight).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffAddresses } from '../../lib/dns/address-diff.js';
import { hostProblem, NEW_HOST, stepHost, type HostState } from '../../lib/dns/host-state.js';
import { LookupPacer, QUERIES_PER_LOOKUP } from '../../lib/dns/lookup-pacer.js';
import {
  clampTtlMs,
  jitteredMs,
  MAX_RETRY_MS,
  retryDelayMs,
  SYSTEM_REFRESH_MS,
  type DnsTiming,
} from '../../lib/dns/ttl.js';
import { seededRandom } from '../support/prng.js';

const TIMING: DnsTiming = { minTtlMs: 5000, maxTtlMs: 3_600_000, forgetMs: 3_600_000 };

describe('TTL clamp, jitter and retry', () => {
  it('clamps a TTL between --dns-min-ttl and --dns-max-ttl', () => {
    assert.equal(clampTtlMs(0, TIMING), 5000);
    assert.equal(clampTtlMs(2, TIMING), 5000);
    assert.equal(clampTtlMs(300, TIMING), 300_000);
    assert.equal(clampTtlMs(86_400, TIMING), 3_600_000);
    assert.equal(clampTtlMs(NaN, TIMING), 5000);
  });

  it('moves a delay later by at most a tenth, never earlier', () => {
    assert.equal(
      jitteredMs(10_000, () => 0),
      10_000,
    );
    assert.equal(
      jitteredMs(10_000, () => 0.999999),
      10_999,
    );
    const random = seededRandom(7);
    const delays = Array.from({ length: 1000 }, () => jitteredMs(300_000, random));
    assert.ok(delays.every((d) => d >= 300_000 && d < 330_000));
    // Equal TTLs come due at many different times, not at one.
    assert.ok(new Set(delays).size > 900, `${new Set(delays).size} distinct delays`);
  });

  it('doubles the retry from the minimum TTL up to a cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 40].map((n) => retryDelayMs(n, TIMING)),
      [5000, 10_000, 20_000, 40_000, MAX_RETRY_MS, MAX_RETRY_MS, MAX_RETRY_MS, MAX_RETRY_MS],
    );
    // A maximum TTL below the cap caps the retry; a minimum above it is still a floor.
    assert.equal(retryDelayMs(9, { ...TIMING, maxTtlMs: 20_000 }), 20_000);
    assert.equal(retryDelayMs(9, { ...TIMING, minTtlMs: 120_000 }), 120_000);
  });
});

describe('address diff', () => {
  it('names the addresses added and those retired', () => {
    assert.deepEqual(diffAddresses(['127.0.0.2', '::1'], ['127.0.0.3', '::1']), {
      added: ['127.0.0.3'],
      retired: ['127.0.0.2'],
    });
    assert.deepEqual(diffAddresses([], ['127.0.0.2']), { added: ['127.0.0.2'], retired: [] });
    assert.deepEqual(diffAddresses(['127.0.0.2'], ['127.0.0.2']), { added: [], retired: [] });
  });
});

describe('a name after each lookup', () => {
  const noJitter = (): number => 0;
  const ok = (addresses: string[], ttlSeconds = 2) =>
    ({ result: 'ok', addresses, ttlSeconds }) as const;

  it('takes the answer: addresses canonical and sorted, next lookup at the clamped TTL', () => {
    const step = stepHost(
      NEW_HOST,
      ok(['::0001', '127.0.0.3', '127.0.0.2'], 60),
      1000,
      TIMING,
      noJitter,
    );
    assert.deepEqual(step.state.addresses, ['127.0.0.2', '127.0.0.3', '::1']);
    assert.deepEqual(step.added, ['127.0.0.2', '127.0.0.3', '::1']);
    assert.equal(step.delayMs, 60_000);
    assert.equal(step.state.okAtMs, 1000);
    assert.equal(step.state.lastResult, 'ok');
  });

  it('looks a name from /etc/hosts (no TTL) up again at the fixed refresh', () => {
    const step = stepHost(
      NEW_HOST,
      { result: 'system', addresses: ['127.0.0.1'] },
      0,
      TIMING,
      noJitter,
    );
    assert.equal(step.delayMs, SYSTEM_REFRESH_MS);
  });

  it('keeps the last good addresses through failures, counting them and backing off', () => {
    let s: HostState = stepHost(NEW_HOST, ok(['127.0.0.2']), 0, TIMING, noJitter).state;
    const delays: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const step = stepHost(
        s,
        { result: 'timeout', message: 'ETIMEOUT' },
        i * 1000,
        TIMING,
        noJitter,
      );
      assert.deepEqual(step.retired, []);
      delays.push(step.delayMs);
      s = step.state;
    }
    assert.deepEqual(s.addresses, ['127.0.0.2']);
    assert.equal(s.failures, 3);
    assert.equal(s.failingSinceMs, 1000);
    assert.equal(s.okAtMs, 0);
    assert.deepEqual(delays, [5000, 10_000, 20_000]);
    const back = stepHost(s, ok(['127.0.0.2']), 9000, TIMING, noJitter);
    assert.equal(back.state.failures, 0);
    assert.equal(back.state.failingSinceMs, undefined);
  });

  it('retires the addresses of a name that answers NXDOMAIN for --dns-forget, not sooner', () => {
    const timing = { ...TIMING, forgetMs: 10_000 };
    let s: HostState = stepHost(NEW_HOST, ok(['127.0.0.2']), 0, timing, noJitter).state;
    s = stepHost(s, { result: 'nxdomain', message: 'ENOTFOUND' }, 1000, timing, noJitter).state;
    s = stepHost(s, { result: 'nxdomain', message: 'ENOTFOUND' }, 10_999, timing, noJitter).state;
    assert.deepEqual(s.addresses, ['127.0.0.2']);
    assert.equal(hostProblem('gone.test', s, 10_999), undefined);
    const step = stepHost(
      s,
      { result: 'nxdomain', message: 'ENOTFOUND' },
      11_000,
      timing,
      noJitter,
    );
    assert.deepEqual(step.retired, ['127.0.0.2']);
    assert.deepEqual(step.state.addresses, []);
    assert.equal(step.state.forgotten, true);
    assert.match(
      hostProblem('gone.test', step.state, 11_000)!,
      /^gone\.test: nxdomain for 10s, its addresses retired/,
    );
    // Back in DNS: probed again.
    assert.deepEqual(stepHost(step.state, ok(['127.0.0.2']), 12_000, timing, noJitter).added, [
      '127.0.0.2',
    ]);
  });

  it('starts the NXDOMAIN run again after another kind of failure', () => {
    const timing = { ...TIMING, forgetMs: 10_000 };
    let s: HostState = stepHost(NEW_HOST, ok(['127.0.0.2']), 0, timing, noJitter).state;
    s = stepHost(s, { result: 'nxdomain', message: 'ENOTFOUND' }, 1000, timing, noJitter).state;
    s = stepHost(s, { result: 'timeout', message: 'ETIMEOUT' }, 6000, timing, noJitter).state;
    s = stepHost(s, { result: 'nxdomain', message: 'ENOTFOUND' }, 12_000, timing, noJitter).state;
    assert.deepEqual(s.addresses, ['127.0.0.2']);
    assert.equal(s.goneSinceMs, 12_000);
  });

  it('shows a name never resolved as a problem, and a pending one as none', () => {
    assert.equal(hostProblem('new.test', NEW_HOST, 0), undefined);
    const s = stepHost(
      NEW_HOST,
      { result: 'refused', message: 'ECONNREFUSED' },
      0,
      TIMING,
      noJitter,
    ).state;
    assert.equal(
      hostProblem('new.test', s, 3000),
      'new.test: not resolved: refused for 3s (ECONNREFUSED)',
    );
  });
});

describe('LookupPacer', () => {
  it('spreads 10,000 names due at once at the query rate, never more than the burst ahead', () => {
    const rate = 200;
    const pacer = new LookupPacer({ queriesPerS: rate, maxInFlight: 1_000_000 }, 0);
    for (let i = 0; i < 10_000; i++) pacer.schedule(`h${i}.test`, 0);
    const started: number[] = [];
    let now = 0;
    let wakes = 0;
    for (; wakes < 100_000 && pacer.queued > 0; wakes++) {
      for (let n = pacer.takeDue(now).length; n > 0; n--) {
        started.push(now);
        pacer.finished();
      }
      if (pacer.queued === 0) break;
      const next = pacer.nextWakeMs(now);
      if (next === undefined) assert.fail(`no wake-up with ${pacer.queued} queued`);
      assert.ok(next > now - 1e-9, `wake at ${next} after ${now}`);
      now = Math.max(next, now);
    }
    assert.equal(started.length, 10_000);
    assert.ok(wakes <= 10_000, `${wakes} wake-ups for 10,000 names`);
    // Over any second, at most a second's worth of queries plus the burst (a tenth of a second's).
    for (let i = 0; i < started.length; i++) {
      let j = i;
      while (j < started.length && started[j]! < started[i]! + 1000) j++;
      assert.ok(
        (j - i) * QUERIES_PER_LOOKUP <= rate + rate / 10,
        `${j - i} names from ${started[i]} ms`,
      );
    }
    const seconds = started.at(-1)! / 1000;
    assert.ok(seconds >= (10_000 * QUERIES_PER_LOOKUP - rate / 10) / rate - 0.01, `${seconds} s`);
  });

  it('holds no more names in flight than its limit, and wakes when one ends', () => {
    const pacer = new LookupPacer({ queriesPerS: 100_000, maxInFlight: 3 }, 0);
    for (let i = 0; i < 10; i++) pacer.schedule(`h${i}.test`, 0);
    assert.equal(pacer.takeDue(1000).length, 3);
    assert.equal(pacer.takeDue(2000).length, 0);
    assert.equal(pacer.nextWakeMs(2000), undefined);
    pacer.finished();
    assert.deepEqual(pacer.takeDue(2000).length, 1);
  });

  it('takes names in due order, and not before they are due; a later schedule replaces one', () => {
    const pacer = new LookupPacer({ queriesPerS: 100_000, maxInFlight: 100 }, 0);
    pacer.schedule('b.test', 2000);
    pacer.schedule('a.test', 1000);
    pacer.schedule('c.test', 500);
    pacer.schedule('c.test', 3000); // rescheduled
    pacer.schedule('d.test', 100);
    pacer.cancel('d.test');
    assert.equal(pacer.nextWakeMs(0), 1000);
    assert.deepEqual(pacer.takeDue(999), []);
    assert.deepEqual(pacer.takeDue(2500), ['a.test', 'b.test']);
    assert.equal(pacer.nextWakeMs(2500), 3000);
    assert.deepEqual(pacer.takeDue(3000), ['c.test']);
    assert.equal(pacer.queued, 0);
  });
});
