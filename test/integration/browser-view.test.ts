// The browser view in real Chromium against a real netpingd: the overview
// picks up a target added with npcli without a reload, the target page
// draws its heatmap and smoke graph, history survives a restart, and the
// page adds targets with the API token and says clearly why not without.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { inkedPixels, openBrowser, type Browser } from '../support/browser.js';
import { IS_ROOT } from '../support/env.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = !IS_ROOT && 'raw ICMP sockets need root: run the suite as root';
const DAEMON_ARGS = ['--interval', '100ms', '--timeout', '500ms'];

interface HistoryBody {
  step: number;
  points: { t: number; sent: number; buckets: [number, number][] }[];
}

async function history(d: RunningDaemon, target: string): Promise<HistoryBody> {
  const res = await fetch(`${d.baseUrl}/api/history?target=${encodeURIComponent(target)}&range=1h`);
  assert.equal(res.status, 200);
  return (await res.json()) as HistoryBody;
}

async function drawn(page: Page): Promise<Record<string, string | undefined>> {
  await page.waitForSelector('body[data-state="drawn"]', { timeout: 10_000 });
  return page.evaluate(() => ({ ...document.body.dataset }));
}

describe('the browser view', { skip }, () => {
  let stateDir: string;
  let daemon: RunningDaemon;
  let browser: Browser;
  let page: Page;
  /** What the pages' Content-Security-Policy refused, as Chromium reports it. */
  const violations: string[] = [];
  const cli = (...args: string[]) =>
    runCli(['--url', daemon.baseUrl, '--state-dir', stateDir, ...args]);

  before(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'netping-view-it-'));
    daemon = await startDaemon(['--state-dir', stateDir, ...DAEMON_ARGS]);
    browser = await openBrowser();
    page = await browser.newPage();
    // Chromium logs each refusal ("Refused to apply inline style because it
    // violates the following Content Security Policy directive ..."); the
    // event is listened to as well, in case a version words it otherwise.
    page.on('console', (m) => {
      if (/Content Security Policy|CSP violation/i.test(m.text())) violations.push(m.text());
    });
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
      ),
    );
  });

  after(async () => {
    await browser?.close();
    const code = await daemon?.stop();
    await rm(stateDir, { recursive: true, force: true });
    assert.equal(code, 0, `netpingd should exit 0; log:\n${daemon?.log()}`);
  });

  it('serves the page to browsers and the plain table to everyone else', async () => {
    const plain = await fetch(`${daemon.baseUrl}/`);
    assert.match(plain.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await plain.text(), /^Name\s+Address/);
    const html = await fetch(`${daemon.baseUrl}/`, { headers: { Accept: 'text/html' } });
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await html.text(), /<script type="module" src="\/static\/web\/overview.js">/);
  });

  it('sends the security headers on pages, scripts, the API, metrics and errors', async () => {
    for (const [url, accept] of [
      ['/', 'text/html'],
      ['/', '*/*'],
      ['/target?t=lo%40127.0.0.1', 'text/html'],
      ['/static/web/overview.js', '*/*'],
      ['/static/style.css', '*/*'],
      ['/api/targets', '*/*'],
      ['/metrics', '*/*'],
      ['/no-such-page', '*/*'],
    ] as const) {
      const res = await fetch(`${daemon.baseUrl}${url}`, { headers: { Accept: accept } });
      await res.arrayBuffer();
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
      ])
        assert.ok(csp.split('; ').includes(directive), `${url}: ${directive} not in "${csp}"`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', url);
    }
  });

  it('shows a target added with npcli within 2 s, without a reload', async () => {
    await page.goto(`${daemon.baseUrl}/`);
    await page.waitForSelector('body[data-rows="0"]', { timeout: 10_000 });
    const added = await cli('add', 'lo@127.0.0.1');
    assert.equal(added.code, 0, added.stderr);
    const addedAt = Date.now();
    await page.waitForSelector('tr[data-key="lo@127.0.0.1"]', { timeout: 2_000 });
    const elapsedMs = Date.now() - addedAt;
    assert.ok(elapsedMs < 2000, `${elapsedMs} ms`);
    // The page was not reloaded: the same document saw the row arrive.
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), 1);
    // The row says how the target is probed.
    const headers = await page.$$eval('thead th', (ths) => ths.map((th) => th.textContent));
    const cells = await page.$$eval('tr[data-key="lo@127.0.0.1"] td', (tds) =>
      tds.map((td) => td.textContent),
    );
    const probe = headers.indexOf('Probe');
    assert.ok(probe > 0, headers.join(' '));
    assert.equal(cells[probe], 'icmp');
    assert.ok(headers.includes('Answers'), headers.join(' '));
  });

  it('draws a non-empty heatmap, loss strip and smoke graph on the target page', async () => {
    await eventually('replies to lo', async () => {
      const h = await history(daemon, 'lo@127.0.0.1');
      return h.points.some((p) => p.buckets.length > 0) ? true : undefined;
    });
    await page.goto(`${daemon.baseUrl}/target?t=lo%40127.0.0.1&range=1h`);
    const data = await drawn(page);
    assert.ok(Number(data.heatmapCells) > 0, `heatmap cells: ${data.heatmapCells}`);
    assert.ok(Number(data.smokeMedians) > 0, `smoke medians: ${data.smokeMedians}`);
    assert.ok((await inkedPixels(page, '#heatmap')) > 0);
    assert.ok((await inkedPixels(page, '#smoke')) > 0);
    assert.ok((await inkedPixels(page, '#loss')) > 0);
    assert.match((await page.textContent('#summary')) ?? '', /^probe icmp · 1h: /);
    assert.equal(await page.textContent('#answers'), 'none');
    // The stylesheet and the legend's colours came through the policy.
    const styled = await page.evaluate(() => ({
      body: getComputedStyle(document.body).backgroundColor,
      key: getComputedStyle(document.querySelector('.legend .key')!).backgroundColor,
      noRecord: getComputedStyle(document.querySelector('.key.norecord')!).backgroundImage,
    }));
    assert.equal(styled.body, 'rgb(250, 250, 250)');
    assert.notEqual(styled.key, 'rgba(0, 0, 0, 0)');
    assert.match(styled.noRecord, /repeating-linear-gradient/);
    if (process.env.NETPING_SCREENSHOT_DIR)
      await page.screenshot({
        path: path.join(process.env.NETPING_SCREENSHOT_DIR, 'target.png'),
        fullPage: true,
      });
  });

  it("shows the target's path on its page once traced: one hop to 127.0.0.1", async () => {
    const res = await fetch(`${daemon.baseUrl}/api/path?target=lo&fresh=1`);
    assert.equal(res.status, 200);
    const traced = (await res.json()) as { reached: boolean; hops: { address: string }[] };
    assert.equal(traced.reached, true);
    assert.deepEqual(
      traced.hops.map((h) => h.address),
      ['127.0.0.1'],
    );
    await page.goto(`${daemon.baseUrl}/target?t=lo%40127.0.0.1&range=1h`);
    const data = await drawn(page);
    assert.equal(data.pathHops, '1');
    const row = await page.$$eval('#path td', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(row.slice(0, 5), ['1', '127.0.0.1', '3', '3', '0%']);
    assert.match(
      (await page.textContent('#pathsummary')) ?? '',
      /reached in 1 hops · path MTU \d+ bytes · no route change seen/,
    );
  });

  it('answers bad history requests with a clear 400 or 404', async () => {
    for (const [query, status, error] of [
      ['range=1h', 400, /missing \?target/],
      ['target=lo@127.0.0.1&range=2h', 400, /unknown range "2h"/],
      ['target=nobody@127.0.0.9&range=1h', 404, /no target/],
    ] as const) {
      const res = await fetch(`${daemon.baseUrl}/api/history?${query}`);
      assert.equal(res.status, status, query);
      assert.match(((await res.json()) as { error: string }).error, error);
    }
  });

  it('refuses to add a target from the page without the token, and says why', async () => {
    await page.goto(`${daemon.baseUrl}/`);
    await page.fill('#addtext', 'nope@127.0.0.3');
    await page.click('#addform button');
    await page.waitForSelector('#msg.bad', { timeout: 5_000 });
    assert.match((await page.textContent('#msg')) ?? '', /not added: changes need the API token/);
    const members = (await (await fetch(`${daemon.baseUrl}/api/members`)).json()) as {
      members: string[];
    };
    assert.ok(!members.members.includes('nope@127.0.0.3'));
  });

  it('adds and removes a target from the page with the token', async () => {
    const token = (await readFile(path.join(stateDir, 'api-token'), 'utf8')).trim();
    await page.fill('#token', token);
    await page.click('#usetoken');
    await page.fill('#addtext', 'web@127.0.0.2');
    await page.click('#addform button');
    await page.waitForSelector('#msg.good', { timeout: 5_000 });
    await page.waitForSelector('tr[data-key="web@127.0.0.2"]', { timeout: 5_000 });
    await page.click('button[data-remove="web@127.0.0.2"]');
    await page.waitForSelector('tr[data-key="web@127.0.0.2"]', {
      state: 'detached',
      timeout: 5_000,
    });
  });

  it('groups the addresses of a name followed in DNS under its status, and removes the name there', async () => {
    // localhost is only in /etc/hosts: found by the system lookup.
    const added = await cli('add', 'lh@localhost');
    assert.equal(added.code, 0, added.stderr);
    await page.goto(`${daemon.baseUrl}/`);
    await page.waitForSelector('tr[data-key="lh@127.0.0.1"]', { timeout: 10_000 });
    const group = await page.$$eval('tr', (trs) =>
      trs.map((tr) => `${tr.className}|${tr.dataset.key ?? ''}|${tr.textContent ?? ''}`),
    );
    const at = group.findIndex((row) => row.startsWith('dnsname|'));
    assert.ok(at >= 0, group.join('\n'));
    assert.match(group[at]!, /^dnsname\|\|lh — localhost \(DNS\): resolved \d+s ago/);
    assert.match(group[at + 1]!, /^[^|]*\|lh@127\.0\.0\.1\|/);
    // The name is removed from its heading (its member), not address by address.
    assert.equal(await page.$('button[data-remove="lh@127.0.0.1"]'), null);
    await page.click('button[data-remove="lh@localhost"]');
    await page.waitForSelector('tr[data-key="lh@127.0.0.1"]', {
      state: 'detached',
      timeout: 5_000,
    });
  });

  it('still has the history after netpingd restarts', async () => {
    const before = await history(daemon, 'lo@127.0.0.1');
    const sentBefore = before.points.reduce((a, p) => a + p.sent, 0);
    const firstBefore = before.points[0]!.t;
    assert.equal(await daemon.stop(), 0);
    daemon = await startDaemon(['--state-dir', stateDir, ...DAEMON_ARGS]);
    // It listens before it has read its state: wait until the target is back.
    const afterRestart = await eventually('lo back after the restart', async () => {
      const h = await history(daemon, 'lo@127.0.0.1');
      return h.points.length > 0 ? h : undefined;
    });
    assert.equal(afterRestart.points[0]!.t, firstBefore);
    const sentAfter = afterRestart.points.reduce((a, p) => a + p.sent, 0);
    assert.ok(sentAfter >= sentBefore, `${sentAfter} sent after the restart, ${sentBefore} before`);
    await page.goto(`${daemon.baseUrl}/target?t=lo%40127.0.0.1&range=1h`);
    const data = await drawn(page);
    assert.ok(Number(data.heatmapCells) > 0);
  });

  it('ran every page above without the policy refusing anything', async () => {
    // The overview once more, with its sparklines' first poll in.
    await page.goto(`${daemon.baseUrl}/`);
    await page.waitForSelector('tr[data-key="lo@127.0.0.1"]', { timeout: 10_000 });
    await page.waitForTimeout(1500);
    if (process.env.NETPING_SCREENSHOT_DIR)
      await page.screenshot({
        path: path.join(process.env.NETPING_SCREENSHOT_DIR, 'overview.png'),
        fullPage: true,
      });
    assert.deepEqual(violations, []);
  });
});
