// Wires the parts of a running netpingd together: store → sync → engine,
// engine → snapshot → HTTP, engine ↔ saved statistics. Owns start and an
// orderly stop.

import { setTimeout as sleep } from 'node:timers/promises';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Gauge } from 'prom-client';
import { systemClock } from '../lib/engine/clock.js';
import { ProbeEngine } from '../lib/engine/probe-engine.js';
import { ListenError, type InstanceTakenError } from '../lib/errors.js';
import { createApp } from '../lib/http/app.js';
import { MetricsExporter } from '../lib/http/metrics.js';
import { BodyGate, registerGateMetrics } from '../lib/http/body-gate.js';
import { openProbers } from '../lib/probes/open.js';
import type { Prober } from '../lib/probes/prober.js';
import { PeerResponder } from '../lib/probes/udp/responder.js';
import { formatListen } from '../lib/listen.js';
import type { Log } from '../lib/log.js';
import {
  liveView,
  reportHead,
  targetReport,
  type DaemonView,
  type StoreReport,
} from '../lib/report.js';
import { removeStaleTempFiles } from '../lib/state/json-file.js';
import { ensureStateDir } from '../lib/state/state-dir.js';
import { TargetCache } from '../lib/state/target-cache.js';
import { loadOrCreateToken } from '../lib/state/token.js';
import { EmbeddedStore, HISTORY_DIR } from '../lib/store/embedded-store.js';
import { RedisTargetStore, redactUrl } from '../lib/store/redis-store.js';
import { withDeadline } from '../lib/deadline.js';
import { probeWaitMs, STOP_DEADLINE_MS, stopBudgetMs, type StopShape } from './stop-budget.js';
import type { HistoryStore, StatsStore } from '../lib/store/stats-store.js';
import type { TargetStore } from '../lib/store/target-store.js';
import { targetKey } from '../lib/target.js';
import { THROUGHPUT_KIND } from '../lib/throughput/kind.js';
import { ThroughputResponder } from '../lib/throughput/responder.js';
import { ThroughputRunner } from '../lib/throughput/runner.js';
import { VERSION } from '../lib/version.js';
import { meshReader } from '../lib/mesh/read.js';
import type { MeshStore } from '../lib/store/mesh-store.js';
import { defaultAdvertise } from './advertise.js';
import { MeshKeeper, MESH_WINDOW_MS } from './mesh-keeper.js';
import { meshPeerKey } from './mesh-peer-key.js';
import type { DaemonConfig } from './options.js';
import { HistoryKeeper } from './history-keeper.js';
import { StatsKeeper } from './stats-keeper.js';
import { GroupKeeper } from './group-keeper.js';
import { InstanceClaim } from './instance-claim.js';
import { Ownership } from '../lib/group/ownership.js';
import { TargetSync, type TargetSink } from './target-sync.js';
import { DEFAULT_ALERT_TIMING } from '../lib/alerts/payload.js';
import { AlertSender } from '../lib/alerts/sender.js';
import { DEFAULT_VANTAGE_MIN_DOWN } from '../lib/outages/vantage.js';
import { EventFile } from '../lib/store/event-file.js';
import type { EventStore } from '../lib/store/event-store.js';
import { MeshOutages } from './mesh-outages.js';
import { OutageKeeper } from './outage-keeper.js';
import { DnsFollower } from './dns-follower.js';
import { PathKeeper, pathDeps } from './path-keeper.js';
import { IcmpProber } from '../lib/probes/icmp/prober.js';
import { lookupFrom, nameResolver } from '../lib/resolve.js';
import type { LookupOutcome } from '../lib/dns/host-state.js';

export type { Log };

type Store = TargetStore & StatsStore & HistoryStore;
// Alertmanager gets this long at a stop to take the alerts already queued.
const ALERT_FLUSH_MS = 1000;
// A stop step taking this long is named in the log.
const SLOW_STOP_STEP_MS = 1000;
const MINUTE_MS = 60_000;
// A minute is closed this long after its end: probes recorded in those
// milliseconds count in the minute before (a small, documented smear).
const MINUTE_CLOSE_DELAY_MS = 100;

export class Daemon {
  readonly #config: DaemonConfig;
  readonly #log: Log;
  readonly #engine: ProbeEngine;
  readonly #store: Store;
  readonly #storeReport: Omit<StoreReport, 'up'>;
  readonly #sync: TargetSync;
  /** The names of name@host members, followed in DNS. */
  readonly #names: DnsFollower;
  readonly #resolveName: (host: string) => Promise<LookupOutcome>;
  readonly #keeper: StatsKeeper;
  readonly #history: HistoryKeeper;
  #minuteTimer: NodeJS.Timeout | undefined;
  readonly #token: string;
  readonly #probers: Prober[];
  readonly #proberByKind: Readonly<Record<string, Prober>>;
  readonly #throughput: ThroughputRunner;
  #responder: ThroughputResponder | undefined;
  #server: ServerType | undefined;
  /** Answers other peers' udp probes; only with a peer key. */
  #peer: PeerResponder | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  /** With --mesh: the registry, the peers as targets, the summaries. */
  #mesh: MeshKeeper | undefined;
  #meshStore: MeshStore | undefined;
  /** With --mesh: where peers probe us, which the peer responder answers for too (behind NAT). */
  #advertised: readonly string[] | undefined;
  /** With --group: the members, and so this member's share of the set. */
  #group: GroupKeeper | undefined;
  #stopping: Promise<void> | undefined;
  /** Outages of our targets: kept, served, alerted. */
  readonly #outages: OutageKeeper;
  readonly #alerts: AlertSender;
  /** With --mesh: our vantage point and the quorum. */
  #meshOutages: MeshOutages | undefined;
  /** With Redis: this process's hold on its instance id (nothing is written under it otherwise). */
  readonly #claim: InstanceClaim | undefined;
  /** The paths to the icmp targets; undefined when no trace socket opened. */
  #paths: PathKeeper | undefined;
  /** Resolves if another process takes the instance id over: main.ts exits then. */
  readonly lost: Promise<InstanceTakenError>;

  /**
   * Opens the sockets first: without the privilege nothing else is worth
   * doing. Only a meshed instance without --peer-key reads Redis before:
   * the probers need the mesh's peer key when they open.
   */
  static async create(given: DaemonConfig, log: Log): Promise<Daemon> {
    let config = given;
    let advertised: string[] | undefined;
    if (config.mesh) {
      // Checked before anything is opened: a host with nothing to advertise is a usage error.
      if (config.mesh.advertise) advertised = config.mesh.advertise;
      else {
        const found = defaultAdvertise();
        log(`mesh: advertising ${found.addresses.join(', ')}: ${found.how}`);
        advertised = found.addresses;
      }
    }
    const redis = config.redisUrl
      ? new RedisTargetStore({
          url: config.redisUrl,
          keys: config.keys,
          instance: config.instance,
          ...(config.group ? { sharedStats: config.keys.group(config.group.name) } : {}),
          mode: 'daemon',
          historyRetention: config.history,
          onLog: log,
        })
      : undefined;
    let sharedPeerKey: string | undefined;
    if (config.mesh && redis && config.peerKey === undefined) {
      ensureStateDir(config.stateDir); // the key's copy is kept there
      sharedPeerKey = await meshPeerKey(redis, config.keys, config.stateDir, log);
      config = { ...config, peerKey: Buffer.from(sharedPeerKey, 'utf8') };
    }
    let probers: Record<string, Prober>;
    try {
      probers = await openProbers({
        log,
        payloadBytes: config.payloadBytes,
        peerKey: config.peerKey,
        tcpMaxInFlight: config.tcpMaxInFlight,
        icmpTransport: config.icmpTransport,
        udpTransport: config.udpTransport,
      });
    } catch (err) {
      await redis?.close();
      throw err;
    }
    let lost: (err: InstanceTakenError) => void = () => {};
    const lostPromise = new Promise<InstanceTakenError>((resolve) => (lost = resolve));
    const claim = redis
      ? new InstanceClaim({
          store: redis,
          key: config.keys.instance(config.instance),
          id: config.instance,
          nowMs: () => systemClock.nowMs(),
          log,
          onLost: (err) => lost(err),
        })
      : undefined;
    try {
      if (claim && redis) {
        // Before anything is written or registered under the id; a twin stops here.
        redis.fenceWrites({
          key: config.keys.instance(config.instance),
          holder: claim.value,
          held: () => claim.held,
        });
        if ((await claim.acquire()) === 'unreachable')
          log(
            `instance ${config.instance} not claimed yet (Redis unreachable): nothing is written under it until it is`,
          );
      }
      ensureStateDir(config.stateDir);
      for (const dir of [config.stateDir, path.join(config.stateDir, HISTORY_DIR)]) {
        for (const name of await removeStaleTempFiles(dir))
          log(`removed ${name}, left in ${dir} by a write that was cut off`);
      }
      const token = config.token ?? loadOrCreateToken(config.stateDir);
      const store: Store = redis ?? (await EmbeddedStore.open(config.stateDir, log));
      const mesh =
        config.mesh && redis && advertised
          ? { store: redis, addresses: advertised, sharedPeerKey }
          : undefined;
      return new Daemon(config, log, probers, store, token, mesh, redis, claim, lostPromise);
    } catch (err) {
      Object.values(probers).forEach((p) => p.close());
      await redis?.close();
      throw err;
    }
  }

  private constructor(
    config: DaemonConfig,
    log: Log,
    probers: Record<string, Prober>,
    store: Store,
    token: string,
    mesh: { store: MeshStore; addresses: string[]; sharedPeerKey: string | undefined } | undefined,
    redis: RedisTargetStore | undefined,
    claim: InstanceClaim | undefined,
    lost: Promise<InstanceTakenError>,
  ) {
    this.#config = config;
    this.#claim = claim;
    this.lost = lost;
    this.#log = log;
    this.#probers = Object.values(probers);
    this.#proberByKind = probers;
    this.#store = store;
    this.#token = token;
    this.#storeReport = config.redisUrl
      ? { kind: 'redis', location: redactUrl(config.redisUrl) }
      : { kind: 'embedded', location: config.stateDir };
    this.#engine = new ProbeEngine({
      clock: systemClock,
      probers,
      randomUint32: () => randomInt(2 ** 32 - 1),
      // A removed target's statistics are kept once its last probe has ended.
      onRetired: (retired) => {
        this.#keeper.release(retired.key, retired.stats);
        this.#history.release(retired.key, retired.stats.history);
        this.#outages.forget(retired.key);
      },
      onOutcome: (probed, lost) => this.#outages.record(probed, lost),
    });
    this.#alerts = new AlertSender({ urls: config.outages.alertmanagers, log });
    const events: EventStore = redis ?? new EventFile(config.stateDir);
    this.#outages = new OutageKeeper({
      rules: config.outages.rules,
      instance: config.instance,
      store: events,
      sender: this.#alerts,
      timing: DEFAULT_ALERT_TIMING,
      holdAlerts: config.mesh !== undefined,
      wallNowMs: Date.now,
      log,
      changed: () => this.#meshOutages?.changed(),
    });
    const engine = this.#engine;
    const ownership = config.group && redis ? new Ownership(config.instance) : undefined;
    this.#keeper = new StatsKeeper({
      store,
      live: () => engine.allTargets(),
      nowMs: () => systemClock.nowMs(),
      wallNowMs: Date.now,
      forgetAfterMs: config.forgetAfterMs,
      ...(ownership && redis
        ? {
            shared: {
              fetch: (keys, token) => redis.claimStats(keys, token),
              save: (entries, forget, token) =>
                redis.saveOwnedStats(entries, forget, { token, id: config.instance }),
              token: () => this.#group?.token(),
              inSet: (key) => this.#sync.inSet(key),
            },
          }
        : {}),
      log,
    });
    const keeper = this.#keeper;
    this.#history = new HistoryKeeper({
      store,
      live: () => engine.allTargets(),
      wallNowMs: Date.now,
      forgetAfterMs: config.forgetAfterMs,
      retention: config.history,
      ...(ownership ? { shared: { token: () => this.#group?.token() } } : {}),
      log,
    });
    const history = this.#history;
    this.#throughput = new ThroughputRunner({
      clock: systemClock,
      wallNowMs: Date.now,
      key: config.peerKey,
      log,
      udpTransport: config.udpTransport,
    });
    const throughput = this.#throughput;
    // The engine, with saved statistics handed over to a target new to it
    // (kept ones are taken back on retirement, see onRetired).
    const sink: TargetSink = {
      add(target, settings) {
        if (!engine.add(target, settings)) return;
        const key = targetKey(target);
        const saved = keeper.take(key);
        if (saved) engine.get(key)?.stats.mergeSaved(saved, systemClock.nowMs(), Date.now());
        const kept = history.take(key);
        if (kept) engine.get(key)?.stats.adoptHistory(kept);
      },
      remove: (key) => engine.remove(key),
      keys: () => engine.keys(),
    };
    this.#resolveName = nameResolver(config.dns.servers ? { servers: config.dns.servers } : {});
    this.#names = new DnsFollower({
      resolve: this.#resolveName,
      clock: systemClock,
      random: Math.random,
      timing: config.dns.timing,
      limits: config.dns.limits,
      changed: (hosts) => void this.#sync.namesChanged(hosts),
      log,
    });
    this.#sync = new TargetSync({
      store,
      sink,
      names: this.#names,
      runners: {
        [THROUGHPUT_KIND]: {
          add: (target) => throughput.add(target),
          remove: (key) => throughput.remove(key),
          keys: () => throughput.keys(),
        },
      },
      settings: { intervalMs: config.intervalMs, timeoutMs: config.timeoutMs },
      maxTargets: config.maxTargets,
      cache: config.redisUrl
        ? new TargetCache(config.stateDir, config.keys.prefix, log)
        : undefined,
      ...(ownership ? { group: ownership } : {}),
      log,
    });
    if (config.group && ownership && redis) {
      const sync = this.#sync;
      this.#group = new GroupKeeper({
        store: redis,
        keys: config.keys.group(config.group.name),
        self: config.instance,
        refreshMs: config.group.refreshMs,
        expiryMs: config.group.expiryMs,
        nowMs: () => systemClock.nowMs(),
        ...(claim ? { mayRegister: () => claim.held } : {}),
        ownership,
        setKeys: () => sync.setKeys(),
        changed: () => void sync.reapply(),
        log,
      });
    }
    if (config.mesh && mesh) {
      const sync = this.#sync;
      this.#meshStore = mesh.store;
      this.#advertised = mesh.addresses;
      this.#mesh = new MeshKeeper({
        store: mesh.store,
        keys: config.keys,
        self: {
          id: config.instance,
          addresses: mesh.addresses,
          peerPort: config.peerListen.port,
          labels: config.labels,
          version: VERSION,
          startedAt: new Date().toISOString(),
        },
        probes: config.mesh.probes,
        refreshMs: config.mesh.refreshMs,
        expiryMs: config.mesh.expiryMs,
        sharedPeerKey: mesh.sharedPeerKey,
        setTargets: (targets) => void sync.setGenerated(targets),
        probed: (key) => engine.get(key),
        nowMs: () => systemClock.nowMs(),
        log,
      });
      this.#meshOutages = new MeshOutages({
        store: mesh.store,
        keys: config.keys,
        self: config.instance,
        selfLabels: config.labels,
        outages: this.#outages,
        probedCount: () => engine.size,
        rule: {
          minDown: DEFAULT_VANTAGE_MIN_DOWN,
          // An uplink takes every target down within about one interval of each other.
          windowMs: config.intervalMs + config.timeoutMs + 1000,
        },
        quorum: config.outages.quorum,
        refreshMs: config.mesh.refreshMs,
        expiryMs: config.mesh.expiryMs,
        sender: this.#alerts,
        timing: DEFAULT_ALERT_TIMING,
        wallNowMs: Date.now,
        log,
      });
    }
  }

  /** The state for the HTTP pages: each target read when a page gets to it. */
  view(): DaemonView {
    return liveView(
      this.#engine.sortedTargets(),
      reportHead(
        this.#sync.invalid,
        { ...this.#storeReport, up: this.#store.up },
        this.#ignored(),
        VERSION,
        new Date(),
        this.#throughput,
      ),
      this.#throughput.histograms(),
      () => this.#names.reports(),
      this.#outages.detector,
      this.#paths,
    );
  }

  /** Each probe kind's transport labels (netping_<kind>_transport_info), by kind. */
  #transportInfo(): Record<string, Readonly<Record<string, string>>> {
    const info: Record<string, Readonly<Record<string, string>>> = {};
    for (const [kind, prober] of Object.entries(this.#proberByKind))
      if (prober.info) info[kind] = prober.info;
    return info;
  }

  /** The engine's ignored packets and the peer responder's drops, in one count by reason. */
  #ignored(): ReadonlyMap<string, number> {
    const dropped = this.#peer?.dropped;
    if (!dropped || dropped.size === 0) return this.#engine.ignored;
    return new Map([...this.#engine.ignored, ...dropped]);
  }

  async start(): Promise<void> {
    const exporter = new MetricsExporter(() => this.view(), {
      version: VERSION,
      processMetrics: true,
      classicBuckets: this.#config.classicBuckets,
      transports: this.#transportInfo(),
    });
    if (this.#mesh) {
      const sync = this.#sync;
      new Gauge({
        name: 'netping_mesh_targets_dropped',
        help: 'Mesh targets not probed: over --max-targets, which the target set fills first.',
        registers: [exporter.registry],
        collect() {
          this.set(sync.generatedDropped);
        },
      });
    }
    const engine = this.#engine;
    const icmp = this.#proberByKind.icmp;
    this.#paths = await PathKeeper.open({
      config: this.#config.path,
      transport: icmp?.info?.transport ?? 'auto',
      ...(icmp instanceof IcmpProber ? { avoidIdentifier: icmp.identifier } : {}),
      targets: () => engine.allTargets(),
      find: (key) => engine.get(key),
      clock: systemClock,
      wallNowMs: Date.now,
      log: this.#log,
      routeChanged: (probed, atMs, before, after) =>
        this.#outages.recordRoute(probed, atMs, before, after),
    });
    const gate = new BodyGate({
      concurrent: this.#config.maxPages,
      queued: 2 * this.#config.maxPages,
    });
    registerGateMetrics(gate, exporter.registry);
    const app = createApp({
      view: () => this.view(),
      gate,
      target: (key) => {
        const probed = this.#engine.get(key);
        return probed && targetReport(probed);
      },
      log: this.#log,
      metrics: () => exporter.chunks(),
      metricsContentType: exporter.contentType,
      protobufMetrics: () => exporter.protobufChunks(),
      control: {
        store: this.#store,
        token: this.#token,
        maxTargets: this.#config.maxTargets,
        // A name added through the API is checked with the resolver that will follow it.
        lookup: lookupFrom(this.#resolveName),
        parse: (member) => this.#sync.parse(member),
      },
      history: {
        find: (key) => this.#history.find(key, this.#engine.get(key)?.stats),
        records: this.#history.records,
        live: () => this.#engine.sortedTargets(),
        nowMs: Date.now,
      },
      mesh: this.#meshStore
        ? {
            read: meshReader(this.#meshStore, this.#config.keys, {
              maxAgeMs: this.#config.mesh?.refreshMs ?? 0,
              nowMs: Date.now,
            }),
            windowMs: MESH_WINDOW_MS,
          }
        : undefined,
      events: { events: (q) => this.#outages.events(q), nowMs: Date.now },
      ...(this.#paths ? { path: pathDeps(this.#paths, () => engine.allTargets()) } : {}),
    });
    // Before the HTTP listener: once "listening on" is logged, peers are answered too.
    if (this.#config.peerKey) {
      this.#peer = await PeerResponder.start({
        key: this.#config.peerKey,
        listen: this.#config.peerListen,
        maxRatePerS: this.#config.peerMaxRate,
        maxChecksPerS: this.#config.peerMaxChecks,
        transport: this.#config.udpTransport,
        ...(this.#advertised ? { alsoAnswerFor: this.#advertised } : {}),
      });
      const { address, port } = this.#peer.address();
      this.#log(
        `answering udp probes of peers on ${formatListen({ host: address, port })} (${this.#peer.transport}), ` +
          `at most ${this.#config.peerMaxRate} a second per source, ${this.#config.peerMaxChecks} checked a second in all`,
      );
    }
    this.#server = await listen(app.fetch, this.#config);
    const bound = this.#server.address();
    const port = typeof bound === 'object' && bound ? bound.port : this.#config.listen.port;
    this.#log(
      `listening on ${formatListen({ ...this.#config.listen, port })}; targets from ` +
        `${this.#storeReport.kind} store at ${this.#storeReport.location}; ` +
        `interval ${this.#config.intervalMs} ms, timeout ${this.#config.timeoutMs} ms`,
    );
    if (this.#config.peerKey) {
      this.#responder = await ThroughputResponder.start({
        key: this.#config.peerKey,
        listen: this.#config.peerListen,
        maxDurationMs: this.#config.throughputMaxDurationMs,
        maxBytes: this.#config.throughputMaxBytes,
        log: this.#log,
      });
      this.#log(
        `throughput responder on tcp ${formatListen({ ...this.#config.peerListen, port: this.#responder.port })}`,
      );
    }
    // Saved statistics first, so targets found next continue their counters.
    await this.#keeper.load();
    await this.#history.load();
    const openAtStop = await this.#outages.load();
    if (!this.#store.up) {
      const cached = await this.#sync.applyCached();
      this.#log(`store unreachable: probing the ${cached} targets it last listed until it answers`);
    }
    // Counted once the first list is applied: that is when saved statistics are handed over.
    void Promise.all([this.#sync.firstLoad, this.#keeper.whenLoaded]).then(() =>
      this.#log(this.#keeper.restoredSummary()),
    );
    // Outages open at the last stop go on where their target is still probed.
    void this.#sync.firstLoad.then(() =>
      this.#outages.adoptOpen(openAtStop, (key) => this.#engine.get(key)),
    );
    // A notice with its members is applied as a delta; one without, a re-read.
    await this.#store.watch((change) => void this.#sync.notice(change));
    this.#every(this.#config.resyncMs, () => this.#sync.request());
    this.#claim?.start();
    this.#mesh?.start();
    this.#meshOutages?.start();
    this.#group?.start();
    if (this.#config.outages.alertmanagers.length > 0)
      this.#log(
        `posting outages to Alertmanager at ${this.#config.outages.alertmanagers.join(', ')}`,
      );
    this.#every(this.#config.saveIntervalMs, () => this.#outages.flush());
    this.#every(this.#config.saveIntervalMs, () => this.#keeper.save());
    this.#scheduleMinute();
    this.#paths?.start();
  }

  /** Closes the minute just ended a little after each wall-clock minute boundary. */
  #scheduleMinute(): void {
    const now = Date.now();
    const delayMs = MINUTE_MS - (now % MINUTE_MS) + MINUTE_CLOSE_DELAY_MS;
    this.#minuteTimer = setTimeout(() => {
      const minute = Math.floor(Date.now() / MINUTE_MS) - 1;
      this.#history
        .closeAndSave(minute)
        .catch((err: unknown) =>
          this.#log(`history save failed: ${err instanceof Error ? err.message : String(err)}`),
        );
      this.#scheduleMinute();
    }, delayMs);
  }

  #every(ms: number, task: () => Promise<unknown>): void {
    this.#timers.push(
      setInterval(() => {
        task().catch((err: unknown) =>
          this.#log(`${err instanceof Error ? err.message : String(err)}`),
        );
      }, ms),
    );
  }

  /** SIGHUP: re-read the targets and save the statistics now. */
  async reload(): Promise<void> {
    await this.#sync.request();
    await this.#keeper.save();
  }

  /**
   * How long stop() may take: the longest timeout of a probe in flight, then
   * the statistics save, the history save (which may queue behind a
   * minute's) and the store's goodbye, each bounded by the store's timeout,
   * and all of it by one deadline (daemon/stop-budget.ts).
   */
  stopBudgetMs(): number {
    return stopBudgetMs(this.#stopShape());
  }

  #stopShape(): StopShape {
    return {
      maxTimeoutMs: this.#engine.maxTimeoutMs(),
      mesh: this.#mesh !== undefined,
      group: this.#group !== undefined,
      claim: this.#claim !== undefined,
    };
  }

  /** Stops sending, lets probes in flight end (each by its own timeout), saves, closes everything. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const stopBy = Date.now() + STOP_DEADLINE_MS;
      this.#timers.forEach(clearInterval);
      clearTimeout(this.#minuteTimer);
      this.#names.close();
      this.#paths?.close();
      this.#keeper.close();
      this.#engine.stopSending();
      // A throughput test running now is cut off: its result would come after the save.
      void this.#throughput.stop();
      await this.#responder?.close();
      const deadline = Date.now() + probeWaitMs(this.#engine.maxTimeoutMs());
      const waitStartedMs = Date.now();
      while (this.#engine.inFlight() > 0 && Date.now() < deadline) await sleep(20);
      const waitedMs = Date.now() - waitStartedMs;
      if (waitedMs >= SLOW_STOP_STEP_MS)
        this.#log(`shutdown: waited ${waitedMs} ms for probes in flight`);
      // Whatever is still in flight now will never be seen: count it, so the
      // saved counters balance.
      this.#engine.abandonInFlight();
      // Steps that wait on the store end by the deadline or are skipped;
      // the local ones (sockets, the HTTP server) always run.
      const steps: [string, () => Promise<unknown>, 'store' | 'local'][] = [
        // The counters first: they matter most if the store is slow.
        ['statistics save', () => this.#keeper.save(), 'store'],
        // The open minute is closed as it is: a restart within it adds to it.
        // Before the group leave: a member taking a target over reads its
        // history then, and writes under its own token from then on.
        [
          'history save',
          () => this.#history.closeAndSave(Math.floor(Date.now() / MINUTE_MS)),
          'store',
        ],
        // Then leave the group: the others take our share over now and
        // find the counters and history just saved.
        ['group leave', () => this.#group?.stop() ?? Promise.resolve(), 'store'],
        // Open outages stay open: a restart takes them up (docs/MEASUREMENT.md).
        ['outage records', () => this.#outages.close(), 'store'],
        ['mesh outages', () => this.#meshOutages?.stop() ?? Promise.resolve(), 'store'],
        // Alertmanager is outside too: bounded like a store step, skipped past the deadline.
        [
          'alert flush',
          () => this.#alerts.flush(ALERT_FLUSH_MS).finally(() => this.#alerts.close()),
          'store',
        ],
        // Peers drop us now rather than at expiry.
        ['mesh leave', () => this.#mesh?.stop() ?? Promise.resolve(), 'store'],
        // After the last write under the id: a restart claims it at once.
        ['instance claim release', () => this.#claim?.release() ?? Promise.resolve(), 'store'],
        ['HTTP close', () => closeServer(this.#server), 'local'],
        ['peer responder close', () => this.#peer?.close() ?? Promise.resolve(), 'local'],
        ['store close', () => this.#store.close(), 'store'],
        ['engine close', () => Promise.resolve(this.#engine.close()), 'local'],
      ];
      for (const [what, step, kind] of steps) {
        const leftMs = stopBy - Date.now();
        if (kind === 'store' && leftMs <= 0) {
          this.#log(`shutdown step skipped: ${what}, past the stop deadline`);
          continue;
        }
        const startedMs = Date.now();
        try {
          await (kind === 'store' ? withDeadline(step(), leftMs, what) : step());
        } catch (err) {
          this.#log(`shutdown step failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        // A slow stop says which step held it: systemd's SIGKILL gives no second chance to ask.
        const tookMs = Date.now() - startedMs;
        if (tookMs >= SLOW_STOP_STEP_MS) this.#log(`shutdown step slow: ${what} took ${tookMs} ms`);
      }
    })();
    return this.#stopping;
  }

  /** Socket trouble the probers saw since the last call, for the log. */
  takeProberProblems(): string[] {
    return [
      ...this.#probers.flatMap((p) => p.takeProblems()),
      ...(this.#peer?.takeProblems() ?? []),
    ];
  }
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
