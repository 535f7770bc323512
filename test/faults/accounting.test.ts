// Loss, late replies, duplicates, ICMP errors and ignored packets as netpingd
// counts them, checked probe by probe against the fault responders' logs, on
// IPv4 and IPv6, ICMP and udp at once (one netpingd, one target per family
// and kind: the udp targets share the ICMP ones' run, which costs no time),
// on each ICMP transport: our addon's datagram and filtered raw sockets, and
// raw-socket (the fallback).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonReport, TargetReport } from '../../lib/report.js';
import { expectedCounts, tally, type LogEntry } from '../support/fault-plan.js';
import { FaultRig, targetName, type Fault, type ProbeKindName } from '../support/fault-rig.js';
import { netnsPrerequisiteMissing, removeStaleNamespaces } from '../support/netns.js';
import { sampleSum } from '../support/ops-harness.js';
import type { IcmpTransportChoice } from '../../lib/probes/icmp/transport-choice.js';

const skip = netnsPrerequisiteMissing();
const RUN_MS = 7_000; // ~140 probes per target at 50 ms
const FAULTS4: Fault = {
  seed: 4,
  faults: {
    drop: 0.1,
    dup: 0.08,
    late: 0.06,
    foreign: 0.05,
    corrupt: 0.05,
    truncate: 0.05,
    unreachable: 0.05,
  },
  delayMs: 3,
  jitterMs: 2,
  lateMs: 450, // timeout 300 ms
};
// The kernel computes (and checks) ICMPv6 checksums: no corrupt replies on IPv6.
const FAULTS6: Fault = { ...FAULTS4, seed: 6, faults: { ...FAULTS4.faults, corrupt: 0 } };
// udp: the same faults but 'unreachable' (no udp form: see udp-responder.ts);
// corrupt answers on IPv6 too (our MAC, not a checksum, catches them).
const UDP_FAULTS4: Fault = {
  ...FAULTS4,
  seed: 14,
  faults: { ...FAULTS4.faults, unreachable: 0 },
};
const UDP_FAULTS6: Fault = { ...UDP_FAULTS4, seed: 16 };
const UNREACHABLE_REASON = { 4: 'icmp:host-unreachable', 6: 'icmp:address-unreachable' };
const RUNS = [
  { family: 4, kind: 'icmp', faults: FAULTS4 },
  { family: 6, kind: 'icmp', faults: FAULTS6 },
  { family: 4, kind: 'udp', faults: UDP_FAULTS4 },
  { family: 6, kind: 'udp', faults: UDP_FAULTS6 },
] as const satisfies readonly { family: 4 | 6; kind: ProbeKindName; faults: Fault }[];

/**
 * Which bad ICMP replies each transport's kernel side drops before they reach
 * us: the raw filter and the datagram sockets' demultiplexing drop foreign
 * identifiers, and datagram sockets get only replies whose checksum the
 * kernel checked. They then count for no reason, since netpingd never sees them.
 */
const KERNEL_DROPS: Record<
  Exclude<IcmpTransportChoice, 'auto'>,
  { foreign: boolean; checksum: boolean }
> = {
  datagram: { foreign: true, checksum: true },
  raw: { foreign: true, checksum: false },
  'raw-socket': { foreign: false, checksum: false },
};

for (const transport of ['datagram', 'raw', 'raw-socket'] as const) {
  describe(
    `fault accounting on ${transport}: netpingd counts what the far end did`,
    { skip: skip ?? false },
    () => {
      let rig: FaultRig | undefined;
      let report: DaemonReport;
      let metrics: string;
      const entries = new Map<string, LogEntry[]>();

      before(async () => {
        removeStaleNamespaces();
        rig = await FaultRig.start({
          intervalMs: 50,
          timeoutMs: 300,
          responders: { 4: FAULTS4, 6: FAULTS6 },
          udpResponders: { 4: UDP_FAULTS4, 6: UDP_FAULTS6 },
          icmpTransport: transport,
        });
        await sleep(RUN_MS);
        rig.stopInjecting();
        await rig.settle(FAULTS4);
        report = await rig.report();
        metrics = await rig.http('/metrics');
        for (const { family, kind } of RUNS) {
          entries.set(
            targetName(family, kind),
            await rig.ourEntries(family, targetOf(family, kind).sent, { kind }),
          );
        }
      });

      after(async () => {
        await rig?.stop();
      });

      function targetOf(family: 4 | 6, kind: ProbeKindName = 'icmp'): TargetReport {
        const name = targetName(family, kind);
        const t = report.targets.find((r) => r.name === name);
        assert.ok(t, `no ${name} in ${JSON.stringify(report.targets)}`);
        return t;
      }

      for (const { family, kind, faults } of RUNS) {
        it(`${kind} IPv${family}: sent, lost, late, duplicates and errors equal the responder's log`, (ctx) => {
          const t = targetOf(family, kind);
          const log = entries.get(targetName(family, kind))!;
          const fates = tally(log, () => true);
          const want = expectedCounts(fates);
          ctx.diagnostic(`netpingd: ${JSON.stringify(pick(t))}`);
          ctx.diagnostic(`responder: ${JSON.stringify(fates)}`);
          // Every probe reached the far end exactly once (the veth loses nothing).
          assert.equal(log.length, t.sent);
          assert.equal(new Set(log.map((e) => e.wideSeq)).size, t.sent);
          // The run exercised every fault it was meant to.
          for (const [fault, p] of Object.entries(faults.faults)) {
            if (p === 0) continue;
            assert.ok(fates[fault as keyof typeof fates] > 0, `no ${fault} (p=${p}) in the run`);
          }
          assert.equal(
            t.lost,
            want.lost,
            'lost = drop + late + foreign + corrupt + truncate + unreachable',
          );
          assert.equal(t.late, want.late);
          assert.equal(t.duplicates, want.duplicates);
          // Probes still in flight at the end were answered plainly (injection had stopped).
          assert.equal(t.received + t.inFlight, want.answered);
          assert.ok(t.inFlight <= 2, `${t.inFlight} probes in flight at the end`);
          assert.equal(t.sent, t.received + t.lost + t.inFlight);
          assert.deepEqual(
            t.errors,
            fates.unreachable > 0 ? { [UNREACHABLE_REASON[family]]: fates.unreachable } : {},
          );
          if (kind === 'udp') assert.equal(fates.unreachable, 0);
          assert.equal(fates.sendErrors, 0, 'the responder could send every reply');
        });
      }

      // Injection stopped before the report, so every bad packet sent is in it.
      // ICMP corrupt replies fail the checksum, udp ones the MAC.
      const badPackets = (): Record<'foreign' | 'checksum' | 'bad-mac' | 'truncated', number> => {
        const [v4, v6, u4, u6] = RUNS.map(({ family, kind }) =>
          tally(rig!.log(family, kind), (e) => e.ours && !e.clean),
        );
        const drops = KERNEL_DROPS[transport];
        return {
          foreign: (drops.foreign ? 0 : v4!.foreign + v6!.foreign) + u4!.foreign + u6!.foreign,
          checksum: drops.checksum ? 0 : v4!.corrupt,
          'bad-mac': u4!.corrupt + u6!.corrupt,
          truncated: v4!.truncate + v6!.truncate + u4!.truncate + u6!.truncate,
        };
      };

      it('counts every foreign, corrupt and truncated reply as ignored, once', (ctx) => {
        const want = badPackets();
        ctx.diagnostic(`ignored by netpingd: ${JSON.stringify(report.ignoredPackets)}`);
        ctx.diagnostic(`sent by the responders: ${JSON.stringify(want)}`);
        const total = Object.values(report.ignoredPackets).reduce((a, b) => a + b, 0);
        assert.equal(total, want.foreign + want.checksum + want['bad-mac'] + want.truncated);
      });

      for (const reason of ['foreign', 'checksum', 'bad-mac', 'truncated'] as const) {
        it(`counts them under ignored{reason="${reason}"}, in /api/targets and /metrics`, () => {
          const n = badPackets()[reason];
          if (reason !== 'checksum' || !KERNEL_DROPS[transport].checksum)
            assert.ok(n > 0, `the run sent no ${reason} packets`);
          assert.equal(report.ignoredPackets[reason] ?? 0, n);
          assert.equal(sampleSum(metrics, 'netping_packets_ignored_total', { reason }) ?? 0, n);
        });
      }

      it('runs on the transport asked for, and says which in /metrics', () => {
        const clock = transport === 'raw-socket' ? 'user-space' : 'kernel';
        assert.equal(sampleSum(metrics, 'netping_icmp_transport_info', { transport, clock }), 1);
      });

      it('netpingd is still running and reported no handler failures', () => {
        assert.ok(rig?.daemon?.running, `netpingd exited:\n${rig?.daemon?.tail()}`);
        assert.doesNotMatch(rig.daemon.stderr, /handler failed|uncaught|TypeError|RangeError/i);
      });
    },
  );
}

function pick(t: TargetReport): Record<string, unknown> {
  const { sent, received, lost, inFlight, late, duplicates, errors } = t;
  return { sent, received, lost, inFlight, late, duplicates, errors };
}
