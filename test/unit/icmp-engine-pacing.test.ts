// The engine at 1,000 targets a second, with a fake clock: it wakes the loop
// at most once per 10 ms (wake-pacing.ts), yet every target still sends once
// an interval near its slot, and a silent probe is lost at its timeout, at
// most one gap late, never early.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { vanDerCorput } from '../../lib/engine/spread.js';
import { WAKE_GAP_MAX_MS } from '../../lib/engine/wake-pacing.js';
import { makeHarness, START_MS } from '../support/engine-harness.js';
import { echoReplyFor } from '../support/packets.js';

const TARGETS = 1000;
const INTERVAL_MS = 1000;
const TIMEOUT_MS = 1000;
const SILENT = '198.18.3.231'; // the last target: slot 999

const addressOf = (i: number): string => `198.18.${i >> 8}.${i & 255}`;

function busyHarness(onLost?: (atMs: number) => void): ReturnType<typeof makeHarness> {
  const h = makeHarness({
    onOutcome: (p, lost) => {
      if (lost !== null && p.target.address === SILENT) onLost?.(h.clock.nowMs());
    },
  });
  for (let i = 0; i < TARGETS; i++) h.add(`t${i}`, addressOf(i), INTERVAL_MS, TIMEOUT_MS);
  h.t4.onSend = (s) => {
    if (s.address !== SILENT) h.t4.queue(echoReplyFor(4, s.packet, s.address), s.address, s.atMs);
  };
  return h;
}

describe('ProbeEngine: wake-ups at 1,000 probes a second', () => {
  it('wakes at most once per 10 ms and sends each target once an interval, within 5 ms of its slot', () => {
    const h = busyHarness();
    const windowMs = 10 * INTERVAL_MS;
    const firedBefore = h.clock.fired;
    h.clock.advance(windowMs - WAKE_GAP_MAX_MS);
    const wakeUps = h.clock.fired - firedBefore;
    assert.ok(wakeUps <= windowMs / WAKE_GAP_MAX_MS + 1, `${wakeUps} wake-ups in ${windowMs} ms`);
    assert.ok(wakeUps >= windowMs / WAKE_GAP_MAX_MS / 2, `${wakeUps} wake-ups: still spread`);
    const byAddress = new Map<string, number[]>();
    for (const s of h.t4.sent)
      byAddress.set(s.address, [...(byAddress.get(s.address) ?? []), s.atMs]);
    assert.equal(byAddress.size, TARGETS);
    for (let i = 0; i < TARGETS; i++) {
      const times = byAddress.get(addressOf(i))!;
      const phaseMs = vanDerCorput(i) * INTERVAL_MS;
      assert.ok(times.length === 10 || (times.length === 9 && phaseMs > 990), `${addressOf(i)}`);
      times.forEach((t, k) => {
        const offMs = t - START_MS - phaseMs - k * INTERVAL_MS;
        assert.ok(
          Math.abs(offMs) <= WAKE_GAP_MAX_MS / 2,
          `${addressOf(i)} probe ${k}: ${offMs} ms`,
        );
      });
    }
    const received = [...h.engine.targets()].reduce((n, p) => n + p.stats.received, 0);
    assert.equal(received, h.t4.sent.length - byAddress.get(SILENT)!.length);
  });

  it('counts a silent probe lost at its timeout, at most a gap late, never early', () => {
    const lostAt: number[] = [];
    const h = busyHarness((atMs) => lostAt.push(atMs));
    h.clock.advance(10 * INTERVAL_MS);
    const sentAt = h.t4.sent.filter((s) => s.address === SILENT).map((s) => s.atMs);
    assert.ok(lostAt.length >= 8, `${lostAt.length} losses`);
    lostAt.forEach((at, k) => {
      const afterMs = at - sentAt[k]! - TIMEOUT_MS;
      assert.ok(
        afterMs >= 0 && afterMs <= WAKE_GAP_MAX_MS,
        `loss ${k}: ${afterMs} ms after its deadline`,
      );
    });
    const silent = [...h.engine.targets()].find((p) => p.target.address === SILENT)!;
    assert.equal(silent.stats.sent, silent.stats.lost + silent.ledger.inFlight);
  });

  it('behind schedule, sends for at most its budget a wake-up and lets other timers run between', () => {
    const h = busyHarness();
    const sendMs = 2; // 1,000 sends a second of 2 ms: twice what one core can do
    const onSend = h.t4.onSend!;
    h.t4.onSend = (s) => {
      onSend(s);
      h.clock.stall(sendMs);
    };
    const pageAt: number[] = [];
    const page = (): void => {
      pageAt.push(h.clock.nowMs());
      h.clock.setTimer(page, 1);
    };
    h.clock.setTimer(page, 1);
    h.clock.advance(5 * INTERVAL_MS);
    let longest = 0;
    for (let i = 1; i < pageAt.length; i++)
      longest = Math.max(longest, pageAt[i]! - pageAt[i - 1]!);
    // The engine's budget (10 ms), one send begun before it ran out, and the 1 ms timer.
    assert.ok(longest <= 10 + sendMs + 1, `another timer waited up to ${longest} ms`);
    const most = (5 * INTERVAL_MS) / sendMs;
    assert.ok(h.t4.sent.length >= 0.6 * most, `${h.t4.sent.length} probes of at most ${most}`);
    for (const p of h.engine.targets())
      assert.equal(p.stats.sent, p.stats.received + p.stats.lost + p.ledger.inFlight, p.key);
  });
});
