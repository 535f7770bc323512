import type { Family } from '../../lib/address.js';
import type { IcmpTransport } from '../../lib/probes/icmp/transport.js';

export interface SentPacket {
  readonly packet: Buffer; // a copy: the engine reuses its send buffer
  readonly address: string;
  readonly atMs: number;
  /** The TTL / hop limit asked for, if any (trace probes). */
  readonly ttl?: number;
}

type Handler = (packet: Buffer, source: string, receivedAtMs: number) => void;

/** An IcmpTransport that records sends and lets a test hand packets to the engine. */
export class FakeTransport implements IcmpTransport {
  readonly sent: SentPacket[] = [];
  /** Set to make the next sends throw, as a refusing kernel would. */
  failWith: Error | undefined;
  /** Called after each recorded send, e.g. to queue a reply that beats sendto() back. */
  onSend: ((sent: SentPacket) => void) | undefined;
  /**
   * Set to stamp sends as our addon's transport does (a time closer to the
   * syscall than the engine's, returned from send()): ms after the engine's clock.
   */
  sendStampLagMs: number | undefined;
  closed = false;
  drains = 0;
  /** Socket-level trouble for the engine's owner to collect. */
  readonly problems: string[] = [];
  #handler: Handler | undefined;
  #queued: { packet: Buffer; source: string; atMs: number }[] = [];

  constructor(
    readonly family: Family,
    readonly nowMs: () => number,
  ) {}

  send(packet: Buffer, address: string, ttl?: number): number | void {
    if (this.failWith) throw this.failWith;
    const sent = {
      packet: Buffer.from(packet),
      address,
      atMs: this.nowMs(),
      ...(ttl !== undefined ? { ttl } : {}),
    };
    this.sent.push(sent);
    this.onSend?.(sent);
    if (this.sendStampLagMs !== undefined) return sent.atMs + this.sendStampLagMs;
  }

  onPacket(handler: Handler): void {
    this.#handler = handler;
  }

  takeProblems(): string[] {
    return this.problems.splice(0);
  }

  /** Delivers a packet now, as a socket wake-up would. */
  inject(packet: Buffer, source: string, atMs = this.nowMs()): void {
    if (!this.#handler) throw new Error('no packet handler registered');
    this.#handler(packet, source, atMs);
  }

  /** Leaves a packet in the "socket buffer" until the engine calls drain(). */
  queue(packet: Buffer, source: string, atMs = this.nowMs()): void {
    this.#queued.push({ packet, source, atMs });
  }

  drain(): void {
    this.drains++;
    const queued = this.#queued;
    this.#queued = [];
    for (const q of queued) this.inject(q.packet, q.source, q.atMs);
  }

  close(): void {
    this.closed = true;
  }
}
