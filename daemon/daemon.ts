// Wires the parts of a running netpingd together: store → sync → engine,
// engine → snapshot → HTTP. Owns start and an orderly stop.

import { randomInt } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import type { Family } from '../lib/address.js';
import { systemClock } from '../lib/engine/clock.js';
import { IcmpEngine } from '../lib/engine/icmp-engine.js';
import { ListenError, PermissionError } from '../lib/errors.js';
import { createApp } from '../lib/http/app.js';
import { MetricsExporter } from '../lib/http/metrics.js';
import { openRawTransport } from '../lib/icmp/raw-transport.js';
import type { IcmpTransport } from '../lib/icmp/transport.js';
import { formatListen } from '../lib/listen.js';
import { snapshotOf, type DaemonSnapshot } from '../lib/report.js';
import { RedisTargetStore, redactUrl } from '../lib/store/redis-store.js';
import { VERSION } from '../lib/version.js';
import type { DaemonConfig } from './options.js';
import { TargetSync } from './target-sync.js';

export type Log = (line: string) => void;

export class Daemon {
  readonly #config: DaemonConfig;
  readonly #log: Log;
  readonly #engine: IcmpEngine;
  readonly #store: RedisTargetStore;
  readonly #sync: TargetSync;
  readonly #transports: IcmpTransport[];
  #server: ServerType | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;

  constructor(config: DaemonConfig, log: Log) {
    this.#config = config;
    this.#log = log;
    const transports = openTransports(log);
    this.#transports = Object.values(transports);
    this.#engine = new IcmpEngine({
      clock: systemClock,
      transports,
      // Random, not the pid: several netpingd in one PID namespace (containers) stay apart.
      identifier: randomInt(0x10000),
      payloadBytes: config.payloadBytes,
      randomUint32: () => randomInt(2 ** 32 - 1),
    });
    this.#store = new RedisTargetStore({
      url: config.redisUrl,
      keys: config.keys,
      mode: 'daemon',
      onLog: log,
    });
    this.#sync = new TargetSync({
      store: this.#store,
      sink: this.#engine,
      settings: { intervalMs: config.intervalMs, timeoutMs: config.timeoutMs },
      log,
    });
  }

  snapshot(): DaemonSnapshot {
    return snapshotOf(
      this.#engine.targets(),
      this.#sync.invalid,
      { kind: 'redis', location: redactUrl(this.#config.redisUrl), up: this.#store.up },
      this.#engine.ignored,
      VERSION,
      new Date(),
    );
  }

  async start(): Promise<void> {
    const exporter = new MetricsExporter(() => this.snapshot(), {
      version: VERSION,
      processMetrics: true,
    });
    const app = createApp({
      report: () => this.snapshot().report,
      metrics: () => exporter.render(),
      metricsContentType: exporter.contentType,
    });
    this.#server = await listen(app.fetch, this.#config);
    const bound = this.#server.address();
    const port = typeof bound === 'object' && bound ? bound.port : this.#config.listen.port;
    this.#log(
      `listening on ${formatListen({ ...this.#config.listen, port })}; targets from ${redactUrl(this.#config.redisUrl)} ` +
        `key ${this.#config.keys.targets}; interval ${this.#config.intervalMs} ms, timeout ${this.#config.timeoutMs} ms`,
    );
    await this.#store.watch(() => void this.#sync.request());
    this.#resyncTimer = setInterval(() => void this.#sync.request(), this.#config.resyncMs);
  }

  /** Stops sending, lets probes in flight end (up to their timeout), closes everything. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#resyncTimer);
      this.#engine.stopSending();
      const deadline = Date.now() + this.#config.timeoutMs + 50;
      while (this.#engine.inFlight() > 0 && Date.now() < deadline) await sleep(20);
      for (const step of [
        () => closeServer(this.#server),
        () => this.#store.close(),
        () => Promise.resolve(this.#engine.close()),
      ]) {
        try {
          await step();
        } catch (err) {
          this.#log(`shutdown step failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    })();
    return this.#stopping;
  }

  /** Socket trouble the transports saw since the last call, for the log. */
  takeTransportProblems(): string[] {
    return this.#transports.flatMap((t) => t.takeProblems());
  }
}

function openTransports(log: Log): Partial<Record<Family, IcmpTransport>> {
  const transports: Partial<Record<Family, IcmpTransport>> = { 4: openRawTransport(4) };
  try {
    transports[6] = openRawTransport(6);
  } catch (err) {
    if (err instanceof PermissionError) throw err;
    // A host without IPv6: IPv6 targets are still accepted and show as failed sends.
    log(`no IPv6: ${err instanceof Error ? err.message : String(err)}`);
  }
  return transports;
}

function listen(
  fetch: Parameters<typeof serve>[0]['fetch'],
  config: DaemonConfig,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port: config.listen.port, hostname: config.listen.host });
    server.once('listening', () => resolve(server));
    server.once('error', (err: Error) =>
      reject(
        new ListenError(`cannot listen on ${formatListen(config.listen)}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
  });
}

function closeServer(server: ServerType | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!server) return resolve();
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close(() => resolve());
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
