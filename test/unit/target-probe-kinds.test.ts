// Targets probed by tcp and udp, as users write them (members, npcli's
// --probe/--port) and as add, remove and list treat them. The kinds are
// registered by their own branches (lib/probes/kinds.ts); until a kind is,
// its tests are skipped, and they run as soon as it is.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../lib/errors.js';
import {
  makeProbeSpec,
  parseTargetKey,
  parseTargetRequest,
  probeLabel,
  targetKey,
  targetMember,
  withProbe,
} from '../../lib/target.js';
import {
  AmbiguousTargetError,
  addTargets,
  listTargets,
  NoSuchTargetError,
  removeTargets,
} from '../../lib/target-changes.js';
import { MemoryTargetStore } from '../support/memory-target-store.js';

const badInput = (pattern: RegExp) => (err: unknown) =>
  err instanceof InvalidInputError && pattern.test(err.message);

describe('tcp targets as users write them', () => {
  it('parses name@address?probe=tcp&port=443 into a target of its own key', () => {
    const t = parseTargetKey('web@192.0.2.1?probe=tcp&port=443');
    assert.deepEqual(t.probe, { kind: 'tcp', port: 443 });
    assert.equal(targetKey(t), 'web@192.0.2.1?probe=tcp&port=443');
    assert.equal(probeLabel(t), 'tcp:443');
    assert.notEqual(targetKey(t), targetKey(parseTargetKey('web@192.0.2.1')));
  });

  it('keeps probe, port and own settings in the member, in that order', () => {
    const t = parseTargetKey('web@192.0.2.1?interval=5s&port=443&probe=tcp');
    assert.equal(targetMember(t), 'web@192.0.2.1?probe=tcp&port=443&interval=5000ms');
    assert.equal(targetKey(t), 'web@192.0.2.1?probe=tcp&port=443');
  });

  it('needs a port from 1 to 65535', () => {
    assert.throws(() => makeProbeSpec('tcp', undefined), badInput(/tcp probes need a port/));
    for (const port of ['0', '65536', 'http', '-1', '443.5', ''])
      assert.throws(() => makeProbeSpec('tcp', port), badInput(/invalid port/), port);
    assert.deepEqual(makeProbeSpec('tcp', '65535'), { kind: 'tcp', port: 65535 });
  });

  it('takes the options after a host name too', () => {
    const r = parseTargetRequest('web@example.com?probe=tcp&port=80');
    assert.equal(r.kind, 'host');
    assert.deepEqual(r.kind === 'host' && r.options?.probe, { kind: 'tcp', port: 80 });
  });

  it('withProbe (npcli --probe) replaces the probe a member named', () => {
    const t = parseTargetKey('web@192.0.2.1?probe=tcp&port=443&timeout=2s');
    const icmp = withProbe(t, { kind: 'icmp' });
    assert.equal(targetMember(icmp), 'web@192.0.2.1?timeout=2000ms');
    assert.equal(icmp.probe, undefined);
  });
});

describe('udp targets as users write them', () => {
  it('takes port 9923 when none is given, and any other', () => {
    assert.deepEqual(parseTargetKey('peer@192.0.2.9?probe=udp').probe, {
      kind: 'udp',
      port: 9923,
    });
    assert.equal(probeLabel(parseTargetKey('peer@192.0.2.9?probe=udp&port=53')), 'udp:53');
    assert.equal(
      targetKey(parseTargetKey('peer@192.0.2.9?probe=udp')),
      'peer@192.0.2.9?probe=udp&port=9923',
    );
  });
});

describe('add, remove and list with several probe kinds', () => {
  const three = (): MemoryTargetStore =>
    new MemoryTargetStore([
      'web@192.0.2.1',
      'web@192.0.2.1?probe=tcp&port=443&interval=5000ms',
      'web@192.0.2.1?probe=udp&port=9923',
    ]);

  it('keeps the same name and address probed other ways as other targets', async () => {
    const store = new MemoryTargetStore(['web@192.0.2.1']);
    await addTargets(store, ['web@192.0.2.1?probe=tcp&port=443']);
    await addTargets(store, ['web@192.0.2.1'], { probe: { kind: 'tcp', port: 80 } });
    await addTargets(store, ['web@192.0.2.1'], { probe: makeProbeSpec('udp', undefined) });
    assert.deepEqual([...store.set].sort(), [
      'web@192.0.2.1',
      'web@192.0.2.1?probe=tcp&port=443',
      'web@192.0.2.1?probe=tcp&port=80',
      'web@192.0.2.1?probe=udp&port=9923',
    ]);
  });

  it('replaces only the member of the same probe when its settings change', async () => {
    const store = three();
    await addTargets(store, ['web@192.0.2.1?probe=tcp&port=443'], {
      overrides: { intervalMs: 10_000 },
    });
    assert.deepEqual([...store.set].sort(), [
      'web@192.0.2.1',
      'web@192.0.2.1?probe=tcp&port=443&interval=10000ms',
      'web@192.0.2.1?probe=udp&port=9923',
    ]);
  });

  it('lets --probe/--port win over what an argument says, for every argument', async () => {
    const store = new MemoryTargetStore();
    const results = await addTargets(store, ['a@192.0.2.1?probe=udp', 'b@192.0.2.2'], {
      probe: { kind: 'tcp', port: 22 },
    });
    assert.deepEqual(
      results.map((r) => r.member),
      ['a@192.0.2.1?probe=tcp&port=22', 'b@192.0.2.2?probe=tcp&port=22'],
    );
  });

  it('refuses a bare name@address that has several probes, naming them; --all takes them all', async () => {
    const store = three();
    await assert.rejects(
      removeTargets(store, ['web@192.0.2.1']),
      (err: unknown) =>
        err instanceof AmbiguousTargetError &&
        /matches 3 targets .*probe=tcp&port=443.*nothing removed.*--probe/.test(err.message),
    );
    assert.deepEqual(store.writes, []);
    const all = await removeTargets(three(), ['web@192.0.2.1'], { all: true });
    assert.equal(all.length, 3);
  });

  it('removes one probe of a host by ?probe=…&port=…, or by --probe/--port', async () => {
    const store = three();
    assert.deepEqual(await removeTargets(store, ['web@192.0.2.1?probe=tcp&port=443']), [
      { member: 'web@192.0.2.1?probe=tcp&port=443&interval=5000ms', changed: true },
    ]);
    assert.deepEqual(await removeTargets(store, ['web'], { probe: { kind: 'icmp' } }), [
      { member: 'web@192.0.2.1', changed: true },
    ]);
    await assert.rejects(
      removeTargets(store, ['192.0.2.1'], { probe: { kind: 'tcp', port: 80 } }),
      NoSuchTargetError,
    );
    // The last one left: a bare name@address names one target now.
    assert.deepEqual(await removeTargets(store, ['web@192.0.2.1']), [
      { member: 'web@192.0.2.1?probe=udp&port=9923', changed: true },
    ]);
  });

  it('removes by the exact member, as the daemon API is asked by npcli', async () => {
    const store = three();
    const member = 'web@192.0.2.1?probe=tcp&port=443&interval=5000ms';
    assert.deepEqual(await removeTargets(store, [member]), [{ member, changed: true }]);
  });

  it('lists each with its probe and port, in a stable order', async () => {
    const { targets } = await listTargets(three());
    assert.deepEqual(targets, [
      { name: 'web', address: '192.0.2.1', probe: 'icmp' },
      { name: 'web', address: '192.0.2.1', probe: 'tcp', port: 443, intervalMs: 5000 },
      { name: 'web', address: '192.0.2.1', probe: 'udp', port: 9923 },
    ]);
  });
});
