// Two network namespaces joined by a veth pair, made and destroyed by a test:
// "near" (where netpingd runs) and "far" (where the fault responder answers).
// Addresses live only inside them (10.200.0.0/30, fd00:200::/64), so no test
// packet can leave the pair. Names carry our pid, so a later run can tell a
// stale pair (its creator is gone) from one a parallel test file is using.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { DAEMON_JS, IS_ROOT } from './env.js';
import { hasCommand, run, Spawned, type RunResult } from './ops-harness.js';

export const NETNS_PREFIX = 'npf-';
const LINK_PREFIX = 'npf';

export const NEAR4 = '10.200.0.1';
export const FAR4 = '10.200.0.2';
export const NEAR6 = 'fd00:200::1';
export const FAR6 = 'fd00:200::2';

let pairs = 0;

function ip(args: readonly string[]): RunResult {
  return run('ip', args, { timeoutMs: 10_000 });
}

function ipOrThrow(args: readonly string[]): string {
  const r = ip(args);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why the namespace tests cannot run here, or undefined when they can. */
export function netnsPrerequisiteMissing(): string | undefined {
  if (!IS_ROOT) return 'fault-injection tests need root (network namespaces, raw sockets)';
  for (const cmd of ['ip', 'redis-server', 'redis-cli']) {
    if (!hasCommand(cmd)) return `fault-injection tests need ${cmd}, which is not installed`;
  }
  if (!existsSync(DAEMON_JS)) return `${DAEMON_JS} is not built yet`;
  const probe = `${NETNS_PREFIX}${process.pid}-probe`;
  const r = ip(['netns', 'add', probe]);
  if (r.status !== 0) return `cannot create a network namespace here: ${r.stderr.trim()}`;
  ip(['netns', 'del', probe]);
  return undefined;
}

/**
 * Deletes namespaces and links with our prefix whose creating process is
 * gone (a run killed before its teardown), after killing what runs in them.
 */
export function removeStaleNamespaces(): void {
  const list = ip(['netns', 'list']).stdout.split('\n').slice(0, 1000);
  for (const line of list) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    killAllIn(name);
    ip(['netns', 'del', name]);
  }
  for (const line of ip(['-o', 'link', 'show']).stdout.split('\n').slice(0, 1000)) {
    const m = new RegExp(`^\\d+: (${LINK_PREFIX}(\\d+)x\\d+[ab])[@:]`).exec(line);
    if (m && !alive(Number(m[2]))) ip(['link', 'del', m[1]!]);
  }
}

/** SIGKILLs the processes left in a namespace (only ever ones a test started there). */
export function killAllIn(ns: string): void {
  const pids = ip(['netns', 'pids', ns])
    .stdout.split('\n')
    .filter((p) => /^\d+$/.test(p))
    .slice(0, 100);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export class NetnsPair {
  readonly near: string;
  readonly far: string;
  readonly nearLink: string;
  readonly farLink: string;
  readonly #spawned: Spawned[] = [];

  constructor() {
    const n = ++pairs;
    this.near = `${NETNS_PREFIX}${process.pid}-${n}-near`;
    this.far = `${NETNS_PREFIX}${process.pid}-${n}-far`;
    this.nearLink = `${LINK_PREFIX}${process.pid}x${n}a`;
    this.farLink = `${LINK_PREFIX}${process.pid}x${n}b`;
  }

  /** Builds both namespaces; on failure, removes whatever was built and throws. */
  create(): this {
    try {
      ipOrThrow(['netns', 'add', this.near]);
      ipOrThrow(['netns', 'add', this.far]);
      ipOrThrow(['link', 'add', this.nearLink, 'type', 'veth', 'peer', 'name', this.farLink]);
      ipOrThrow(['link', 'set', this.nearLink, 'netns', this.near]);
      ipOrThrow(['link', 'set', this.farLink, 'netns', this.far]);
      for (const [ns, link, v4, v6] of [
        [this.near, this.nearLink, NEAR4, NEAR6],
        [this.far, this.farLink, FAR4, FAR6],
      ] as const) {
        // Keep IPv6 addresses across an outage (link down), and skip DAD so
        // they are usable at once.
        this.sysctl(ns, 'net.ipv6.conf.all.keep_addr_on_down=1');
        ipOrThrow(['-n', ns, 'addr', 'add', `${v4}/30`, 'dev', link]);
        ipOrThrow(['-n', ns, '-6', 'addr', 'add', `${v6}/64`, 'dev', link, 'nodad']);
        ipOrThrow(['-n', ns, 'link', 'set', 'lo', 'up']);
        ipOrThrow(['-n', ns, 'link', 'set', link, 'up']);
      }
      // The responder answers in the far end, not the kernel.
      this.sysctl(this.far, 'net.ipv4.icmp_echo_ignore_all=1');
      this.sysctl(this.far, 'net.ipv6.icmp.echo_ignore_all=1');
      return this;
    } catch (err) {
      this.destroyNamespaces();
      throw err;
    }
  }

  sysctl(ns: string, setting: string): void {
    const r = this.exec(ns, 'sysctl', ['-q', '-w', setting]);
    if (r.status !== 0) throw new Error(`sysctl ${setting} in ${ns}: ${r.stderr.trim()}`);
  }

  /** Runs a command in a namespace to completion. */
  exec(ns: string, cmd: string, args: readonly string[], timeoutMs = 10_000): RunResult {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs });
  }

  /**
   * Starts a long-running command in a namespace; destroy() stops it. With
   * `lifetimeS`, coreutils' timeout ends it after that long should the test
   * process die without its teardown (timeout passes SIGTERM on to it).
   */
  spawn(ns: string, cmd: string, args: readonly string[], lifetimeS?: number): Spawned {
    // `ip netns exec` execs the command, so the child's pid is the command's.
    const command =
      lifetimeS === undefined
        ? [cmd, ...args]
        : ['timeout', '-k', '5', String(lifetimeS), cmd, ...args];
    const p = new Spawned('ip', ['netns', 'exec', ns, ...command]);
    this.#spawned.push(p);
    return p;
  }

  /** Takes the near end's link down (its routes go with it) or back up. */
  setNearLink(up: boolean): void {
    ipOrThrow(['-n', this.near, 'link', 'set', this.nearLink, up ? 'up' : 'down']);
  }

  /** Stops everything started in the pair and deletes it; safe to call twice. */
  async destroy(): Promise<void> {
    await Promise.all(this.#spawned.map((p) => stopSpawned(p, 2_000)));
    this.#spawned.length = 0;
    this.destroyNamespaces();
  }

  destroyNamespaces(): void {
    for (const ns of [this.near, this.far]) {
      killAllIn(ns);
      ip(['netns', 'del', ns]); // takes the veth with it
    }
    ip(['link', 'del', this.nearLink]); // only there if create() failed early
  }
}

/**
 * Resolves when `p` exits, or undefined after `timeoutMs`. Unlike
 * Spawned.exitWithin(), clears its timer, so no test file waits it out.
 */
export async function exitOf(
  p: Spawned,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. */
async function stopSpawned(p: Spawned, graceMs: number): Promise<void> {
  if (!p.running) return;
  p.child.kill('SIGTERM');
  if ((await exitOf(p, graceMs)) !== undefined) return;
  p.child.kill('SIGKILL');
  await exitOf(p, graceMs);
}

const execFileAsync = promisify(execFile);

/** GETs a URL from inside a namespace (where the test's own process cannot reach). */
export async function httpGetIn(ns: string, url: string): Promise<string> {
  const script =
    'fetch(process.argv[1],{signal:AbortSignal.timeout(3000)})' +
    '.then(async r=>{if(!r.ok)throw new Error("HTTP "+r.status);process.stdout.write(await r.text())})' +
    '.catch(e=>{process.stderr.write(String(e));process.exit(1)})';
  const { stdout } = await execFileAsync(
    'ip',
    ['netns', 'exec', ns, process.execPath, '-e', script, url],
    { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}
