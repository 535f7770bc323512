// fping as the reference beside a loaded netpingd: the same loopback targets
// at 1 s (one process per FPING_MAX_TARGETS, sends spread over half the
// second) and the fast target at its own interval in a process of its own
// (fping has one period per process), all in loop mode while netpingd's
// readers run. On SIGINT fping prints each target's xmt/rcv/%loss and
// min/avg/max, which is what we read of the fast one.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FPING_MAX_TARGETS, perPacketMs } from './fping.js';
import { sleep, start, stop, type Tracked } from './processes.js';

export interface FastTargetFigures {
  readonly seconds: number;
  readonly due: number;
  readonly sent: number;
  readonly received: number;
  readonly maxRttMs: number;
}

export class FpingAlongside {
  readonly #dir: string;
  readonly #bulk: readonly string[];
  readonly #fastAddress: string;
  readonly #fastIntervalMs: number;
  #procs: Tracked[] = [];
  #fast: Tracked | undefined;
  #startedAt = 0;

  constructor(o: { dir: string; bulk: readonly string[]; fast: string; fastIntervalMs: number }) {
    this.#dir = o.dir;
    this.#bulk = o.bulk;
    this.#fastAddress = o.fast;
    this.#fastIntervalMs = o.fastIntervalMs;
  }

  start(): void {
    for (let i = 0, n = 0; i < this.#bulk.length; i += FPING_MAX_TARGETS, n++) {
      const chunk = this.#bulk.slice(i, i + FPING_MAX_TARGETS);
      const file = join(this.#dir, `fping-bulk-${n}.txt`);
      writeFileSync(file, chunk.join('\n') + '\n');
      const args = ['-l', '-q', '-p', '1000', '-i', String(perPacketMs(chunk.length)), '-f', file];
      this.#procs.push(start(`fping bulk #${n}`, 'fping', args));
    }
    const fastArgs = ['-l', '-q', '-p', String(this.#fastIntervalMs), this.#fastAddress];
    this.#fast = start('fping fast', 'fping', fastArgs, true);
    this.#startedAt = performance.now();
  }

  /** Stops every fping; the fast one with SIGINT, so that it prints its summary. */
  async stop(): Promise<FastTargetFigures> {
    const fast = this.#fast;
    if (!fast) throw new Error('fping alongside was not started');
    fast.child.kill('SIGINT');
    const seconds = (performance.now() - this.#startedAt) / 1000;
    const exited = await Promise.race([
      fast.exited.then(() => true),
      sleep(10_000).then(() => false),
    ]);
    await Promise.all([...this.#procs, fast].map((p) => stop(p)));
    if (!exited) throw new Error('fping (fast) did not stop on SIGINT');
    // "127.0.0.1 : xmt/rcv/%loss = 198/198/0%, min/avg/max = 0.004/0.019/0.077"
    const line = fast.stderr.find((l) => l.includes('xmt/rcv/%loss'));
    const m =
      line && /= (\d+)\/(\d+)\/[^,]*(?:, min\/avg\/max = [\d.]+\/[\d.]+\/([\d.]+))?/.exec(line);
    if (!m) throw new Error(`fping (fast) printed no summary: ${fast.stderr.join('\n')}`);
    return {
      seconds,
      due: Math.round((seconds * 1000) / this.#fastIntervalMs),
      sent: Number(m[1]),
      received: Number(m[2]),
      maxRttMs: m[3] === undefined ? NaN : Number(m[3]),
    };
  }
}
