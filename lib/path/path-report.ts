// A target's path as /api/path and `npcli path --json` give it, and as
// text for `npcli path`. Pure.

import type { TracedHop } from './trace-run.js';

/** A hop as traced (trace-run.ts), its median rounded to the microsecond. */
export type PathHopJson = TracedHop;

export interface PathJson {
  /** The target's key, name@address. */
  readonly target: string;
  /** Unix seconds of the trace; null: not traced yet. */
  readonly at: number | null;
  readonly reached: boolean;
  readonly hops: readonly PathHopJson[];
  /** Path MTU in bytes; null when unknown. */
  readonly mtu: number | null;
  /** Route changes seen since the daemon started. */
  readonly changes: number;
  /** Unix seconds of the last route change; null: none seen. */
  readonly lastChange: number | null;
}

export interface PathFacts {
  readonly key: string;
  readonly atMs: number;
  readonly trace: {
    readonly reached: boolean;
    readonly hops: readonly TracedHop[];
    readonly mtu: number | null;
  };
  readonly changes: number;
  readonly lastChangeMs: number | null;
}

export function pathJson(facts: PathFacts): PathJson {
  return {
    target: facts.key,
    at: Math.round(facts.atMs / 1000),
    reached: facts.trace.reached,
    hops: facts.trace.hops.map((h) => ({
      ...h,
      medianMs: h.medianMs === null ? null : Math.round(h.medianMs * 1000) / 1000,
    })),
    mtu: facts.trace.mtu,
    changes: facts.changes,
    lastChange: facts.lastChangeMs === null ? null : Math.round(facts.lastChangeMs / 1000),
  };
}

export function untracedPathJson(key: string): PathJson {
  return {
    target: key,
    at: null,
    reached: false,
    hops: [],
    mtu: null,
    changes: 0,
    lastChange: null,
  };
}

/** A path for people: one line per hop, then the MTU and the route's changes. */
export function pathText(p: PathJson, nowS: number): string {
  if (p.at === null) return `${p.target}: not traced yet\n`;
  const lines = [
    `${p.target}: ${p.reached ? 'reached' : 'not reached'} in ${p.hops.length} hops, traced ${ago(nowS - p.at)}`,
  ];
  for (const h of p.hops) {
    const who =
      h.address === null
        ? '*'
        : h.address + (h.others?.length ? ` (also ${h.others.join(', ')})` : '');
    const rtt = h.medianMs === null ? '' : `  ${h.medianMs.toFixed(3)} ms`;
    const loss = h.sent > 0 ? `  ${Math.round((100 * (h.sent - h.received)) / h.sent)}% lost` : '';
    lines.push(
      `${String(h.ttl).padStart(3)}  ${who}${rtt}${loss}${h.unreachable ? '  unreachable' : ''}`,
    );
  }
  lines.push(`path MTU: ${p.mtu === null ? 'unknown' : `${p.mtu} bytes`}`);
  lines.push(
    p.lastChange === null
      ? `route changes: ${p.changes}`
      : `route changes: ${p.changes}, last ${ago(nowS - p.lastChange)}`,
  );
  return lines.join('\n') + '\n';
}

function ago(s: number): string {
  const n = Math.max(0, Math.round(s));
  if (n < 120) return `${n}s ago`;
  if (n < 7200) return `${Math.round(n / 60)}m ago`;
  return `${Math.round(n / 3600)}h ago`;
}
