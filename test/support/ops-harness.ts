// Helpers for the tests that treat netpingd as an operator would: run system
// tools (systemd-analyze, xmllint, promtool, prometheus, setpriv, redis-cli),
// start the built daemon as a real process, and always clean up after it.

import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export { REPO_ROOT as repoRoot, DAEMON_JS as daemonMain } from './env.js';
import { REPO_ROOT as repoRoot, DAEMON_JS as daemonMain } from './env.js';

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' }).status === 0;
}

export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, killed after `timeoutMs`. */
export function run(
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A long-running child process whose output is kept for assertions and failure messages. */
export class Spawned {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(cmd: string, args: readonly string[], options: SpawnOptions = {}) {
    this.child = spawn(cmd, args, { cwd: repoRoot, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.stderr += `spawn failed: ${err.message}\n`;
        this.#exit = { code: null, signal: null };
        resolve(this.#exit);
      });
      this.child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Waits up to `timeoutMs` for the process to exit on its own; undefined if it did not. */
  async exitWithin(
    timeoutMs: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    return Promise.race([this.exited, sleep(timeoutMs).then(() => undefined)]);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 3_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    if ((await this.exitWithin(graceMs)) !== undefined) return;
    this.child.kill('SIGKILL');
    await this.exitWithin(graceMs);
  }

  /** The last lines of output, for an assertion message. */
  tail(lines = 20): string {
    const pick = (s: string): string => s.trimEnd().split('\n').slice(-lines).join('\n');
    return `--- stdout ---\n${pick(this.stdout)}\n--- stderr ---\n${pick(this.stderr)}`;
  }
}

/**
 * Polls `probe` until it returns a value (not undefined), at most `timeoutMs`
 * and `maxTries` times. Returns undefined when it never did.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  { timeoutMs, intervalMs = 250 }: { timeoutMs: number; intervalMs?: number },
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 1;
  for (let i = 0; i < maxTries && Date.now() < deadline; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not ready yet: connection refused, bad gateway and the like
    }
    await sleep(intervalMs);
  }
  return undefined;
}

/** GET a URL with a per-request timeout; the body as text, or throws. */
export async function httpText(url: string, timeoutMs = 2_000): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text();
}

/**
 * Sums the samples of one metric in a Prometheus text exposition whose labels
 * include every `labels` pair. Undefined when no sample matched.
 */
export function sampleSum(
  exposition: string,
  metric: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  let sum: number | undefined;
  for (const line of exposition.split('\n')) {
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const text = m[2] ?? '';
    const ok = Object.entries(labels).every(([k, v]) => text.includes(`${k}=${JSON.stringify(v)}`));
    if (!ok) continue;
    sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

/** Runs redis-cli against `url`; throws with its stderr when it fails. */
export function redisCli(url: string, args: readonly string[]): string {
  const r = run('redis-cli', ['-u', url, ...args], { timeoutMs: 10_000 });
  if (r.status !== 0 || /^(ERR|WRONGTYPE|NOAUTH)/m.test(r.stdout)) {
    throw new Error(`redis-cli ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  }
  return r.stdout;
}

/** Deletes every key under `prefix:` (bounded: one SCAN pass). */
export function redisDeletePrefix(url: string, prefix: string): void {
  const keys = redisCli(url, ['--scan', '--pattern', `{${prefix}}:*`])
    .split('\n')
    .filter((k) => k.length > 0)
    .slice(0, 10_000);
  if (keys.length > 0) redisCli(url, ['del', ...keys]);
}

/** Why a daemon test cannot run here, or undefined when it can. */
export function daemonPrerequisiteMissing(
  extraCommands: readonly string[] = [],
): string | undefined {
  if (!process.env.NETPING_TEST_REDIS_URL) {
    return 'NETPING_TEST_REDIS_URL is not set (run through bash test/run.sh)';
  }
  if (!existsSync(daemonMain)) return `${daemonMain} is not built yet`;
  for (const cmd of ['redis-cli', ...extraCommands]) {
    if (!hasCommand(cmd)) return `${cmd} is not installed`;
  }
  return undefined;
}
