// The seam between the engine, which knows nothing of protocols (schedule,
// ledger, statistics), and a probe kind, which knows how to send one probe
// and recognise its answer. Each kind lives in its own folder under
// lib/probes/ and is registered in kinds.ts.

import type { Family } from '../address.js';
import type { Target } from '../target.js';
import type { IcmpTransportChoice } from './icmp/transport-choice.js';
import type { UdpTransportChoice } from './udp/transport-choice.js';

/** One probe to send: `token` names the target (unique over all kinds), `seq` the probe. */
export interface Probe {
  readonly target: Target;
  readonly token: number;
  /** The target's wide sequence number (at most 2^53). */
  readonly seq: number;
  /** Monotonic milliseconds, stamped right before the send. */
  readonly sentAtMs: number;
}

/**
 * What a prober tells the engine. Every call is cheap and synchronous; the
 * engine classifies (received, late, duplicate, unknown) with the target's
 * ledger.
 */
export interface ProbeSink {
  /**
   * An answer to probe `seq` of the target with `token`, read at `atMs`.
   * `source` is the address it answers for, checked against the target's:
   * where it came from (ICMP), the destination a udp answer's MAC names
   * (a responder may send it from another of its addresses), or undefined
   * where the answer proves its origin already (a TCP connection).
   * `answer` names an unusual but valid answer (e.g. `tcp:refused`): the
   * probe counts as received, and by that name.
   */
  reply(
    token: number,
    seq: number,
    source: string | undefined,
    atMs: number,
    answer?: string,
  ): void;
  /** Probe `seq` ended without an answer (an ICMP error, a TCP failure): lost, with `reason`. */
  fail(token: number, seq: number, reason: string): void;
  /** A packet that counts for no probe, by reason (netping_packets_ignored_total). */
  ignore(reason: string): void;
  /**
   * The probe in flight to `address`, of this kind, whose sequence
   * satisfies `matches`: for answers that carry only part of our probe
   * (an old router's ICMP error quotes 8 bytes).
   */
  findInFlight(
    address: string,
    matches: (seq: number) => boolean,
  ): { token: number; seq: number } | undefined;
}

export interface Prober {
  /**
   * What the prober runs on, as labels of `netping_<kind>_transport_info`
   * (icmp, udp: `transport`, `clock`).
   */
  readonly info?: Readonly<Record<string, string>>;
  /** Called once, before the first send. */
  bind(sink: ProbeSink): void;
  /**
   * Sends one probe now. Throws SendError when it cannot go out (the kernel
   * refused it, no socket for the family, a cap reached): the probe is lost
   * with reason `send:<code>`. Returns the send time (the engine's clock)
   * where the kind stamps it closer to the syscall than `probe.sentAtMs`, in
   * the clock of its receive stamps (the icmp kind's kernel timestamps).
   */
  send(probe: Probe): number | void;
  /**
   * The probe's deadline is due: an answer the kernel already has but the
   * event loop has not yet delivered (a tcp handshake done, its callback
   * not yet run) is reported now, through the sink, before the probe is
   * counted lost. Called for every probe whose deadline comes, answered or not.
   */
  collect?(token: number, seq: number): void;
  /** The probe's deadline passed (it is lost): release what was held for it. */
  expire?(token: number, seq: number): void;
  /** Reads and hands on every answer already queued for this family, now. */
  drain(family: Family): void;
  /** Trouble seen since the last call (not any one probe's), for the log. */
  takeProblems(): string[];
  close(): void;
}

/** A probe that could not go out; `code` is an errno name (ENETUNREACH) or our own (no-peer-key). */
export class SendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

/** What a prober may need from the daemon when it is opened. */
export interface ProberContext {
  /** A log line; never throws. */
  readonly log: (line: string) => void;
  /** ICMP: bytes of payload after the header. */
  readonly payloadBytes: number;
  /** The shared secret of netpingd peers (udp), when configured. */
  readonly peerKey: Buffer | undefined;
  /** TCP: the most connections in flight at once. */
  readonly tcpMaxInFlight: number;
  /** ICMP: which socket layer (`--icmp-transport`). */
  readonly icmpTransport: IcmpTransportChoice;
  /** udp: which socket layer for probes and the peer responder (`--udp-transport`). */
  readonly udpTransport: UdpTransportChoice;
}

/** A probe kind as targets name it, and how to open its prober. */
export interface ProbeKind {
  /** What `probe=` says in a member, e.g. `tcp`. */
  readonly name: string;
  /** `required`: the target names a port; a number: the port when none is named; absent: no port. */
  readonly port?: 'required' | number;
  /**
   * Opens the kind's sockets. Loaded on first use, so npcli, which only
   * parses targets, never loads a prober's native code. Absent for a kind
   * with its own runner.
   */
  open?(ctx: ProberContext): Promise<Prober>;
  /**
   * Not probed by the engine: TargetSync hands such targets to the kind's
   * own runner (throughput tests, which stream for seconds every few minutes).
   */
  readonly ownRunner?: true;
  /**
   * The kind's own schedule options, `every` and `duration` in a member
   * (in place of `interval` and `timeout`): their defaults and bounds.
   */
  readonly schedule?: {
    readonly every: ScheduleOption;
    readonly duration: ScheduleOption;
  };
}

export interface ScheduleOption {
  readonly defaultMs: number;
  readonly bounds: readonly [number, number];
}
