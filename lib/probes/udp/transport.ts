import type { Family } from '../../address.js';

/** `packet` is only valid during the call (a native transport reuses its buffer). */
export type DatagramHandler = (
  packet: Buffer,
  source: string,
  sourcePort: number,
  receivedAtMs: number,
) => void;

/** An ICMP error about a datagram we sent: the payload it quotes (ours, whole), its ICMP type and code. */
export type IcmpErrorHandler = (quoted: Buffer, type: number, code: number) => void;

/**
 * One bound UDP socket, as the udp prober and the peer responder use it.
 * Two implementations: our addon's (native-transport.ts: kernel receive
 * stamps, reads on demand) and node's dgram (dgram-transport.ts: stamped
 * when JavaScript reads, no read on demand), the fallback.
 */
export interface UdpTransport {
  readonly family: Family;
  /** `native` or `dgram`. */
  readonly transport: string;
  /** `kernel` or `user-space`: where receive stamps come from. */
  readonly clock: string;
  /**
   * Sends one datagram. Returns the send time in the engine's clock
   * (performance.now() ms) when the transport stamps it in its receive
   * stamps' clock. A refusal the kernel gives at once is a SendError thrown
   * (native) or `onError(code)` called later in this loop turn (dgram,
   * which may also hold on to `packet` until then).
   */
  send(
    packet: Buffer,
    address: string,
    port: number,
    onError: (code: string, message: string) => void,
  ): number | void;
  /** Called once per received datagram; `receivedAtMs` in the engine's clock. */
  onDatagram(handler: DatagramHandler): void;
  /**
   * Called once per ICMP error about a datagram we sent, where the socket
   * was opened with `receiveErrors` and can hear them (native; an
   * unconnected dgram socket never does).
   */
  onIcmpError(handler: IcmpErrorHandler): void;
  /** Where it is bound (the port the kernel chose, for port 0). */
  address(): { address: string; port: number };
  /** Reads and hands on every datagram already queued, now (dgram: nothing to do). */
  drain(): void;
  /** Socket-level trouble since the last call, for the log. */
  takeProblems(): string[];
  close(): Promise<void>;
}

/** Where to bind a UdpTransport. */
export interface UdpBind {
  readonly family: Family;
  /** 0: an ephemeral port. */
  readonly port?: number;
  /** Default: all of the family's addresses. */
  readonly host?: string;
  /** An IPv6 socket that takes IPv4 too (sources then read ::ffff:a.b.c.d). */
  readonly dualStack?: boolean;
  /** Hear of ICMP errors about our datagrams (the udp prober; native only). */
  readonly receiveErrors?: boolean;
}

/** An errno name from a thrown or reported error, or EUNKNOWN. */
export function errnoOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'EUNKNOWN';
}
