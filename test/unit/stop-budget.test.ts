// A clean stop ends before the service manager kills it (issue 20): the
// stop's one deadline (daemon/stop-budget.ts) against systemd's
// TimeoutStopSec and SMF's stop timeout_seconds, read from the files we ship.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  probeWaitMs,
  RESERVED_FOR_SAVE_MS,
  STOP_DEADLINE_MS,
  STOP_EXIT_GRACE_MS,
  stopBudgetMs,
  STORE_STEP_BUDGET_MS,
  unboundedStopMs,
} from '../../daemon/stop-budget.js';
import { TIMEOUT_BOUNDS_MS } from '../../lib/target.js';
import { REPO_ROOT } from '../support/env.js';

/** Time for the process to be scheduled and exit after its own timer: what the managers must add. */
const MARGIN_S = 5;
/** The longest netpingd may take from SIGTERM to its exit, whatever its targets and Redis do. */
const LONGEST_STOP_S = (STOP_DEADLINE_MS + STOP_EXIT_GRACE_MS) / 1000;
const WORST = { maxTimeoutMs: TIMEOUT_BOUNDS_MS[1], mesh: true, group: true, claim: true };

/** systemd's time span: "15s", "15", "2min", "1min 30s". */
function systemdSeconds(span: string): number {
  let total = 0;
  for (const part of span.trim().split(/\s+/)) {
    const m = /^(\d+)(s|sec|min|m)?$/.exec(part);
    assert.ok(m, `cannot read the time span ${span}`);
    total += Number(m[1]) * (m[2] === 'min' || m[2] === 'm' ? 60 : 1);
  }
  return total;
}

describe('the stop budget against the service managers', () => {
  it("systemd's TimeoutStopSec leaves netpingd its whole stop, with a margin", () => {
    const unit = readFileSync(path.join(REPO_ROOT, 'systemd', 'netpingd.service'), 'utf8');
    const m = /^TimeoutStopSec=(.+)$/m.exec(unit);
    assert.ok(m, 'the unit sets TimeoutStopSec');
    const seconds = systemdSeconds(m[1]!);
    assert.ok(
      seconds >= LONGEST_STOP_S + MARGIN_S,
      `TimeoutStopSec=${m[1]} but a stop may take ${LONGEST_STOP_S} s (+${MARGIN_S} s margin)`,
    );
  });

  it("SMF's stop method gives the same time", () => {
    const manifest = readFileSync(path.join(REPO_ROOT, 'smf', 'netpingd.xml'), 'utf8');
    const m = /<exec_method[^>]*name="stop"[^>]*timeout_seconds="(\d+)"/.exec(manifest);
    assert.ok(m, 'the manifest has a stop method with a timeout');
    assert.ok(
      Number(m[1]) >= LONGEST_STOP_S + MARGIN_S,
      `stop timeout_seconds=${m[1]} but a stop may take ${LONGEST_STOP_S} s (+${MARGIN_S} s margin)`,
    );
  });

  it('the worst case of the steps (60 s timeouts, groups, the mesh) is cut to the deadline', () => {
    // Fourteen store steps of 5.5 s after a 60 s probe: what made the old 15 s fall short.
    assert.equal(unboundedStopMs(WORST), 60_000 + 200 + 14 * STORE_STEP_BUDGET_MS + 1000);
    assert.ok(unboundedStopMs(WORST) > STOP_DEADLINE_MS);
    assert.equal(stopBudgetMs(WORST), STOP_DEADLINE_MS);
    // An everyday daemon: 1 s timeouts, six store steps (the outage records and
    // the alert flush among them), which added up also reach the deadline.
    const everyday = { maxTimeoutMs: 1000, mesh: false, group: false, claim: false };
    assert.equal(unboundedStopMs(everyday), 1000 + 200 + 6 * STORE_STEP_BUDGET_MS + 1000);
    assert.equal(stopBudgetMs(everyday), STOP_DEADLINE_MS);
  });

  it('the wait for probes in flight leaves the save and the close their time', () => {
    assert.equal(probeWaitMs(1000), 1200, 'a short timeout is waited for whole');
    assert.equal(probeWaitMs(TIMEOUT_BOUNDS_MS[1]), STOP_DEADLINE_MS - RESERVED_FOR_SAVE_MS);
    assert.ok(RESERVED_FOR_SAVE_MS >= 2 * STORE_STEP_BUDGET_MS);
  });
});
