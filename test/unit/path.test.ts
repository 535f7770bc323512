// The pure parts of path tracing (lib/path/): the trace plan and its
// outcome, the path MTU search, route changes, the trace schedule; and the
// MTU an ICMP error carries, from the wire and from a datagram socket's
// error queue.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { InvalidInputError } from '../../lib/errors.js';
import { addPathRoutes, TracesBusyError } from '../../lib/http/path-api.js';
import { untracedPathJson } from '../../lib/path/path-report.js';
import { nextRoute, routeOf, type Route } from '../../lib/path/route.js';
import { PmtuSearch, type PmtuOutcome } from '../../lib/path/pmtu-search.js';
import {
  TraceRun,
  type HopAnswer,
  type TracedHop,
  type TracePlan,
} from '../../lib/path/trace-run.js';
import { spreadOffsetMs, TraceSchedule } from '../../lib/path/trace-schedule.js';
import { decodeReceived, encodeEchoRequest } from '../../lib/probes/icmp/packet.js';
import { rebuildIcmpError } from '../../lib/probes/icmp/queued-error.js';

const PLAN: TracePlan = { maxHops: 30, probesPerHop: 3, window: 4, silentToStop: 5 };

/** Runs a trace where `answerOf(ttl, index)` says what came back (undefined: lost). */
function simulate(
  plan: TracePlan,
  answerOf: (ttl: number, index: number) => HopAnswer | undefined,
): { run: TraceRun; windows: number[][] } {
  const run = new TraceRun(plan);
  const windows: number[][] = [];
  for (let w = run.nextWindow(), n = 0; w.length > 0 && n < 100; w = run.nextWindow(), n++) {
    windows.push([...new Set(w.map((p) => p.ttl))]);
    for (const p of w) {
      run.sent(p);
      const a = answerOf(p.ttl, p.index);
      if (a) run.answered(p, a);
    }
  }
  return { run, windows };
}

const hop = (from: string, rttMs = 1): HopAnswer => ({ kind: 'hop', from, rttMs });
const target = (from: string, rttMs = 2): HopAnswer => ({ kind: 'target', from, rttMs });

describe('TraceRun', () => {
  it('a — r1 — b: hops [r1, b], reached, the medians of their answers, one window', () => {
    const { run, windows } = simulate(PLAN, (ttl, i) =>
      ttl === 1 ? hop('10.0.0.1', [1, 3, 2][i]) : target('10.0.1.2', 4),
    );
    const out = run.outcome();
    assert.deepEqual(windows, [[1, 2, 3, 4]]);
    assert.equal(out.reached, true);
    assert.deepEqual(
      out.hops.map((h) => [h.ttl, h.address, h.sent, h.received, h.medianMs]),
      [
        [1, '10.0.0.1', 3, 3, 2],
        [2, '10.0.1.2', 3, 3, 4],
      ],
    );
  });

  it('a silent router stays a silent hop in the middle; the target after it still counts', () => {
    const { run } = simulate(PLAN, (ttl) => (ttl === 1 ? undefined : target('10.0.1.2')));
    const out = run.outcome();
    assert.equal(out.reached, true);
    assert.deepEqual(
      out.hops.map((h) => [h.address, h.received]),
      [
        [null, 0],
        ['10.0.1.2', 3],
      ],
    );
  });

  it('gives up after silentToStop silent hops in a row, dropping the silent tail', () => {
    const { run, windows } = simulate(PLAN, (ttl) => (ttl <= 2 ? hop(`10.0.${ttl}.1`) : undefined));
    const out = run.outcome();
    assert.equal(out.reached, false);
    assert.deepEqual(windows, [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    assert.deepEqual(
      out.hops.map((h) => h.address),
      ['10.0.1.1', '10.0.2.1'],
    );
  });

  it('stops at maxHops; an unreachable ends the path there, not reached', () => {
    const short = simulate({ ...PLAN, maxHops: 3, silentToStop: 99 }, (ttl) =>
      hop(`10.9.${ttl}.1`),
    );
    assert.equal(short.run.outcome().hops.length, 3);
    assert.equal(short.run.outcome().reached, false);
    const { run } = simulate(PLAN, (ttl) =>
      ttl === 1 ? hop('10.0.0.1') : { kind: 'unreachable', from: '10.0.0.9', rttMs: 1 },
    );
    const out = run.outcome();
    assert.equal(out.reached, false);
    assert.equal(out.hops.length, 2);
    assert.equal(out.hops[1]!.unreachable, true);
  });

  it('a hop answering from two routers names the one most answers came from, the other beside', () => {
    const { run } = simulate(PLAN, (ttl, i) =>
      ttl === 1 ? hop(i === 1 ? '10.0.0.7' : '10.0.0.1') : target('10.0.1.2'),
    );
    const first = run.outcome().hops[0]!;
    assert.equal(first.address, '10.0.0.1');
    assert.deepEqual(first.others, ['10.0.0.7']);
  });
});

describe('PmtuSearch', () => {
  /** Runs the search on a path whose MTU is `mtu`, answering as `how` says. */
  function search(
    mtu: number,
    how: 'tells' | 'black-hole' | 'local',
  ): { result: number | null; probes: number } {
    const s = new PmtuSearch(4);
    let probes = 0;
    for (let size = s.next(); size !== undefined && probes < 50; size = s.next(), probes++) {
      let outcome: PmtuOutcome = { kind: 'passed' };
      if (size > mtu)
        outcome =
          how === 'tells'
            ? { kind: 'too-big', mtu }
            : how === 'local'
              ? { kind: 'refused' }
              : { kind: 'silent' };
      s.record(size, outcome);
    }
    return { result: s.result(), probes };
  }

  it('takes the MTU a router tells and stops when it passes: two probes', () => {
    assert.deepEqual(search(1400, 'tells'), { result: 1400, probes: 2 });
  });

  it('bisects a local interface (EMSGSIZE) and a black hole (each silent size tried twice) to the byte', () => {
    assert.equal(search(1280, 'local').result, 1280);
    const hole = search(1337, 'black-hole');
    assert.equal(hole.result, 1337);
    assert.ok(hole.probes <= 20);
  });

  it('a full 1500 passes at once; a target that never answers has no MTU', () => {
    assert.deepEqual(search(1500, 'tells'), { result: 1500, probes: 1 });
    const s = new PmtuSearch(4);
    for (let size = s.next(), n = 0; size !== undefined && n < 50; size = s.next(), n++)
      s.record(size, { kind: 'silent' });
    assert.equal(s.result(), null);
  });
});

describe('route changes', () => {
  const traced = (addresses: (string | null)[]): TracedHop[] =>
    addresses.map((address, i) => ({
      ttl: i + 1,
      address,
      sent: 3,
      received: address ? 3 : 0,
      medianMs: null,
    }));
  const reached = (hops: (string | null)[]): Route => ({ hops, reached: true });

  it('the first trace is no change; another router at a hop is', () => {
    const first = nextRoute(undefined, traced(['r1', 'b']), true);
    assert.deepEqual(first, { route: reached(['r1', 'b']), changed: false });
    assert.deepEqual(nextRoute(first.route, traced(['r2', 'b']), true), {
      route: reached(['r2', 'b']),
      changed: true,
    });
  });

  it('a hop silent this time keeps its router: one lost answer is no change', () => {
    const step = nextRoute(reached(['r1', 'b']), traced([null, 'b']), true);
    assert.deepEqual(step, { route: reached(['r1', 'b']), changed: false });
    assert.equal(nextRoute(step.route, traced(['r1', 'b']), true).changed, false);
  });

  it('a hop heard for the first time fills the gap; a longer path through routers that answer is a change', () => {
    assert.deepEqual(nextRoute(reached([null, 'b']), traced(['r1', 'b']), true), {
      route: reached(['r1', 'b']),
      changed: false,
    });
    assert.equal(nextRoute(reached(['r1', 'b']), traced(['r1', 'r3', 'b']), true).changed, true);
    assert.equal(nextRoute(reached(['r1', 'r3', 'b']), traced(['r1', 'b']), true).changed, true);
  });

  it("silent hops right before the target are the target's lost replies, not a longer path", () => {
    // A fresh IPv6 neighbour drops the first replies: the target seems 3 hops further.
    assert.deepEqual(nextRoute(reached(['r1', 'b']), traced(['r1', null, null, null, 'b']), true), {
      route: reached(['r1', 'b']),
      changed: false,
    });
    assert.deepEqual(nextRoute(reached(['r1', null, null, 'b']), traced(['r1', 'b']), true), {
      route: reached(['r1', 'b']),
      changed: false,
    });
    // Another router before them still is a change.
    assert.equal(nextRoute(reached(['r1', 'b']), traced(['r2', null, 'b']), true).changed, true);
  });

  it('a trace that did not get there says nothing of the length, nor does a known route that never did', () => {
    assert.deepEqual(nextRoute(reached(['r1', 'b']), traced(['r1']), false), {
      route: reached(['r1', 'b']),
      changed: false,
    });
    const unreached = nextRoute(undefined, traced(['r1']), false).route;
    assert.deepEqual(nextRoute(unreached, traced(['r1', 'r3', 'b']), true), {
      route: reached(['r1', 'r3', 'b']),
      changed: false,
    });
  });

  it('routeOf leaves silent hops null', () => {
    assert.deepEqual(routeOf(traced([null, 'x'])), [null, 'x']);
  });
});

describe('TraceSchedule', () => {
  it('spreads first traces over the interval and starts them minGapMs apart, at most maxConcurrent', () => {
    const s = new TraceSchedule({ intervalMs: 60_000, maxConcurrent: 2, minGapMs: 100 });
    const keys = Array.from({ length: 100 }, (_, i) => `t${i}@10.0.0.${i}`);
    s.set(keys, 0);
    const offsets = keys.map((k) => spreadOffsetMs(k, 60_000));
    assert.ok(offsets.every((o) => o >= 0 && o < 60_000));
    // No quarter of the interval holds more than half the targets.
    for (let q = 0; q < 4; q++)
      assert.ok(offsets.filter((o) => o >= q * 15_000 && o < (q + 1) * 15_000).length < 50);
    // Everything due at once (t = interval): one start per gap, two at a time.
    assert.deepEqual(s.take(60_000).length, 1);
    assert.deepEqual(s.take(60_050), [], 'within the gap');
    const second = s.take(60_100);
    assert.equal(second.length, 1);
    assert.deepEqual(s.take(60_200), [], 'two running');
    s.finished(second[0]!, 60_100);
    assert.equal(s.take(60_200).length, 1);
  });

  it('setInSteps yields every few hundred keys and leaves what set() would', () => {
    const s = new TraceSchedule({ intervalMs: 1000, maxConcurrent: 1, minGapMs: 0 });
    s.set(['gone', 'kept'], 0);
    const keys = ['kept', ...Array.from({ length: 999 }, (_, i) => `k${i}`)];
    const steps = s.setInSteps(keys, 0);
    let yields = 0;
    while (!steps.next().done) yields++;
    assert.ok(yields >= 4, `${yields} yields`);
    assert.equal(s.size, 1000);
    assert.equal(s.has('gone'), false);
    assert.equal(s.has('kept'), true);
  });

  it('a finished target is due one interval later; a removed one never again', () => {
    const s = new TraceSchedule({ intervalMs: 1000, maxConcurrent: 1, minGapMs: 0 });
    s.set(['a'], 0);
    const first = spreadOffsetMs('a', 1000);
    assert.equal(s.nextDueMs(), first);
    assert.deepEqual(s.take(first), ['a']);
    s.finished('a', first);
    assert.equal(s.nextDueMs(), first + 1000);
    assert.deepEqual(s.take(first + 999), []);
    s.set([], first + 999);
    assert.equal(s.nextDueMs(), undefined);
    assert.equal(s.size, 0);
  });

  it('starts the waiting targets earliest first; one removed while running, then re-added, waits afresh', () => {
    const s = new TraceSchedule({ intervalMs: 1000, maxConcurrent: 1, minGapMs: 0 });
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    s.set(keys, 0);
    const started: string[] = [];
    for (let t = 0; t <= 1000 && started.length < 50; t++) {
      const [key] = s.take(t);
      if (key === undefined) continue;
      started.push(key);
      s.finished(key, t);
    }
    const byOffset = [...keys].sort(
      (a, b) =>
        spreadOffsetMs(a, 1000) - spreadOffsetMs(b, 1000) || keys.indexOf(a) - keys.indexOf(b),
    );
    assert.deepEqual(started, byOffset);
    const [running] = s.take(2000);
    assert.ok(running !== undefined);
    s.set(
      keys.filter((k) => k !== running),
      2000,
    );
    s.finished(running, 2000); // its trace ends after it was removed: nothing to do
    s.set(keys, 2000);
    assert.equal(s.size, 50);
    const again: string[] = [];
    for (let t = 2000; t < 3000; t++) again.push(...s.take(t).map((k) => (s.finished(k, t), k)));
    assert.equal(
      again.filter((k) => k === running).length,
      1,
      'the re-added target once, on its new offset',
    );
  });
});

describe('the MTU an ICMP error carries', () => {
  const FIELDS = { identifier: 0x1234, token: 7, wideSeq: 9, sentAtMs: 1 };
  /** A datagram socket's error-queue entry with ee_info `info`, rebuilt and decoded. */
  const queued = (family: 4 | 6, type: number, code: number, info: number) => {
    const echo = encodeEchoRequest(family, FIELDS, Buffer.alloc(64));
    const destination = family === 4 ? '192.0.2.9' : '2001:db8::9';
    const msg = rebuildIcmpError(
      family,
      { type, code, destination, quoted: echo, info },
      Buffer.alloc(2048),
    );
    const d = decodeReceived(family, msg, false);
    assert.equal(d.kind, 'error');
    return d.kind === 'error' ? { reason: d.reason, mtu: d.mtu } : undefined;
  };

  it('from a datagram socket: ee_info written back as Fragmentation Needed next-hop MTU, Packet Too Big MTU', () => {
    assert.deepEqual(queued(4, 3, 4, 1400), { reason: 'fragmentation-needed', mtu: 1400 });
    assert.deepEqual(queued(6, 2, 0, 1280), { reason: 'packet-too-big', mtu: 1280 });
  });

  it('other errors carry none', () => {
    assert.deepEqual(queued(4, 11, 0, 1400), { reason: 'ttl-exceeded', mtu: undefined });
    assert.deepEqual(queued(6, 3, 0, 1400), { reason: 'hop-limit-exceeded', mtu: undefined });
  });
});

describe('/api/path', () => {
  const app = new Hono();
  const asked: [string, boolean][] = [];
  addPathRoutes(app, {
    keysFor: (selector) =>
      selector === 'two'
        ? ['two@192.0.2.1', 'two@192.0.2.2']
        : selector === 'far'
          ? ['far@192.0.2.9']
          : [],
    path: (key, fresh) => {
      asked.push([key, fresh]);
      if (fresh) return Promise.reject(new TracesBusyError('4 traces asked for are running'));
      return Promise.resolve(untracedPathJson(key));
    },
  });
  app.onError((err, c) => c.text(err.message, err instanceof InvalidInputError ? 400 : 500));

  it('answers the path of the one target a name names; 404 for none, 400 for several or none asked', async () => {
    const res = await app.request('/api/path?target=far');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), untracedPathJson('far@192.0.2.9'));
    assert.equal((await app.request('/api/path?target=nope')).status, 404);
    const several = await app.request('/api/path?target=two');
    assert.equal(several.status, 400);
    assert.match(((await several.json()) as { error: string }).error, /names 2 targets/);
    assert.equal((await app.request('/api/path')).status, 400);
  });

  it('fresh=1 asks for a trace now; too many at once is 429 with the reason', async () => {
    const res = await app.request('/api/path?target=far&fresh=1');
    assert.equal(res.status, 429);
    assert.match(((await res.json()) as { error: string }).error, /traces asked for are running/);
    assert.deepEqual(asked.at(-1), ['far@192.0.2.9', true]);
  });
});
