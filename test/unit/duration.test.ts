import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseBoundedDurationMs, parseDurationMs } from '../../lib/duration.js';
import { InvalidInputError } from '../../lib/errors.js';

function assertInvalid(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, `not an InvalidInputError: ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.equal(err.name, 'InvalidInputError');
    assert.equal(err.message, message);
    return true;
  });
}

describe('parseDurationMs', () => {
  const valid: [string, number][] = [
    ['2', 2000],
    ['0.25', 250],
    ['.5', 500],
    ['1.5', 1500],
    ['250ms', 250],
    ['0.5ms', 0.5],
    ['1s', 1000],
    ['2.5s', 2500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    [' 1s ', 1000],
    ['007', 7000],
  ];
  for (const [text, ms] of valid) {
    it(`reads '${text}' as ${ms} ms`, () => assert.equal(parseDurationMs(text), ms));
  }

  const malformed = [
    '',
    ' ',
    'abc',
    '1x',
    '1 s',
    '-1',
    '+1',
    '1.',
    's',
    'ms',
    '1e3',
    '1S',
    '1sec',
    '1s2',
    'Infinity',
    'NaN',
    '0x10',
    '1,5',
  ];
  for (const text of malformed) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assertInvalid(
        () => parseDurationMs(text),
        `invalid duration '${text}': use seconds like 0.25 or a unit like 250ms, 1s, 2m`,
      );
    });
  }

  it('rejects zero in any unit', () => {
    for (const text of ['0', '0s', '0ms', '0.0', '.0h']) {
      assertInvalid(
        () => parseDurationMs(text),
        `invalid duration '${text}': must be greater than zero`,
      );
    }
  });

  it('names what it parses in the message', () => {
    assertInvalid(
      () => parseDurationMs('soon', 'interval'),
      "invalid interval 'soon': use seconds like 0.25 or a unit like 250ms, 1s, 2m",
    );
    assertInvalid(
      () => parseDurationMs('0', 'timeout'),
      "invalid timeout '0': must be greater than zero",
    );
  });
});

describe('parseBoundedDurationMs', () => {
  it('accepts the bounds themselves and what lies between', () => {
    assert.equal(parseBoundedDurationMs('100ms', 'interval', 100, 60_000), 100);
    assert.equal(parseBoundedDurationMs('1m', 'interval', 100, 60_000), 60_000);
    assert.equal(parseBoundedDurationMs('30', 'interval', 100, 60_000), 30_000);
  });

  it('catches a number meant in milliseconds but read as seconds', () => {
    assertInvalid(
      () => parseBoundedDurationMs('1000', 'interval', 100, 60_000),
      "invalid interval '1000': must be between 100ms and 1m",
    );
  });

  it('rejects below the minimum with both bounds in the message', () => {
    assertInvalid(
      () => parseBoundedDurationMs('50ms', 'timeout', 100, 30_000),
      "invalid timeout '50ms': must be between 100ms and 30s",
    );
  });

  it('passes malformed input errors through', () => {
    assertInvalid(
      () => parseBoundedDurationMs('x', 'timeout', 1, 2),
      "invalid timeout 'x': use seconds like 0.25 or a unit like 250ms, 1s, 2m",
    );
  });
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0.25, '0.25ms'],
    [1, '1ms'],
    [250, '250ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1234.5678, '1.235s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [90_000, '1.5m'],
    [3_600_000, '60m'],
  ];
  for (const [ms, text] of cases) {
    it(`formats ${ms} ms as '${text}'`, () => assert.equal(formatDuration(ms), text));
  }

  it('round-trips through parseDurationMs', () => {
    for (const ms of [0.5, 1, 250, 1000, 1500, 60_000, 90_000]) {
      assert.equal(parseDurationMs(formatDuration(ms)), ms);
    }
  });
});
