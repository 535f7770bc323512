// The probe kinds a target may name. A new kind is a folder beside icmp/
// with a kind.ts, and one line here.

import { icmpKind } from './icmp/kind.js';
import { tcpKind } from './tcp/kind.js';
import type { ProbeKind } from './prober.js';
import { udpKind } from './udp/kind.js';
import { throughputKind } from '../throughput/kind.js';

const KINDS: readonly ProbeKind[] = [icmpKind, tcpKind, udpKind, throughputKind];

export const DEFAULT_PROBE_KIND = 'icmp';
export const PROBE_KIND_NAMES: readonly string[] = KINDS.map((k) => k.name);

export function probeKind(name: string): ProbeKind | undefined {
  return KINDS.find((k) => k.name === name);
}

export function allProbeKinds(): readonly ProbeKind[] {
  return KINDS;
}
