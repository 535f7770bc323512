// An ProbeEngine wired to a fake clock and fake transports, and the packets
// a test needs to answer or refuse its probes.

import type { Family } from '../../lib/address.js';
import { ProbeEngine, type ProbedTarget } from '../../lib/engine/probe-engine.js';
import { IcmpProber } from '../../lib/probes/icmp/prober.js';
import { makeTarget, targetKey, type Target } from '../../lib/target.js';
import { FakeClock } from './fake-clock.js';
import { FakeTransport, type SentPacket } from './fake-transport.js';
import { echoReplyFor } from './packets.js';
import { seededUint32 } from './prng.js';

export const IDENTIFIER = 0x4242;
export const START_MS = 10_000;

export interface Harness {
  readonly clock: FakeClock;
  readonly t4: FakeTransport;
  readonly t6: FakeTransport;
  readonly engine: ProbeEngine;
  /** Removed targets the engine retired (their last probe ended), in order. */
  readonly retired: ProbedTarget[];
  /** Adds a target and returns what the engine knows of it. */
  add(name: string, address: string, intervalMs?: number, timeoutMs?: number): ProbedTarget;
}

/**
 * `firstProbeAtOnce` is off unless asked for: most tests reason about
 * sends on the slot grid; first probes have their own tests.
 */
export function makeHarness(
  opts: {
    ipv6?: boolean;
    seed?: number;
    firstProbeAtOnce?: boolean;
    onOutcome?: (p: ProbedTarget, lost: string | null) => void;
  } = {},
): Harness {
  const clock = new FakeClock(START_MS);
  const t4 = new FakeTransport(4, () => clock.nowMs());
  const t6 = new FakeTransport(6, () => clock.nowMs());
  const retired: ProbedTarget[] = [];
  const engine = new ProbeEngine({
    clock,
    probers: {
      icmp: new IcmpProber({
        transports: opts.ipv6 === false ? { 4: t4 } : { 4: t4, 6: t6 },
        identifier: IDENTIFIER,
        payloadBytes: 56,
      }),
    },
    randomUint32: seededUint32(opts.seed ?? 1),
    onRetired: (p) => retired.push(p),
    firstProbeAtOnce: opts.firstProbeAtOnce ?? false,
    ...(opts.onOutcome ? { onOutcome: opts.onOutcome } : {}),
  });
  const add = (name: string, address: string, intervalMs = 1000, timeoutMs = 500): ProbedTarget => {
    const target: Target = makeTarget(name, address);
    engine.add(target, { intervalMs, timeoutMs });
    const probed = engine.get(targetKey(target));
    if (!probed) throw new Error(`engine did not add ${targetKey(target)}`);
    return probed;
  };
  return { clock, t4, t6, engine, retired, add };
}

export function transportFor(h: Harness, family: Family): FakeTransport {
  return family === 4 ? h.t4 : h.t6;
}

/** The last packet sent, failing loudly when there is none. */
export function lastSent(t: FakeTransport): SentPacket {
  const sent = t.sent.at(-1);
  if (!sent) throw new Error('nothing was sent');
  return sent;
}

/** Answers a probe as its target would, at `atMs` (now by default). */
export function answer(
  t: FakeTransport,
  sent: SentPacket,
  atMs?: number,
  from = sent.address,
): void {
  t.inject(echoReplyFor(t.family, sent.packet, from), from, atMs);
}

/** The probe's wide sequence, read back from the payload it carries. */
export function wideSeqOf(sent: SentPacket): number {
  return sent.packet.readUInt32BE(16) * 2 ** 32 + sent.packet.readUInt32BE(20);
}

/** sent = received + lost + in flight, the one invariant every probe keeps. */
export function balance(p: ProbedTarget): { sent: number; accounted: number } {
  const s = p.stats;
  return { sent: s.sent, accounted: s.received + s.lost + p.ledger.inFlight };
}
