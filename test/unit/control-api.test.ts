// The control API through createApp(...).request(), writing a real
// EmbeddedStore in a temporary directory: no socket, no DNS.

import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Hono } from 'hono';
import { createApp } from '../../lib/http/app.js';
import { MAX_BODY_BYTES } from '../../lib/http/control.js';
import { viewOf, type DaemonReport } from '../../lib/report.js';
import { EmbeddedStore, TARGETS_FILE } from '../../lib/store/embedded-store.js';
import { parseMember } from '../../lib/target.js';
import type { MemberParser } from '../../lib/target-changes.js';

const TOKEN = 'test-token-0123456789abcdef';

const REPORT: DaemonReport = {
  version: '0.0.0-test',
  generatedAt: '2026-01-01T00:00:00.000Z',
  store: { kind: 'embedded', location: '/tmp/x', up: true },
  targets: [],
  invalid: [],
  ignoredPackets: {},
};

interface Rig {
  app: Hono;
  store: EmbeddedStore;
  dir: string;
}

async function rig(dir: string, maxTargets = 100, parse?: MemberParser): Promise<Rig> {
  const store = await EmbeddedStore.open(dir);
  const app = createApp({
    view: () => viewOf({ report: REPORT, histograms: [] }),
    metrics: () => ['# no metrics\n'],
    metricsContentType: 'text/plain; version=0.0.4',
    control: { store, token: TOKEN, maxTargets, ...(parse ? { parse } : {}) },
  });
  return { app, store, dir };
}

/** `null`: no Authorization header at all. */
function post(app: Hono, body: string, token: string | null = TOKEN): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return Promise.resolve(app.request('/api/targets', { method: 'POST', headers, body }));
}

function del(app: Hono, selector: string, token: string | null = TOKEN): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return Promise.resolve(
    app.request(`/api/targets/${encodeURIComponent(selector)}`, { method: 'DELETE', headers }),
  );
}

const add = (app: Hono, targets: unknown, token: string | null = TOKEN): Promise<Response> =>
  post(app, JSON.stringify({ targets }), token);

async function errorOf(res: Response): Promise<string> {
  const body = (await res.json()) as { error?: unknown };
  assert.equal(typeof body.error, 'string', JSON.stringify(body));
  return body.error as string;
}

/** The targets file as written, or undefined when nothing was ever written. */
async function fileMembers(dir: string): Promise<unknown> {
  if (!(await readdir(dir)).includes(TARGETS_FILE)) return undefined;
  return (JSON.parse(await readFile(path.join(dir, TARGETS_FILE), 'utf8')) as { members: unknown })
    .members;
}

describe("control API with the daemon's parser", () => {
  it('reads the members of the set through it, on adds and removes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'netping-control-'));
    const seen: string[] = [];
    // The real parser, each call counted: the daemon gives TargetSync's, which has them parsed.
    const r = await rig(dir, 100, (member) => {
      seen.push(member);
      return parseMember(member);
    });
    try {
      await r.store.add(['keep@127.0.0.1', 'junk']);
      assert.equal((await add(r.app, ['new@127.0.0.2'])).status, 200);
      assert.ok(seen.includes('keep@127.0.0.1') && seen.includes('junk'), seen.join(' '));
      seen.length = 0;
      assert.equal((await del(r.app, 'new')).status, 200);
      assert.ok(seen.includes('keep@127.0.0.1') && seen.includes('junk'), seen.join(' '));
      assert.deepEqual((await r.store.members()).sort(), ['junk', 'keep@127.0.0.1']);
    } finally {
      await r.store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('control API', () => {
  let dir: string;
  let r: Rig;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netping-control-'));
    r = await rig(dir);
    await r.store.add(['keep@127.0.0.1']);
  });
  afterEach(async () => {
    await r.store.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [what, token] of [
    ['without a token', null],
    ['with a wrong token', 'wrong-token-0123456789abcdef'],
    ['with a prefix of the token', TOKEN.slice(0, -1)],
    ['with the token and more', `${TOKEN}x`],
  ] as const) {
    it(`refuses changes ${what} with 401 and changes nothing`, async () => {
      const res = await add(r.app, ['new@127.0.0.2'], token);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      assert.match(await errorOf(res), /bearer token/);
      const gone = await del(r.app, 'keep', token);
      assert.equal(gone.status, 401);
      assert.deepEqual(await r.store.members(), ['keep@127.0.0.1']);
      assert.deepEqual(await fileMembers(dir), ['keep@127.0.0.1']);
    });
  }

  it('refuses a token given other than as a Bearer header', async () => {
    for (const authorization of [`Basic ${TOKEN}`, `bearer${TOKEN}`, `Bearer  ${TOKEN}`, TOKEN]) {
      const res = await r.app.request('/api/targets', {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ targets: ['new@127.0.0.2'] }),
      });
      assert.equal(res.status, 401, authorization);
    }
    assert.deepEqual(await r.store.members(), ['keep@127.0.0.1']);
  });

  it('takes the Bearer scheme in any case (RFC 9110: schemes are case-insensitive)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await r.app.request('/api/targets', {
        method: 'POST',
        headers: { authorization: `${scheme} ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ targets: [`${scheme}@127.0.0.9`] }),
      });
      assert.equal(res.status, 200, scheme);
    }
    const wrongCase = await r.app.request('/api/targets', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN.toUpperCase()}x`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ targets: ['no@127.0.0.10'] }),
    });
    assert.equal(wrongCase.status, 401, 'the token itself is compared exactly');
  });

  it('adds targets and says which were new', async () => {
    const res = await add(r.app, ['lo@127.0.0.2', '::1', 'keep@127.0.0.1', 'q"b\\c€@127.0.0.3']);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      results: [
        { member: 'lo@127.0.0.2', changed: true },
        { member: '::1@::1', changed: true },
        { member: 'keep@127.0.0.1', changed: false },
        { member: 'q"b\\c€@127.0.0.3', changed: true },
      ],
    });
    assert.deepEqual(await fileMembers(dir), [
      'keep@127.0.0.1',
      'lo@127.0.0.2',
      '::1@::1',
      'q"b\\c€@127.0.0.3',
    ]);
  });

  const bad: [string, string, RegExp][] = [
    ['a bad address', JSON.stringify({ targets: ['x@300.1.1.1'] }), /300\.1\.1\.1/],
    ['two @', JSON.stringify({ targets: ['a@b@127.0.0.1'] }), /more than one '@'/],
    ['a name with a newline', JSON.stringify({ targets: ['a\nb@127.0.0.1'] }), /control/],
    ['a name with a bell', JSON.stringify({ targets: ['a\u0007b@127.0.0.1'] }), /control/],
    ['a name with a NUL', JSON.stringify({ targets: ['a\u0000@127.0.0.1'] }), /control/],
    ['a name with U+2028', JSON.stringify({ targets: ['a\u2028@::1'] }), /control/],
    ['a name with a space', JSON.stringify({ targets: ['a b@::1'] }), /whitespace/],
    ['an empty name', JSON.stringify({ targets: ['@127.0.0.1'] }), /empty/],
    ['a 10 kB string', JSON.stringify({ targets: [`${'n'.repeat(10_000)}@::1`] }), /at most/],
    ['a 101-character name', JSON.stringify({ targets: [`${'n'.repeat(101)}@::1`] }), /longer/],
    ['the body not JSON', '{"targets": [', /not JSON/],
    ['an empty body', '', /not JSON/],
    ['the body null', 'null', /expected/],
    ['the body an array', '["lo@127.0.0.1"]', /expected/],
    ['targets a string', JSON.stringify({ targets: 'lo@127.0.0.1' }), /expected/],
    ['targets empty', JSON.stringify({ targets: [] }), /expected/],
    ['a number in targets', JSON.stringify({ targets: ['lo@127.0.0.1', 7] }), /expected/],
    ['no targets field', JSON.stringify({ target: ['lo@127.0.0.1'] }), /expected/],
    [
      '1001 targets',
      JSON.stringify({ targets: Array.from({ length: 1001 }, (_, i) => `t${i}@::1`) }),
      /1-1000/,
    ],
  ];
  for (const [what, body, message] of bad) {
    it(`answers 400 to ${what} and writes nothing`, async () => {
      const res = await post(r.app, body);
      assert.equal(res.status, 400);
      const error = await errorOf(res);
      assert.match(error, message);
      assert.ok(!/\p{Cc}/u.test(error), `raw control characters in ${JSON.stringify(error)}`);
      assert.ok(error.length < 300, `error of ${error.length} characters`);
      assert.deepEqual(await r.store.members(), ['keep@127.0.0.1']);
    });
  }

  it('refuses a whole request when one target in it is bad', async () => {
    const res = await add(r.app, ['good@127.0.0.2', 'bad@127.0.0.999']);
    assert.equal(res.status, 400);
    assert.deepEqual(await r.store.members(), ['keep@127.0.0.1']);
  });

  it('answers 413 to a body over 64 KiB and writes nothing', async () => {
    const many = Array.from({ length: 800 }, (_, i) => `${'n'.repeat(90)}${i}@127.0.0.1`);
    const body = JSON.stringify({ targets: many });
    assert.ok(body.length > MAX_BODY_BYTES);
    const res = await post(r.app, body);
    assert.equal(res.status, 413);
    assert.match(await errorOf(res), /65536 bytes/);
    assert.deepEqual(await r.store.members(), ['keep@127.0.0.1']);
  });

  it('removes by name, by address and by name@address; 404 for what is not there', async () => {
    await add(r.app, ['lo@127.0.0.2', 'six@::1', 'other@127.0.0.3']);
    let res = await del(r.app, 'lo');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { results: [{ member: 'lo@127.0.0.2', changed: true }] });
    res = await del(r.app, '0:0:0:0:0:0:0:1');
    assert.deepEqual(await res.json(), { results: [{ member: 'six@::1', changed: true }] });
    res = await del(r.app, 'other@127.0.0.3');
    assert.equal(res.status, 200);
    res = await del(r.app, 'nothere');
    assert.equal(res.status, 404);
    assert.match(await errorOf(res), /no target matches "nothere"/);
    res = await del(r.app, 'x\ny');
    assert.equal(res.status, 404);
    assert.ok(!(await errorOf(res)).includes('\n'));
    assert.deepEqual(await fileMembers(dir), ['keep@127.0.0.1']);
  });

  it('refuses (400, nothing removed) a selector naming several targets unless ?all=1', async () => {
    await add(r.app, ['a@127.0.0.5', 'b@127.0.0.5', 'c@127.0.0.6']);
    let res = await del(r.app, '127.0.0.5');
    assert.equal(res.status, 400);
    assert.match(await errorOf(res), /"127\.0\.0\.5" matches 2 targets .*nothing removed.*--all/);
    assert.deepEqual((await r.store.members()).sort(), [
      'a@127.0.0.5',
      'b@127.0.0.5',
      'c@127.0.0.6',
      'keep@127.0.0.1',
    ]);
    res = await Promise.resolve(
      r.app.request('/api/targets/127.0.0.5?all=1', {
        method: 'DELETE',
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      results: [
        { member: 'a@127.0.0.5', changed: true },
        { member: 'b@127.0.0.5', changed: true },
      ],
    });
    res = await del(r.app, '127.0.0.6');
    assert.equal(res.status, 200, 'one target by its address needs no all');
    assert.deepEqual((await r.store.members()).sort(), ['keep@127.0.0.1']);
  });

  it('refuses an add past maxTargets with 400 and writes nothing', async () => {
    await r.store.close();
    r = await rig(dir, 2);
    const res = await add(r.app, ['a@127.0.0.2', 'b@127.0.0.3']);
    assert.equal(res.status, 400);
    assert.match(await errorOf(res), /limit of 2/);
    assert.deepEqual(await fileMembers(dir), ['keep@127.0.0.1']);
    const ok = await add(r.app, ['a@127.0.0.2', 'keep@127.0.0.1']);
    assert.equal(ok.status, 200, 'an add up to the limit, counting present targets once');
    assert.deepEqual(await r.store.members(), ['keep@127.0.0.1', 'a@127.0.0.2']);
  });

  it('keeps both targets of two adds that arrive at the same time', async () => {
    const [a, b] = await Promise.all([add(r.app, ['a@127.0.0.2']), add(r.app, ['b@127.0.0.3'])]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const expected = ['a@127.0.0.2', 'b@127.0.0.3', 'keep@127.0.0.1'];
    assert.deepEqual((await r.store.members()).sort(), expected);
    assert.deepEqual(((await fileMembers(dir)) as string[]).sort(), expected);
  });

  it('lists the stored members, and serves reads without a token', async () => {
    await add(r.app, ['six@::1']);
    const res = await r.app.request('/api/members');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { members: ['keep@127.0.0.1', 'six@::1'] });
    for (const url of ['/', '/metrics', '/api/targets', '/healthz'])
      assert.equal((await r.app.request(url)).status, 200, url);
  });

  it('has no control routes in a read-only app', async () => {
    const app = createApp({
      view: () => viewOf({ report: REPORT, histograms: [] }),
      metrics: () => [],
      metricsContentType: 'text/plain',
    });
    assert.equal((await add(app, ['a@127.0.0.2'])).status, 404);
    assert.equal((await app.request('/api/members')).status, 404);
  });
});
