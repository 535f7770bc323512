// One trace's plan and results, pure: which TTLs to probe next, what each
// probe's answer says about its hop, and when the trace is over. Probes go
// out a window of hops at a time (ttl 1..4, then 5..8, ...), `probesPerHop`
// each; a window ends when each of its probes has an answer or its timeout
// (the driver, lib/path/tracer.ts, says which). The trace ends at the first
// hop the target itself answers from, or after `silentToStop` silent hops
// in a row, or at `maxHops`.

/** What answered one trace probe. */
export type HopAnswerKind =
  /** Time exceeded: a router on the way. */
  | 'hop'
  /** Our echo's reply: the target. */
  | 'target'
  /** Unreachable: the path ends at the one who said so. */
  | 'unreachable';

export interface HopAnswer {
  readonly kind: HopAnswerKind;
  readonly from: string;
  readonly rttMs: number;
}

export interface TracePlan {
  readonly maxHops: number;
  readonly probesPerHop: number;
  /** Hops probed at once. */
  readonly window: number;
  /** Silent hops in a row after which the trace gives up. */
  readonly silentToStop: number;
}

export const DEFAULT_TRACE_PLAN: TracePlan = {
  maxHops: 30,
  probesPerHop: 3,
  window: 4,
  silentToStop: 5,
};

export interface TraceProbe {
  readonly ttl: number;
  /** 0..probesPerHop-1 */
  readonly index: number;
}

export interface TracedHop {
  readonly ttl: number;
  /** The address most of this hop's answers came from; null: a silent hop. */
  readonly address: string | null;
  /** Other addresses this hop answered from (load balancing), if any. */
  readonly others?: readonly string[];
  readonly sent: number;
  readonly received: number;
  /** Median RTT of the answers, ms; null when none. */
  readonly medianMs: number | null;
  /** Set on the hop that ended the trace with an unreachable. */
  readonly unreachable?: true;
}

export interface TraceOutcome {
  readonly reached: boolean;
  readonly hops: readonly TracedHop[];
}

export class TraceRun {
  readonly #plan: TracePlan;
  /** Answers by ttl (index ttl-1), one slot per probe; undefined: lost or not sent. */
  readonly #answers: (HopAnswer | undefined)[][] = [];
  readonly #sent: number[] = [];
  #nextTtl = 1;
  /** The first TTL whose answer ended the path (the target's reply or an unreachable). */
  #endTtl = Infinity;

  constructor(plan: TracePlan) {
    if (plan.maxHops < 1 || plan.probesPerHop < 1 || plan.window < 1)
      throw new RangeError('trace plan needs at least one hop, probe and window');
    this.#plan = plan;
  }

  /** The probes of the next window, interleaved by hop; empty when the trace is over. */
  nextWindow(): TraceProbe[] {
    if (this.done()) return [];
    const first = this.#nextTtl;
    const last = Math.min(this.#plan.maxHops, first + this.#plan.window - 1);
    this.#nextTtl = last + 1;
    const probes: TraceProbe[] = [];
    for (let index = 0; index < this.#plan.probesPerHop; index++)
      for (let ttl = first; ttl <= last; ttl++) probes.push({ ttl, index });
    for (let ttl = first; ttl <= last; ttl++) {
      this.#answers[ttl - 1] = new Array<HopAnswer | undefined>(this.#plan.probesPerHop);
      this.#sent[ttl - 1] = 0;
    }
    return probes;
  }

  /** A probe went out (a refused send is never counted sent). */
  sent(probe: TraceProbe): void {
    this.#sent[probe.ttl - 1] = (this.#sent[probe.ttl - 1] ?? 0) + 1;
  }

  answered(probe: TraceProbe, answer: HopAnswer): void {
    const slots = this.#answers[probe.ttl - 1];
    if (!slots || slots[probe.index]) return; // a duplicate keeps the first
    slots[probe.index] = answer;
    if (answer.kind !== 'hop') this.#endTtl = Math.min(this.#endTtl, probe.ttl);
  }

  /** Whether no more windows are needed (answers of the last one may still come). */
  done(): boolean {
    if (this.#nextTtl > this.#plan.maxHops) return true;
    if (this.#endTtl < this.#nextTtl) return true;
    return this.#silentTail() >= this.#plan.silentToStop;
  }

  #silentTail(): number {
    let silent = 0;
    for (let ttl = this.#nextTtl - 1; ttl >= 1; ttl--) {
      if (this.#answers[ttl - 1]?.some((a) => a !== undefined)) break;
      silent++;
    }
    return silent;
  }

  outcome(): TraceOutcome {
    const reached = this.#endTtl !== Infinity && this.#endAnswerKind() === 'target';
    const probedTo = Math.min(this.#nextTtl - 1, this.#endTtl);
    const hops: TracedHop[] = [];
    for (let ttl = 1; ttl <= probedTo; ttl++) hops.push(this.#hop(ttl));
    // Silent hops past the last that answered say nothing: dropped.
    while (hops.length > 0 && hops[hops.length - 1]!.address === null) hops.pop();
    return { reached, hops };
  }

  #endAnswerKind(): HopAnswerKind | undefined {
    const slots = this.#answers[this.#endTtl - 1] ?? [];
    if (slots.some((a) => a?.kind === 'target')) return 'target';
    return slots.find((a) => a !== undefined)?.kind;
  }

  #hop(ttl: number): TracedHop {
    const answers = (this.#answers[ttl - 1] ?? []).filter((a): a is HopAnswer => a !== undefined);
    const sent = this.#sent[ttl - 1] ?? 0;
    if (answers.length === 0) return { ttl, address: null, sent, received: 0, medianMs: null };
    const counts = new Map<string, number>();
    for (const a of answers) counts.set(a.from, (counts.get(a.from) ?? 0) + 1);
    // Most answers first; ties by address, so the choice is stable.
    const ranked = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    const hop: TracedHop = {
      ttl,
      address: ranked[0]![0],
      sent,
      received: answers.length,
      medianMs: median(answers.map((a) => a.rttMs)),
      ...(ranked.length > 1 ? { others: ranked.slice(1).map(([a]) => a) } : {}),
      ...(ttl === this.#endTtl && answers.every((a) => a.kind === 'unreachable')
        ? { unreachable: true as const }
        : {}),
    };
    return hop;
  }
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
