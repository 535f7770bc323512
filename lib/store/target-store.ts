/**
 * Where the list of targets lives. The daemon reads it and follows changes;
 * npcli writes it. Redis implements it today (redis-store.ts); an embedded
 * store comes later. Members are "name@address" strings, unparsed: the store
 * holds what was written, and the reader decides what is valid.
 */
export interface TargetStore {
  /** Every member, as stored. */
  members(): Promise<string[]>;
  /** Adds members and announces the change; resolves to how many were new. */
  add(members: readonly string[]): Promise<number>;
  /** Removes members and announces the change; resolves to how many were there. */
  remove(members: readonly string[]): Promise<number>;
  /**
   * Follows changes: `onChange` is called after every announced change, and
   * once each time the subscription is (re)established, since changes may
   * have been missed while it was not.
   */
  watch(onChange: () => void): Promise<void>;
  /** Whether the store can be reached right now. */
  readonly up: boolean;
  close(): Promise<void>;
}

export interface TargetChange {
  readonly op: 'add' | 'remove';
  readonly members: readonly string[];
}
