// A redis-server of a test's own, to stop and restart at will (the shared
// one from test/run.sh must stay up for the other tests).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ops-harness.js';

/**
 * A redis-server on 127.0.0.1:`port` keeping its files in `dir`, without
 * RDB snapshots; persistence and the rest come in `extra`.
 */
export function spawnRedisServer(
  port: number,
  dir: string,
  extra: readonly string[],
): ChildProcess {
  return spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...extra],
    { stdio: 'ignore' },
  );
}

export class OwnRedis {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'netping-redis-'));
  #child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** A server on a free loopback port; its data survives restarts (append-only file). */
  static async reserve(): Promise<OwnRedis> {
    return new OwnRedis(await freePort());
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 5000): Promise<void> {
    const child = spawnRedisServer(this.port, this.dir, [
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ]);
    this.#child = child;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const probe = new Redis(this.url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        probe.disconnect();
      }
    }
    throw new Error(`redis-server on port ${this.port} did not start in ${timeoutMs} ms`);
  }

  /** Stops the server as a crash would (SIGKILL) or cleanly (SIGTERM). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Sends a signal without waiting for anything: SIGSTOP makes a server that accepts but never answers. */
  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  async dispose(): Promise<void> {
    this.signal('SIGCONT'); // a stopped server cannot act on SIGKILL's aftermath otherwise

    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
