// The outage state machine: a target is down after `downAfter` consecutive
// lost probes and up again after `upAfter` consecutive answers. Pure: the
// caller hands in each probe's end with its wall time; nothing here reads
// a clock or does I/O, so it runs on the probe path (O(1) per probe).

import type { Labels } from '../labels.js';
import type { Outage } from './outage.js';

export interface OutageRules {
  readonly downAfter: number;
  readonly upAfter: number;
}

export const DEFAULT_OUTAGE_RULES: OutageRules = { downAfter: 3, upAfter: 3 };

/** What the detector needs to know of a target to name its outage. */
export interface OutageSubject {
  readonly key: string;
  readonly target: string;
  readonly address: string;
  readonly probe: string;
  readonly labels: Labels;
}

export type OutageChange =
  | { readonly kind: 'opened'; readonly outage: Outage }
  | { readonly kind: 'closed'; readonly outage: Outage };

interface TargetState {
  lostInRow: number;
  answersInRow: number;
  /** Wall time of the first loss of the current run of losses. */
  firstLostAtMs: number;
  /** Reasons of the current run of losses, before it is an outage. */
  pending: Map<string, number>;
  /** Wall time of the first answer of the current run of answers (while open). */
  firstAnswerAtMs: number;
  open: MutableOutage | undefined;
  outages: number;
}

interface MutableOutage {
  subject: OutageSubject;
  startMs: number;
  lost: number;
  reasons: Map<string, number>;
}

export class OutageDetector {
  readonly #rules: OutageRules;
  readonly #instance: string;
  readonly #states = new Map<string, TargetState>();
  #openCount = 0;

  constructor(rules: OutageRules, instance: string) {
    this.#rules = rules;
    this.#instance = instance;
  }

  /** The number of targets down now. */
  get openCount(): number {
    return this.#openCount;
  }

  /**
   * One probe's end: `lost` is null for an answer, else its reason. Returns
   * the outage that opened or closed with it, if any.
   */
  record(subject: OutageSubject, lost: string | null, atMs: number): OutageChange | undefined {
    let s = this.#states.get(subject.key);
    if (!s) this.#states.set(subject.key, (s = freshState()));
    if (lost === null) {
      s.lostInRow = 0;
      if (s.pending.size > 0) s.pending.clear();
      if (!s.open) return undefined;
      if (s.answersInRow === 0) s.firstAnswerAtMs = atMs;
      if (++s.answersInRow < this.#rules.upAfter) return undefined;
      return this.#close(s, s.firstAnswerAtMs);
    }
    s.answersInRow = 0;
    if (s.open) {
      s.open.lost++;
      s.open.reasons.set(lost, (s.open.reasons.get(lost) ?? 0) + 1);
      return undefined;
    }
    if (s.lostInRow === 0) s.firstLostAtMs = atMs;
    s.lostInRow++;
    s.pending.set(lost, (s.pending.get(lost) ?? 0) + 1);
    if (s.lostInRow < this.#rules.downAfter) return undefined;
    s.open = { subject, startMs: s.firstLostAtMs, lost: s.lostInRow, reasons: s.pending };
    s.pending = new Map();
    s.lostInRow = 0;
    s.outages++;
    this.#openCount++;
    return { kind: 'opened', outage: this.#snapshot(s.open, null) };
  }

  #close(s: TargetState, endMs: number): OutageChange {
    const open = s.open!;
    s.open = undefined;
    s.answersInRow = 0;
    this.#openCount--;
    return { kind: 'closed', outage: this.#snapshot(open, endMs) };
  }

  /**
   * Takes up an outage that was open when the daemon last stopped: the
   * target stays down until it answers `upAfter` times. Counts into the
   * target's outages only if it was not open here already.
   */
  adopt(outage: Outage, subject: OutageSubject): void {
    if (outage.end !== null || this.#states.get(subject.key)?.open) return;
    const s = this.#states.get(subject.key) ?? freshState();
    s.open = {
      subject,
      startMs: Date.parse(outage.start),
      lost: outage.lost,
      reasons: new Map(Object.entries(outage.reasons)),
    };
    s.outages++;
    this.#openCount++;
    this.#states.set(subject.key, s);
  }

  /** A target no longer probed: its open outage, if any, ends now. */
  forget(key: string, atMs: number): OutageChange | undefined {
    const s = this.#states.get(key);
    if (!s) return undefined;
    this.#states.delete(key);
    return s.open ? this.#close(s, atMs) : undefined;
  }

  /** Whether the target is up (not in an outage): true for one never seen. */
  isUp(key: string): boolean {
    return this.#states.get(key)?.open === undefined;
  }

  /** Outages that opened for this target since the daemon started (adopted ones too). */
  outagesOf(key: string): number {
    return this.#states.get(key)?.outages ?? 0;
  }

  /** The open outage of a target, with its loss counted so far. */
  openOf(key: string): Outage | undefined {
    const open = this.#states.get(key)?.open;
    return open ? this.#snapshot(open, null) : undefined;
  }

  /** Every open outage, as it stands now. */
  *open(): Generator<Outage> {
    for (const s of this.#states.values()) if (s.open) yield this.#snapshot(s.open, null);
  }

  #snapshot(o: MutableOutage, endMs: number | null): Outage {
    return {
      id: outageId(this.#instance, o.startMs, o.subject.key),
      key: o.subject.key,
      target: o.subject.target,
      address: o.subject.address,
      probe: o.subject.probe,
      instance: this.#instance,
      labels: o.subject.labels,
      start: new Date(o.startMs).toISOString(),
      end: endMs === null ? null : new Date(endMs).toISOString(),
      lost: o.lost,
      reasons: Object.fromEntries(o.reasons),
    };
  }
}

function freshState(): TargetState {
  return {
    lostInRow: 0,
    answersInRow: 0,
    firstLostAtMs: 0,
    pending: new Map(),
    firstAnswerAtMs: 0,
    open: undefined,
    outages: 0,
  };
}

export function outageId(instance: string, startMs: number, key: string): string {
  return `${instance}:${startMs}:${key}`;
}
