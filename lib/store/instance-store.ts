import type { ClaimResult, RenewResult } from './fenced-writes.js';

/**
 * What the claim of an instance id (daemon/instance-claim.ts) needs of
 * Redis: a key set once with an expiry, renewed, deleted, each only by the
 * run id that holds it. Implemented by redis-store.ts.
 */
export interface InstanceStore {
  /** SET NX PX; if another holds it, its value and remaining time. */
  claimKey(key: string, runId: string, ttlMs: number): Promise<ClaimResult>;
  /** Renews the expiry if `runId` holds the key, sets it again if it expired, else names the holder. */
  renewKey(key: string, runId: string, ttlMs: number): Promise<RenewResult>;
  /** Sets the key to `runId` if `holder` still holds it (a holder known to be gone). */
  replaceKey(key: string, holder: string, runId: string, ttlMs: number): Promise<boolean>;
  /** Deletes the key if `runId` holds it. */
  releaseKey(key: string, runId: string): Promise<void>;
}
