// The mesh's peer key (udp probes and their answers are signed with it):
// with --mesh and no --peer-key, the first instance generates it and puts it
// in Redis (SET NX), and every instance takes it from there. It is needed
// before the probers open, so it is read at start; a copy in the state
// directory lets an instance that has meshed before start while Redis is
// down. A first start without Redis waits for it: without the key there is
// no mesh to join.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/state/json-file.js';
import type { Keys } from '../lib/store/keys.js';
import type { MeshStore } from '../lib/store/mesh-store.js';
import { validatePeerKey } from './options.js';

const RETRY_MS = 2000;

function cacheFile(stateDir: string, keys: Keys): string {
  return path.join(stateDir, `mesh-peer-key.${keys.prefix}`);
}

function readCached(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return validatePeerKey(text) ? text : undefined;
  } catch {
    return undefined; // absent or damaged: Redis decides
  }
}

export async function meshPeerKey(
  store: MeshStore,
  keys: Keys,
  stateDir: string,
  log: (line: string) => void,
): Promise<string> {
  const file = cacheFile(stateDir, keys);
  const cached = readCached(file);
  const candidate = cached ?? randomBytes(32).toString('base64url');
  for (let attempt = 0; ; attempt++) {
    let key: string;
    try {
      key = await store.claimOnce(keys.mesh.peerKey, candidate);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (cached !== undefined) {
        log(`mesh: cannot read the peer key from Redis, using the copy in ${file}: ${why}`);
        return cached;
      }
      if (attempt === 0) {
        log(
          `mesh: waiting for Redis, which holds the mesh's peer key (retrying every ${RETRY_MS / 1000} s): ${why}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      continue;
    }
    // Checked like --peer-key: anyone with access to that Redis could have set it.
    if (!/^[\x21-\x7e]{16,256}$/.test(key)) {
      throw new InvalidInputError(
        `the mesh peer key in Redis (${keys.mesh.peerKey}) is not 16-256 printable characters: delete it, or give --peer-key`,
      );
    }
    if (key !== cached) {
      await writeFileAtomic(file, `${key}\n`, 0o600).catch((err: unknown) =>
        log(
          `mesh: cannot keep a copy of the peer key in ${file}: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
    }
    return key;
  }
}
