// Route changes as events (lib/outages/route-event.ts, events.ts): their
// record, read back beside outages, and what readers of outages only make
// of them.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { InvalidInputError } from '../../lib/errors.js';
import { addEventRoutes, type EventQuery } from '../../lib/http/events-api.js';
import { isOutage, latestEvents, parseEvent } from '../../lib/outages/events.js';
import { outageFrom, parseOutage, type Outage } from '../../lib/outages/outage.js';
import { routeEvent, type RouteEvent } from '../../lib/outages/route-event.js';
import { renderEvents } from '../../cli/render-events.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OutageKeeper } from '../../daemon/outage-keeper.js';
import { DEFAULT_ALERT_TIMING } from '../../lib/alerts/payload.js';
import { AlertSender } from '../../lib/alerts/sender.js';
import { EventFile } from '../../lib/store/event-file.js';
import { makeHarness } from '../support/engine-harness.js';

const AT = Date.parse('2026-01-01T00:05:00Z');
const SUBJECT = {
  key: 'far4@10.9.2.2',
  target: 'far4',
  address: '10.9.2.2',
  probe: 'icmp',
  labels: { dc: 'fra1' },
};
const outage: Outage = {
  id: 'i1:1:far4@10.9.2.2',
  key: 'far4@10.9.2.2',
  target: 'far4',
  address: '10.9.2.2',
  probe: 'icmp',
  instance: 'i1',
  labels: {},
  start: '2026-01-01T00:00:00.000Z',
  end: null,
  lost: 3,
  reasons: { timeout: 3 },
};

describe('route events', () => {
  const e = routeEvent(SUBJECT, 'i1', AT, ['10.9.1.1', null, '10.9.2.2'], ['10.9.3.1', '10.9.2.2']);

  it('are a moment of one target, with the hops before and after', () => {
    assert.deepEqual(e, {
      kind: 'route',
      id: `i1:${AT}:far4@10.9.2.2:route`,
      ...SUBJECT,
      instance: 'i1',
      start: '2026-01-01T00:05:00.000Z',
      end: '2026-01-01T00:05:00.000Z',
      lost: 0,
      reasons: {},
      before: ['10.9.1.1', null, '10.9.2.2'],
      after: ['10.9.3.1', '10.9.2.2'],
    });
  });

  it('read back as they were written, checked field by field', () => {
    assert.deepEqual(parseEvent(JSON.stringify(e)), e);
    const bad: Record<string, unknown>[] = [
      { ...e, end: null },
      { ...e, end: '2026-01-01T00:06:00.000Z' },
      { ...e, before: 'r1' },
      { ...e, after: [1] },
      { ...e, after: [''] },
      { ...e, after: Array.from({ length: 256 }, () => null) },
      { ...e, target: '' },
      { ...e, start: 'then' },
      { ...e, kind: 'reboot' },
    ];
    for (const b of bad) assert.throws(() => parseEvent(JSON.stringify(b)), JSON.stringify(b));
  });

  it('fold with outages newest first; an unknown kind is a damaged record', () => {
    const closed = { ...outage, end: '2026-01-01T00:01:00.000Z' };
    const { events, bad } = latestEvents(
      [e, closed, outage, { ...e, id: 'x', kind: 'reboot' }].map((x) => JSON.stringify(x)),
    );
    assert.equal(bad, 1);
    assert.deepEqual(events, [e, closed]);
    assert.deepEqual(
      events.map((x) => isOutage(x)),
      [false, true],
    );
    // An outage record without a kind (as before route events) or with `outage` is an outage.
    assert.deepEqual(parseEvent(JSON.stringify({ ...outage, kind: 'outage' })), {
      ...outage,
    });
  });

  it('are no outage to the new outage reader, and a closed lossless one to an old', () => {
    assert.throws(() => parseOutage(JSON.stringify(e)), /not an outage/);
    // What a reader from before route events does: outageFrom without the kind check.
    const withoutKind = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
    delete withoutKind.kind;
    const old = outageFrom(withoutKind);
    assert.equal(old.end, old.start, 'closed: never among the open outages');
    assert.equal(old.lost, 0);
  });

  it('npcli events prints them beside outages', () => {
    const text = renderEvents([e, outage], Date.parse('2026-01-01T00:10:00Z'));
    const lines = text.split('\n');
    assert.match(lines[0]!, /Lost\s+Route$/);
    assert.match(
      lines[2]!,
      /^far4 +10\.9\.2\.2 +icmp +i1 +2026-01-01 00:05:00Z +route +10\.9\.1\.1, \*, 10\.9\.2\.2 -> 10\.9\.3\.1, 10\.9\.2\.2$/,
    );
    assert.match(lines[3]!, /open +10m +3$/);
    assert.doesNotMatch(renderEvents([outage], AT), /Route/);
  });

  it('GET /api/events takes ?kind=, and refuses another', async () => {
    const asked: EventQuery[] = [];
    const app = new Hono();
    addEventRoutes(app, {
      events: (q) => {
        asked.push(q);
        return q.kind === 'outage' ? [outage] : [e, outage];
      },
      nowMs: () => AT,
    });
    app.onError((err, c) => c.text(err.message, err instanceof InvalidInputError ? 400 : 500));
    const route = (await (await app.request('/api/events?kind=route')).json()) as {
      events: RouteEvent[];
    };
    assert.equal(route.events[0]!.kind, 'route');
    assert.equal(asked[0]!.kind, 'route');
    assert.equal((await app.request('/api/events')).status, 200);
    assert.equal(asked[1]!.kind, undefined);
    const refused = await app.request('/api/events?kind=reboot');
    assert.equal(refused.status, 400);
    assert.equal(await refused.text(), 'invalid kind: outage or route');
  });
});

describe('the outage keeper with route events', () => {
  it('keeps them beside the outages, saved, read back after a restart, never open', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'route-events-'));
    const lines: string[] = [];
    let wallMs = AT;
    const keeper = (): OutageKeeper =>
      new OutageKeeper({
        rules: { downAfter: 3, upAfter: 3 },
        instance: 'i1',
        store: new EventFile(dir),
        sender: new AlertSender({ urls: [], log: (l) => lines.push(l) }),
        timing: DEFAULT_ALERT_TIMING,
        holdAlerts: false,
        wallNowMs: () => wallMs,
        log: (l) => lines.push(l),
      });
    try {
      const probed = makeHarness().add('far4', '10.9.2.2');
      const first = keeper();
      for (let i = 0; i < 3; i++) first.record(probed, 'timeout');
      wallMs += 1000;
      first.recordRoute(probed, wallMs, ['10.9.1.1', '10.9.2.2'], ['10.9.3.1', '10.9.2.2']);
      const kinds = (k: OutageKeeper, q = {}): (string | undefined)[] =>
        k.events(q).map((x) => x.kind);
      assert.deepEqual(kinds(first), ['route', undefined], 'newest first');
      assert.deepEqual(kinds(first, { kind: 'route' }), ['route']);
      assert.deepEqual(kinds(first, { kind: 'outage' }), [undefined]);
      assert.deepEqual(kinds(first, { openOnly: true }), [undefined]);
      await first.close();

      const second = keeper();
      const open = await second.load();
      assert.deepEqual(
        open.map((o) => o.key),
        ['far4@10.9.2.2'],
        'only the outage is taken up as open',
      );
      const [route] = second.events({ kind: 'route' });
      assert.ok(route?.kind === 'route');
      assert.deepEqual(
        [route.before, route.after, route.labels],
        [['10.9.1.1', '10.9.2.2'], ['10.9.3.1', '10.9.2.2'], {}],
      );
      assert.equal(route.start, new Date(AT + 1000).toISOString());
      assert.deepEqual(lines, [
        `outage: far4 (10.9.2.2, icmp) down since ${new Date(AT).toISOString()}`,
      ]);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
