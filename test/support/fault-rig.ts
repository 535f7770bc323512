// A whole fault-injection run: a namespace pair (netns.ts), a redis-server and
// netpingd in the near end, a fault responder per address family in the far
// end (ICMP, and optionally udp beside it: udp-responder.ts). The test suite's redis at 127.0.0.1 in the root namespace cannot be
// reached from inside, so the near end gets a private redis-server on its own
// loopback; netpingd's HTTP is read from inside the near end too.

import type { IcmpTransportChoice } from '../../lib/probes/icmp/transport-choice.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonReport, TargetReport } from '../../lib/report.js';
import { DAEMON_JS, REPO_ROOT, uniquePrefix } from './env.js';
import {
  parseLog,
  type LogEntry,
  type ResponderConfig,
  type UdpResponderConfig,
} from './fault-plan.js';
import { FAR4, FAR6, httpGetIn, NetnsPair } from './netns.js';
import type { Spawned } from './ops-harness.js';

const RESPONDER_JS = path.join(REPO_ROOT, 'dist', 'test', 'support', 'responder.js');
const UDP_RESPONDER_JS = path.join(REPO_ROOT, 'dist', 'test', 'support', 'udp-responder.js');
/** The far end's udp responder port, and the peer key both ends share. */
export const UDP_PORT = 9923;
const PEER_KEY = 'fault-rig-peer-key-0123456789';
const REDIS_PORT = 6379; // the near end's own loopback: nothing else listens there
const LIFETIME_MS = 120_000; // no process of a rig outlives the suite's budget, whatever happens

export type Fault = Omit<ResponderConfig, 'family' | 'logPath' | 'localAddress' | 'maxLifetimeMs'>;

export interface RigOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** A responder, and a target named far4 / far6, for each family given. */
  readonly responders: Partial<Record<4 | 6, Fault>>;
  /** A udp responder, and a udp target named udp4 / udp6, for each family given. */
  readonly udpResponders?: Partial<Record<4 | 6, Fault>>;
  /** netpingd's --icmp-transport; `datagram` also admits every group to ICMP datagram sockets in the near end. */
  readonly icmpTransport?: IcmpTransportChoice;
}

export type ProbeKindName = 'icmp' | 'udp';

/** The name of the target the rig adds for a responder. */
export function targetName(family: 4 | 6, kind: ProbeKindName = 'icmp'): string {
  return `${kind === 'icmp' ? 'far' : 'udp'}${family}`;
}

export const FAR_ADDRESS = { 4: FAR4, 6: FAR6 } as const;

export class FaultRig {
  readonly pair = new NetnsPair();
  readonly dir = mkdtempSync(path.join(tmpdir(), 'netping-faults-'));
  readonly responders = new Map<4 | 6, Spawned>();
  readonly udpResponders = new Map<4 | 6, Spawned>();
  readonly #logPaths = new Map<4 | 6, string>();
  readonly #udpLogPaths = new Map<4 | 6, string>();
  daemon: Spawned | undefined;
  #port = 0;

  private constructor(readonly opts: RigOptions) {}

  /** Starts everything; on failure stops what started and throws with its output. */
  static async start(opts: RigOptions): Promise<FaultRig> {
    const rig = new FaultRig(opts);
    try {
      rig.pair.create();
      await rig.#startRedis();
      for (const [family, fault] of Object.entries(opts.responders)) {
        await rig.#startResponder(Number(family) as 4 | 6, fault);
      }
      for (const [family, fault] of Object.entries(opts.udpResponders ?? {})) {
        await rig.#startUdpResponder(Number(family) as 4 | 6, fault);
      }
      await rig.#startDaemon();
      return rig;
    } catch (err) {
      await rig.stop();
      throw err;
    }
  }

  async #startRedis(): Promise<void> {
    const { near } = this.pair;
    const redis = this.pair.spawn(
      near,
      'redis-server',
      [
        ...['--port', String(REDIS_PORT), '--bind', '127.0.0.1'],
        ...['--save', '', '--appendonly', 'no', '--dir', this.dir],
      ],
      LIFETIME_MS / 1000,
    );
    const up = await until(() => (this.redisCli(['ping']).trim() === 'PONG' ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    if (!up) throw new Error(`redis-server did not start in ${near}:\n${redis.tail()}`);
  }

  redisCli(args: readonly string[]): string {
    return this.pair.exec(this.pair.near, 'redis-cli', ['-p', String(REDIS_PORT), ...args]).stdout;
  }

  async #startResponder(family: 4 | 6, fault: Fault): Promise<void> {
    const logPath = path.join(this.dir, `responder${family}.jsonl`);
    const config: ResponderConfig = {
      ...fault,
      family,
      logPath,
      localAddress: FAR_ADDRESS[family],
      maxLifetimeMs: LIFETIME_MS,
    };
    const configPath = path.join(this.dir, `responder${family}.json`);
    writeFileSync(configPath, JSON.stringify(config));
    writeFileSync(logPath, '');
    const p = this.pair.spawn(this.pair.far, process.execPath, [
      RESPONDER_JS,
      '--config',
      configPath,
    ]);
    const ready = await until(() => (p.stdout.includes('ready') ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 25,
    });
    if (!ready) throw new Error(`the IPv${family} responder did not start:\n${p.tail()}`);
    this.responders.set(family, p);
    this.#logPaths.set(family, logPath);
  }

  async #startUdpResponder(family: 4 | 6, fault: Fault): Promise<void> {
    const logPath = path.join(this.dir, `udp-responder${family}.jsonl`);
    const config: UdpResponderConfig = {
      ...fault,
      family,
      logPath,
      localAddress: FAR_ADDRESS[family],
      maxLifetimeMs: LIFETIME_MS,
      port: UDP_PORT,
      peerKey: PEER_KEY,
    };
    const configPath = path.join(this.dir, `udp-responder${family}.json`);
    writeFileSync(configPath, JSON.stringify(config));
    writeFileSync(logPath, '');
    const p = this.pair.spawn(this.pair.far, process.execPath, [
      UDP_RESPONDER_JS,
      '--config',
      configPath,
    ]);
    const ready = await until(() => (p.stdout.includes('ready') ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 25,
    });
    if (!ready) throw new Error(`the IPv${family} udp responder did not start:\n${p.tail()}`);
    this.udpResponders.set(family, p);
    this.#udpLogPaths.set(family, logPath);
  }

  async #startDaemon(): Promise<void> {
    const prefix = uniquePrefix();
    const members = [
      ...[...this.#logPaths.keys()].map((f) => `${targetName(f)}@${FAR_ADDRESS[f]}`),
      ...[...this.#udpLogPaths.keys()].map(
        (f) => `${targetName(f, 'udp')}@${FAR_ADDRESS[f]}?probe=udp&port=${UDP_PORT}`,
      ),
    ];
    const peer = this.#udpLogPaths.size > 0 ? ['--peer-key', PEER_KEY] : [];
    const transport = this.opts.icmpTransport ?? 'auto';
    if (transport === 'datagram') {
      this.pair.sysctl(this.pair.near, 'net.ipv4.ping_group_range=0 2147483647');
    }
    this.redisCli(['sadd', `{${prefix}}:targets`, ...members]);
    const d = this.pair.spawn(
      this.pair.near,
      process.execPath,
      [
        DAEMON_JS,
        ...['--redis', `redis://127.0.0.1:${REDIS_PORT}`, '--prefix', prefix],
        ...['--listen', '127.0.0.1:0', '--interval', `${this.opts.intervalMs}ms`],
        ...['--timeout', `${this.opts.timeoutMs}ms`, '--state-dir', path.join(this.dir, 'state')],
        ...peer,
        ...['--icmp-transport', transport],
      ],
      LIFETIME_MS / 1000,
    );
    this.daemon = d;
    const port = await until(
      () => {
        const m = /listening on [^\s;]*:(\d+);/.exec(d.stderr);
        return m ? Number(m[1]) : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 25 },
    );
    if (port === undefined) throw new Error(`netpingd did not start:\n${d.tail()}`);
    this.#port = port;
  }

  /** GETs a path of netpingd's HTTP from inside the near end. */
  http(urlPath: string): Promise<string> {
    return httpGetIn(this.pair.near, `http://127.0.0.1:${this.#port}${urlPath}`);
  }

  async report(): Promise<DaemonReport> {
    return JSON.parse(await this.http('/api/targets')) as DaemonReport;
  }

  async target(family: 4 | 6, kind: ProbeKindName = 'icmp'): Promise<TargetReport> {
    const name = targetName(family, kind);
    const t = (await this.report()).targets.find((r) => r.name === name);
    if (!t) throw new Error(`netpingd reports no ${name}`);
    return t;
  }

  log(family: 4 | 6, kind: ProbeKindName = 'icmp'): LogEntry[] {
    const p = (kind === 'icmp' ? this.#logPaths : this.#udpLogPaths).get(family);
    if (!p) throw new Error(`no IPv${family} ${kind} responder`);
    return parseLog(readFileSync(p, 'utf8'));
  }

  /**
   * Waits until the responder has logged the fate of netping's probes
   * 0 .. sent-1 (a late reply is logged when it goes out) and returns them.
   * With `allArrive: false` (probes refused during an outage never arrive),
   * waits `timeoutMs` for stragglers and returns what is there.
   */
  async ourEntries(
    family: 4 | 6,
    sent: number,
    {
      allArrive = true,
      timeoutMs = 3_000,
      kind = 'icmp',
    }: { allArrive?: boolean; timeoutMs?: number; kind?: ProbeKindName } = {},
  ): Promise<LogEntry[]> {
    const pick = (): LogEntry[] =>
      this.log(family, kind).filter((e) => e.ours && e.wideSeq !== null && e.wideSeq < sent);
    if (!allArrive) {
      await sleep(timeoutMs);
      return pick();
    }
    const done = await until(() => (pick().length >= sent ? true : undefined), {
      timeoutMs,
      intervalMs: 50,
    });
    const entries = pick();
    if (!done) {
      const seen = new Set(entries.map((e) => e.wideSeq));
      const missing = Array.from({ length: sent }, (_, i) => i).filter((i) => !seen.has(i));
      throw new Error(
        `IPv${family} ${kind} responder never logged probes ${missing.slice(0, 20).join(',')}`,
      );
    }
    return entries;
  }

  /** From now on every request gets a prompt plain reply. */
  stopInjecting(): void {
    for (const p of [...this.responders.values(), ...this.udpResponders.values()])
      p.child.kill('SIGUSR1');
  }

  /** Lets the last faults play out: late replies sent, timeouts passed. */
  async settle(fault: Fault): Promise<void> {
    await sleep(Math.max(fault.lateMs, fault.delayMs + fault.jitterMs) + this.opts.timeoutMs + 300);
  }

  async stop(): Promise<void> {
    try {
      await this.pair.destroy();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Polls a synchronous check until it gives a value, at most `timeoutMs`; undefined if it never did. */
async function until<T>(
  check: () => T | undefined,
  { timeoutMs, intervalMs }: { timeoutMs: number; intervalMs: number },
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i <= Math.ceil(timeoutMs / intervalMs); i++) {
    try {
      const v = check();
      if (v !== undefined) return v;
    } catch {
      // not ready yet
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  return undefined;
}
