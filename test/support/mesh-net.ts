// Network namespaces joined by a bridge, for the mesh test: a "hub"
// namespace holds the bridge (and whatever the test runs there, e.g.
// redis-server), and each member namespace is wired to it by a veth pair.
// Addresses live only inside them (10.201.0.0/24), so no test packet leaves.
// Names use netns.ts's prefixes, so removeStaleNamespaces() clears what a
// killed run left.

import { CLI_JS, DAEMON_JS } from './env.js';
import { NETNS_PREFIX, exitOf, killAllIn } from './netns.js';
import { run, Spawned, type RunResult } from './ops-harness.js';

export const HUB4 = '10.201.0.1';

/** redis-server's arguments for the hub: on the bridge only, nothing saved. */
export function hubRedisArgs(port: number, dir: string): string[] {
  return [
    ...['--port', String(port), '--bind', HUB4],
    ...['--save', '', '--appendonly', 'no'],
    // Reachable only inside the test's namespaces; the members are not on its loopback.
    ...['--protected-mode', 'no', '--dir', dir],
  ];
}

export interface MeshMemberOptions {
  readonly k: number;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly kinds: readonly string[];
  readonly expiryMs: number;
  readonly stateDir: string;
  /** Flags after the common ones (labels, --alertmanager...). */
  readonly extra?: readonly string[];
}

/** netpingd's arguments for mesh member k: fast refresh and probes, so a test sees changes in seconds. */
export function meshMemberArgs(o: MeshMemberOptions): string[] {
  return [
    DAEMON_JS,
    ...['--redis', o.redisUrl, '--prefix', o.prefix],
    ...['--mesh', '--instance', `m${o.k}`, '--advertise', MeshNet.address(o.k)],
    ...[
      '--mesh-probes',
      o.kinds.join(','),
      '--mesh-refresh',
      '1s',
      '--mesh-expiry',
      `${o.expiryMs}ms`,
    ],
    ...['--interval', '200ms', '--timeout', '500ms'],
    ...['--listen', '127.0.0.1:9922', '--state-dir', o.stateDir],
    ...(o.extra ?? []),
  ];
}
const MAX_MEMBERS = 50;

let nets = 0;

function ipOrThrow(args: readonly string[]): void {
  const r = run('ip', args, { timeoutMs: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** The environment without any NETPING_* the developer may have set. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NETPING_')));
}

export class MeshNet {
  readonly hub: string;
  readonly #tag: string;
  readonly #members: string[] = [];
  readonly #spawned: Spawned[] = [];

  constructor() {
    const n = ++nets;
    this.#tag = `${process.pid}-m${n}`;
    this.hub = `${NETNS_PREFIX}${this.#tag}-hub`;
  }

  /** The hub with its bridge; on failure removes what was built and throws. */
  create(): this {
    try {
      ipOrThrow(['netns', 'add', this.hub]);
      ipOrThrow(['-n', this.hub, 'link', 'set', 'lo', 'up']);
      ipOrThrow(['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge']);
      ipOrThrow(['-n', this.hub, 'addr', 'add', `${HUB4}/24`, 'dev', 'br0']);
      ipOrThrow(['-n', this.hub, 'link', 'set', 'br0', 'up']);
      return this;
    } catch (err) {
      this.destroyNamespaces();
      throw err;
    }
  }

  /** The address of member k (1-based). */
  static address(k: number): string {
    return `10.201.0.${10 + k}`;
  }

  /** Adds member namespace k (1-based), wired to the bridge; returns its name. */
  addMember(k: number): string {
    if (k < 1 || k > MAX_MEMBERS) throw new Error(`member ${k} out of range`);
    const ns = `${NETNS_PREFIX}${this.#tag}-${k}`;
    // Short names (interface names are at most 15 bytes), made in the
    // namespaces at once so the root namespace never holds them.
    ipOrThrow(['netns', 'add', ns]);
    this.#members.push(ns);
    ipOrThrow([
      '-n',
      ns,
      'link',
      'add',
      'eth0',
      'type',
      'veth',
      'peer',
      'name',
      `v${k}`,
      'netns',
      this.hub,
    ]);
    ipOrThrow(['-n', ns, 'link', 'set', 'lo', 'up']);
    ipOrThrow(['-n', ns, 'addr', 'add', `${MeshNet.address(k)}/24`, 'dev', 'eth0']);
    ipOrThrow(['-n', ns, 'link', 'set', 'eth0', 'up']);
    ipOrThrow(['-n', this.hub, 'link', 'set', `v${k}`, 'master', 'br0']);
    ipOrThrow(['-n', this.hub, 'link', 'set', `v${k}`, 'up']);
    return ns;
  }

  /** Starts a long-running command in a namespace (its pid is the command's: ip netns exec execs it). */
  spawn(ns: string, cmd: string, args: readonly string[]): Spawned {
    const p = new Spawned('ip', ['netns', 'exec', ns, cmd, ...args], { env: cleanEnv() });
    this.#spawned.push(p);
    return p;
  }

  /** Runs npcli in a namespace to completion. */
  npcli(ns: string, args: readonly string[], timeoutMs = 10_000): RunResult {
    return run('ip', ['netns', 'exec', ns, process.execPath, CLI_JS, ...args], {
      timeoutMs,
      env: cleanEnv(),
    });
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.#spawned.map(async (p) => {
        if (!p.running) return;
        p.child.kill('SIGTERM');
        if ((await exitOf(p, 2_000)) === undefined) {
          p.child.kill('SIGKILL');
          await exitOf(p, 2_000);
        }
      }),
    );
    this.#spawned.length = 0;
    this.destroyNamespaces();
  }

  destroyNamespaces(): void {
    for (const ns of [...this.#members, this.hub]) {
      killAllIn(ns);
      run('ip', ['netns', 'del', ns], { timeoutMs: 10_000 });
    }
    this.#members.length = 0;
  }
}
