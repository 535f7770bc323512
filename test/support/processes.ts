// Runs netpingd and npcli as real processes, the way users do.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_JS, DAEMON_JS } from './env.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 15_000,
): Promise<CliResult> {
  return runNode(CLI_JS, args, env, timeoutMs);
}

export function runNode(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment without any NETPING_* the developer may have set. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NETPING_')));
}

export interface RunningDaemon {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  readonly log: () => string;
  /** Its --state-dir: a temporary one unless the caller gave one. */
  readonly stateDir: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startDaemon(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  startTimeoutMs = 10_000,
): Promise<RunningDaemon> {
  const given = args.indexOf('--state-dir');
  const ownStateDir = given < 0 ? mkdtempSync(path.join(tmpdir(), 'netping-state-')) : undefined;
  const stateDir = ownStateDir ?? args[given + 1]!;
  const child = spawn(
    process.execPath,
    [DAEMON_JS, '--listen', '127.0.0.1:0', '--state-dir', stateDir, ...args],
    {
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (ownStateDir) rmSync(ownStateDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`netpingd did not start in ${startTimeoutMs} ms:\n${log}`)),
      startTimeoutMs,
    );
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /listening on [^\s;]*:(\d+);/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`netpingd exited with ${code} before listening:\n${log}`));
    });
  });
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    log: () => log,
    stateDir,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

/** Polls `probe` until it returns a value (not undefined), or fails after timeoutMs. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 5000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}
