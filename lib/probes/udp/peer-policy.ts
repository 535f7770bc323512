// What the peer responder does with one received datagram: answer it, or
// drop it and say why. Pure (clocks passed in), so every rule is unit-tested
// without sockets; responder.ts does the I/O.
//
// The checks run cheapest first, and the answer budget is spent last, so
// that packets we would refuse anyway (a spoofed flood, replays) cannot use
// up a real peer's answers:
//   form (size, magic, version, type) → the global check budget → MAC →
//   destination (one of ours) → age and replay → rate per source.

import {
  decodeUdpPacket,
  encodeUdpPacket,
  PacketType,
  UDP_PACKET_BYTES,
  udpFormRejection,
} from './packet.js';
import { CheckBudget, RateLimiter } from './rate-limit.js';
import { ReplayWindow } from './replay-window.js';

/** Why the responder did not answer, as counted in netping_packets_ignored_total{reason}. */
export type PeerDropReason =
  | 'peer:truncated'
  | 'peer:oversized'
  | 'peer:foreign'
  | 'peer:version'
  | 'peer:budget'
  | 'peer:bad-mac'
  | 'peer:not-our-address'
  | 'peer:stale'
  | 'peer:replay'
  | 'peer:rate-limit';

export type PeerDecision =
  | { readonly answer: Buffer; readonly drop?: undefined }
  | { readonly drop: PeerDropReason; readonly answer?: undefined };

export interface PeerPolicyOptions {
  readonly key: Buffer;
  /** Answers per source address per second. */
  readonly maxRatePerS: number;
  /** MAC checks per second from all sources together (the rest dropped unchecked). */
  readonly maxChecksPerS?: number;
  /**
   * Whether a probe sent to this address and port reached us (and not a
   * relay in front of someone else); without it, every destination is.
   */
  readonly isOurs?: (address: string, port: number) => boolean;
  readonly maxAgeMs?: number;
  readonly maxStreams?: number;
  readonly maxSources?: number;
}

export const DEFAULT_PEER_MAX_RATE = 1000;
/** 4 µs each: 40 ms of a second on the loop at most, ten sources at the full per-source rate. */
export const DEFAULT_PEER_MAX_CHECKS = 10_000;

export class PeerPolicy {
  readonly #key: Buffer;
  readonly replay: ReplayWindow;
  readonly rate: RateLimiter;
  readonly budget: CheckBudget;
  readonly #isOurs: (address: string, port: number) => boolean;

  constructor(opts: PeerPolicyOptions) {
    this.#key = opts.key;
    this.budget = new CheckBudget({ perS: opts.maxChecksPerS ?? DEFAULT_PEER_MAX_CHECKS });
    this.#isOurs = opts.isOurs ?? (() => true);
    this.replay = new ReplayWindow({
      ...(opts.maxAgeMs === undefined ? {} : { maxAgeMs: opts.maxAgeMs }),
      ...(opts.maxStreams === undefined ? {} : { maxStreams: opts.maxStreams }),
    });
    this.rate = new RateLimiter({
      ratePerS: opts.maxRatePerS,
      ...(opts.maxSources === undefined ? {} : { maxSources: opts.maxSources }),
    });
  }

  /**
   * The answer to `packet` from `source`, or why there is none. `nowMs` is
   * monotonic (the rate limit), `nowWallMs` the wall clock (the probe's age),
   * `heldMs` how long the probe waited here since it arrived (from the
   * kernel's stamp where there is one), which the answer says.
   * The answer is a new buffer of exactly the probe's size.
   */
  decide(
    packet: Buffer,
    source: string,
    nowMs: number,
    nowWallMs: number,
    heldMs = 0,
  ): PeerDecision {
    const form = udpFormRejection(packet, PacketType.probe);
    if (form !== undefined) return { drop: `peer:${form}` };
    if (!this.budget.take(source, nowMs)) return { drop: 'peer:budget' };
    const decoded = decodeUdpPacket(packet, PacketType.probe, this.#key);
    if (!decoded.ok) return { drop: `peer:${decoded.reason}` };
    this.budget.proved(source, nowMs);
    const f = decoded.fields;
    if (!this.#isOurs(f.toAddress, f.toPort)) return { drop: 'peer:not-our-address' };
    const verdict = this.replay.check(
      f.nonceHi,
      f.nonceLo,
      f.token,
      f.seq,
      f.sentAtWallMs,
      nowWallMs,
    );
    if (verdict !== 'fresh') return { drop: `peer:${verdict}` };
    if (!this.rate.take(source, nowMs)) return { drop: 'peer:rate-limit' };
    // Never more bytes than received: the answer is a packet, and so was the probe.
    return {
      answer: encodeUdpPacket(
        PacketType.answer,
        { ...f, heldMs },
        this.#key,
        Buffer.allocUnsafe(UDP_PACKET_BYTES),
      ),
    };
  }
}
