// netpingd, ping (iputils) and fping against the same far end in the same
// run, on IPv4 and IPv6: the responder drops 15 % of all requests and holds
// the rest 8 ± 4 ms. Each tool's loss must equal the far end's drops of that
// tool's requests exactly, each tool's mean RTT must sit just above the mean
// hold of its requests, and netpingd's loss and RTT must agree with theirs.
// The requests tell the tools apart by size: netping's carry our payload
// (64 bytes of ICMP), ping's 48 (-s 40), fping's 56 (-b 48).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DaemonReport } from '../../lib/report.js';
import { tally, type LogEntry } from '../support/fault-plan.js';
import { FAR_ADDRESS, FaultRig, type Fault } from '../support/fault-rig.js';
import { exitOf, netnsPrerequisiteMissing, removeStaleNamespaces } from '../support/netns.js';
import { hasCommand } from '../support/ops-harness.js';

const missingTool = ['ping', 'fping'].find((c) => !hasCommand(c));
const missing =
  netnsPrerequisiteMissing() ?? (missingTool ? `${missingTool} is not installed` : undefined);
const skip = missing ? `reference pinger comparison: ${missing}` : false;
const COUNT = 80;
const LOSSY: Fault = { seed: 15, faults: { drop: 0.15 }, delayMs: 8, jitterMs: 4, lateMs: 0 };
/** Each tool's mean RTT may exceed the mean hold of its requests by this much. */
const OVERHEAD_MS = 2;
/** And netpingd's excess may differ from ping's or fping's by this much. */
const AGREEMENT_MS = 1;

interface ToolResult {
  sent: number;
  received: number;
  avgMs: number;
}

type Tool = 'netping' | 'ping' | 'fping';
const BYTES: Record<Exclude<Tool, 'netping'>, number> = { ping: 48, fping: 56 };

describe('netpingd agrees with ping and fping on the same far end', { skip }, () => {
  let rig: FaultRig | undefined;
  let report: DaemonReport;
  const results = new Map<string, ToolResult>();
  const logs = new Map<4 | 6, LogEntry[]>();

  before(async () => {
    removeStaleNamespaces();
    rig = await FaultRig.start({
      intervalMs: 50,
      timeoutMs: 300,
      responders: { 4: LOSSY, 6: { ...LOSSY, seed: 16 } },
    });
    const runs = ([4, 6] as const).flatMap((f) => {
      const addr = FAR_ADDRESS[f];
      const ping = rig!.pair.spawn(rig!.pair.near, 'ping', [
        ...['-n', '-q', `-${f}`, '-c', String(COUNT), '-i', '0.05', '-W', '1', '-s', '40', addr],
      ]);
      const fping = rig!.pair.spawn(rig!.pair.near, 'fping', [
        ...['-q', `-${f}`, '-c', String(COUNT), '-p', '50', '-t', '500', '-b', '48', addr],
      ]);
      return [
        { key: `ping${f}`, p: ping, parse: () => parsePing(ping.stdout) },
        { key: `fping${f}`, p: fping, parse: () => parseFping(fping.stderr) },
      ];
    });
    for (const r of runs) {
      const exit = await exitOf(r.p, COUNT * 50 + 10_000);
      assert.ok(exit, `${r.key} did not finish:\n${r.p.tail()}`);
      results.set(r.key, r.parse());
    }
    rig.stopInjecting();
    await rig.settle(LOSSY);
    report = await rig.report();
    for (const f of [4, 6] as const) {
      const t = report.targets.find((x) => x.name === `far${f}`)!;
      results.set(`netping${f}`, { sent: t.sent, received: t.received, avgMs: t.meanMs ?? NaN });
      logs.set(f, await rig.ourEntries(f, t.sent));
      // Everyone else's requests are logged once answered (at most 12 ms).
      logs.set(f, rig.log(f));
    }
  });

  after(async () => {
    await rig?.stop();
  });

  /** The far end's record of one tool's requests, drops and mean hold of the answered. */
  function farEnd(family: 4 | 6, tool: Tool): { requests: number; drops: number; hold: number } {
    const sent = results.get(`netping${family}`)!.sent;
    const pick = (e: LogEntry): boolean =>
      tool === 'netping' ? e.ours && e.wideSeq! < sent : !e.ours && e.bytes === BYTES[tool];
    const entries = logs.get(family)!.filter(pick);
    const answered = entries.filter((e) => e.action === 'reply');
    const hold = answered.reduce((a, e) => a + e.delayMs, 0) / answered.length;
    return { requests: entries.length, drops: tally(entries, () => true).drop, hold };
  }

  for (const family of [4, 6] as const) {
    it(`IPv${family}: each tool's loss is exactly the far end's drops of its requests`, (ctx) => {
      for (const tool of ['netping', 'ping', 'fping'] as const) {
        const r = results.get(`${tool}${family}`)!;
        const far = farEnd(family, tool);
        const t = report.targets.find((x) => x.name === `far${family}`)!;
        const inFlight = tool === 'netping' ? t.inFlight : 0;
        ctx.diagnostic(
          `${tool}: sent ${r.sent}, received ${r.received}, ${fmtPct(r)} loss; ` +
            `far end: ${far.requests} requests, ${far.drops} dropped`,
        );
        assert.equal(far.requests, r.sent, `${tool}: every request reached the far end`);
        assert.equal(r.sent - r.received - inFlight, far.drops, `${tool}: lost = dropped`);
      }
    });

    it(`IPv${family}: loss percentages agree within sampling error`, () => {
      const pct = (tool: Tool): number => {
        const r = results.get(`${tool}${family}`)!;
        return (100 * (r.sent - r.received)) / r.sent;
      };
      // Different probes of one 15 % coin: 4 standard deviations of the difference.
      const bound = 400 * Math.sqrt((2 * 0.15 * 0.85) / COUNT);
      for (const tool of ['ping', 'fping'] as const) {
        const d = Math.abs(pct('netping') - pct(tool));
        assert.ok(d <= bound, `netping ${pct('netping')}% vs ${tool} ${pct(tool)}%`);
      }
    });

    it(`IPv${family}: mean RTTs sit just above the holds, and netpingd's agrees with theirs`, (ctx) => {
      const excess = (tool: Tool): number =>
        results.get(`${tool}${family}`)!.avgMs - farEnd(family, tool).hold;
      for (const tool of ['netping', 'ping', 'fping'] as const) {
        const r = results.get(`${tool}${family}`)!;
        ctx.diagnostic(
          `${tool}: mean RTT ${r.avgMs.toFixed(3)} ms, mean hold ` +
            `${farEnd(family, tool).hold.toFixed(3)} ms, excess ${excess(tool).toFixed(3)} ms`,
        );
        assert.ok(excess(tool) >= 0 && excess(tool) <= OVERHEAD_MS, `${tool} excess`);
      }
      for (const tool of ['ping', 'fping'] as const) {
        const d = Math.abs(excess('netping') - excess(tool));
        assert.ok(d <= AGREEMENT_MS, `netping vs ${tool}: excess differs by ${d.toFixed(3)} ms`);
      }
    });
  }
});

function fmtPct(r: ToolResult): string {
  return `${((100 * (r.sent - r.received)) / r.sent).toFixed(1)}%`;
}

/** "80 packets transmitted, 68 received, ..." and "rtt min/avg/max/mdev = a/b/c/d ms". */
function parsePing(out: string): ToolResult {
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const rtt = /= [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ ms/.exec(out);
  if (!counts) throw new Error(`cannot read ping's summary:\n${out}`);
  return { sent: Number(counts[1]), received: Number(counts[2]), avgMs: Number(rtt?.[1] ?? NaN) };
}

/** "ADDR : xmt/rcv/%loss = 80/68/15%, min/avg/max = a/b/c". */
function parseFping(out: string): ToolResult {
  const m = /xmt\/rcv\/%loss = (\d+)\/(\d+)\/[\d.]+%(?:, min\/avg\/max = [\d.]+\/([\d.]+))?/.exec(
    out,
  );
  if (!m) throw new Error(`cannot read fping's summary:\n${out}`);
  return { sent: Number(m[1]), received: Number(m[2]), avgMs: Number(m[3] ?? NaN) };
}
