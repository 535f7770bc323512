// Four network namespaces for path tests: a — r1 — b and a — r2 — b, two
// routers between the same two ends. The target is b's 10.226.9.1 (on its
// loopback, reachable over either router); a routes it through r1 until
// `via('r2')`. Routers answer every time-exceeded (no ICMP rate limit) until
// told to be silent. Addresses live only inside (10.226.0.0/16). Names start
// with h26- and carry our pid.

import { run, Spawned, type RunResult } from './ops-harness.js';

export const PATH_TARGET = '10.226.9.1';
/** Each router's address toward a: what its time-exceeded comes from. */
export const ROUTER_NEAR: Record<'r1' | 'r2', string> = { r1: '10.226.1.2', r2: '10.226.3.2' };
const A_SIDE: Record<'r1' | 'r2', string> = { r1: '10.226.1.1', r2: '10.226.3.1' };
const FAR_NET: Record<'r1' | 'r2', [string, string]> = {
  r1: ['10.226.2.1', '10.226.2.2'],
  r2: ['10.226.4.1', '10.226.4.2'],
};

function must(r: RunResult, what: string): RunResult {
  if (r.status !== 0) throw new Error(`${what}: ${r.stderr.trim()}`);
  return r;
}

export class PathNet {
  readonly a: string;
  readonly r1: string;
  readonly r2: string;
  readonly b: string;
  readonly #links: string[] = [];
  readonly #spawned: Spawned[] = [];

  constructor() {
    const base = `h26-${process.pid}`;
    [this.a, this.r1, this.r2, this.b] = ['a', 'r1', 'r2', 'b'].map((n) => `${base}-${n}`) as [
      string,
      string,
      string,
      string,
    ];
  }

  ns(name: 'a' | 'r1' | 'r2' | 'b'): string {
    return { a: this.a, r1: this.r1, r2: this.r2, b: this.b }[name];
  }

  create(): this {
    try {
      for (const ns of [this.a, this.r1, this.r2, this.b]) {
        must(run('ip', ['netns', 'add', ns]), `netns ${ns}`);
        must(this.exec(ns, 'ip', ['link', 'set', 'lo', 'up']), 'lo up');
      }
      must(
        this.exec(this.b, 'ip', ['addr', 'add', `${PATH_TARGET}/32`, 'dev', 'lo']),
        'target address',
      );
      for (const r of ['r1', 'r2'] as const) {
        const router = this.ns(r);
        // veth names: at most 15 characters, unique to us.
        const near = [`h26${process.pid % 100000}${r}a`, `h26${process.pid % 100000}${r}x`];
        const far = [`h26${process.pid % 100000}${r}y`, `h26${process.pid % 100000}${r}b`];
        this.#links.push(near[0]!, far[1]!);
        must(
          run('ip', [
            'link',
            'add',
            near[0]!,
            'netns',
            this.a,
            'type',
            'veth',
            'peer',
            'name',
            near[1]!,
            'netns',
            router,
          ]),
          'veth a',
        );
        must(
          run('ip', [
            'link',
            'add',
            far[0]!,
            'netns',
            router,
            'type',
            'veth',
            'peer',
            'name',
            far[1]!,
            'netns',
            this.b,
          ]),
          'veth b',
        );
        const [farRouter, farB] = FAR_NET[r];
        const place: [string, string, string][] = [
          [this.a, near[0]!, `${A_SIDE[r]}/30`],
          [router, near[1]!, `${ROUTER_NEAR[r]}/30`],
          [router, far[0]!, `${farRouter}/30`],
          [this.b, far[1]!, `${farB}/30`],
        ];
        for (const [ns, dev, addr] of place) {
          must(this.exec(ns, 'ip', ['addr', 'add', addr, 'dev', dev]), `addr ${addr}`);
          must(this.exec(ns, 'ip', ['link', 'set', dev, 'up']), `up ${dev}`);
        }
        must(this.exec(router, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']), 'forwarding');
        must(this.exec(router, 'sysctl', ['-q', '-w', 'net.ipv4.icmp_ratelimit=0']), 'icmp rate');
        must(
          this.exec(router, 'ip', ['route', 'add', `${PATH_TARGET}/32`, 'via', farB]),
          'router route',
        );
        // b answers a's side of each router back through that router.
        must(
          this.exec(this.b, 'ip', ['route', 'add', `${A_SIDE[r]}/32`, 'via', farRouter]),
          'b route',
        );
      }
      must(
        this.exec(this.a, 'ip', ['route', 'add', `${PATH_TARGET}/32`, 'via', ROUTER_NEAR.r1]),
        'a route',
      );
      return this;
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /** Routes a's traffic to the target through this router. */
  via(r: 'r1' | 'r2'): void {
    must(
      this.exec(this.a, 'ip', ['route', 'replace', `${PATH_TARGET}/32`, 'via', ROUTER_NEAR[r]]),
      'route switch',
    );
  }

  /** The router drops its own time-exceeded messages (nft), or answers again. */
  silent(r: 'r1' | 'r2', on: boolean): void {
    const ns = this.ns(r);
    if (on) {
      must(
        this.exec(ns, 'nft', [
          'add table inet h26; add chain inet h26 out { type filter hook output priority 0; }; add rule inet h26 out icmp type time-exceeded drop',
        ]),
        'nft',
      );
    } else {
      must(this.exec(ns, 'nft', ['delete table inet h26']), 'nft delete');
    }
  }

  /** The MTU of the link between a router and b (both ends). */
  farLinkMtu(r: 'r1' | 'r2', mtu: number): void {
    const id = `h26${process.pid % 100000}${r}`;
    must(this.exec(this.ns(r), 'ip', ['link', 'set', `${id}y`, 'mtu', String(mtu)]), 'mtu router');
    must(this.exec(this.b, 'ip', ['link', 'set', `${id}b`, 'mtu', String(mtu)]), 'mtu b');
  }

  exec(ns: string, cmd: string, args: readonly string[], timeoutMs = 10_000): RunResult {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs });
  }

  /** A long-running command in a namespace, ended by coreutils' timeout after `lifetimeS` whatever happens. */
  spawn(ns: string, cmd: string, args: readonly string[], lifetimeS: number): Spawned {
    const p = new Spawned('ip', [
      'netns',
      'exec',
      ns,
      'timeout',
      '-k',
      '5',
      String(lifetimeS),
      cmd,
      ...args,
    ]);
    this.#spawned.push(p);
    return p;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.#spawned.map((p) => p.stop(3_000)));
    this.#spawned.length = 0;
  }

  destroy(): void {
    for (const ns of [this.a, this.r1, this.r2, this.b]) run('ip', ['netns', 'del', ns]);
    for (const link of this.#links) run('ip', ['link', 'del', link]);
  }
}
