// One process per instance id. Cloned hosts share a host name, the default
// --instance, and two daemons under one id overwrite each other's saved
// statistics and history (and in a group both probe the same share). So a
// daemon with Redis holds `{P}:instance:<id>`: its random run id, set with
// SET NX and an expiry it renews, deleted at a clean stop.
//
// At start, a key held by another run id is either a twin (it renews) or
// the leftover of a run that crashed (it expires). A holder of this very
// boot and pid namespace whose pid is gone crashed: taken over at once.
// Otherwise we watch the key for up to an expiry and refuse to start
// (InstanceTakenError) only if it is renewed, so a restart after a crash
// waits at most INSTANCE_TTL_MS and is never refused. (Under the systemd
// unit /proc/sys is hidden, so there is no boot id and a restart waits.)
// Redis unreachable at start: the daemon runs, writes nothing under the id,
// and claims it in the background. Every write under the id (redis-store.ts
// guardWrites) needs the claim renewed within its expiry; a daemon that finds
// another holding its id at run time has been replaced while cut off, and
// stops (onLost).

import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { InstanceTakenError } from '../lib/errors.js';
import { printable } from '../lib/render/printable.js';
import type { InstanceStore } from '../lib/store/instance-store.js';

/** How long a claim lives without renewal: the longest wait of a restart after a crash. */
export const INSTANCE_TTL_MS = 10_000;
const RENEW_MS = 2_500;
const WATCH_EVERY_MS = 250;

export interface InstanceClaimOptions {
  readonly store: InstanceStore;
  /** keys.instance(id) */
  readonly key: string;
  readonly id: string;
  /** Monotonic milliseconds (the engine's clock). */
  readonly nowMs: () => number;
  readonly log: (line: string) => void;
  /** Another process holds the id now: this one must stop writing and exit. */
  readonly onLost: (err: InstanceTakenError) => void;
  readonly ttlMs?: number;
  readonly renewMs?: number;
}

interface Holder {
  readonly run: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
  /** This boot of this kernel, and the pid namespace: where `pid` means this process. */
  readonly boot: string | undefined;
  readonly pidns: string | undefined;
}

export function encodeHolder(h: Holder): string {
  return JSON.stringify({ v: 1, ...h });
}

/** Where this process runs: the boot id and pid namespace, or undefined where hidden. */
export function whereWeRun(): { boot: string | undefined; pidns: string | undefined } {
  const read = (f: () => string): string | undefined => {
    try {
      return f().trim().slice(0, 100) || undefined;
    } catch {
      return undefined;
    }
  };
  return {
    boot: read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidns: read(() => readlinkSync('/proc/self/ns/pid')),
  };
}

/**
 * Whether a holder's value names a process of this boot and pid namespace
 * that no longer exists: a crashed run of this host, safe to replace. Never
 * true for another host, even a clone with the same name (another boot id).
 */
export function holderIsGone(
  text: string,
  here: { boot: string | undefined; pidns: string | undefined },
  alive: (pid: number) => boolean = pidAlive,
): boolean {
  if (here.boot === undefined || here.pidns === undefined) return false;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return false;
  }
  if (o.boot !== here.boot || o.pidns !== here.pidns) return false;
  return typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0 && !alive(o.pid);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The holder's own words, for one log line: checked, printable, short. */
export function describeHolder(text: string | undefined): string {
  if (text === undefined) return 'a process that has just stopped';
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (
      typeof o.host === 'string' &&
      typeof o.pid === 'number' &&
      typeof o.startedAt === 'string'
    ) {
      return `host ${printable(o.host.slice(0, 100))}, pid ${o.pid}, started ${printable(o.startedAt.slice(0, 40))}`;
    }
  } catch {
    // not ours: quoted below
  }
  return `a holder writing ${printable(text.slice(0, 60))}`;
}

export class InstanceClaim {
  readonly #o: InstanceClaimOptions;
  readonly #ttlMs: number;
  readonly #renewMs: number;
  readonly #value: string;
  readonly #here = whereWeRun();
  /** Writes under the id are allowed until then (monotonic ms): the last renewal sent + the expiry. */
  #heldUntilMs = -Infinity;
  #everHeld = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #failing = false;
  #stopped = false;

  constructor(opts: InstanceClaimOptions) {
    this.#o = opts;
    this.#ttlMs = opts.ttlMs ?? INSTANCE_TTL_MS;
    this.#renewMs = opts.renewMs ?? RENEW_MS;
    this.#value = encodeHolder({
      run: randomBytes(8).toString('hex'),
      host: hostname(),
      pid: process.pid,
      startedAt: new Date().toISOString(),
      ...this.#here,
    });
  }

  /** What the id's key holds while this process holds it. */
  get value(): string {
    return this.#value;
  }

  /** Whether this process may write under the id now. */
  get held(): boolean {
    return this.#o.nowMs() < this.#heldUntilMs;
  }

  /**
   * Claims the id at start: 'held', or 'unreachable' (claimed later in the
   * background). Rejects with InstanceTakenError if another process holds it
   * and renews it.
   */
  async acquire(): Promise<'held' | 'unreachable'> {
    let seen: { holder: string; ttlMs: number } | undefined;
    let told = false;
    const giveUpAt = this.#o.nowMs() + this.#ttlMs + this.#renewMs;
    for (;;) {
      if (this.#stopped) return 'unreachable';
      const sentAt = this.#o.nowMs();
      let got;
      try {
        got = await this.#o.store.claimKey(this.#o.key, this.#value, this.#ttlMs);
      } catch {
        return 'unreachable';
      }
      if (got.held) {
        this.#heldAt(sentAt);
        return 'held';
      }
      if (got.holder !== undefined && holderIsGone(got.holder, this.#here)) {
        if (await this.#replace(got.holder)) {
          this.#heldAt(sentAt);
          this.#o.log(
            `instance ${this.#o.id}: taken over from ${describeHolder(got.holder)}, which is gone`,
          );
          return 'held';
        }
        await new Promise((resolve) => setTimeout(resolve, WATCH_EVERY_MS));
        continue;
      }
      if (got.holder !== undefined) {
        // Renewed (its expiry went up) or taken by yet another: alive.
        if (seen && (got.holder !== seen.holder || got.ttlMs > seen.ttlMs))
          throw this.#taken(got.holder);
        seen = { holder: got.holder, ttlMs: got.ttlMs };
        if (!told) {
          told = true;
          this.#o.log(
            `instance ${this.#o.id} is held by ${describeHolder(got.holder)}: ` +
              `waiting up to ${Math.ceil(this.#ttlMs / 1000)} s to see whether it still runs`,
          );
        }
      }
      // A key that outlives its expiry (no expiry at all) is held, too.
      if (this.#o.nowMs() > giveUpAt) throw this.#taken(got.holder);
      await new Promise((resolve) => setTimeout(resolve, WATCH_EVERY_MS));
    }
  }

  async #replace(holder: string): Promise<boolean> {
    try {
      return await this.#o.store.replaceKey(this.#o.key, holder, this.#value, this.#ttlMs);
    } catch {
      return false;
    }
  }

  #taken(holder: string | undefined): InstanceTakenError {
    return new InstanceTakenError(
      `another netpingd runs as instance ${this.#o.id} (${describeHolder(holder)}; ${this.#o.key}): ` +
        'give each daemon its own --instance',
    );
  }

  #heldAt(sentAt: number): void {
    this.#heldUntilMs = sentAt + this.#ttlMs;
    this.#everHeld = true;
  }

  /** Renews the claim every few seconds (claims it first, if Redis was unreachable at start). */
  start(): void {
    this.#timer = setInterval(() => void this.renew(), this.#renewMs);
  }

  /** One renewal; one still running when the next is due is not doubled. */
  renew(): Promise<void> {
    this.#running ??= this.#renew().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    if (!this.#everHeld) {
      // Not yet ours: the holder may be a twin, so watch it as at start.
      try {
        const got = await this.acquire();
        if (got === 'held') this.#o.log(`instance ${this.#o.id} claimed; writing under it`);
      } catch (err) {
        if (err instanceof InstanceTakenError) this.#lose(err);
      }
      return;
    }
    const sentAt = this.#o.nowMs();
    let got;
    try {
      got = await this.#o.store.renewKey(this.#o.key, this.#value, this.#ttlMs);
    } catch (err) {
      if (!this.#failing)
        this.#o.log(
          `instance ${this.#o.id}: cannot renew its claim (writes under it stop ${Math.ceil(this.#ttlMs / 1000)} s after the last renewal): ${err instanceof Error ? err.message : String(err)}`,
        );
      this.#failing = true;
      return;
    }
    this.#failing = false;
    if (got === 'renewed' || got === 'reclaimed') {
      if (got === 'reclaimed')
        this.#o.log(`instance ${this.#o.id}: its claim had expired; claimed again`);
      this.#heldAt(sentAt);
      return;
    }
    this.#lose(this.#taken(got.holder));
  }

  #lose(err: InstanceTakenError): void {
    this.#heldUntilMs = -Infinity;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#o.onLost(err);
  }

  /** At a clean stop, after the last write: the key goes, so a restart claims it at once. */
  async release(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
    if (!this.#everHeld || this.#heldUntilMs === -Infinity) return;
    this.#heldUntilMs = -Infinity;
    await this.#o.store.releaseKey(this.#o.key, this.#value);
  }
}
