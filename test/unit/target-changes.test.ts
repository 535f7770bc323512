// add, remove and list against a store in memory, for what probe kinds change
// with ICMP alone (the kind every branch has). test/unit/target-probe-kinds.test.ts
// has the same for tcp and udp targets.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../lib/errors.js';
import {
  addTargets,
  listTargets,
  NoSuchTargetError,
  removeTargets,
} from '../../lib/target-changes.js';
import { MemoryTargetStore } from '../support/memory-target-store.js';

describe('target changes with probe options (icmp)', () => {
  it('adds with --probe icmp as without it: plain members, other settings kept', async () => {
    const store = new MemoryTargetStore();
    const results = await addTargets(store, ['a@192.0.2.1', 'b@192.0.2.2?interval=5s'], {
      probe: { kind: 'icmp' },
    });
    assert.deepEqual(
      results.map((r) => r.member),
      ['a@192.0.2.1', 'b@192.0.2.2?interval=5000ms'],
    );
  });

  it("keeps a member's own labels when --probe is given", async () => {
    const store = new MemoryTargetStore();
    const results = await addTargets(store, ['a@192.0.2.1?label.dc=fra1&interval=5s'], {
      probe: { kind: 'icmp' },
      labels: { role: 'lb' },
    });
    assert.deepEqual(
      results.map((r) => r.member),
      ['a@192.0.2.1?interval=5000ms&label.dc=fra1&label.role=lb'],
    );
  });

  it('lists each target with its probe kind, and no port for icmp', async () => {
    const store = new MemoryTargetStore(['b@192.0.2.2?interval=5000ms', 'a@192.0.2.1']);
    const { targets } = await listTargets(store);
    assert.deepEqual(targets, [
      { name: 'a', address: '192.0.2.1', probe: 'icmp' },
      { name: 'b', address: '192.0.2.2', probe: 'icmp', intervalMs: 5000 },
    ]);
  });

  it('removes by name@address?probe=icmp, or with --probe icmp', async () => {
    const store = new MemoryTargetStore(['a@192.0.2.1', 'b@192.0.2.2?timeout=500ms']);
    assert.deepEqual(await removeTargets(store, ['a@192.0.2.1?probe=icmp']), [
      { member: 'a@192.0.2.1', changed: true },
    ]);
    assert.deepEqual(await removeTargets(store, ['b'], { probe: { kind: 'icmp' } }), [
      { member: 'b@192.0.2.2?timeout=500ms', changed: true },
    ]);
    assert.equal(store.set.size, 0);
  });

  it('refuses bad options in a selector: bad input, nothing removed', async () => {
    const store = new MemoryTargetStore(['a@192.0.2.1']);
    await assert.rejects(
      removeTargets(store, ['a@192.0.2.1?colour=red']),
      (err: unknown) => err instanceof InvalidInputError && /colour=red/.test(err.message),
    );
    await assert.rejects(
      removeTargets(store, ['a@192.0.2.1?probe=smtp']),
      (err: unknown) => err instanceof InvalidInputError && /probe kind 'smtp'/.test(err.message),
    );
    assert.deepEqual(store.writes, []);
  });

  it('reads no options out of a bare name: a name may hold a "?"', async () => {
    const store = new MemoryTargetStore(['what?@192.0.2.1', 'other@192.0.2.2']);
    assert.deepEqual(await removeTargets(store, ['what?']), [
      { member: 'what?@192.0.2.1', changed: true },
    ]);
  });

  it('says which probe found nothing', async () => {
    const store = new MemoryTargetStore(['a@192.0.2.1']);
    await assert.rejects(
      removeTargets(store, ['a'], { probe: { kind: 'udp', port: 9923 } }),
      (err: unknown) =>
        err instanceof NoSuchTargetError && /"a" probed by udp:9923/.test(err.message),
    );
  });
});
