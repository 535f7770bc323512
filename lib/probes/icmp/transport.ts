import type { Family } from '../../address.js';

/**
 * The narrow seam between the ICMP engine and the socket. The only real
 * implementation wraps raw-socket (raw-transport.ts); tests drive the engine
 * with a fake one.
 */
export interface IcmpTransport {
  readonly family: Family;
  /**
   * Sends one packet now, synchronously. Throws SendError (../prober.ts) when the kernel
   * refuses it (no route, network down, buffer full).
   */
  send(packet: Buffer, address: string): void;
  /**
   * Called once per received packet. `packet` is only valid during the call
   * (the receive buffer is reused); `receivedAtMs` was stamped first thing.
   */
  onPacket(handler: (packet: Buffer, source: string, receivedAtMs: number) => void): void;
  /** Socket-level trouble seen since the last call (not any one probe's), for the log. */
  takeProblems(): string[];
  /** Reads and hands on every packet already queued in the socket, now. */
  drain(): void;
  close(): void;
}
