// Takes a PNG of a page of the browser view, for docs/: run where the
// daemon is reachable (e.g. inside the fault harness's namespace):
//   node dist/test/support/screenshot.js URL OUT.png [WIDTH HEIGHT]
// Waits for the overview's rows or the target page's charts first.

import { openBrowser } from './browser.js';

const [url, out, width = '1280', height = '900'] = process.argv.slice(2);
if (!url || !out) {
  process.stderr.write('usage: screenshot URL OUT.png [WIDTH HEIGHT]\n');
  process.exit(2);
}
const browser = await openBrowser();
try {
  const page = await browser.newPage();
  await page.setViewportSize({ width: Number(width), height: Number(height) });
  await page.goto(url);
  await page.waitForSelector('body[data-state="drawn"], body[data-rows]', { timeout: 15_000 });
  await page.waitForTimeout(url.includes('/target') ? 200 : 1500); // the sparklines' first poll
  await page.screenshot({ path: out, fullPage: true });
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
}
