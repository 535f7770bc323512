// A command in a network namespace, once or long-running: shared by the
// namespace rigs (netns-chain.ts, path-net.ts).

import { run, Spawned, type RunResult } from './ops-harness.js';

export function execIn(
  ns: string,
  cmd: string,
  args: readonly string[],
  timeoutMs = 10_000,
): RunResult {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs });
}

/** A long-running command in a namespace, ended by coreutils' timeout after `lifetimeS` whatever happens. */
export function spawnIn(
  ns: string,
  cmd: string,
  args: readonly string[],
  lifetimeS: number,
): Spawned {
  return new Spawned('ip', [
    ...['netns', 'exec', ns, 'timeout', '-k', '5', String(lifetimeS), cmd],
    ...args,
  ]);
}
