import type { Family } from '../../address.js';

/** `packet` is only valid during the call (the receive buffer is reused). */
export type PacketHandler = (packet: Buffer, source: string, receivedAtMs: number) => void;

/**
 * The narrow seam between the ICMP engine and the socket. Two real
 * implementations: our addon's sockets (native-transport.ts: datagram or
 * filtered raw, kernel timestamps) and raw-socket's, the fallback
 * (raw-transport.ts); tests drive the engine with a fake one.
 */
export interface IcmpTransport {
  readonly family: Family;
  /**
   * Whether received packets start with the IP header: raw IPv4 sockets
   * hand it over, ICMP datagram sockets and IPv6 ones do not. Default: IPv4
   * does.
   */
  readonly ipHeader?: boolean;
  /**
   * Sends one packet now, synchronously, with this TTL / hop limit when
   * `ttl` is given (and the transport can). Returns the send time in the
   * engine's clock (performance.now() milliseconds) when the transport stamps
   * it in the same clock as its receive stamps, right around the syscall.
   * Throws SendError (../prober.ts) when the kernel refuses it (no route,
   * network down, buffer full).
   */
  send(packet: Buffer, address: string, ttl?: number): number | void;
  /**
   * Called once per received packet; `receivedAtMs` is the kernel's receive
   * stamp where the transport has one, else stamped first thing on reading.
   */
  onPacket(handler: PacketHandler): void;
  /**
   * setsockopt with an int value, where the transport can (the trace
   * sockets' don't-fragment setting); throws SendError when refused.
   */
  setOption?(level: number, name: number, value: number): void;
  /** Socket-level trouble seen since the last call (not any one probe's), for the log. */
  takeProblems(): string[];
  /** Reads and hands on every packet already queued in the socket, now. */
  drain(): void;
  close(): void;
}
