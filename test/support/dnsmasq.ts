// A real DNS server for tests: dnsmasq on a loopback address and a free
// port, answering only from a hosts file the test writes (with a short TTL),
// NXDOMAIN for any other name under .test, and logging every query.

import { readFileSync, writeFileSync } from 'node:fs';
import { Spawned, freePort, waitFor } from './ops-harness.js';

export const DNS_ADDRESS = '127.0.0.53';

export class Dnsmasq {
  readonly port: number;
  readonly hostsFile: string;
  readonly ttlSeconds: number;
  #process: Spawned | undefined;

  readonly #logFile: string | undefined;

  private constructor(port: number, hostsFile: string, ttlSeconds: number, logFile?: string) {
    this.port = port;
    this.hostsFile = hostsFile;
    this.ttlSeconds = ttlSeconds;
    this.#logFile = logFile;
  }

  /** "127.0.0.53:PORT", as --dns-server takes it. */
  get server(): string {
    return `${DNS_ADDRESS}:${this.port}`;
  }

  /** The queries it logged so far, one line each: "Dec  3 13:45:01 dnsmasq[1]: query[A] x.test from …". */
  get queryLines(): string[] {
    return (this.#process?.stderr ?? '').split('\n').filter((l) => / query\[/.test(l));
  }

  /**
   * With `logFile`, queries are logged there, each with its second
   * (dnsmasq stamps file lines itself); else to its stderr, unstamped.
   */
  static async start(
    hostsFile: string,
    hosts: string,
    opts: { ttlSeconds?: number; logFile?: string } = {},
  ): Promise<Dnsmasq> {
    writeFileSync(hostsFile, hosts);
    const d = new Dnsmasq(await freePort(), hostsFile, opts.ttlSeconds ?? 2, opts.logFile);
    await d.restart();
    return d;
  }

  /** Starts it (again, after stop()) on the same port. */
  async restart(): Promise<void> {
    const p = new Spawned('dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      `--port=${this.port}`,
      `--listen-address=${DNS_ADDRESS}`,
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      `--addn-hosts=${this.hostsFile}`,
      `--local-ttl=${this.ttlSeconds}`,
      '--local=/test/', // names under .test not in the file: NXDOMAIN, never forwarded
      '--log-queries',
      `--log-facility=${this.#logFile ?? '-'}`,
      '--user=root',
      '--pid-file=',
    ]);
    const started = (): string =>
      this.#logFile === undefined ? p.stderr : readFileOr(this.#logFile);
    const up = await waitFor(
      () =>
        Promise.resolve(/started, version/.test(started()) ? true : p.running ? undefined : false),
      { timeoutMs: 5000, intervalMs: 50 },
    );
    if (up !== true) throw new Error(`dnsmasq did not start:\n${p.tail()}`);
    this.#process = p;
  }

  /** New records: the file rewritten and re-read (SIGHUP, which also clears the cache). */
  setHosts(hosts: string): void {
    writeFileSync(this.hostsFile, hosts);
    this.#process?.child.kill('SIGHUP');
  }

  async stop(): Promise<void> {
    await this.#process?.stop();
  }
}

function readFileOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
