// Control bytes from outside never reach a terminal or a log (issue 20): the
// escaping helpers, the parse errors that quote input, and the places that
// print them (the table at /, npcli list and stats, log lines).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderList, renderStats } from '../../cli/render.js';
import { parseBoundedDurationMs, parseDurationMs } from '../../lib/duration.js';
import { parseListen } from '../../lib/listen.js';
import { streamLog } from '../../lib/log.js';
import {
  cutToChars,
  printable,
  printableLine,
  quoted,
  quoteInput,
} from '../../lib/render/printable.js';
import { renderSummaryTable } from '../../lib/render/summary-table.js';
import type { DaemonReport } from '../../lib/report.js';
import { keysFor, validateInstance } from '../../lib/store/keys.js';
import { parseTargetKey } from '../../lib/target.js';

/** The member of issue 20: an xterm title change and a screen clear in the interval. */
const EVIL = 'evil@127.0.0.1?interval=\u001b]0;PWNED\u0007\u001b[2J';

/** Every character a terminal acts on but newline (and tab, where `tab` allows it). */
function controlsIn(text: string, allow = '\n'): string[] {
  return [...text].filter(
    (c) => !allow.includes(c) && /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(c),
  );
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('did not throw');
}

describe('the escaping helpers', () => {
  it('quoted() escapes DEL and the C1 controls (U+009B is a CSI), which JSON.stringify leaves raw', () => {
    assert.equal(quoted('a\u007fb\u009b[2J\u0085'), '"a\\u007fb\\u009b[2J\\u0085"');
    assert.equal(quoted('x\u2028y\u2029'), '"x\\u2028y\\u2029"');
    assert.deepEqual(controlsIn(printable('\u009b31m')), []);
  });

  it('quoteInput() single-quotes, cuts at 60 characters and escapes controls', () => {
    assert.equal(quoteInput('250ms'), "'250ms'");
    assert.equal(quoteInput('a\u001b[2Jb'), "'a\\u001b[2Jb'");
    const long = quoteInput('x'.repeat(1000));
    assert.equal(long, `'${'x'.repeat(60)}…'`);
    assert.equal(quoteInput('y'.repeat(60)), `'${'y'.repeat(60)}'`, 'exactly 60 is not cut');
    assert.equal(quoteInput("it's"), "'it's'");
  });

  it('cutToChars() counts characters, not UTF-16 units, and never splits a pair', () => {
    assert.equal(cutToChars('😀😀😀', 2), '😀😀…');
    assert.equal(cutToChars('😀😀', 2), '😀😀');
    assert.equal(cutToChars('abc', 5), 'abc');
  });

  it('printableLine() escapes controls and line breaks in place, leaving the rest', () => {
    assert.equal(printableLine('plain line: ok'), 'plain line: ok');
    assert.equal(printableLine('a\nb\u001b]0;x\u0007\u009b'), 'a\\nb\\u001b]0;x\\u0007\\u009b');
  });
});

describe('parse errors quote what they were given, printable and cut', () => {
  const cases: [string, () => unknown][] = [
    ['a duration', () => parseDurationMs('\u001b]0;PWNED\u0007\u001b[2J')],
    ['a bounded duration', () => parseBoundedDurationMs('\u001b[2J99999', 'interval', 1, 2)],
    ['a listen address', () => parseListen('\u001b[2J:x')],
    ['an instance id', () => validateInstance('\u001b[2J')],
    ['a prefix', () => keysFor('\u009b2J')],
    ['a member from the set', () => parseTargetKey(EVIL)],
  ];
  for (const [what, f] of cases) {
    it(`${what}: no control character in the message`, () => {
      const message = errorOf(f);
      assert.deepEqual(controlsIn(message, ''), [], JSON.stringify(message));
      assert.match(message, /\\u001b|\\u009b/, 'the control is shown, escaped');
    });
  }

  it('a duration error quotes at most 60 characters of a long value', () => {
    const message = errorOf(() => parseDurationMs(`${'9'.repeat(5000)}x`));
    assert.ok(message.length < 200, message);
    assert.match(message, /'9{60}…'/);
  });
});

function hostileReport(): DaemonReport {
  return {
    version: '9.9.9',
    generatedAt: '2026-01-01T00:00:00.000Z',
    store: { kind: 'redis', location: 'redis://x\u001b[2J', up: false },
    targets: [],
    invalid: [{ member: EVIL, error: 'invalid interval \u001b]0;PWNED\u0007\u001b[2J' }],
    ignoredPackets: {},
  };
}

describe('what prints invalid members and errors', () => {
  it('the table at / escapes the member and its error (from a daemon of any version)', () => {
    const text = renderSummaryTable(hostileReport());
    assert.deepEqual(controlsIn(text), [], text);
    assert.match(
      text,
      /ERROR {2}"evil@127\.0\.0\.1\?interval=\\u001b\]0;PWNED\\u0007\\u001b\[2J": /,
    );
  });

  it('npcli list and npcli stats escape every cell, member and error a daemon sends', () => {
    const report = hostileReport();
    const list = renderList({
      targets: [
        {
          name: 'n\u001b[2J',
          address: '127.0.0.1\u0007',
          probe: 'icmp',
          labels: { role: 'x\u009b2J' },
        },
      ],
      invalid: report.invalid,
    });
    assert.deepEqual(controlsIn(list), [], list);
    const stats = renderStats(report);
    assert.deepEqual(controlsIn(stats), [], stats);
  });

  it('a log line is one line with no control character in it', () => {
    const written: string[] = [];
    const log = streamLog('netpingd', { write: (t: string) => written.push(t), on: () => {} });
    log(`skipping target set member ${EVIL}\nsecond line`);
    assert.equal(written.length, 1);
    assert.ok(written[0]!.endsWith('\n'));
    assert.deepEqual(controlsIn(written[0]!.slice(0, -1), ''), [], written[0]);
    assert.match(written[0]!, /\\u001b\]0;PWNED\\u0007/);
  });
});
