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
   * Follows changes: `onChange` is called after every announced change,
   * with the change where the notice says what it was (a store whose
   * notices carry nothing, or an older writer's notice, calls it without),
   * and once each time the subscription is (re)established, without a
   * change, since changes may have been missed while it was not.
   */
  watch(onChange: (change?: TargetChange) => void): Promise<void>;
  /** Whether the store can be reached right now. */
  readonly up: boolean;
  close(): Promise<void>;
}

export interface TargetChange {
  readonly op: 'add' | 'remove';
  readonly members: readonly string[];
}

/**
 * The change a notice on the events channel announces (the JSON of a
 * TargetChange, as every npcli has written it), or undefined for a notice
 * that does not say: the reader then re-reads the whole set.
 */
export function parseTargetNotice(text: string | undefined): TargetChange | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { op, members } = value as { op?: unknown; members?: unknown };
  if (op !== 'add' && op !== 'remove') return undefined;
  if (!Array.isArray(members) || !members.every((m): m is string => typeof m === 'string'))
    return undefined;
  return { op, members };
}
