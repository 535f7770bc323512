// Changes against probing: netpingd following a Redis target set of N
// loopback members at 1 s plus one fast target (10 ms), while a writer adds
// and removes members (each change announced as npcli announces it) and
// --resync re-reads the set. What the fast target saw and how late the
// loop ran say whether applying changes held the probes up; Redis' own
// command counts (INFO commandstats) say how often the daemon read the
// whole set. Shared by the integration test (small N, counts) and
// bench/target-notices.ts (10,000 members, figures). Traffic: 127.0.0.0/8.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { DaemonReport } from '../../lib/report.js';
import { keysFor } from '../../lib/store/keys.js';
import { RedisTargetStore } from '../../lib/store/redis-store.js';
import { eventually, startDaemon, type RunningDaemon } from './processes.js';
import { LOOP_DELAY_PROBE, loopback, type LoopDelay } from './scrape-load.js';

export interface NoticeLoadOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly targets: number;
  readonly seconds: number;
  /** Changes (an add, then later its remove: one member each) per second. */
  readonly changesPerS: number;
  readonly resync: string;
  readonly fastIntervalMs: number;
  readonly atLoadStart?: () => void | Promise<void>;
  readonly atLoadEnd?: () => void | Promise<void>;
}

export interface NoticeLoadResult {
  readonly seconds: number;
  readonly changes: number;
  /** SMEMBERS and SSCAN steps the server ran during the load: the daemon's whole-set reads. */
  readonly wholeReads: SetReads;
  readonly expectedProbes: number;
  readonly sentProbes: number;
  readonly lost: number;
  readonly loopDelay: LoopDelay;
  /** Whether the daemon probed exactly the set's members once the changes stopped. */
  readonly endsEqual: boolean;
}

export interface SetReads {
  /** A whole read in one reply (an older netpingd's, and npcli's). */
  readonly smembers: number;
  /** Steps of a whole read in batches (netpingd's now): some 20 per read of 10,000. */
  readonly sscan: number;
}

/** How many whole-set read commands the server has run (INFO commandstats). */
export async function setReads(redis: Redis): Promise<SetReads> {
  const info = await redis.info('commandstats');
  const calls = (command: string): number =>
    Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { smembers: calls('smembers'), sscan: calls('sscan') };
}

/** The reads between two counts. */
export function readsSince(before: SetReads, after: SetReads): SetReads {
  return { smembers: after.smembers - before.smembers, sscan: after.sscan - before.sscan };
}

export async function probedNames(d: RunningDaemon): Promise<string[]> {
  const res = await fetch(`${d.baseUrl}/api/targets`, { signal: AbortSignal.timeout(30_000) });
  const r = (await res.json()) as DaemonReport;
  return r.targets.map((t) => `${t.name}@${t.address}`).sort();
}

export async function runNoticeLoad(o: NoticeLoadOptions): Promise<NoticeLoadResult> {
  const keys = keysFor(o.prefix);
  const redis = new Redis(o.redisUrl);
  const writer = new RedisTargetStore({ url: o.redisUrl, keys, mode: 'cli' });
  const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-notice-load-'));
  const delayFile = path.join(stateDir, 'loop-delay.json');
  const members = Array.from({ length: o.targets }, (_, i) => `t${i}@${loopback(i)}`);
  const fast = `fast@127.0.0.1?interval=${o.fastIntervalMs}ms`;
  let d: RunningDaemon | undefined;
  try {
    for (let i = 0; i < members.length; i += 1000)
      await redis.sadd(keys.targets, ...members.slice(i, i + 1000));
    await redis.sadd(keys.targets, fast);
    d = await startDaemon(
      [
        ...['--redis', o.redisUrl, '--prefix', o.prefix, '--state-dir', stateDir],
        ...['--interval', '1s', '--timeout', '1s', '--resync', o.resync],
        ...['--save-interval', '1h', '--max-targets', String(o.targets + 100)],
      ],
      { NODE_OPTIONS: `--import=${LOOP_DELAY_PROBE}`, NETPING_LOOP_DELAY_FILE: delayFile },
    );
    const daemon = d;
    const fastReport = async (): Promise<{ at: number; sent: number; lost: number }> => {
      const res = await fetch(`${daemon.baseUrl}/api/target?target=fast@127.0.0.1`, {
        signal: AbortSignal.timeout(30_000),
      });
      const r = (await res.json()) as {
        generatedAt: string;
        target?: { sent: number; lost: number };
      };
      return {
        at: Date.parse(r.generatedAt),
        sent: r.target?.sent ?? 0,
        lost: r.target?.lost ?? 0,
      };
    };
    await eventually(
      `all ${o.targets + 1} targets probed`,
      async () => ((await probedNames(daemon)).length === o.targets + 1 ? true : undefined),
      60_000,
      500,
    );
    await eventually('the fast target probed', async () =>
      (await fastReport()).sent > 10 ? true : undefined,
    );
    const before = await fastReport();
    const readsBefore = await setReads(redis);
    daemon.child.kill('SIGUSR2'); // the loop-delay probe starts measuring now
    await o.atLoadStart?.();
    const t0 = performance.now();
    let changes = 0;
    const pending: string[] = [];
    // Bounded in time and in count.
    for (let n = 0; n < 100_000 && performance.now() - t0 < o.seconds * 1000; n++) {
      const member = `c${n}@${loopback(o.targets + (n % 1000))}`;
      await writer.add([member]);
      pending.push(member);
      if (pending.length > 5) await writer.remove([pending.shift()!]);
      changes += 2;
      await new Promise((resolve) => setTimeout(resolve, 2000 / o.changesPerS));
    }
    await writer.remove(pending);
    await o.atLoadEnd?.();
    const seconds = (performance.now() - t0) / 1000;
    const wholeReads = readsSince(readsBefore, await setReads(redis));
    const after = await fastReport();
    const expected = [...(await redis.smembers(keys.targets))]
      .map((m) => m.replace(/\?.*$/, ''))
      .sort();
    const endsEqual = await eventually(
      'the daemon probing the set',
      async () =>
        JSON.stringify(await probedNames(daemon)) === JSON.stringify(expected) ? true : undefined,
      10_000,
      200,
    ).catch(() => false);
    if ((await daemon.stop('SIGTERM')) !== 0)
      throw new Error(`netpingd did not stop cleanly:\n${daemon.log()}`);
    return {
      seconds,
      changes,
      wholeReads,
      expectedProbes: Math.round((after.at - before.at) / o.fastIntervalMs),
      sentProbes: after.sent - before.sent,
      lost: after.lost - before.lost,
      loopDelay: JSON.parse(readFileSync(delayFile, 'utf8')) as LoopDelay,
      endsEqual,
    };
  } finally {
    await d?.stop('SIGKILL');
    const all = await redis.keys(`{${o.prefix}}:*`);
    if (all.length > 0) await redis.del(...all);
    redis.disconnect();
    await writer.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
