// What a new answer changes among a name's probed addresses.

export interface AddressDiff {
  /** New addresses: each becomes a target (or continues its counters, if it was probed before). */
  readonly added: readonly string[];
  /** Addresses gone: each target is retired like a removed one (its probes drain, counters saved). */
  readonly retired: readonly string[];
}

/** Both lists sorted; `before` and `after` are canonical addresses. */
export function diffAddresses(before: readonly string[], after: readonly string[]): AddressDiff {
  const old = new Set(before);
  const now = new Set(after);
  return {
    added: [...now].filter((a) => !old.has(a)).sort(),
    retired: [...old].filter((a) => !now.has(a)).sort(),
  };
}

export function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
