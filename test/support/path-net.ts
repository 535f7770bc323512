// Four network namespaces for path tests: a — r1 — b and a — r2 — b, two
// routers between the same two ends. The targets are b's 10.226.9.1 and
// fd26:9::1 (on its loopback, reachable over either router); a routes them
// through r1 until `via('r2')`. Routers answer every time-exceeded (no ICMP
// rate limit) until told to be silent. Addresses live only inside
// (10.226.0.0/16, fd26::/16). Names start with h26- and carry our pid.

import { execIn } from './netns-exec.js';
import { run, type RunResult } from './ops-harness.js';

type Router = 'r1' | 'r2';
type Family = 4 | 6;

export const PATH_TARGET: Record<Family, string> = { 4: '10.226.9.1', 6: 'fd26:9::1' };
/** Each router's address toward a: what its time-exceeded comes from. */
export const ROUTER_NEAR: Record<Family, Record<Router, string>> = {
  4: { r1: '10.226.1.2', r2: '10.226.3.2' },
  6: { r1: 'fd26:1::2', r2: 'fd26:3::2' },
};
const A_SIDE: Record<Family, Record<Router, string>> = {
  4: { r1: '10.226.1.1', r2: '10.226.3.1' },
  6: { r1: 'fd26:1::1', r2: 'fd26:3::1' },
};
/** The router's and b's addresses on the link between them. */
const FAR_NET: Record<Family, Record<Router, [string, string]>> = {
  4: { r1: ['10.226.2.1', '10.226.2.2'], r2: ['10.226.4.1', '10.226.4.2'] },
  6: { r1: ['fd26:2::1', 'fd26:2::2'], r2: ['fd26:4::1', 'fd26:4::2'] },
};
const PREFIX: Record<Family, string> = { 4: '/30', 6: '/64' };
const HOST: Record<Family, string> = { 4: '/32', 6: '/128' };

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

  constructor() {
    const base = `h26-${process.pid}`;
    this.a = `${base}-a`;
    this.r1 = `${base}-r1`;
    this.r2 = `${base}-r2`;
    this.b = `${base}-b`;
  }

  ns(name: 'a' | Router | 'b'): string {
    return { a: this.a, r1: this.r1, r2: this.r2, b: this.b }[name];
  }

  /** veth names: at most 15 characters, unique to us. `a`: a's end, `x`/`y`: the router's, `b`: b's. */
  #link(r: Router, end: 'a' | 'x' | 'y' | 'b'): string {
    return `h26${process.pid % 100000}${r}${end}`;
  }

  #ip(ns: string, family: Family, args: readonly string[], what: string): void {
    must(execIn(ns, 'ip', [family === 6 ? '-6' : '-4', ...args]), what);
  }

  create(): this {
    try {
      for (const ns of [this.a, this.r1, this.r2, this.b]) {
        must(run('ip', ['netns', 'add', ns]), `netns ${ns}`);
        must(execIn(ns, 'ip', ['link', 'set', 'lo', 'up']), 'lo up');
        // Before the links come: without duplicate detection their link-local
        // addresses work at once, so the first neighbour solicitations (and
        // the first traces' IPv6 answers) are not lost while it runs.
        for (const dad of ['net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0'])
          must(execIn(ns, 'sysctl', ['-q', '-w', dad]), dad);
      }
      for (const f of [4, 6] as const)
        this.#ip(this.b, f, ['addr', 'add', `${PATH_TARGET[f]}${HOST[f]}`, 'dev', 'lo'], 'target');
      for (const r of ['r1', 'r2'] as const) this.#router(r);
      for (const f of [4, 6] as const) {
        const route = [`${PATH_TARGET[f]}${HOST[f]}`, 'via', ROUTER_NEAR[f].r1];
        this.#ip(this.a, f, ['route', 'add', ...route], 'a route');
      }
      return this;
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  #router(r: Router): void {
    const router = this.ns(r);
    const [aEnd, x, y, bEnd] = (['a', 'x', 'y', 'b'] as const).map((e) => this.#link(r, e)) as [
      string,
      string,
      string,
      string,
    ];
    this.#links.push(aEnd, bEnd);
    const veth = (one: string, oneNs: string, two: string, twoNs: string): void => {
      const args = ['link', 'add', one, 'netns', oneNs, 'type', 'veth', 'peer', 'name', two];
      must(run('ip', [...args, 'netns', twoNs]), `veth ${one}`);
    };
    veth(aEnd, this.a, x, router);
    veth(y, router, bEnd, this.b);
    for (const [ns, dev] of [
      [this.a, aEnd],
      [router, x],
      [router, y],
      [this.b, bEnd],
    ] as const)
      must(execIn(ns, 'ip', ['link', 'set', dev, 'up']), `up ${dev}`);
    for (const f of [4, 6] as const) {
      const [farRouter, farB] = FAR_NET[f][r];
      // nodad: the addresses work at once, not after duplicate detection.
      const dad = f === 6 ? ['nodad'] : [];
      for (const [ns, dev, addr] of [
        [this.a, aEnd, A_SIDE[f][r]],
        [router, x, ROUTER_NEAR[f][r]],
        [router, y, farRouter],
        [this.b, bEnd, farB],
      ] as const)
        this.#ip(ns, f, ['addr', 'add', `${addr}${PREFIX[f]}`, 'dev', dev, ...dad], `addr ${addr}`);
      this.#ip(router, f, ['route', 'add', `${PATH_TARGET[f]}${HOST[f]}`, 'via', farB], 'route');
      // b answers a's side of each router back through that router.
      this.#ip(this.b, f, ['route', 'add', `${A_SIDE[f][r]}${HOST[f]}`, 'via', farRouter], 'b');
    }
    for (const setting of [
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
      'net.ipv4.icmp_ratelimit=0',
      'net.ipv6.icmp.ratelimit=0',
    ])
      must(execIn(router, 'sysctl', ['-q', '-w', setting]), setting);
  }

  /** Routes a's traffic to the targets through this router. */
  via(r: Router): void {
    for (const f of [4, 6] as const) {
      const route = [`${PATH_TARGET[f]}${HOST[f]}`, 'via', ROUTER_NEAR[f][r]];
      this.#ip(this.a, f, ['route', 'replace', ...route], 'route switch');
    }
  }

  /** The router drops its own time-exceeded messages (nft), or answers again. */
  silent(r: Router, on: boolean): void {
    const ns = this.ns(r);
    const rules =
      'add table inet h26; add chain inet h26 out { type filter hook output priority 0; }; ' +
      'add rule inet h26 out icmp type time-exceeded drop; ' +
      'add rule inet h26 out icmpv6 type time-exceeded drop';
    must(execIn(ns, 'nft', [on ? rules : 'delete table inet h26']), 'nft');
  }

  /** The MTU of the link between a router and b (both ends). */
  farLinkMtu(r: Router, mtu: number): void {
    must(execIn(this.ns(r), 'ip', ['link', 'set', this.#link(r, 'y'), 'mtu', String(mtu)]), 'mtu');
    must(execIn(this.b, 'ip', ['link', 'set', this.#link(r, 'b'), 'mtu', String(mtu)]), 'mtu');
  }

  /** The MTU of the link between a and a router (both ends). */
  nearLinkMtu(r: Router, mtu: number): void {
    must(execIn(this.a, 'ip', ['link', 'set', this.#link(r, 'a'), 'mtu', String(mtu)]), 'mtu');
    must(execIn(this.ns(r), 'ip', ['link', 'set', this.#link(r, 'x'), 'mtu', String(mtu)]), 'mtu');
  }

  destroy(): void {
    for (const ns of [this.a, this.r1, this.r2, this.b]) run('ip', ['netns', 'del', ns]);
    for (const link of this.#links) run('ip', ['link', 'del', link]);
  }
}
