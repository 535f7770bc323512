// InstanceClaim's decisions at start against an in-memory key with an
// expiry (Redis's own behaviour is tested in
// test/integration/fenced-writes.test.ts and instance-twins.test.ts): a
// holder that renews is a twin, one that expires was a crash, one that is a
// gone pid of this boot is taken over at once. Short expiries, so the
// watching takes a second or two.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { describeHolder, holderIsGone, InstanceClaim } from '../../daemon/instance-claim.js';
import { InstanceTakenError } from '../../lib/errors.js';
import type { ClaimResult, RenewResult } from '../../lib/store/fenced-writes.js';
import type { InstanceStore } from '../../lib/store/instance-store.js';

class MemoryKey implements InstanceStore {
  value: string | undefined;
  untilMs = 0;

  #live(): string | undefined {
    if (this.value !== undefined && performance.now() >= this.untilMs) this.value = undefined;
    return this.value;
  }

  set(value: string, ttlMs: number): void {
    this.value = value;
    this.untilMs = performance.now() + ttlMs;
  }

  claimKey(_key: string, runId: string, ttlMs: number): Promise<ClaimResult> {
    const v = this.#live();
    if (v === undefined) {
      this.set(runId, ttlMs);
      return Promise.resolve({ held: true });
    }
    return Promise.resolve({
      held: false,
      holder: v,
      ttlMs: Math.round(this.untilMs - performance.now()),
    });
  }

  renewKey(_key: string, runId: string, ttlMs: number): Promise<RenewResult> {
    const v = this.#live();
    if (v === runId || v === undefined) this.set(runId, ttlMs);
    return Promise.resolve(v === runId ? 'renewed' : v === undefined ? 'reclaimed' : { holder: v });
  }

  replaceKey(_key: string, holder: string, runId: string, ttlMs: number): Promise<boolean> {
    if (this.#live() !== holder) return Promise.resolve(false);
    this.set(runId, ttlMs);
    return Promise.resolve(true);
  }

  releaseKey(_key: string, runId: string): Promise<void> {
    if (this.#live() === runId) this.value = undefined;
    return Promise.resolve();
  }
}

function claimOn(store: InstanceStore, logs: string[] = []): InstanceClaim {
  return new InstanceClaim({
    store,
    key: '{t}:instance:x',
    id: 'x',
    nowMs: () => performance.now(),
    log: (line) => logs.push(line),
    onLost: () => {},
    ttlMs: 800,
    renewMs: 200,
  });
}

const other = (pid: number, boot = 'another-boot'): string =>
  JSON.stringify({
    v: 1,
    run: 'r',
    host: 'vm',
    pid,
    startedAt: '2026-01-01T00:00:00Z',
    boot,
    pidns: 'pid:[1]',
  });

describe('InstanceClaim at start', () => {
  it('refuses when the holder renews its claim', async () => {
    const key = new MemoryKey();
    key.set(other(4242), 800);
    const renewing = setInterval(() => key.set(other(4242), 800), 200);
    try {
      await assert.rejects(claimOn(key).acquire(), (err: unknown) => {
        assert.ok(err instanceof InstanceTakenError);
        assert.match(
          err.message,
          /^another netpingd runs as instance x \(host vm, pid 4242, started .*\): give each daemon its own --instance$/,
        );
        return true;
      });
    } finally {
      clearInterval(renewing);
    }
  });

  it('waits out a holder that does not renew (a crash elsewhere), then holds the id', async () => {
    const key = new MemoryKey();
    key.set(other(4242), 500);
    const logs: string[] = [];
    const claim = claimOn(key, logs);
    assert.equal(await claim.acquire(), 'held');
    assert.equal(claim.held, true);
    assert.equal(key.value, claim.value);
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /is held by host vm, pid 4242.*waiting up to 1 s/);
  });

  it('tells a gone process of this boot and pid namespace from a live one and from a clone', () => {
    const here = { boot: 'b1', pidns: 'pid:[1]' };
    const gone = other(4242, 'b1');
    assert.equal(
      holderIsGone(gone, here, () => false),
      true,
    );
    assert.equal(
      holderIsGone(gone, here, () => true),
      false,
      'alive',
    );
    assert.equal(
      holderIsGone(other(4242, 'b2'), here, () => false),
      false,
      'a clone: another boot',
    );
    assert.equal(
      holderIsGone(gone, { boot: undefined, pidns: 'pid:[1]' }, () => false),
      false,
      'no boot id: cannot tell',
    );
    assert.equal(
      holderIsGone('junk', here, () => false),
      false,
    );
  });

  it('names what it cannot parse without passing control bytes on', () => {
    assert.equal(describeHolder('\u001b[2Jx'), 'a holder writing "\\u001b[2Jx"');
    assert.match(describeHolder(other(7)), /^host vm, pid 7, started /);
  });

  it('releases only its own claim', async () => {
    const key = new MemoryKey();
    const claim = claimOn(key);
    assert.equal(await claim.acquire(), 'held');
    await claim.release();
    assert.equal(key.value, undefined);
    assert.equal(claim.held, false);
  });
});
