// Redis topologies of a test's own on free loopback ports: plain servers
// (a master and its replica), redis-sentinel processes, a Cluster made with
// redis-cli --cluster create. Every process is the test's child, killed by
// dispose(); every wait is bounded.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ops-harness.js';
import { spawnRedisServer } from './redis-server.js';

export function commandMissing(...commands: string[]): string | false {
  for (const c of commands) {
    if (spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0) {
      return `${c} is not installed (test/run.sh installs it)`;
    }
  }
  return false;
}

export function cli(port: number, args: readonly string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return `${r.stdout}${r.stderr}`.trim();
}

export class Topology {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'netping-topology-'));
  readonly #children = new Map<number, ChildProcess>();

  /** A redis-server on a free port with these extra arguments; resolves once it answers PING. */
  async server(extra: readonly string[] = [], port?: number): Promise<number> {
    const p = port ?? (await freePort());
    const dir = path.join(this.dir, String(p));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const child = spawnRedisServer(p, dir, ['--appendonly', 'no', ...extra]);
    this.#children.set(p, child);
    await this.#answers(p);
    return p;
  }

  /** A redis-sentinel watching `masterPort` as `name` with this quorum. */
  async sentinel(name: string, masterPort: number, quorum: number): Promise<number> {
    const p = await freePort();
    const conf = path.join(this.dir, `sentinel-${p}.conf`);
    writeFileSync(
      conf,
      [
        `port ${p}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} ${quorum}`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
    this.#children.set(p, child);
    await this.#answers(p);
    return p;
  }

  async #answers(port: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (cli(port, ['ping']) === 'PONG') return;
      await sleep(50);
    }
    throw new Error(`redis on ${port} did not answer within 5 s`);
  }

  /** Polls until `check` is true, at most `ms`. */
  async until(what: string, ms: number, check: () => boolean): Promise<void> {
    const deadline = Date.now() + ms;
    for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
      if (check()) return;
      await sleep(100);
    }
    throw new Error(`not within ${ms} ms: ${what}`);
  }

  kill(port: number): void {
    this.#children.get(port)?.kill('SIGKILL');
    this.#children.delete(port);
  }

  dispose(): void {
    for (const port of [...this.#children.keys()]) this.kill(port);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
