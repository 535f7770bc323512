// What the fault responder (responder.ts) does to each echo request, and the
// log it keeps of it. Pure, shared by the responder and the tests that check
// netpingd's numbers against that log.
//
// The choice for a request is a function of the seed and the request alone
// (our wide sequence, or the identifier and sequence of another pinger's
// echo), not of arrival order, so a run with three pingers replays exactly.

import { seededRandom } from './prng.js';

export const ACTIONS = [
  'reply', // one reply after delay ± jitter
  'drop', // no reply
  'dup', // two replies after delay ± jitter
  'late', // one reply after the late delay (beyond netpingd's --timeout)
  'foreign', // a reply with another identifier, instead of ours
  'corrupt', // a reply with a flipped payload byte and the old checksum (IPv4 only)
  'truncate', // a reply cut after 20 bytes of ICMP, checksum recomputed
  'unreachable', // an ICMP destination unreachable quoting the request
] as const;
export type Action = (typeof ACTIONS)[number];

export interface ResponderConfig {
  readonly family: 4 | 6;
  readonly seed: number;
  /** Probability of each action but 'reply', which takes the rest. */
  readonly faults: Partial<Record<Exclude<Action, 'reply'>, number>>;
  readonly delayMs: number;
  /** The delay is uniform in [delayMs - jitterMs, delayMs + jitterMs]. */
  readonly jitterMs: number;
  /** How long 'late' replies are held. */
  readonly lateMs: number;
  /** Where the JSON lines go, one per request (plus one per failed send). */
  readonly logPath: string;
  /** The address requests come to, for the IPv6 header quoted in an error. */
  readonly localAddress: string;
  /** What requests get once the responder is told to stop injecting (SIGUSR1): 'reply' by default. */
  readonly afterStop?: 'reply' | 'drop';
  /** The responder exits by itself after this long, should nobody stop it. */
  readonly maxLifetimeMs: number;
}

/** The udp responder's (udp-responder.ts): the same plan, where it answers, and the peer key. */
export interface UdpResponderConfig extends ResponderConfig {
  readonly port: number;
  readonly peerKey: string;
}

/** One line of the responder's log. */
export interface LogEntry {
  /** Whose request: netping's (our payload), or another pinger's. */
  readonly ours: boolean;
  readonly id: number;
  readonly seq: number;
  /** From our payload; null for another pinger's echo. */
  readonly wideSeq: number | null;
  /** ICMP message bytes of the request. */
  readonly bytes: number;
  readonly action: Action;
  /** The time the reply was actually held, receipt to sendto(); 0 when none was sent. */
  readonly delayMs: number;
  /** The hold decided; delayMs - plannedMs is how late the responder's timer fired. */
  readonly plannedMs: number;
  /** Set after the fact when sending the reply failed (e.g. during an outage). */
  readonly sendError?: string;
  /** Set on requests answered after the responder was told to stop injecting. */
  readonly clean?: boolean;
}

/** The key that makes the decision for a request independent of arrival order. */
export function requestKey(wideSeq: number | null, id: number, seq: number): number {
  return wideSeq !== null ? wideSeq : 0x8000_0000 + ((id << 16) | seq);
}

export interface Decision {
  readonly action: Action;
  /** How long to hold the reply; undefined for actions that send nothing. */
  readonly holdMs: number;
}

export function decide(cfg: ResponderConfig, key: number, clean: boolean): Decision {
  // A fresh generator per request, seeded from (seed, key): mulberry32's
  // first outputs are well mixed even for neighbouring seeds.
  const rnd = seededRandom((Math.imul(cfg.seed, 0x9e37_79b1) ^ key) >>> 0);
  rnd();
  const roll = rnd();
  const jitter = (2 * rnd() - 1) * cfg.jitterMs;
  const holdMs = Math.max(0, cfg.delayMs + jitter);
  if (clean) return { action: cfg.afterStop ?? 'reply', holdMs: 0 };
  let acc = 0;
  for (const action of ACTIONS) {
    if (action === 'reply') continue;
    acc += cfg.faults[action] ?? 0;
    if (roll < acc) {
      if (action === 'late') return { action, holdMs: cfg.lateMs };
      return { action, holdMs: action === 'drop' ? 0 : holdMs };
    }
  }
  return { action: 'reply', holdMs };
}

/** Parses the log; a torn last line (still being written) is left out. */
export function parseLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    try {
      out.push(JSON.parse(line) as LogEntry);
    } catch {
      // a partial line at the end of a file being appended to
    }
  }
  return out;
}

export type Tally = Record<Action, number> & { requests: number; sendErrors: number };

/** Counts the actions of the entries that `pick` selects. */
export function tally(entries: readonly LogEntry[], pick: (e: LogEntry) => boolean): Tally {
  const t = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>;
  let requests = 0;
  let sendErrors = 0;
  for (const e of entries) {
    if (!pick(e)) continue;
    requests++;
    t[e.action]++;
    if (e.sendError !== undefined) sendErrors++;
  }
  return { ...t, requests, sendErrors };
}

/** What netpingd must count for a target whose probes met the tallied fates. */
export function expectedCounts(t: Tally): {
  lost: number;
  late: number;
  duplicates: number;
  answered: number;
} {
  return {
    lost: t.drop + t.late + t.foreign + t.corrupt + t.truncate + t.unreachable,
    late: t.late,
    duplicates: t.dup,
    answered: t.reply + t.dup, // received, or still in flight at the end
  };
}

/**
 * How late the responder's own timers fired in a run (held minus planned),
 * over the entries that sent something: a direct measure of the scheduling
 * delays the machine imposed on processes in the run, netpingd included.
 */
export function timerLateness(entries: readonly LogEntry[]): {
  meanMs: number;
  maxMs: number;
  over: (ms: number) => number;
} {
  const late = entries
    .filter((e) => e.action !== 'drop' && e.plannedMs >= 1)
    .map((e) => Math.max(0, e.delayMs - e.plannedMs));
  const meanMs = late.length > 0 ? late.reduce((a, b) => a + b, 0) / late.length : 0;
  return { meanMs, maxMs: Math.max(0, ...late), over: (ms) => late.filter((l) => l > ms).length };
}
