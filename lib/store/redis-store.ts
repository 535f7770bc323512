// The only file that imports ioredis.

import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { withDeadline } from '../deadline.js';
import { StoreUnavailableError } from '../errors.js';
import { Slices } from '../slicing.js';
import type { Keys } from './keys.js';
import {
  claimKey,
  readAndClaim,
  releaseKey,
  renewKey,
  replaceKey,
  saveOwned,
  writeAsHolder,
  type ClaimResult,
  type GroupStatsKeys,
  type RenewResult,
} from './fenced-writes.js';
import type { InstanceStore } from './instance-store.js';
import { migrateLegacyKeys } from './migrate.js';
import { parseRedisUrl, redactUrl, type RedisTarget } from './redis-url.js';
import { KEPT_OUTAGE_RECORDS, type EventStore } from './event-store.js';
import type { MeshStore } from './mesh-store.js';
import {
  chunkExpiresAtS,
  legacyChunkRecords,
  parseChunkKey,
  recordsFromBinary,
  recordsToBinary,
} from '../history/history-chunks.js';
import type { HistoryRetention } from '../history/retention.js';
import type { ChunkRecords, HistoryStore, StatsStore } from './stats-store.js';
import { parseTargetNotice, type TargetChange, type TargetStore } from './target-store.js';

export interface RedisStoreOptions {
  readonly url: string;
  readonly keys: Keys;
  /**
   * A CLI fails at once when Redis is down; a daemon keeps reconnecting
   * forever but never queues commands while disconnected (they would pile up
   * and run late, see ioredis' 70 s default).
   */
  readonly mode: 'cli' | 'daemon';
  /** The daemon instance whose statistics loadStats/saveStats read and write. */
  readonly instance?: string;
  /**
   * Where loadStats/claimStats/saveOwnedStats go instead of the instance's hash: a
   * group's shared one (keys.group(name): stats, owners), and with
   * `historyChunk` the history too, its writes fenced by the same owners.
   */
  readonly sharedStats?: GroupStatsKeys & { readonly historyChunk?: (chunk: string) => string };
  /** How long a history chunk is kept (its keys' expiry); the defaults without it. */
  readonly historyRetention?: HistoryRetention;
  readonly onLog?: (line: string) => void;
}

const STATS_FIELDS_PER_COMMAND = 500;
// A target's records of one chunk are a few hundred bytes to a few kB.
const HISTORY_FIELDS_PER_COMMAND = 200;

// KEYS: a history chunk's hash, what fences it (the group's owners hash, the
// instance key, or the hash itself when nothing does). ARGV: the fence
// ('owner', 'holder', 'none'), the token that must own the entry or hold
// the instance, the chunk's expiry (Unix seconds), then target / records
// pairs, each appended to the target's field. With 'owner', a target owned
// by another token is refused (returned); with 'holder', nothing is written
// unless the token holds the instance (returns 0).
const APPEND_HISTORY = `
local mode, token = ARGV[1], ARGV[2]
if mode == 'holder' and redis.call('GET', KEYS[2]) ~= token then return 0 end
local refused = {}
for i = 4, #ARGV, 2 do
  local f = ARGV[i]
  local ok = true
  if mode == 'owner' then
    local o = redis.call('HGET', KEYS[2], f)
    ok = (not o) or o == token
  end
  if ok then
    local old = redis.call('HGET', KEYS[1], f)
    if old then redis.call('HSET', KEYS[1], f, old .. ARGV[i + 1])
    else redis.call('HSET', KEYS[1], f, ARGV[i + 1]) end
  else
    refused[#refused + 1] = f
  end
end
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return refused
`;

const CLI_TIMEOUT_MS = 3000;
/**
 * How long the daemon waits for Redis to answer one command, connection
 * set-up included. A Redis that accepts connections but does not answer
 * (stopped with SIGSTOP, swapping, a black-holed host with a half-open
 * connection) would otherwise hold resyncs, saves and a stop forever:
 * ioredis' connectTimeout covers only the TCP handshake, not its ready
 * check, and its commandTimeout not connecting.
 */
export const STORE_COMMAND_TIMEOUT_MS = 5000;
const QUIT_TIMEOUT_MS = 1000;

function optionsFor(mode: 'cli' | 'daemon'): RedisOptions {
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CLI_TIMEOUT_MS,
    // After a Sentinel failover the old master, demoted, answers writes
    // with READONLY until ioredis asks the sentinels again: reconnect then.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
  return mode === 'cli'
    ? { ...common, retryStrategy: () => null, sentinelRetryStrategy: () => null }
    : { ...common, retryStrategy: backoff, sentinelRetryStrategy: backoff };
}

function backoff(times: number): number {
  return Math.min(100 * 2 ** Math.min(times, 6), 5000);
}

/** A client for any form of --redis: one server, a master found through Sentinel, a Cluster. */
function clientFor(target: RedisTarget, mode: 'cli' | 'daemon'): Client {
  const options = optionsFor(mode);
  switch (target.kind) {
    case 'single':
      return new Redis(target.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: target.sentinels.map((s) => ({ ...s })),
        name: target.name,
        // The master's password. Not the sentinels': AUTH to a sentinel
        // without one is refused, and that is the common set-up.
        password: target.password,
        db: target.db,
        // Watches the sentinels for +switch-master instead of waiting for
        // the old master's connection to fail.
        failoverDetector: mode === 'daemon',
      });
    case 'cluster':
      return new Cluster(
        target.nodes.map((n) => ({ ...n })),
        {
          lazyConnect: true,
          enableOfflineQueue: false,
          clusterRetryStrategy: mode === 'cli' ? () => null : backoff,
          // Sharded pub/sub (SSUBSCRIBE) subscribes at the shard that owns
          // the channel's slot; our channels share the prefix's slot.
          shardedSubscribers: true,
          // Not the single-server options: the cluster makes and retries
          // its node connections itself (lazy ones, a retry strategy of
          // their own, break it: commands to a node then never connect).
          redisOptions: {
            connectTimeout: CLI_TIMEOUT_MS,
            maxRetriesPerRequest: 0,
            password: target.password,
          },
        },
      );
  }
}

/**
 * One SCAN step on one server. A cluster's node connection that is just
 * being made (by the cluster, at the same moment) refuses a command with
 * "already connecting": asked again shortly, it answers.
 */
async function scanStep(node: Redis, cursor: string, pattern: string): Promise<[string, string[]]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await node.scan(cursor, 'MATCH', pattern, 'COUNT', MESH_BATCH);
    } catch (err) {
      if (attempt >= 20 || !/already connecting/i.test(String(err))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The instance id's key, the value this process holds it with, and whether it holds it now. */
export interface WriteFence {
  readonly key: string;
  readonly holder: string;
  held(): boolean;
}

/** ioredis's client for one server (or Sentinel's master), or for a Cluster: the same commands. */
type Client = Redis | Cluster;

// A SCAN or SSCAN step asks for about this many, and MGET reads as many at
// once: replies of a few kB, parsed between slices of the event loop.
const MESH_BATCH = 100;
// The most keys or members read at once: a Redis full of junk under our
// prefix must not cost unbounded memory and time.
const MESH_MAX_KEYS = 10_000;
// Members of the target set read per SSCAN step: a reply of some 20 kB.
const TARGETS_BATCH = 500;

export class RedisTargetStore
  implements TargetStore, StatsStore, HistoryStore, MeshStore, InstanceStore, EventStore
{
  readonly #opts: RedisStoreOptions;
  readonly #target: RedisTarget;
  readonly #client: Client;
  #subscriber: Client | undefined;
  /** Channel → what to call on each notice there (with its text), and on each (re)subscription (without). */
  readonly #channels = new Map<string, (message?: string) => void>();
  /** Cluster mode publishes with SPUBLISH (sharded) until a server says it has none. */
  #sharded: boolean;
  #migrated: Promise<void> | undefined;
  #lastError = '';
  #closing: Promise<void> | undefined;
  /** The hold on the instance id that writes under it need (daemon/instance-claim.ts). */
  #fence: WriteFence | undefined;

  constructor(opts: RedisStoreOptions) {
    this.#opts = opts;
    this.#target = parseRedisUrl(opts.url);
    this.#sharded = this.#target.kind === 'cluster';
    this.#client = this.#connection();
  }

  get kind(): RedisTarget['kind'] {
    return this.#target.kind;
  }

  #connection(): Client {
    const client = clientFor(this.#target, this.#opts.mode);
    // Without a listener ioredis prints every connection error; we report
    // them once through the command that failed, or the daemon's log.
    client.on('error', (err: Error) => {
      if (err.message !== this.#lastError) this.#opts.onLog?.(`redis: ${err.message}`);
      this.#lastError = err.message;
    });
    client.on('ready', () => (this.#lastError = ''));
    return client;
  }

  get up(): boolean {
    return this.#client.status === 'ready';
  }

  /** Connects now; rejects with StoreUnavailableError if Redis cannot be reached. */
  async connect(): Promise<void> {
    try {
      await this.#client.connect();
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  /**
   * The daemon reads the set with SSCAN, a batch at a time between slices of
   * the loop (one SMEMBERS reply of 10,000 members is parsed in one piece):
   * a member changed during the scan may come back or not, but its notice
   * comes after, and TargetSync applies that after the read. The CLI, which
   * has no loop to keep, asks once.
   */
  async members(): Promise<string[]> {
    await this.#migrate();
    const key = this.#opts.keys.targets;
    if (this.#opts.mode === 'cli') return this.#run(() => this.#client.smembers(key));
    return [...(await this.#scanSet(key, TARGETS_BATCH, Infinity))];
  }

  /** A set's members by SSCAN, `batch` a step with a slice between steps, at most `max` of them. */
  async #scanSet(key: string, batch: number, max: number): Promise<Set<string>> {
    const slices = new Slices();
    const members = new Set<string>();
    let cursor = '0';
    do {
      const [next, got] = await this.#run(() => this.#client.sscan(key, cursor, 'COUNT', batch));
      cursor = next;
      for (const m of got) if (members.size < max) members.add(m);
      await slices.pause();
    } while (cursor !== '0' && members.size < max);
    return members;
  }

  /**
   * Once per process, before the first read: keys of an older netping
   * (`P:targets`, without the hash tag) are copied to their new names
   * (lib/store/migrate.ts). A Cluster never held them: an older netping
   * could not use one. A failure is retried by the next read.
   */
  #migrate(): Promise<void> {
    const client = this.#client;
    if (client instanceof Cluster) return Promise.resolve();
    this.#migrated ??= this.#run(() =>
      migrateLegacyKeys(client, this.#opts.keys.prefix, {
        all: this.#opts.mode === 'daemon',
        log: (line) => this.#opts.onLog?.(line),
      }),
    ).catch((err: unknown) => {
      this.#migrated = undefined;
      throw err;
    });
    return this.#migrated;
  }

  async add(members: readonly string[]): Promise<number> {
    return this.#change({ op: 'add', members });
  }

  async remove(members: readonly string[]): Promise<number> {
    return this.#change({ op: 'remove', members });
  }

  async #change(change: TargetChange): Promise<number> {
    if (change.members.length === 0) return 0;
    await this.#migrate();
    const { targets, events } = this.#opts.keys;
    const attempt = async (): Promise<[Error | null, unknown][] | null> =>
      this.#run(() => {
        const tx = this.#client.multi();
        if (change.op === 'add') tx.sadd(targets, ...change.members);
        else tx.srem(targets, ...change.members);
        if (this.#sharded) tx.spublish(events, JSON.stringify(change));
        else tx.publish(events, JSON.stringify(change));
        return tx.exec();
      });
    let result: [Error | null, unknown][] | null;
    try {
      result = await attempt();
    } catch (err) {
      if (!this.#sharded || !/unknown command|EXECABORT/i.test(String(err))) throw err;
      // A cluster of Redis < 7: no sharded pub/sub; PUBLISH reaches every node.
      this.#sharded = false;
      result = await attempt();
    }
    const [err, count] = result?.[0] ?? [new Error('transaction aborted'), 0];
    if (err) throw this.#unavailable(err);
    return Number(count);
  }

  /** Announces `text` on `channel` (sharded in a cluster), outside any transaction. */
  async publish(channel: string, text: string): Promise<void> {
    await this.#run(() =>
      this.#sharded ? this.#client.spublish(channel, text) : this.#client.publish(channel, text),
    );
  }

  /**
   * From now on the instance's own hashes (statistics, history) are written
   * only while this process holds the instance id: `held()` says so here,
   * and each write checks in Redis, in the same script, that the id's key
   * holds `holder`, so a twin, or this process after a partition that
   * outlasted its claim (writes held in a buffer included), writes nothing.
   */
  fenceWrites(fence: WriteFence): void {
    this.#fence = fence;
  }

  /** Writes and deletes fields of one of the instance's hashes, fenced when a fence is set. */
  async #writeHash(
    key: string,
    entries: ReadonlyMap<string, string>,
    forget: readonly string[],
    perCommand: number,
  ): Promise<void> {
    const fence = this.#fence;
    if (fence) {
      const refused = new StoreUnavailableError(
        `not writing under instance ${this.#opts.instance ?? '?'}: this process does not hold it now`,
      );
      if (!fence.held()) throw refused;
      if (!(await writeAsHolder(this.#evaluate, fence, key, entries, forget, perCommand)))
        throw refused;
      return;
    }
    const fields = [...entries].flat();
    await this.#run(async () => {
      const pipeline = this.#client.pipeline();
      for (let i = 0; i < fields.length; i += 2 * perCommand) {
        pipeline.hset(key, ...fields.slice(i, i + 2 * perCommand));
      }
      if (forget.length > 0) pipeline.hdel(key, ...forget);
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    });
  }

  #statsKey(): string {
    if (this.#opts.sharedStats !== undefined) return this.#opts.sharedStats.stats;
    if (this.#opts.instance === undefined)
      throw new Error('RedisTargetStore: no instance for statistics');
    return this.#opts.keys.stats(this.#opts.instance);
  }

  async loadStats(): Promise<Map<string, string>> {
    await this.#migrate();
    const all = await this.#run(() => this.#client.hgetall(this.#statsKey()));
    return new Map(Object.entries(all));
  }

  async saveStats(entries: ReadonlyMap<string, string>, forget: readonly string[]): Promise<void> {
    await this.#writeHash(this.#statsKey(), entries, forget, STATS_FIELDS_PER_COMMAND);
  }

  #groupStats(): GroupStatsKeys {
    const keys = this.#opts.sharedStats;
    if (!keys) throw new Error('RedisTargetStore: no group statistics');
    return keys;
  }

  /**
   * A group's saved statistics of these targets only (a group's hash is
   * shared and large), read and claimed for `token`: from now on only it
   * may write them (lib/store/fenced-writes.ts).
   */
  async claimStats(members: readonly string[], token: string): Promise<Map<string, string>> {
    const slices = new Slices();
    return readAndClaim(this.#evaluate, this.#groupStats(), token, members, () => slices.pause());
  }

  /** Saves a group's entries that `owner.token` may write; resolves to those refused (another member owns them). */
  async saveOwnedStats(
    entries: ReadonlyMap<string, string>,
    forget: readonly string[],
    owner: { token: string; id: string },
  ): Promise<string[]> {
    return saveOwned(this.#evaluate, this.#groupStats(), owner, entries, forget);
  }

  /** A group's generation counter: one more at each join. */
  async nextGeneration(key: string): Promise<number> {
    return this.#run(() => this.#client.incr(key));
  }

  claimKey(key: string, runId: string, ttlMs: number): Promise<ClaimResult> {
    return claimKey(this.#evaluate, key, runId, ttlMs);
  }

  renewKey(key: string, runId: string, ttlMs: number): Promise<RenewResult> {
    return renewKey(this.#evaluate, key, runId, ttlMs);
  }

  replaceKey(key: string, holder: string, runId: string, ttlMs: number): Promise<boolean> {
    return replaceKey(this.#evaluate, key, holder, runId, ttlMs);
  }

  releaseKey(key: string, runId: string): Promise<void> {
    return releaseKey(this.#evaluate, key, runId);
  }

  readonly #evaluate = (
    script: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> => this.#run(() => this.#client.eval(script, keys.length, ...keys, ...args));

  async historyChunkNames(candidates: readonly string[]): Promise<string[]> {
    await this.#migrate();
    await this.#convertLegacyHistory();
    if (candidates.length === 0) return [];
    const exists = await this.#run(async () => {
      const pipeline = this.#client.pipeline();
      for (const name of candidates) pipeline.exists(this.#historyChunkKey(name));
      return (await pipeline.exec()) ?? [];
    });
    return candidates.filter((_, i) => {
      const [err, n] = exists[i] ?? [new Error('no reply'), 0];
      if (err) throw this.#unavailable(err);
      return n === 1;
    });
  }

  /**
   * The first release's history (one hash per instance, a JSON document per
   * chunk) appended to the chunks of this release, a chunk at a time, each
   * deleted from the old hash once appended.
   */
  async #convertLegacyHistory(): Promise<void> {
    if (this.#opts.instance === undefined) return;
    const legacy = this.#opts.keys.history(this.#opts.instance);
    const names = await this.#run(() => this.#client.hkeys(legacy));
    for (const name of names) {
      const id = parseChunkKey(name);
      const text = await this.#run(() => this.#client.hget(legacy, name));
      if (id && text !== null) {
        let records: Map<string, number[][]> | undefined;
        try {
          records = legacyChunkRecords(id, text);
        } catch (err) {
          this.#opts.onLog?.(
            `history chunk ${name} of ${legacy} is damaged (${err instanceof Error ? err.message : String(err)}): dropped`,
          );
        }
        if (records) await this.appendHistory(new Map([[name, records]]));
      }
      await this.#run(() => this.#client.hdel(legacy, name));
    }
    if (names.length > 0)
      this.#opts.onLog?.(`history: ${names.length} chunks of ${legacy} converted`);
  }

  async loadHistoryChunk(
    name: string,
    targets?: readonly string[],
  ): Promise<Map<string, number[][]>> {
    const key = this.#historyChunkKey(name);
    const out = new Map<string, number[][]>();
    const slices = new Slices();
    if (targets) {
      for (let i = 0; i < targets.length; i += HISTORY_FIELDS_PER_COMMAND) {
        const batch = targets.slice(i, i + HISTORY_FIELDS_PER_COMMAND);
        const got = await this.#run(() => this.#client.hmgetBuffer(key, ...batch));
        got.forEach((value, j) => {
          if (value) out.set(batch[j]!, recordsFromBinary(value));
        });
        await slices.pause();
      }
      return out;
    }
    // HSCAN, not HGETALL: a chunk of 10,000 targets is several MB, parsed in one piece.
    let cursor = '0';
    do {
      const [next, flat] = await this.#run(() =>
        this.#client.hscanBuffer(key, cursor, 'COUNT', HISTORY_FIELDS_PER_COMMAND),
      );
      cursor = next.toString();
      for (let i = 0; i + 1 < flat.length; i += 2)
        out.set(flat[i]!.toString('utf8'), recordsFromBinary(flat[i + 1]!));
      await slices.pause();
    } while (cursor !== '0');
    return out;
  }

  async appendHistory(chunks: ChunkRecords, owner?: string): Promise<string[]> {
    const fence = this.#fence;
    if (owner === undefined && fence && !fence.held())
      throw new StoreUnavailableError(
        `not writing under instance ${this.#opts.instance ?? '?'}: this process does not hold it now`,
      );
    const refused: string[] = [];
    const slices = new Slices();
    for (const [name, records] of chunks) {
      const id = parseChunkKey(name);
      if (!id) continue;
      const key = this.#historyChunkKey(name);
      const [mode, fenceKey, token] =
        owner !== undefined
          ? ['owner', this.#groupStats().owners, owner]
          : fence
            ? ['holder', fence.key, fence.holder]
            : ['none', key, ''];
      const all = [...records];
      for (let i = 0; i < all.length; i += HISTORY_FIELDS_PER_COMMAND) {
        const args: (string | Buffer)[] = [
          mode,
          token,
          String(chunkExpiresAtS(id, this.#opts.historyRetention)),
        ];
        for (const [target, list] of all.slice(i, i + HISTORY_FIELDS_PER_COMMAND))
          args.push(target, recordsToBinary(list));
        await slices.pause();
        const got = await this.#run(() =>
          this.#client.eval(APPEND_HISTORY, 2, key, fenceKey, ...args),
        );
        if (!Array.isArray(got))
          throw new StoreUnavailableError(
            `not writing under instance ${this.#opts.instance ?? '?'}: this process does not hold it now`,
          );
        for (const f of got) if (typeof f === 'string') refused.push(f);
      }
    }
    return refused;
  }

  /** Chunks expire in Redis by themselves (EXPIREAT at each append). */
  forgetHistory(): Promise<void> {
    return Promise.resolve();
  }

  async appendOutages(records: readonly string[]): Promise<void> {
    const key = this.#outagesKey();
    await this.#run(async () => {
      const pipeline = this.#client.pipeline();
      // MAXLEN ~: Redis trims whole macro nodes, so the trim costs next to nothing.
      for (const r of records)
        pipeline.xadd(key, 'MAXLEN', '~', String(KEPT_OUTAGE_RECORDS), '*', 'outage', r);
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    });
  }

  recentOutages(limit: number): Promise<string[]> {
    return this.outagesIn(this.#outagesKey(), limit);
  }

  /** Up to `limit` records of one outage stream, newest first (npcli reads every instance's). */
  async outagesIn(key: string, limit: number): Promise<string[]> {
    const entries = await this.#run(() => this.#client.xrevrange(key, '+', '-', 'COUNT', limit));
    const out: string[] = [];
    for (const [, fields] of entries) {
      const i = fields.indexOf('outage');
      if (i >= 0 && i + 1 < fields.length) out.push(fields[i + 1]!);
    }
    return out;
  }

  #outagesKey(): string {
    if (this.#opts.instance === undefined)
      throw new Error('RedisTargetStore: no instance for outages');
    return this.#opts.keys.outages(this.#opts.instance);
  }

  #historyChunkKey(chunk: string): string {
    const group = this.#opts.sharedStats?.historyChunk;
    if (group) return group(chunk);
    if (this.#opts.instance === undefined)
      throw new Error('RedisTargetStore: no instance for history');
    return this.#opts.keys.historyChunk(this.#opts.instance, chunk);
  }

  async putExpiring(
    key: string,
    text: string,
    ttlMs: number,
    index?: { key: string; member: string },
  ): Promise<void> {
    const px = Math.max(1, Math.round(ttlMs));
    const result = await this.#run(() => {
      const tx = this.#client.multi().set(key, text, 'PX', px);
      if (index) tx.sadd(index.key, index.member);
      return tx.exec();
    });
    for (const [err] of result ?? [[new Error('transaction aborted')]]) {
      if (err) throw this.#unavailable(err);
    }
  }

  async setMembers(key: string): Promise<string[]> {
    return [...(await this.#scanSet(key, MESH_BATCH, MESH_MAX_KEYS))].sort();
  }

  async values(keys: readonly string[]): Promise<(string | undefined)[]> {
    const slices = new Slices();
    const out: (string | undefined)[] = [];
    for (let i = 0; i < keys.length; i += MESH_BATCH) {
      const batch = keys.slice(i, i + MESH_BATCH);
      const got = await this.#run(() => this.#client.mget(...batch));
      for (const v of got) out.push(typeof v === 'string' ? v : undefined);
      await slices.pause();
    }
    return out;
  }

  async removeMembers(key: string, members: readonly string[]): Promise<void> {
    if (members.length === 0) return;
    await this.#run(() => this.#client.srem(key, ...members));
  }

  async deleteKey(key: string): Promise<void> {
    await this.#run(() => this.#client.del(key));
  }

  async claimOnce(key: string, candidate: string): Promise<string> {
    const result = await this.#run(() =>
      this.#client.multi().set(key, candidate, 'NX').get(key).exec(),
    );
    const [err, value] = result?.[1] ?? [new Error('transaction aborted'), null];
    if (err) throw this.#unavailable(err);
    if (typeof value !== 'string') throw this.#unavailable(new Error(`${key} vanished`));
    return value;
  }

  /** The keys matching `pattern` (at most MESH_MAX_KEYS), sorted; SCAN in batches, on every master of a cluster. */
  async scanKeys(pattern: string): Promise<string[]> {
    const slices = new Slices();
    const keys = new Set<string>();
    const client = this.#client;
    // Connected first (#run connects): a cluster knows its masters once ready.
    if (client instanceof Cluster) await this.#run(() => Promise.resolve());
    const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
    for (const node of nodes) {
      let cursor = '0';
      // SCAN may return a key twice and ends when the cursor is back at 0.
      do {
        const [next, batch] = await this.#run(() => scanStep(node, cursor, pattern));
        cursor = next;
        for (const k of batch) if (keys.size < MESH_MAX_KEYS) keys.add(k);
        await slices.pause();
      } while (cursor !== '0' && keys.size < MESH_MAX_KEYS);
    }
    return [...keys].sort();
  }

  /** Every field of a hash, read with HSCAN in batches (a stats hash may hold 10,000 fields). */
  async hashEntries(key: string): Promise<Map<string, string>> {
    const slices = new Slices();
    const out = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.#run(() =>
        this.#client.hscan(key, cursor, 'COUNT', STATS_FIELDS_PER_COMMAND),
      );
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
      await slices.pause();
    } while (cursor !== '0');
    return out;
  }

  async watch(onChange: (change?: TargetChange) => void): Promise<void> {
    this.subscribe(this.#opts.keys.events, (message) => onChange(parseTargetNotice(message)));
    return Promise.resolve();
  }

  /**
   * Calls `onEvent` on every notice on `channel`, with its text, and each
   * time the subscription is (re)established, without (notices may have
   * been missed while it was not). One subscriber connection serves every
   * channel.
   */
  subscribe(channel: string, onEvent: (message?: string) => void): void {
    this.#channels.set(channel, onEvent);
    if (this.#subscriber) {
      if (this.#subscriber.status === 'ready') this.#subscribeTo(this.#subscriber, channel);
      return;
    }
    const sub = (this.#subscriber = this.#connection());
    const onMessage = (from: string, message: string): void => this.#channels.get(from)?.(message);
    sub.on('message', onMessage);
    sub.on('smessage', onMessage);
    // 'ready' fires before ioredis re-sends SUBSCRIBE after a reconnect; only
    // once our own SUBSCRIBE is answered can no change slip between the
    // subscription and the re-read that onEvent triggers.
    sub.on('ready', () => {
      for (const name of this.#channels.keys()) this.#subscribeTo(sub, name);
    });
    sub.connect().catch(() => {
      // retryStrategy keeps trying; 'error' already logged why.
    });
  }

  #subscribeTo(sub: Client, channel: string): void {
    const subscribed = this.#sharded ? sub.ssubscribe(channel) : sub.subscribe(channel);
    subscribed.then(
      () => this.#channels.get(channel)?.(),
      (err: unknown) => {
        // The periodic re-read (--resync, the group's refresh) is the fallback.
        this.#opts.onLog?.(`redis: subscribe to ${channel} failed: ${String(err)}`);
      },
    );
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    const client = this.#client;
    const daemon = this.#opts.mode === 'daemon';
    const attempt = (async () => {
      if (client.status === 'wait') await client.connect();
      return command();
    })();
    try {
      return await withDeadline(
        attempt,
        daemon ? STORE_COMMAND_TIMEOUT_MS : CLI_TIMEOUT_MS,
        'Redis',
        // Drop the connection that does not answer: `up` turns false at
        // once, commands fail fast (no offline queue) instead of queueing
        // behind the silent ones, and the daemon's retry strategy
        // reconnects, which becomes ready only when Redis answers again.
        () => client.disconnect(daemon),
      );
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  #unavailable(err: unknown): StoreUnavailableError {
    let reason = err instanceof Error ? err.message : String(err);
    // ioredis rejects with a generic "Connection is closed." and reports the
    // real cause (ECONNREFUSED, auth failure...) as an 'error' event.
    if (this.#lastError && /connection is closed/i.test(reason)) reason = this.#lastError;
    return new StoreUnavailableError(
      `cannot reach Redis at ${redactUrl(this.#opts.url)}: ${reason}`,
    );
  }

  close(): Promise<void> {
    this.#closing ??= Promise.allSettled(
      [this.#client, this.#subscriber].map(async (c) => {
        if (!c) return;
        if (c.status === 'wait' || c.status === 'end') return c.disconnect();
        try {
          await withDeadline(c.quit(), QUIT_TIMEOUT_MS, 'Redis QUIT');
        } catch {
          c.disconnect();
        }
      }),
    ).then(() => undefined);
    return this.#closing;
  }
}

export { redactUrl };
