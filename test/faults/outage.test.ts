// An outage in the middle of a run: the near end's veth link goes down for
// two seconds (its routes go with it, so the kernel refuses the sends). The
// outage must show as loss with a reason at the configured rate, never as a
// gap in the data, and probing must recover when the link comes back.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TargetReport } from '../../lib/report.js';
import type { LogEntry } from '../support/fault-plan.js';
import { FaultRig, type Fault } from '../support/fault-rig.js';
import { netnsPrerequisiteMissing, removeStaleNamespaces } from '../support/netns.js';

const skip = netnsPrerequisiteMissing();
const INTERVAL_MS = 50;
const TIMEOUT_MS = 300;
const OUTAGE_MS = 2_000;
const SAMPLE_EVERY_MS = 250;
const PLAIN: Fault = { seed: 1, faults: {}, delayMs: 0, jitterMs: 0, lateMs: 0 };

interface Sample {
  readonly atMs: number;
  readonly t: Record<4 | 6, TargetReport>;
}

const sendErrors = (t: TargetReport): number =>
  Object.entries(t.errors)
    .filter(([reason]) => reason.startsWith('send:'))
    .reduce((a, [, n]) => a + n, 0);

describe('an outage in the middle of a run', { skip: skip ?? false }, () => {
  let rig: FaultRig | undefined;
  let before0: Sample;
  const during: Sample[] = [];
  let last: Sample;
  let final: Sample;
  let outageMs = 0;
  const logs = new Map<4 | 6, LogEntry[]>();

  const sample = async (): Promise<Sample> => {
    const r = await rig!.report();
    const atMs = Date.parse(r.generatedAt); // the moment of the snapshot, not of our read
    const by = (f: 4 | 6): TargetReport => {
      const t = r.targets.find((x) => x.name === `far${f}`);
      assert.ok(t, `no far${f}`);
      return t;
    };
    return { atMs, t: { 4: by(4), 6: by(6) } };
  };

  before(async () => {
    removeStaleNamespaces();
    rig = await FaultRig.start({
      intervalMs: INTERVAL_MS,
      timeoutMs: TIMEOUT_MS,
      responders: { 4: PLAIN, 6: { ...PLAIN, seed: 2 } },
    });
    await sleep(1_500);
    before0 = await sample();
    rig.pair.setNearLink(false);
    const downAt = Date.now();
    try {
      while (Date.now() - downAt < OUTAGE_MS && during.length < 20) {
        await sleep(SAMPLE_EVERY_MS);
        during.push(await sample());
      }
    } finally {
      rig.pair.setNearLink(true);
      outageMs = Date.now() - downAt;
    }
    last = during.at(-1)!;
    await sleep(1_500);
    final = await sample();
    for (const f of [4, 6] as const) {
      logs.set(f, await rig.ourEntries(f, final.t[f].sent, { allArrive: false, timeoutMs: 200 }));
    }
  });

  after(async () => {
    await rig?.stop();
  });

  for (const family of [4, 6] as const) {
    it(`IPv${family}: probes go on at the configured rate, each a loss with a send: reason`, (ctx) => {
      ctx.diagnostic(`errors after the outage: ${JSON.stringify(final.t[family].errors)}`);
      let prev = before0;
      for (const s of during) {
        const [a, b] = [prev.t[family], s.t[family]];
        const expected = (s.atMs - prev.atMs) / INTERVAL_MS;
        // No gap: every sample of the outage saw sends, and as many losses.
        assert.ok(
          Math.abs(b.sent - a.sent - expected) <= 2,
          `sent +${b.sent - a.sent} in ${(s.atMs - prev.atMs).toFixed(0)} ms, expected ~${expected.toFixed(1)}`,
        );
        if (s !== during[0]) {
          assert.equal(b.lost - a.lost, b.sent - a.sent, 'every send in the outage is a loss');
          assert.equal(sendErrors(b) - sendErrors(a), b.lost - a.lost, 'with a reason');
        }
        prev = s;
      }
      // Over the whole outage, one refused send per interval (± one at each edge).
      const refused = sendErrors(final.t[family]) - sendErrors(before0.t[family]);
      const expected = outageMs / INTERVAL_MS;
      assert.ok(
        Math.abs(refused - expected) <= 2,
        `${refused} refused sends in a ${outageMs.toFixed(0)} ms outage, expected ~${expected.toFixed(1)}`,
      );
      assert.ok(Object.keys(final.t[family].errors).every((r) => r.startsWith('send:')));
    });

    it(`IPv${family}: the refused probes are exactly those the far end never saw`, () => {
      const t = final.t[family];
      const seen = new Set(logs.get(family)!.map((e) => e.wideSeq));
      const unseen = t.sent - seen.size;
      assert.equal(sendErrors(t), unseen);
      // A request the far end answered as the link went down may lose its
      // reply without a reason: at most one per edge of the outage.
      assert.ok(t.lost - unseen >= 0 && t.lost - unseen <= 2, `lost ${t.lost}, unseen ${unseen}`);
    });

    it(`IPv${family}: probing recovers when the link comes back`, () => {
      const [a, b] = [last.t[family], final.t[family]];
      assert.ok(b.received - a.received >= 20, `only ${b.received - a.received} replies after`);
      assert.equal(b.sent, b.received + b.lost + b.inFlight);
    });
  }
});
