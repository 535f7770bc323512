// The last target list read from Redis, kept in the state directory so a
// daemon that starts while Redis is down pings what it last knew.

import path from 'node:path';
import { jsonStringsPieces, readStateFile, writeFileAtomic } from './json-file.js';

const VERSION = 1;

export class TargetCache {
  readonly #file: string;

  /** One cache per key prefix: daemons of several deployments may share a state directory. */
  constructor(
    stateDir: string,
    prefix: string,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.#file = path.join(stateDir, `targets-cache.${prefix}.json`);
  }

  /** The cached members, or undefined when there is no usable cache (a damaged one is set aside). */
  async load(): Promise<string[] | undefined> {
    let raw: unknown;
    try {
      raw = await readStateFile(this.#file, this.log, (r) => {
        const c = r as { version?: unknown; members?: unknown } | null;
        return c?.version === VERSION && Array.isArray(c.members)
          ? undefined
          : 'not a target cache';
      });
    } catch {
      return undefined; // unreadable: no worse than no cache, Redis has the truth
    }
    const members = (raw as { members: unknown[] } | undefined)?.members;
    return members?.filter((m): m is string => typeof m === 'string');
  }

  /**
   * Writes the members (TargetSync asks only after a read that changed the
   * set), a few hundred at a time: 10,000 members sorted and written as one
   * string held the loop for several milliseconds on every resync.
   */
  async save(members: readonly string[]): Promise<void> {
    await writeFileAtomic(
      this.#file,
      jsonStringsPieces(`{"version":${VERSION},"members":`, members, '}'),
    );
  }
}
