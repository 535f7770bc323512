// fping as the reference: pinging every target once a second (-p 1000) with
// sends spaced so a round fits in half the second, each reply time kept (-C)
// so loss and the median come from the same window as the CPU figures.
//
// fping 5.1 keeps 65536 sequence numbers per process and will not reuse one
// for 10 s, so one process cannot send more than about 6500 probes/s ("not
// enough sequence numbers available!"). Above FPING_MAX_TARGETS targets the
// set is split across several fping processes whose CPU and RSS are summed.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './prometheus.js';
import { cpuSplit, memory, sleep, start, stop, type Tracked } from './processes.js';
import type { Row } from './window.js';

export const FPING_MAX_TARGETS = 5000;
const REPLY_WAIT_S = 0.5; // fping's default -t

export interface FpingOptions {
  dir: string;
  addresses: readonly string[];
  warmupS: number;
  windowS: number;
  /**
   * `-i 0`: each round a burst, every target's probe back to back (one
   * wake-up a round), in place of sends spaced over half the period.
   */
  burst?: boolean;
}

/** fping 5.1 takes fractional milliseconds for -i; as root it has no lower bound. */
export function perPacketMs(targets: number): number {
  return Math.max(0.01, Math.min(10, Math.floor((500 / targets) * 1000) / 1000));
}

export async function benchFping(o: FpingOptions): Promise<Row> {
  const chunks: string[][] = [];
  const processes = Math.ceil(o.addresses.length / FPING_MAX_TARGETS);
  const perProcess = Math.ceil(o.addresses.length / processes);
  for (let i = 0; i < o.addresses.length; i += perProcess) {
    chunks.push(o.addresses.slice(i, i + perProcess));
  }
  const count = o.warmupS + o.windowS + 2; // rounds after the window let it close cleanly
  const intervalMs = o.burst ? 0 : perPacketMs(perProcess);
  const began = performance.now();
  const fpings: Tracked[] = [];
  try {
    chunks.forEach((chunk, i) => {
      const file = join(o.dir, `targets-${i}.txt`);
      writeFileSync(file, chunk.join('\n') + '\n');
      const args = ['-C', String(count), '-q', '-p', '1000', '-i', String(intervalMs), '-f', file];
      fpings.push(start(`fping #${i}`, 'fping', args, true));
    });
    const cpuOfAll = (): { user: number; system: number } =>
      fpings
        .map((f) => cpuSplit(f))
        .reduce((sum, c) => ({ user: sum.user + c.user, system: sum.system + c.system }), {
          user: 0,
          system: 0,
        });
    await sleep(o.warmupS * 1000);
    const cpuStart = cpuOfAll();
    const wallStart = performance.now();
    await sleep(o.windowS * 1000);
    const cpuEnd = cpuOfAll();
    const wallEnd = performance.now();
    const mems = fpings.map((f) => memory(f));

    const timeout = setTimeout(
      () => fpings.forEach((f) => f.child.kill('SIGKILL')),
      (count + 60) * 1000,
    );
    const codes = await Promise.all(fpings.map((f) => f.exited));
    clearTimeout(timeout);
    const elapsedS = (performance.now() - began) / 1000;
    codes.forEach((code, i) => {
      if (code !== 0 && code !== 1) {
        throw new Error(
          `fping #${i} exited with ${code}: ${fpings[i]!.stderr.slice(-5).join('\n')}`,
        );
      }
    });

    // "127.1.0.1 : 0.04 0.03 - 0.05": probe k went out about k seconds in.
    const rtts: number[] = [];
    let lost = 0;
    let lines = 0;
    for (const line of fpings.flatMap((f) => f.stderr)) {
      const m = /^(\S+)\s+:\s+(.*)$/.exec(line);
      if (m === null) continue;
      lines++;
      const window = m[2]!
        .trim()
        .split(/\s+/)
        .slice(o.warmupS, o.warmupS + o.windowS);
      for (const v of window) {
        if (v === '-') lost++;
        else rtts.push(Number(v));
      }
    }
    if (lines !== o.addresses.length) {
      throw new Error(`fping reported ${lines} of ${o.addresses.length} targets`);
    }
    const windowS = (wallEnd - wallStart) / 1000;
    // fping slips behind -p when its loop is busy. Its real pace: the rounds
    // after the first over the time from the first send to the last round's
    // start (the run less one round's spread and the last reply timeout).
    const roundSpanS = (perProcess * intervalMs) / 1000;
    const paceS = Math.max(1, elapsedS - REPLY_WAIT_S - roundSpanS);
    const probesPerS = (o.addresses.length * (count - 1)) / paceS;
    const user = cpuEnd.user - cpuStart.user;
    const system = cpuEnd.system - cpuStart.system;
    const cpu = user + system;
    const pct = (seconds: number): string => ((seconds / windowS) * 100).toFixed(1);
    const split = processes > 1 ? `${processes} processes of ${perProcess} targets, ` : '';
    return {
      tool: `fping -C${o.burst ? ' -i 0' : ''}${processes > 1 ? ` (x${processes})` : ''}`,
      targets: o.addresses.length,
      probesPerS,
      cpuUsPerProbe: (cpu / (probesPerS * windowS)) * 1e6,
      cpuPctOfCore: (cpu / windowS) * 100,
      rssMbPeak: mems.reduce((sum, m) => sum + m.peakRssMb, 0),
      rssMbEnd: mems.reduce((sum, m) => sum + m.rssMb, 0),
      scrapeMsMedian: undefined,
      scrapeMsMax: undefined,
      scrapeKb: undefined,
      lossPct: (lost / Math.max(1, lost + rtts.length)) * 100,
      medianRttMs: median(rtts),
      notes: [
        `${split}-i ${intervalMs} ms; ${count} rounds took ${elapsedS.toFixed(1)} s ` +
          `(${count} s if on schedule); probes/s = ${o.addresses.length} x ${count - 1} rounds / ` +
          `${paceS.toFixed(1)} s`,
        `window CPU: ${pct(user)} user + ${pct(system)} system (% of a core)`,
      ],
    };
  } finally {
    await Promise.all(fpings.map((f) => stop(f)));
  }
}
