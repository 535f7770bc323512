// Large pages under load (lib/http/body-gate.ts, shared-render.ts,
// heavy-body.ts): a few made at once, a short queue, then 503 with
// Retry-After, counted; readers who come while a page is made share it.

import { heldRecords } from '../../lib/http/history-api.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { BodyGate, registerGateMetrics } from '../../lib/http/body-gate.js';
import { createApp } from '../../lib/http/app.js';
import { SharedRenders } from '../../lib/http/shared-render.js';
import { TargetHistory } from '../../lib/history/target-history.js';
import { viewOf, type DaemonReport, type DaemonView, type TargetReport } from '../../lib/report.js';

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

/** A promise and the function that settles it. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

describe('body gate', () => {
  it('lets `concurrent` through, queues `queued`, refuses and counts the rest', async () => {
    const g = new BodyGate({ concurrent: 2, queued: 1 });
    const first = await g.enter('/metrics')!;
    await g.enter('/metrics')!;
    let thirdIn = false;
    const third = g.enter('/')!.then((release) => {
      thirdIn = true;
      return release;
    });
    assert.equal(g.enter('/api/targets'), undefined);
    assert.equal(g.enter('/api/targets'), undefined);
    assert.deepEqual([...g.refused], [['/api/targets', 2]]);
    assert.equal(thirdIn, false);
    first();
    first(); // a second release gives nothing more
    const release = await third;
    assert.equal(thirdIn, true);
    assert.equal(g.making, 2);
    assert.equal(g.waiting, 0);
    release();
    assert.equal(g.making, 1);
  });

  it('counts refusals as netping_http_refused_total{page}', async () => {
    const g = new BodyGate({ concurrent: 1, queued: 0 });
    await g.enter('/')!;
    assert.equal(g.enter('/metrics'), undefined);
    const registry = new Registry();
    registerGateMetrics(g, registry);
    assert.match(await registry.metrics(), /^netping_http_refused_total\{page="\/metrics"\} 1$/m);
    assert.equal(g.enter('/metrics'), undefined);
    assert.match(await registry.metrics(), /^netping_http_refused_total\{page="\/metrics"\} 2$/m);
  });
});

describe('shared renders', () => {
  it('give readers who come while a body is made that body, and later readers a new one', async () => {
    const renders = new SharedRenders();
    let made = 0;
    const held = gate();
    const make = async function* (): AsyncGenerator<string> {
      const n = ++made;
      yield `a${n}`;
      await held.promise;
      yield `b${n}`;
    };
    const first = all(renders.read('k', make));
    await new Promise((resolve) => setImmediate(resolve));
    const second = all(renders.read('k', make)); // comes after a1 was made: still gets it
    held.open();
    assert.deepEqual(await first, ['a1', 'b1']);
    assert.deepEqual(await second, ['a1', 'b1']);
    assert.equal(made, 1);
    assert.equal(renders.joined, 1);
    assert.deepEqual(await all(renders.read('k', make)), ['a2', 'b2']);
    assert.equal(made, 2);
  });

  it('stop making a body when every reader has gone, and say when it ended', async () => {
    const renders = new SharedRenders();
    let madePieces = 0;
    let ended = false;
    const make = async function* (): AsyncGenerator<string> {
      for (let i = 0; i < 1000; i++) {
        madePieces++;
        yield String(i);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    for await (const piece of renders.read('k', make, () => (ended = true))) {
      if (piece === '3') break; // the reader goes
    }
    for (let i = 0; i < 20 && !ended; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ended, true);
    assert.ok(madePieces < 20, `${madePieces} pieces made for a reader who left after 4`);
    assert.equal(renders.has('k'), false);
  });
});

describe('large pages over HTTP', () => {
  const report: DaemonReport = {
    version: '1',
    generatedAt: '2026-01-01T00:00:00.000Z',
    store: { kind: 'file', location: '/x', up: true },
    targets: [],
    invalid: [],
    ignoredPackets: {},
  };
  const view = (): DaemonView => viewOf({ report, histograms: [] });

  it('beyond the bound a reader gets 503 with Retry-After; one asking for a page being made shares it', async () => {
    const held = gate();
    let views = 0;
    const g = new BodyGate({ concurrent: 1, queued: 0 });
    const app = createApp({
      view: async () => {
        views++;
        await held.promise;
        return view();
      },
      metrics: () => [],
      metricsContentType: 'text/plain',
      gate: g,
    });
    const first = await app.request('/api/targets');
    const joined = await app.request('/api/targets');
    const refused = await app.request('/');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(await refused.text(), /^busy: .*try again in 1 s\n$/);
    assert.deepEqual([...g.refused], [['/', 1]]);
    held.open();
    const [a, b] = await Promise.all([first.text(), joined.text()]);
    assert.equal(first.status, 200);
    assert.equal(joined.status, 200);
    assert.equal(a, b);
    assert.equal((JSON.parse(a) as DaemonReport).version, '1');
    assert.equal(views, 1);
    // Once made, the slot is free again: the table is served now.
    const later = await app.request('/');
    assert.equal(later.status, 200);
    await later.text();
    assert.equal(g.making, 0);
  });

  it("serves one target's history while the bound is full: it does not queue behind whole-set pages", async () => {
    const held = gate();
    const g = new BodyGate({ concurrent: 1, queued: 0 });
    const history = new TargetHistory();
    history.current.add(0, 3);
    const app = createApp({
      view: async () => {
        await held.promise;
        return view();
      },
      metrics: () => [],
      metricsContentType: 'text/plain',
      gate: g,
      history: {
        find: (key) => (key === 'lo@127.0.0.1' ? history : undefined),
        live: () => [],
        nowMs: () => 1_700_000_000_000,
        records: heldRecords,
      },
    });
    const whole = await app.request('/api/targets');
    assert.equal((await app.request('/api/sparklines')).status, 503);
    const one = await app.request('/api/history?target=lo%40127.0.0.1&range=1h');
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { points: unknown[] }).points.length, 1);
    held.open();
    await whole.text();
  });

  it('serves one target row at /api/target, 404 for one not probed', async () => {
    const row: TargetReport = {
      ...{ name: 'lo', address: '127.0.0.1', probe: 'icmp', family: 4 },
      ...{ intervalMs: 1000, timeoutMs: 1000, sent: 1, received: 1, lost: 0, inFlight: 0 },
      ...{ late: 0, duplicates: 0, errors: {}, answers: {}, successPct: 100, lossPct: 0 },
      ...{ minMs: 0.1, meanMs: 0.1, avg15mMs: 0.1, avg6hMs: 0.1, avg24hMs: 0.1 },
      ...{ maxMs: 0.1, lastMs: 0.1 },
    };
    const app = createApp({
      view,
      metrics: () => [],
      metricsContentType: 'text/plain',
      target: (key) => (key === 'lo@127.0.0.1' ? row : undefined),
    });
    const res = await app.request('/api/target?target=lo%40127.0.0.1');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { target: { name: string } }).target.name, 'lo');
    assert.equal((await app.request('/api/target?target=x%40127.0.0.9')).status, 404);
    assert.equal((await app.request('/api/target')).status, 400);
  });
});
