// Three network namespaces in a row, near — mid — far, joined by two veth
// pairs and routed through mid: a bottleneck in the middle, as a modem is.
// Shaping sits on mid's two egress interfaces (tbf), one per direction. A
// queue there is a real queue: the senders' TCP small-queues limit only
// what waits in their own host's qdisc, so shaping the senders' own veth
// would never build the standing queue of bufferbloat. Addresses live only
// inside (10.201.0.0/30 near side, 10.201.0.4/30 far side); names follow
// netns.ts's, so removeStaleNamespaces() clears what a killed run left.

import { NETNS_PREFIX } from './netns.js';
import { run, Spawned, type RunResult } from './ops-harness.js';

export const CHAIN_NEAR4 = '10.201.0.1';
export const CHAIN_FAR4 = '10.201.0.6';

let chains = 0;

function ipOrThrow(args: readonly string[]): void {
  const r = run('ip', args, { timeoutMs: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

export class NetnsChain {
  readonly near: string;
  readonly mid: string;
  readonly far: string;
  /** mid's interfaces: toward near (download's bottleneck), toward far (upload's). */
  readonly midNear: string;
  readonly midFar: string;
  readonly #links: [string, string, string, string];
  readonly #spawned: Spawned[] = [];

  constructor() {
    const n = ++chains;
    const base = `${NETNS_PREFIX}${process.pid}-c${n}`;
    [this.near, this.mid, this.far] = [`${base}-near`, `${base}-mid`, `${base}-far`];
    // x9…: numbers NetnsPair (x1, x2, …) does not reach; at most 15 characters.
    const link = (k: number, end: 'a' | 'b'): string => `npf${process.pid}x9${n}${k}${end}`;
    this.#links = [link(1, 'a'), link(1, 'b'), link(2, 'a'), link(2, 'b')];
    this.midNear = this.#links[1];
    this.midFar = this.#links[2];
  }

  /**
   * Makes the namespaces and links. `congestionControl` is every namespace's
   * TCP default from birth: a new namespace inherits the host's (often BBR,
   * which keeps the bottleneck's queue near empty, so no bufferbloat shows),
   * and outside the first namespace only the host's allowed algorithms
   * (net.ipv4.tcp_allowed_congestion_control) may be set, so cubic is
   * refused (EPERM) where reno, always allowed, is not.
   */
  create(congestionControl = 'reno'): this {
    const [nearLink, midNear, midFar, farLink] = this.#links;
    try {
      for (const ns of [this.near, this.mid, this.far]) {
        ipOrThrow(['netns', 'add', ns]);
        // Before any process starts here: a socket takes the namespace's
        // default when it is made, and an accepted one its listener's.
        this.#congestionControl(ns, congestionControl);
        ipOrThrow(['-n', ns, 'link', 'set', 'lo', 'up']);
      }
      ipOrThrow(['link', 'add', nearLink, 'type', 'veth', 'peer', 'name', midNear]);
      ipOrThrow(['link', 'add', midFar, 'type', 'veth', 'peer', 'name', farLink]);
      const place: [string, string, string][] = [
        [nearLink, this.near, `${CHAIN_NEAR4}/30`],
        [midNear, this.mid, '10.201.0.2/30'],
        [midFar, this.mid, '10.201.0.5/30'],
        [farLink, this.far, `${CHAIN_FAR4}/30`],
      ];
      for (const [link, ns, addr] of place) {
        ipOrThrow(['link', 'set', link, 'netns', ns]);
        ipOrThrow(['-n', ns, 'addr', 'add', addr, 'dev', link]);
        ipOrThrow(['-n', ns, 'link', 'set', link, 'up']);
      }
      ipOrThrow(['-n', this.near, 'route', 'add', 'default', 'via', '10.201.0.2']);
      ipOrThrow(['-n', this.far, 'route', 'add', 'default', 'via', '10.201.0.5']);
      const r = this.exec(this.mid, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
      if (r.status !== 0) throw new Error(`ip_forward in ${this.mid}: ${r.stderr.trim()}`);
      return this;
    } catch (err) {
      this.destroyNamespaces();
      throw err;
    }
  }

  /** Both directions through a token bucket of `mbit`, its queue holding `latencyMs` of it. */
  shape(mbit: number, latencyMs: number, burst = '32kbit'): void {
    for (const dev of [this.midNear, this.midFar]) {
      const r = this.exec(this.mid, 'tc', [
        ...['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${mbit}mbit`],
        ...['burst', burst, 'latency', `${latencyMs}ms`],
      ]);
      if (r.status !== 0) throw new Error(`tc on ${dev}: ${r.stderr.trim()}`);
    }
  }

  #congestionControl(ns: string, name: string): void {
    const r = this.exec(ns, 'sysctl', ['-q', '-w', `net.ipv4.tcp_congestion_control=${name}`]);
    if (r.status !== 0) throw new Error(`congestion control ${name} in ${ns}: ${r.stderr.trim()}`);
  }

  /** The congestion control a namespace gives new sockets. */
  congestionControlOf(ns: string): string {
    return this.exec(ns, 'sysctl', ['-n', 'net.ipv4.tcp_congestion_control']).stdout.trim();
  }

  exec(ns: string, cmd: string, args: readonly string[], timeoutMs = 10_000): RunResult {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs });
  }

  /** A long-running command in a namespace, ended by coreutils' timeout after `lifetimeS` whatever happens. */
  spawn(ns: string, cmd: string, args: readonly string[], lifetimeS: number): Spawned {
    const p = new Spawned('ip', [
      ...['netns', 'exec', ns, 'timeout', '-k', '5', String(lifetimeS), cmd],
      ...args,
    ]);
    this.#spawned.push(p);
    return p;
  }

  /** Stops one spawned process: SIGTERM (timeout passes it on), SIGKILL after 3 s. */
  async stop(p: Spawned): Promise<void> {
    if (!p.running) return;
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 3000);
    await p.exited;
    clearTimeout(timer);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.#spawned.map((p) => this.stop(p)));
    this.#spawned.length = 0;
    this.destroyNamespaces();
  }

  destroyNamespaces(): void {
    for (const ns of [this.near, this.mid, this.far]) {
      // Only processes this test started live in its namespaces.
      const pids = run('ip', ['netns', 'pids', ns])
        .stdout.split('\n')
        .filter((x) => /^\d+$/.test(x));
      for (const pid of pids.slice(0, 100)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      run('ip', ['netns', 'del', ns]);
    }
    for (const link of this.#links) run('ip', ['link', 'del', link]);
  }
}
