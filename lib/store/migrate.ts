// Keys of a netping before the hash tag (`P:targets`, `P:stats:<id>`,
// `P:history:<id>`, `P:mesh:peer-key`) are copied to their new names
// (`{P}:…`, keys.ts) once at start, so an upgrade loses no targets,
// statistics or history. Copied, not RENAMEd: merged into new keys that may
// exist already (an npcli of the new version may have written the set
// first), newer values winning; then the old key is deleted. Every step is
// idempotent, so a start cut off half-way is finished by the next.

import { keysFor } from './keys.js';

/** The few commands the migration needs; ioredis's client has them. */
export interface MigrationClient {
  scan(
    cursor: string,
    match: 'MATCH',
    pattern: string,
    count: 'COUNT',
    n: number,
  ): Promise<[cursor: string, elements: string[]]>;
  exists(key: string): Promise<number>;
  type(key: string): Promise<string>;
  sunionstore(destination: string, a: string, b: string): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  hsetnx(key: string, field: string, value: string): Promise<number>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, nx: 'NX'): Promise<'OK' | null>;
  del(key: string): Promise<number>;
}

const SCAN_COUNT = 1000;
const MAX_SCAN_STEPS = 100_000;
const INSTANCE = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * Copies the old keys of `prefix` to the new names. `all`: every kind (the
 * daemon, at start); otherwise only the target set (npcli, which must not
 * SCAN a shared Redis on every command).
 */
export async function migrateLegacyKeys(
  client: MigrationClient,
  prefix: string,
  opts: { all: boolean; log: (line: string) => void },
): Promise<void> {
  const keys = keysFor(prefix);
  const old = `${prefix}:`;
  const found: string[] = [];
  if (opts.all) {
    let cursor = '0';
    let steps = 0;
    do {
      // The prefix's alphabet (keys.ts) has none of SCAN's glob characters.
      const [next, batch] = await client.scan(cursor, 'MATCH', `${old}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0' && ++steps < MAX_SCAN_STEPS);
  } else if ((await client.exists(`${old}targets`)) > 0) {
    found.push(`${old}targets`);
  }
  let moved = 0;
  for (const name of new Set(found)) {
    const rest = name.slice(old.length);
    const [kind, id, extra] = rest.split(':');
    let target: string | undefined;
    let type: 'set' | 'hash' | 'string' | undefined;
    if (rest === 'targets') [target, type] = [keys.targets, 'set'];
    else if (rest === 'mesh:peer-key') [target, type] = [keys.mesh.peerKey, 'string'];
    else if (kind === 'stats' && id && INSTANCE.test(id) && extra === undefined)
      [target, type] = [keys.stats(id), 'hash'];
    else if (kind === 'history' && id && INSTANCE.test(id) && extra === undefined)
      [target, type] = [keys.history(id), 'hash'];
    // Anything else under the old prefix (expiring mesh keys, another
    // prefix that starts with ours) is not ours to move.
    if (target === undefined || (await client.type(name)) !== type) continue;
    if (type === 'set') await client.sunionstore(target, target, name);
    else if (type === 'hash') {
      const fields = Object.entries(await client.hgetall(name));
      for (let i = 0; i < fields.length; i += 100) {
        await Promise.all(fields.slice(i, i + 100).map(([f, v]) => client.hsetnx(target, f, v)));
      }
    } else {
      const value = await client.get(name);
      if (value !== null) await client.set(target, value, 'NX');
    }
    await client.del(name);
    moved++;
    opts.log(`redis: moved ${name} to ${target} (the key names of this version)`);
  }
  if (moved > 0) opts.log(`redis: ${moved} keys of an older netping moved to their new names`);
}
