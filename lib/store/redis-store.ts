// The only file that imports ioredis.

import { Redis, type RedisOptions } from 'ioredis';
import { withDeadline } from '../deadline.js';
import { StoreUnavailableError } from '../errors.js';
import { Slices } from '../slicing.js';
import type { Keys } from './keys.js';
import type { MeshStore } from './mesh-store.js';
import type { HistoryStore, StatsStore } from './stats-store.js';
import type { TargetChange, TargetStore } from './target-store.js';

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
  readonly onLog?: (line: string) => void;
}

const STATS_FIELDS_PER_COMMAND = 500;

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
  };
  return mode === 'cli'
    ? { ...common, retryStrategy: () => null }
    : { ...common, retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000) };
}

// A SCAN or SSCAN step asks for about this many, and MGET reads as many at
// once: replies of a few kB, parsed between slices of the event loop.
const MESH_BATCH = 100;
// The most keys or members read at once: a Redis full of junk under our
// prefix must not cost unbounded memory and time.
const MESH_MAX_KEYS = 10_000;

export class RedisTargetStore implements TargetStore, StatsStore, HistoryStore, MeshStore {
  readonly #opts: RedisStoreOptions;
  readonly #client: Redis;
  #subscriber: Redis | undefined;
  #lastError = '';
  #closing: Promise<void> | undefined;

  constructor(opts: RedisStoreOptions) {
    this.#opts = opts;
    this.#client = this.#connection();
  }

  #connection(): Redis {
    const client = new Redis(this.#opts.url, optionsFor(this.#opts.mode));
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

  async members(): Promise<string[]> {
    return this.#run(() => this.#client.smembers(this.#opts.keys.targets));
  }

  async add(members: readonly string[]): Promise<number> {
    return this.#change({ op: 'add', members });
  }

  async remove(members: readonly string[]): Promise<number> {
    return this.#change({ op: 'remove', members });
  }

  async #change(change: TargetChange): Promise<number> {
    if (change.members.length === 0) return 0;
    const { targets, events } = this.#opts.keys;
    const result = await this.#run(() => {
      const tx = this.#client.multi();
      if (change.op === 'add') tx.sadd(targets, ...change.members);
      else tx.srem(targets, ...change.members);
      tx.publish(events, JSON.stringify(change));
      return tx.exec();
    });
    const [err, count] = result?.[0] ?? [new Error('transaction aborted'), 0];
    if (err) throw this.#unavailable(err);
    return Number(count);
  }

  #statsKey(): string {
    if (this.#opts.instance === undefined)
      throw new Error('RedisTargetStore: no instance for statistics');
    return this.#opts.keys.stats(this.#opts.instance);
  }

  async loadStats(): Promise<Map<string, string>> {
    const all = await this.#run(() => this.#client.hgetall(this.#statsKey()));
    return new Map(Object.entries(all));
  }

  async saveStats(entries: ReadonlyMap<string, string>, forget: readonly string[]): Promise<void> {
    const key = this.#statsKey();
    const fields = [...entries].flat();
    await this.#run(async () => {
      const pipeline = this.#client.pipeline();
      for (let i = 0; i < fields.length; i += 2 * STATS_FIELDS_PER_COMMAND) {
        pipeline.hset(key, ...fields.slice(i, i + 2 * STATS_FIELDS_PER_COMMAND));
      }
      if (forget.length > 0) pipeline.hdel(key, ...forget);
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    });
  }

  async historyChunkNames(): Promise<string[]> {
    const key = this.#opts.keys.history(this.#instance());
    return this.#run(() => this.#client.hkeys(key));
  }

  async loadHistoryChunk(name: string): Promise<string | undefined> {
    const key = this.#opts.keys.history(this.#instance());
    return (await this.#run(() => this.#client.hget(key, name))) ?? undefined;
  }

  async saveHistory(chunks: ReadonlyMap<string, string>, forget: readonly string[]): Promise<void> {
    const key = this.#opts.keys.history(this.#instance());
    await this.#run(async () => {
      const pipeline = this.#client.pipeline();
      // One chunk per command: a chunk is up to a few MB at 1,000 targets.
      for (const [field, text] of chunks) pipeline.hset(key, field, text);
      if (forget.length > 0) pipeline.hdel(key, ...forget);
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    });
  }

  #instance(): string {
    if (this.#opts.instance === undefined)
      throw new Error('RedisTargetStore: no instance for history');
    return this.#opts.instance;
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
    const slices = new Slices();
    const members = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.#run(() =>
        this.#client.sscan(key, cursor, 'COUNT', MESH_BATCH),
      );
      cursor = next;
      for (const m of batch) if (members.size < MESH_MAX_KEYS) members.add(m);
      await slices.pause();
    } while (cursor !== '0' && members.size < MESH_MAX_KEYS);
    return [...members].sort();
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

  /** The keys matching `pattern` (at most MESH_MAX_KEYS), sorted; SCAN in batches. */
  async scanKeys(pattern: string): Promise<string[]> {
    const slices = new Slices();
    const keys = new Set<string>();
    let cursor = '0';
    // SCAN may return a key twice and ends when the cursor is back at 0.
    do {
      const [next, batch] = await this.#run(() =>
        this.#client.scan(cursor, 'MATCH', pattern, 'COUNT', MESH_BATCH),
      );
      cursor = next;
      for (const k of batch) if (keys.size < MESH_MAX_KEYS) keys.add(k);
      await slices.pause();
    } while (cursor !== '0' && keys.size < MESH_MAX_KEYS);
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

  async watch(onChange: () => void): Promise<void> {
    const channel = this.#opts.keys.events;
    const sub = (this.#subscriber ??= this.#connection());
    sub.on('message', (from: string) => {
      if (from === channel) onChange();
    });
    // 'ready' fires before ioredis re-sends SUBSCRIBE after a reconnect; only
    // once our own SUBSCRIBE is answered can no change slip between the
    // subscription and the re-read that onChange triggers.
    sub.on('ready', () => {
      sub.subscribe(channel).then(onChange, (err: unknown) => {
        this.#opts.onLog?.(`redis: subscribe failed: ${String(err)}`);
      });
    });
    sub.connect().catch(() => {
      // retryStrategy keeps trying; 'error' already logged why.
    });
    return Promise.resolve();
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

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
