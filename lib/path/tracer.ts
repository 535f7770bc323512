// Traces paths on sockets of their own (never the regular probes'): echo
// requests with a TTL per send, each matched back by our identifier, the
// tracer's token and a wide sequence in the payload (or, when a router
// quotes only 8 bytes, by the ICMP sequence), to its echo reply or to the
// time-exceeded / unreachable error about it; then, with don't-fragment set
// on the socket, the path MTU search (pmtu-search.ts). What to send next is
// decided by the pure TraceRun and PmtuSearch; this file sends, matches and
// times out.

import { constants } from 'node:os';
import { canonicalAddress, withoutZone, type Family } from '../address.js';
import type { Clock, TimerHandle } from '../engine/clock.js';
import { SendError } from '../probes/prober.js';
import {
  decodeReceived,
  encodeEchoRequest,
  ICMP_HEADER_BYTES,
  MIN_PAYLOAD_BYTES,
} from '../probes/icmp/packet.js';
import { addTraceIdentifier, removeTraceIdentifier } from '../probes/icmp/trace-identifiers.js';
import {
  IP_MTU_DISCOVER,
  IP_PMTUDISC_PROBE,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_MTU_DISCOVER,
  IPV6_PMTUDISC_PROBE,
} from '../probes/icmp/socket-options.js';
import type { IcmpTransport } from '../probes/icmp/transport.js';
import { PmtuSearch, START_MTU, type PmtuOutcome } from './pmtu-search.js';
import { TraceRun, type HopAnswer, type TracePlan, type TracedHop } from './trace-run.js';

/** The payload of a trace probe: what ping sends, like the regular probes. */
const TRACE_PAYLOAD_BYTES = 56;
const IP_HEADER_BYTES: Record<Family, number> = { 4: 20, 6: 40 };
/**
 * Trace probes' wide sequences start here, far above any regular probe's, so
 * that nothing counting a target's probes by sequence (the fault
 * responder's log in tests) takes a trace probe for one of them.
 */
const SEQ_BASE = 2 ** 47;
/** How native-transport.ts words a local EMSGSIZE on the error queue. */
const EMSGSIZE_PROBLEM = `socket error: errno ${constants.errno.EMSGSIZE}`;
/** Far enough for any path; the search's probes must reach the target. */
const FULL_TTL = 64;

export interface PathTrace {
  readonly reached: boolean;
  readonly hops: readonly TracedHop[];
  /** Path MTU in bytes (whole IP packets); null when not found or not searched. */
  readonly mtu: number | null;
}

export interface TracerOptions {
  readonly transports: Partial<Record<Family, IcmpTransport>>;
  /** The echo identifier the trace sockets' packets carry. */
  readonly identifier: number;
  readonly clock: Clock;
  readonly randomUint32: () => number;
  readonly plan: TracePlan;
  readonly timeoutMs: number;
}

type ProbeAnswer =
  | { readonly kind: 'reply'; readonly from: string; readonly rttMs: number }
  | {
      readonly kind: 'error';
      readonly reason: string;
      readonly from: string;
      readonly rttMs: number;
      readonly mtu?: number;
    }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'refused'; readonly code: string };

interface Pending {
  readonly family: Family;
  readonly destination: string;
  readonly sentAtMs: number;
  readonly timer: TimerHandle;
  readonly done: (answer: ProbeAnswer) => void;
}

export class Tracer {
  readonly #opts: TracerOptions;
  readonly #token: number;
  readonly #pending = new Map<number, Pending>();
  /** Families whose socket took don't-fragment: the MTU search runs there only. */
  readonly #dontFragment = new Set<Family>();
  #seq: number;
  #closed = false;

  constructor(opts: TracerOptions) {
    this.#opts = opts;
    this.#token = opts.randomUint32() >>> 0;
    this.#seq = SEQ_BASE + (opts.randomUint32() % 0x10000);
    addTraceIdentifier(opts.identifier);
    for (const transport of Object.values(opts.transports)) {
      const family = transport.family;
      const ipHeader = transport.ipHeader ?? family === 4;
      transport.onPacket((packet, source, atMs) =>
        this.#onPacket(family, ipHeader, packet, source, atMs),
      );
      try {
        if (family === 4) transport.setOption?.(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
        else transport.setOption?.(IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE);
        if (transport.setOption) this.#dontFragment.add(family);
      } catch {
        // Left without the MTU search; traces work as before.
      }
    }
  }

  /** Whether this family's path MTU can be searched. */
  searchesMtu(family: Family): boolean {
    return this.#dontFragment.has(family);
  }

  async trace(address: string, family: Family): Promise<PathTrace> {
    const run = new TraceRun(this.#opts.plan);
    for (let window = run.nextWindow(); window.length > 0; window = run.nextWindow()) {
      await Promise.all(
        window.map(async (probe) => {
          const answer = await this.#probe(family, address, probe.ttl, TRACE_PAYLOAD_BYTES);
          if (answer.kind === 'refused') return;
          run.sent(probe);
          const hop = hopAnswer(answer);
          if (hop) run.answered(probe, hop);
        }),
      );
      if (this.#closed) break;
    }
    const { reached, hops } = run.outcome();
    const mtu = reached && this.searchesMtu(family) ? await this.#searchMtu(address, family) : null;
    return { reached, hops, mtu };
  }

  async #searchMtu(address: string, family: Family): Promise<number | null> {
    // The trace's own echoes got there, with don't-fragment set.
    const passed = IP_HEADER_BYTES[family] + ICMP_HEADER_BYTES + TRACE_PAYLOAD_BYTES;
    const search = new PmtuSearch(family, START_MTU, passed);
    for (let size = search.next(); size !== undefined && !this.#closed; size = search.next()) {
      const payload = size - IP_HEADER_BYTES[family] - ICMP_HEADER_BYTES;
      const answer = await this.#probe(family, address, FULL_TTL, payload);
      search.record(size, pmtuOutcome(answer));
    }
    return search.result();
  }

  /** One echo request, answered, refused or timed out. */
  #probe(family: Family, address: string, ttl: number, payloadBytes: number): Promise<ProbeAnswer> {
    const transport = this.#opts.transports[family];
    if (!transport || this.#closed)
      return Promise.resolve({ kind: 'refused', code: `no-ipv${family}-socket` });
    const seq = this.#nextSeq();
    const clock = this.#opts.clock;
    const packet = Buffer.alloc(ICMP_HEADER_BYTES + Math.max(MIN_PAYLOAD_BYTES, payloadBytes));
    let sentAtMs = clock.nowMs();
    encodeEchoRequest(
      family,
      { identifier: this.#opts.identifier, token: this.#token, wideSeq: seq, sentAtMs },
      packet,
    );
    try {
      const stamped = transport.send(packet, address, ttl);
      if (typeof stamped === 'number') sentAtMs = stamped;
    } catch (err) {
      return Promise.resolve({
        kind: 'refused',
        code: err instanceof SendError ? err.code : 'EUNKNOWN',
      });
    }
    return new Promise((resolve) => {
      const timer = clock.setTimer(() => this.#end(seq, { kind: 'timeout' }), this.#opts.timeoutMs);
      this.#pending.set(seq, {
        family,
        destination: withoutZone(canonicalAddress(address)),
        sentAtMs,
        timer,
        done: resolve,
      });
      // Answers already queued (a fast loopback, a fake) are read now.
      transport.drain();
    });
  }

  #nextSeq(): number {
    // Past 2^48 wraps to the base, long after any probe ended.
    this.#seq = this.#seq + 1 >= 2 ** 48 ? SEQ_BASE : this.#seq + 1;
    return this.#seq;
  }

  #end(seq: number, answer: ProbeAnswer): void {
    const pending = this.#pending.get(seq);
    if (!pending) return;
    this.#pending.delete(seq);
    this.#opts.clock.clearTimer(pending.timer);
    pending.done(answer);
  }

  #onPacket(family: Family, ipHeader: boolean, packet: Buffer, source: string, atMs: number): void {
    const decoded = decodeReceived(family, packet, ipHeader);
    if (decoded.kind !== 'reply' && decoded.kind !== 'error') return;
    if (decoded.identifier !== this.#opts.identifier) return;
    const from = withoutZone(canonicalAddress(source));
    let seq: number | undefined;
    if (decoded.echo) {
      if (decoded.echo.token !== this.#token || decoded.echo.wideSeq % 0x10000 !== decoded.seq16)
        return;
      seq = decoded.echo.wideSeq;
    } else if (decoded.kind === 'error') {
      // Old routers quote only 8 bytes of our echo: the ICMP sequence and the destination.
      const destination = withoutZone(canonicalAddress(decoded.quotedDestination ?? ''));
      for (const [s, p] of this.#pending)
        if (p.family === family && s % 0x10000 === decoded.seq16 && p.destination === destination)
          seq = s;
    }
    if (seq === undefined) return;
    const pending = this.#pending.get(seq);
    if (!pending || pending.family !== family) return;
    const rttMs = Math.max(0, atMs - pending.sentAtMs);
    if (decoded.kind === 'reply') return this.#end(seq, { kind: 'reply', from, rttMs });
    this.#end(seq, {
      kind: 'error',
      reason: decoded.reason,
      from,
      rttMs,
      ...(decoded.mtu !== undefined ? { mtu: decoded.mtu } : {}),
    });
  }

  /**
   * Socket trouble since the last call, for the log. A datagram socket
   * also queues each EMSGSIZE of the MTU search as a local error: that is
   * the search's answer (a size the interface refuses), not trouble.
   */
  takeProblems(): string[] {
    return Object.values(this.#opts.transports)
      .flatMap((t) => t.takeProblems())
      .filter((line) => !line.endsWith(EMSGSIZE_PROBLEM));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const seq of [...this.#pending.keys()]) this.#end(seq, { kind: 'timeout' });
    for (const transport of Object.values(this.#opts.transports)) transport.close();
    removeTraceIdentifier(this.#opts.identifier);
  }
}

function hopAnswer(answer: ProbeAnswer): HopAnswer | undefined {
  switch (answer.kind) {
    case 'reply':
      return { kind: 'target', from: answer.from, rttMs: answer.rttMs };
    case 'error': {
      const expired = answer.reason === 'ttl-exceeded' || answer.reason === 'hop-limit-exceeded';
      return { kind: expired ? 'hop' : 'unreachable', from: answer.from, rttMs: answer.rttMs };
    }
    default:
      return undefined;
  }
}

function pmtuOutcome(answer: ProbeAnswer): PmtuOutcome {
  switch (answer.kind) {
    case 'reply':
      return { kind: 'passed' };
    case 'refused':
      return answer.code === 'EMSGSIZE' ? { kind: 'refused' } : { kind: 'silent' };
    case 'timeout':
      return { kind: 'silent' };
    case 'error':
      if (answer.reason === 'fragmentation-needed' || answer.reason === 'packet-too-big')
        return { kind: 'too-big', ...(answer.mtu !== undefined ? { mtu: answer.mtu } : {}) };
      return { kind: 'silent' };
  }
}
