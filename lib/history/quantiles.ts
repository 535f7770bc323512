// Quantiles of a sparse log-bucketed histogram, shared by the daemon (the
// sparklines) and the browser view (the smoke graph): plain code with no
// Node.js or DOM use, so both builds compile it.

/**
 * The RTT (in the unit of `bounds`) below which fraction `q` of the samples
 * lie, from (index, count) pairs ascending by index; `bounds[i]` is bucket
 * i's upper bound, index bounds.length is +Inf. Within a bucket the value is
 * interpolated geometrically, as the buckets are spaced. undefined if empty.
 */
export function quantile(
  pairs: readonly number[],
  bounds: readonly number[],
  q: number,
): number | undefined {
  let total = 0;
  for (let k = 1; k < pairs.length; k += 2) total += pairs[k]!;
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let k = 0; k + 1 < pairs.length; k += 2) {
    const index = pairs[k]!;
    const count = pairs[k + 1]!;
    if (seen + count >= rank && count > 0) {
      const last = bounds.length - 1;
      if (index > last) return bounds[last];
      const upper = bounds[index]!;
      const lower = index > 0 ? bounds[index - 1]! : upper / 2 ** (1 / 8);
      const within = Math.min(1, Math.max(0, (rank - seen) / count));
      return lower * (upper / lower) ** within;
    }
    seen += count;
  }
  return bounds[bounds.length - 1];
}

/** Several quantiles at once, in the order of `qs`. */
export function quantiles(
  pairs: readonly number[],
  bounds: readonly number[],
  qs: readonly number[],
): (number | undefined)[] {
  return qs.map((q) => quantile(pairs, bounds, q));
}
