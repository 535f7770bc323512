// Child processes the benchmark starts, and what /proc says about them. Every
// child is registered so one stopAll() ends them all, on success, on failure
// and on SIGINT alike; every wait has a deadline.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Tracked {
  name: string;
  child: ChildProcess;
  pid: number;
  stderr: string[]; // stdout and stderr lines; the last 50 unless keepAll
  exited: Promise<number | null>;
}

const children = new Set<Tracked>();
const STDERR_LINES_KEPT = 50;

export function start(
  name: string,
  command: string,
  args: readonly string[],
  keepAll = false,
): Tracked {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const stderr: string[] = [];
  const partial = { out: '', err: '' };
  const keep =
    (stream: 'out' | 'err') =>
    (chunk: Buffer): void => {
      const lines = (partial[stream] + chunk.toString('utf8')).split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') continue;
        stderr.push(line);
        if (!keepAll && stderr.length > STDERR_LINES_KEPT) stderr.shift();
      }
    };
  child.stderr?.on('data', keep('err'));
  child.stdout?.on('data', keep('out'));
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      for (const rest of [partial.out, partial.err]) if (rest !== '') stderr.push(rest);
      resolve(code);
    });
    child.on('error', () => resolve(null));
  });
  const tracked: Tracked = { name, child, pid: child.pid, stderr, exited };
  children.add(tracked);
  void exited.then(() => children.delete(tracked));
  return tracked;
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
export async function stop(t: Tracked, graceMs = 10_000): Promise<void> {
  if (t.child.exitCode !== null || t.child.signalCode !== null) return;
  t.child.kill('SIGTERM');
  const timer = setTimeout(() => t.child.kill('SIGKILL'), graceMs);
  await t.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((t) => stop(t).catch(() => undefined)));
}

/** Waits for a line of output matching re; fails on exit or after timeoutMs. */
export async function waitForLine(t: Tracked, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = t.stderr.find((line) => re.test(line));
    if (hit !== undefined) return hit;
    if (t.child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`${t.name} did not print ${String(re)}; last output:\n${t.stderr.join('\n')}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A loopback TCP port nobody listened on a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { timeout: 5_000 }).toString());

function statTimes(path: string): { user: number; system: number } {
  const stat = readFileSync(path, 'utf8');
  // Fields after the parenthesised command name, which may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5): utime and stime, in clock ticks.
  return { user: Number(fields[11]) / clockTicks, system: Number(fields[12]) / clockTicks };
}

/** utime + stime of a process (all its threads), in seconds. */
export function cpuSeconds(t: Tracked): number {
  alive(t);
  const { user, system } = statTimes(`/proc/${t.pid}/stat`);
  return user + system;
}

export interface CpuSplit {
  user: number;
  system: number;
  /** The main thread alone: for node, the event loop. */
  mainThread: number;
}

export function cpuSplit(t: Tracked): CpuSplit {
  alive(t);
  const all = statTimes(`/proc/${t.pid}/stat`);
  const main = statTimes(`/proc/${t.pid}/task/${t.pid}/stat`);
  return { ...all, mainThread: main.user + main.system };
}

/** Throws, with its last output, if the process has exited (its /proc entry is gone). */
export function alive(t: Tracked): void {
  const { exitCode, signalCode } = t.child;
  if (exitCode === null && signalCode === null) return;
  const how = exitCode !== null ? `with ${exitCode}` : `on ${signalCode}`;
  throw new Error(`${t.name} exited ${how} too early:\n${t.stderr.slice(-10).join('\n')}`);
}

export interface Memory {
  rssMb: number;
  peakRssMb: number;
}

export function memory(t: Tracked): Memory {
  alive(t);
  const status = readFileSync(`/proc/${t.pid}/status`, 'utf8');
  const kb = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** GET with a deadline; returns the body and how long the whole response took. */
export async function timedGet(
  url: string,
  timeoutMs = 30_000,
): Promise<{ body: string; ms: number }> {
  const t0 = performance.now();
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    body = await res.text();
  } catch (err) {
    // Say which page did not answer (fetch's own message names none).
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`GET ${url}: ${why} (after ${(performance.now() - t0).toFixed(0)} ms)`, {
      cause: err,
    });
  }
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return { body, ms };
}
