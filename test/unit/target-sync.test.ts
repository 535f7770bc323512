// TargetSync with an in-memory TargetStore and a sink that records what it
// was told, so each test can see exactly which targets were added and removed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TargetSync, type TargetSink } from '../../daemon/target-sync.js';
import type { ProbeSettings } from '../../lib/engine/probe-engine.js';
import { parseTargetNotice, type TargetStore } from '../../lib/store/target-store.js';
import { parseMember, targetKey, type Target } from '../../lib/target.js';
import { seededRandom } from '../support/prng.js';
import { Ownership } from '../../lib/group/ownership.js';

class FakeStore implements TargetStore {
  members_: string[] = [];
  failing = false;
  reads = 0;
  /** While set, members() waits for it. */
  gate: Promise<void> | undefined;
  readonly up = true;

  async members(): Promise<string[]> {
    this.reads++;
    const snapshot = [...this.members_];
    if (this.gate) await this.gate;
    if (this.failing) throw new Error('connection refused');
    // What was there when the read was issued, as SMEMBERS would return.
    return snapshot;
  }
  add(): Promise<number> {
    return Promise.reject(new Error('not used'));
  }
  remove(): Promise<number> {
    return Promise.reject(new Error('not used'));
  }
  watch(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Behaves like the daemon's sink over the engine: adding a present target
 * with the same settings changes nothing; with others it is updated in
 * place (`~key`), never removed.
 */
class RecordingSink implements TargetSink {
  readonly held = new Map<string, Target>();
  readonly settings = new Map<string, ProbeSettings>();
  events: string[] = [];
  add(target: Target, settings: ProbeSettings): void {
    const key = targetKey(target);
    const current = this.settings.get(key);
    if (current) {
      if (current.intervalMs !== settings.intervalMs || current.timeoutMs !== settings.timeoutMs) {
        this.settings.set(key, settings);
        this.events.push(`~${key}`);
      }
      return;
    }
    this.held.set(key, target);
    this.settings.set(key, settings);
    this.events.push(`+${key}`);
  }
  remove(key: string): boolean {
    this.events.push(`-${key}`);
    this.settings.delete(key);
    return this.held.delete(key);
  }

  keys(): Iterable<string> {
    return this.held.keys();
  }
  take(): string[] {
    const e = this.events;
    this.events = [];
    return e.sort();
  }
}

function rig(opts: { maxTargets?: number; cached?: string[] } = {}) {
  const store = new FakeStore();
  const parsed: string[] = [];
  const sink = new RecordingSink();
  const logs: string[] = [];
  const cacheWrites: string[][] = [];
  const sync = new TargetSync({
    store,
    sink,
    settings: { intervalMs: 1000, timeoutMs: 1000 },
    maxTargets: opts.maxTargets ?? 100,
    cache: {
      load: () => Promise.resolve(opts.cached),
      save: (members) => {
        cacheWrites.push([...members]);
        return Promise.resolve();
      },
    },
    // The real parser, each call counted.
    parse: (member) => {
      parsed.push(member);
      return parseMember(member);
    },
    log: (line) => logs.push(line),
  });
  return { store, sink, logs, sync, cacheWrites, parsed };
}

describe('TargetSync', () => {
  it('adds and removes exactly the difference and leaves unchanged targets alone', async () => {
    const { store, sink, sync } = rig();
    store.members_ = ['a@127.0.0.1', 'b@127.0.0.2', 'c@::1'];
    await sync.request();
    assert.deepEqual(sink.take(), ['+a@127.0.0.1', '+b@127.0.0.2', '+c@::1']);
    const b = sink.held.get('b@127.0.0.2');

    store.members_ = ['b@127.0.0.2', 'c@::1', 'd@127.0.0.4'];
    await sync.request();
    assert.deepEqual(sink.take(), ['+d@127.0.0.4', '-a@127.0.0.1']);
    assert.equal(sink.held.get('b@127.0.0.2'), b, 'b was neither removed nor re-added');

    await sync.request();
    assert.deepEqual(sink.take(), [], 'an unchanged set changes nothing');
  });

  it('treats a member written with a non-canonical address as its canonical target', async () => {
    const { store, sink, sync } = rig();
    store.members_ = ['six@0:0:0:0:0:0:0:1'];
    await sync.request();
    assert.deepEqual(sink.take(), ['+six@::1']);
    store.members_ = ['six@0:0:0:0:0:0:0:1', 'six@::1'];
    await sync.request();
    assert.deepEqual(sink.take(), []);
  });

  it('reports invalid members and logs each once, not on every re-read', async () => {
    const { store, sink, logs, sync } = rig();
    store.members_ = ['ok@127.0.0.1', 'junk', 'bad@300.1.1.1', 'sp ace@127.0.0.1'];
    await sync.request();
    await sync.request();
    await sync.request();
    assert.deepEqual([...sink.held.keys()], ['ok@127.0.0.1']);
    assert.deepEqual(
      sync.invalid.map((i) => i.member),
      ['junk', 'bad@300.1.1.1', 'sp ace@127.0.0.1'],
    );
    assert.match(sync.invalid[1]!.error, /invalid address '300\.1\.1\.1'/);
    const skipped = logs.filter((l) => l.startsWith('skipping target set member'));
    assert.equal(skipped.length, 3, logs.join('\n'));

    store.members_ = ['ok@127.0.0.1'];
    await sync.request();
    assert.deepEqual(sync.invalid, [], 'a member fixed in the store is no longer reported');
  });

  it('parses each member once while it stays in the set, an invalid one too', async () => {
    const { store, sync, parsed } = rig();
    store.members_ = ['ok@127.0.0.1', 'junk', 'bad@300.1.1.1'];
    await sync.request();
    await sync.request();
    await sync.request();
    assert.deepEqual(parsed.sort(), ['bad@300.1.1.1', 'junk', 'ok@127.0.0.1']);
    assert.deepEqual(
      sync.invalid.map((i) => i.member),
      ['junk', 'bad@300.1.1.1'],
      'still reported on every pass',
    );
    // Gone from the set and back: parsed again (nothing is kept for members no longer listed).
    store.members_ = ['ok@127.0.0.1'];
    await sync.request();
    store.members_ = ['ok@127.0.0.1', 'junk'];
    await sync.request();
    assert.equal(parsed.filter((m) => m === 'junk').length, 2);
  });

  it("lends its parsed members to the control API, the invalid ones' errors too", async () => {
    const { store, sync, parsed } = rig();
    store.members_ = ['ok@127.0.0.1', 'junk'];
    await sync.request();
    const calls = parsed.length;
    assert.equal(sync.parse('ok@127.0.0.1').kind, 'target');
    assert.throws(() => sync.parse('junk'), /junk/);
    assert.equal(parsed.length, calls, 'nothing parsed again');
    assert.equal(sync.parse('new@127.0.0.2').kind, 'target'); // not in the set: parsed
    assert.equal(parsed.length, calls + 1);
  });

  it('keeps a log line about a hostile member on one line', async () => {
    const { store, logs, sync } = rig();
    store.members_ = ['evil\nname@127.0.0.1', `${'x'.repeat(10_000)}@nowhere`];
    await sync.request();
    for (const line of logs) {
      assert.ok(!line.includes('\n'), JSON.stringify(line));
      assert.ok(line.length < 1000, `log line of ${line.length} characters`);
    }
  });

  it('probes at most maxTargets and reports the rest as over the limit', async () => {
    const { store, sink, logs, sync } = rig({ maxTargets: 2 });
    store.members_ = ['c@127.0.0.3', 'a@127.0.0.1', 'b@127.0.0.2', 'd@127.0.0.4'];
    await sync.request();
    assert.deepEqual([...sink.held.keys()].sort(), ['a@127.0.0.1', 'b@127.0.0.2']);
    assert.deepEqual(
      sync.invalid.map((i) => i.member),
      ['c@127.0.0.3', 'd@127.0.0.4'],
    );
    for (const i of sync.invalid) assert.match(i.error, /over the limit of 2 targets/);
    await sync.request();
    assert.equal(logs.filter((l) => l.includes('over the limit')).length, 1, logs.join('\n'));
  });

  it('coalesces requests made during a re-read into one more read', async () => {
    const { store, sink, sync } = rig();
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    store.members_ = ['a@127.0.0.1'];
    const first = sync.request();
    store.members_ = ['a@127.0.0.1', 'b@127.0.0.2']; // a change after the read was issued
    const more = [sync.request(), sync.request(), sync.request(), sync.request()];
    assert.equal(store.reads, 1);
    store.gate = undefined;
    open();
    await Promise.all([first, ...more]);
    assert.equal(store.reads, 2, 'one read, then one for all requests made during it');
    assert.deepEqual([...sink.held.keys()].sort(), ['a@127.0.0.1', 'b@127.0.0.2']);
    await sync.request();
    assert.equal(store.reads, 3);
  });

  it('keeps the current targets while the store fails, and says so once', async () => {
    const { store, sink, logs, sync } = rig();
    store.members_ = ['a@127.0.0.1', 'b@127.0.0.2'];
    await sync.request();
    sink.take();
    store.failing = true;
    await sync.request();
    await sync.request();
    assert.deepEqual(sink.take(), []);
    assert.equal(sink.held.size, 2);
    const failures = logs.filter((l) => l.startsWith('cannot read targets'));
    assert.equal(failures.length, 1, logs.join('\n'));
    assert.match(failures[0]!, /keeping the 2 we have: connection refused/);

    store.failing = false;
    store.members_ = ['a@127.0.0.1'];
    await sync.request();
    assert.deepEqual(sink.take(), ['-b@127.0.0.2']);
    assert.ok(logs.includes('target store is back; targets re-read'));
  });

  it('probes the cached targets before the store first answers, and not after', async () => {
    const { store, sink, sync, cacheWrites } = rig({ cached: ['a@127.0.0.1', 'b@::1'] });
    assert.equal(await sync.applyCached(), 2);
    assert.deepEqual(sink.take(), ['+a@127.0.0.1', '+b@::1']);

    let loaded = false;
    void sync.firstLoad.then(() => (loaded = true));
    store.members_ = ['b@::1', 'c@127.0.0.3'];
    await sync.request();
    await Promise.resolve();
    assert.ok(loaded, 'firstLoad resolved');
    assert.deepEqual(sink.take(), ['+c@127.0.0.3', '-a@127.0.0.1']);
    assert.deepEqual(cacheWrites, [['b@::1', 'c@127.0.0.3']]);

    assert.equal(await sync.applyCached(), 0, 'the store has answered: the cache is stale');
    assert.deepEqual(sink.take(), []);
  });

  it('keeps re-reading when the cache cannot be written', async () => {
    const store = new FakeStore();
    const sink = new RecordingSink();
    const logs: string[] = [];
    const sync = new TargetSync({
      store,
      sink,
      settings: { intervalMs: 1000, timeoutMs: 1000 },
      maxTargets: 10,
      cache: {
        load: () => Promise.resolve(undefined),
        save: () => Promise.reject(new Error('EROFS')),
      },
      log: (line) => logs.push(line),
    });
    store.members_ = ['a@127.0.0.1'];
    await sync.request();
    assert.deepEqual(sink.take(), ['+a@127.0.0.1']);
    assert.ok(logs.some((l) => l.includes('cannot write the target cache: EROFS')));
    assert.equal(await sync.applyCached(), 0);
  });
});

describe('TargetSync: per-target interval and timeout', () => {
  it('probes a member with options at its own settings, others at the defaults', async () => {
    const { store, sync, sink } = rig();
    store.members_ = ['fast@127.0.0.1?interval=100ms&timeout=50ms', 'plain@127.0.0.2'];
    await sync.request();
    assert.deepEqual(sink.settings.get('fast@127.0.0.1'), { intervalMs: 100, timeoutMs: 50 });
    assert.deepEqual(sink.settings.get('plain@127.0.0.2'), { intervalMs: 1000, timeoutMs: 1000 });
  });

  it('updates a target whose settings changed in place, and leaves alone one whose did not', async () => {
    const { store, sync, sink } = rig();
    store.members_ = ['a@127.0.0.1', 'b@127.0.0.2'];
    await sync.request();
    sink.take();
    store.members_ = ['a@127.0.0.1?interval=5s', 'b@127.0.0.2'];
    await sync.request();
    assert.deepEqual(sink.take(), ['~a@127.0.0.1'], 'never removed: its probes in flight go on');
    assert.deepEqual(sink.settings.get('a@127.0.0.1'), { intervalMs: 5000, timeoutMs: 1000 });
    store.members_ = ['a@127.0.0.1?interval=5000ms', 'b@127.0.0.2'];
    await sync.request();
    assert.deepEqual(sink.take(), [], 'the same settings written differently change nothing');
  });

  it('uses the first in sorted order of two members for one target, and reports the other', async () => {
    const { store, sync, sink, logs } = rig();
    store.members_ = ['a@127.0.0.1?interval=2s', 'a@127.0.0.1'];
    await sync.request();
    assert.deepEqual(sink.settings.get('a@127.0.0.1'), { intervalMs: 1000, timeoutMs: 1000 });
    assert.deepEqual(sync.invalid, [
      {
        member: 'a@127.0.0.1?interval=2s',
        error: 'another member names the same target, "a@127.0.0.1" is used',
      },
    ]);
    assert.equal(logs.length, 1);
  });

  it('reports bad options as an invalid member', async () => {
    const { store, sync, sink } = rig();
    store.members_ = ['a@127.0.0.1?interval=0', 'b@127.0.0.2?colour=red'];
    await sync.request();
    assert.equal(sink.held.size, 0);
    assert.match(sync.invalid[0]!.error, /invalid interval '0'/);
    assert.match(sync.invalid[1]!.error, /invalid target options 'colour=red'/);
  });
});

describe('TargetSync with generated targets (the mesh)', () => {
  const peer = (name: string, address: string): Target => ({
    name,
    address,
    family: 4,
    labels: { peer: 'true' },
  });

  it('probes generated targets beside the set, and drops them when no longer generated', async () => {
    const { store, sink, sync } = rig({ maxTargets: 3 });
    store.members_ = ['a@127.0.0.1'];
    await sync.request();
    sink.take();
    await sync.setGenerated([peer('m2', '10.0.0.2'), peer('m3', '10.0.0.3')]);
    assert.deepEqual(sink.take(), ['+m2@10.0.0.2', '+m3@10.0.0.3']);
    await sync.request();
    assert.deepEqual(sink.take(), [], 'a re-read of the set keeps the generated targets');
    await sync.setGenerated([peer('m2', '10.0.0.2')]);
    assert.deepEqual(sink.take(), ['-m3@10.0.0.3']);
    assert.equal(sync.invalid.length, 0);
  });

  it('holds generated targets back until the set has been read', async () => {
    const { store, sink, sync } = rig({ maxTargets: 1 });
    store.members_ = ['a@127.0.0.1'];
    await sync.setGenerated([peer('m2', '10.0.0.2')]);
    assert.deepEqual(sink.take(), [], 'not probed for a moment, then pushed out by the set');
    await sync.request();
    assert.deepEqual(sink.take(), ['+a@127.0.0.1']);
    assert.equal(sync.generatedDropped, 1);
  });

  it('counts generated targets against --max-targets after the set, in their order, with one log line', async () => {
    const { store, sink, logs, sync } = rig({ maxTargets: 2 });
    store.members_ = ['a@127.0.0.1'];
    await sync.request();
    sink.take();
    const generated = [peer('m3', '10.0.0.3'), peer('m2', '10.0.0.2'), peer('m4', '10.0.0.4')];
    await sync.setGenerated(generated);
    // The set's member stays; the first generated one fills the room left.
    assert.deepEqual(sink.take(), ['+m3@10.0.0.3']);
    assert.equal(sync.generatedDropped, 2);
    // Refreshes with the same targets: no more lines.
    await sync.setGenerated(generated);
    await sync.request();
    const lines = () => logs.filter((l) => /mesh targets/.test(l));
    assert.deepEqual(lines(), [
      "2 of 3 mesh targets are not probed: the limit is 2 targets (--max-targets), and the target set's come first",
    ]);
    // A set member added later pushes a peer out, never the other way round.
    store.members_ = ['a@127.0.0.1', 'b@127.0.0.2'];
    await sync.request();
    assert.deepEqual(sink.take().sort(), ['+b@127.0.0.2', '-m3@10.0.0.3']);
    assert.equal(sync.generatedDropped, 3);
    assert.equal(lines().length, 2);
    assert.equal(sync.invalid.length, 0, 'generated targets are not set members');
  });

  it("leaves a member of the set with a generated target's key to the set's settings", async () => {
    const { store, sink, sync } = rig();
    store.members_ = ['m2@10.0.0.2?interval=5s'];
    await sync.request();
    sink.take();
    await sync.setGenerated([peer('m2', '10.0.0.2')]);
    assert.deepEqual(sink.take(), []);
    assert.equal(sink.settings.get('m2@10.0.0.2')?.intervalMs, 5000);
    store.members_ = [];
    await sync.request();
    // Removed from the set, still a peer: probed on with the daemon's settings.
    assert.deepEqual(sink.take(), ['~m2@10.0.0.2']);
  });
});

describe('TargetSync: change notices applied as deltas', () => {
  it('applies a notice that carries its members without reading the set', async () => {
    const { store, sink, sync } = rig();
    store.members_ = ['a@127.0.0.1', 'b@127.0.0.2'];
    await sync.request();
    sink.take();
    const reads = store.reads;
    await sync.notice({ op: 'add', members: ['c@127.0.0.3', 'junk'] });
    assert.deepEqual(sink.take(), ['+c@127.0.0.3']);
    assert.deepEqual(
      sync.invalid.map((i) => i.member),
      ['junk'],
    );
    await sync.notice({ op: 'remove', members: ['a@127.0.0.1', 'junk', 'never@127.0.0.9'] });
    assert.deepEqual(sink.take(), ['-a@127.0.0.1']);
    assert.deepEqual(sync.invalid, []);
    assert.equal(store.reads, reads, 'no re-read');
    assert.equal(sync.deltas, 2);
  });

  it('re-reads the set for a notice that does not say what changed (an older npcli)', async () => {
    const { store, sink, sync } = rig();
    await sync.request();
    store.members_ = ['a@127.0.0.1'];
    const reads = store.reads;
    await sync.notice(undefined);
    assert.equal(store.reads, reads + 1);
    assert.deepEqual(sink.take(), ['+a@127.0.0.1']);
  });

  it('applies notices that come during a re-read after it, whichever side of its snapshot they fell', async () => {
    const { store, sink, sync } = rig();
    store.members_ = ['a@127.0.0.1'];
    await sync.request();
    sink.take();
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const read = sync.request(); // its snapshot: a only
    // Changes after the snapshot, their notices arriving while the read is in flight.
    store.members_ = ['a@127.0.0.1', 'b@127.0.0.2'];
    void sync.notice({ op: 'add', members: ['b@127.0.0.2'] });
    store.members_ = ['a@127.0.0.1', 'b@127.0.0.2', 'c@127.0.0.3'];
    void sync.notice({ op: 'add', members: ['c@127.0.0.3'] });
    store.members_ = ['a@127.0.0.1', 'b@127.0.0.2'];
    void sync.notice({ op: 'remove', members: ['c@127.0.0.3'] });
    store.gate = undefined;
    open();
    await read;
    assert.deepEqual([...sink.held.keys()].sort(), ['a@127.0.0.1', 'b@127.0.0.2']);
    assert.equal(store.reads, 2, 'the notices were applied, not read');
  });

  it('applies notices at once while the store is slow to answer a read, and again after it', async () => {
    const { store, sink, sync } = rig();
    await sync.request();
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const read = sync.request(); // its snapshot: empty
    store.members_ = ['x@127.0.0.7'];
    await sync.notice({ op: 'add', members: ['x@127.0.0.7'] });
    assert.deepEqual(sink.take(), ['+x@127.0.0.7'], 'not held back by the read in flight');
    await sync.reapply();
    store.gate = undefined;
    open();
    await read;
    assert.deepEqual(sink.take(), [], "the read's older snapshot does not take it away");
    assert.equal(sync.deltas, 1);
  });

  it('keeps --max-targets in sorted order as members come and go', async () => {
    const { store, sink, sync } = rig({ maxTargets: 2 });
    store.members_ = ['b@127.0.0.2', 'd@127.0.0.4', 'c@127.0.0.3'];
    await sync.request();
    assert.deepEqual(sink.take(), ['+b@127.0.0.2', '+c@127.0.0.3']);
    await sync.notice({ op: 'add', members: ['a@127.0.0.1'] });
    assert.deepEqual(sink.take(), ['+a@127.0.0.1', '-c@127.0.0.3'], 'c pushed out');
    assert.deepEqual(
      sync.invalid.map((i) => i.member),
      ['c@127.0.0.3', 'd@127.0.0.4'],
    );
    await sync.notice({ op: 'remove', members: ['b@127.0.0.2'] });
    assert.deepEqual(sink.take(), ['+c@127.0.0.3', '-b@127.0.0.2'], 'c let in again');
  });

  it('keeps the first member in sorted order of one target as members come and go', async () => {
    const { store, sink, sync } = rig();
    store.members_ = ['a@127.0.0.1?interval=2s'];
    await sync.request();
    await sync.notice({ op: 'add', members: ['a@127.0.0.1'] });
    assert.equal(sink.settings.get('a@127.0.0.1')?.intervalMs, 1000);
    await sync.notice({ op: 'remove', members: ['a@127.0.0.1'] });
    assert.equal(sink.settings.get('a@127.0.0.1')?.intervalMs, 2000);
    assert.deepEqual(sync.invalid, []);
  });

  it('ends where a read from scratch would, after any mix of notices and re-reads', async () => {
    const random = seededRandom(23);
    const pool = Array.from({ length: 12 }, (_, i) =>
      i % 4 === 3 ? `t${i % 6}@127.0.0.${i % 6}?interval=${i}s` : `t${i % 6}@127.0.0.${i % 6}`,
    );
    for (let round = 0; round < 20; round++) {
      const { store, sink, sync } = rig({ maxTargets: 4 });
      const pending: Promise<void>[] = [];
      for (let step = 0; step < 40; step++) {
        const member = pool[Math.floor(random() * pool.length)]!;
        const op = random() < 0.5 ? 'add' : 'remove';
        const now = new Set(store.members_);
        if (op === 'add') now.add(member);
        else now.delete(member);
        store.members_ = [...now];
        pending.push(random() < 0.2 ? sync.request() : sync.notice({ op, members: [member] }));
      }
      await Promise.all(pending);
      const fresh = rig({ maxTargets: 4 });
      fresh.store.members_ = [...store.members_];
      await fresh.sync.request();
      assert.deepEqual([...sink.held.keys()].sort(), [...fresh.sink.held.keys()].sort());
      for (const [key, settings] of fresh.sink.settings)
        assert.deepEqual(sink.settings.get(key), settings, `round ${round}: ${key}`);
      assert.deepEqual(sync.invalid.length, fresh.sync.invalid.length);
    }
  });
});

describe('TargetSync with a group', () => {
  it("keeps only this member's share as notices come, owners computed for new targets", async () => {
    const ownership = new Ownership('m1');
    await ownership.setMembers(['m1', 'm2'], []);
    const store = new FakeStore();
    const sink = new RecordingSink();
    const sync = new TargetSync({
      store,
      sink,
      settings: { intervalMs: 1000, timeoutMs: 1000 },
      maxTargets: 100,
      group: ownership,
      log: () => {},
    });
    const members = Array.from({ length: 40 }, (_, i) => `t${i}@127.0.1.${i}`);
    store.members_ = members.slice(0, 20);
    await sync.request();
    await eventuallyIdle(sync);
    await sync.notice({ op: 'add', members: members.slice(20) });
    await eventuallyIdle(sync);
    await sync.notice({ op: 'remove', members: members.slice(0, 5) });
    await eventuallyIdle(sync);
    const share = members
      .slice(5)
      .map((m) => targetKey((parseMember(m) as { target: Target }).target))
      .filter((key) => ownership.owns(key) === true);
    assert.ok(share.length > 0 && share.length < 35, `a share of ${share.length}`);
    assert.deepEqual([...sink.held.keys()].sort(), share.sort());
    assert.equal(sync.setKeys().length, 35, 'the whole set is known, not only the share');
  });
});

/** Waits (bounded) for owners computed in the background to be taken in. */
async function eventuallyIdle(sync: TargetSync): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    await sync.notice({ op: 'add', members: [] });
  }
}

describe('parseTargetNotice', () => {
  it('reads the change a notice announces, and nothing from one that does not say', () => {
    assert.deepEqual(parseTargetNotice('{"op":"add","members":["a@127.0.0.1"]}'), {
      op: 'add',
      members: ['a@127.0.0.1'],
    });
    assert.deepEqual(parseTargetNotice('{"op":"remove","members":[]}'), {
      op: 'remove',
      members: [],
    });
    for (const text of [
      undefined,
      'changed',
      '{"op":"add"}',
      '{"op":"move","members":[]}',
      '{"op":"add","members":[1]}',
      'null',
      '[]',
    ])
      assert.equal(parseTargetNotice(text), undefined, String(text));
  });
});
