// The peer responder: answers other netpingd's udp probes on --peer-listen,
// only when this daemon has a peer key. What to answer is peer-policy.ts's
// decision; this file is the socket, and the count of every drop by reason
// (exported as netping_packets_ignored_total{reason="peer:..."}).

import { performance } from 'node:perf_hooks';
import { isIPv6 } from 'node:net';
import { ListenError } from '../../errors.js';
import { formatListen, type ListenAddress } from '../../listen.js';
import { openUdpTransport } from './open-transport.js';
import { ownAddresses } from './own-addresses.js';
import { PeerPolicy, type PeerPolicyOptions } from './peer-policy.js';
import { SendError } from '../prober.js';
import type { UdpTransportChoice } from './transport-choice.js';
import type { UdpTransport } from './transport.js';

const MAX_PROBLEMS_KEPT = 100;

export interface PeerResponderOptions extends Omit<PeerPolicyOptions, 'isOurs'> {
  readonly listen: ListenAddress;
  /** Destinations answered for besides this host's own addresses (own-addresses.ts). */
  readonly alsoAnswerFor?: readonly string[];
  /** Default performance.now. */
  readonly nowMs?: () => number;
  /** Default Date.now. */
  readonly wallNowMs?: () => number;
  /** The socket layer (`--udp-transport`); default auto. */
  readonly transport?: UdpTransportChoice;
}

export class PeerResponder {
  readonly #socket: UdpTransport;
  readonly #policy: PeerPolicy;
  readonly #nowMs: () => number;
  readonly #wallNowMs: () => number;
  /** Drops by reason ('peer:bad-mac', ...), and 'peer:send-error' for answers the kernel refused. */
  readonly dropped = new Map<string, number>();
  answered = 0;
  readonly #problems: string[] = [];
  #closed = false;

  private constructor(socket: UdpTransport, opts: PeerResponderOptions) {
    this.#socket = socket;
    this.#nowMs = opts.nowMs ?? (() => performance.now());
    const nowMs = this.#nowMs;
    this.#policy = new PeerPolicy({
      ...opts,
      isOurs: ownAddresses({
        host: opts.listen.host,
        port: () => socket.address().port,
        ...(opts.alsoAnswerFor ? { also: opts.alsoAnswerFor } : {}),
        nowMs,
      }),
    });
    this.#wallNowMs = opts.wallNowMs ?? Date.now;
    socket.onDatagram((packet, address, port, atMs) => {
      try {
        this.#onPacket(packet, address, port, atMs);
      } catch (err) {
        // The daemon never dies from one bad packet.
        this.#problem(`peer responder: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  /** What it runs on: `native` (kernel stamps) or `dgram`. */
  get transport(): string {
    return this.#socket.transport;
  }

  /**
   * Binds `opts.listen`: all addresses is `::` dual-stack where the host has
   * IPv6, else 0.0.0.0. A bind failure is a ListenError (one line, exit 5).
   */
  static async start(opts: PeerResponderOptions): Promise<PeerResponder> {
    const { host, port } = opts.listen;
    const choice = opts.transport ?? 'auto';
    let socket: UdpTransport;
    try {
      if (host !== undefined) {
        socket = await openUdpTransport(choice, {
          family: isIPv6(host) ? 6 : 4,
          port,
          host,
          dualStack: true,
        });
      } else {
        try {
          socket = await openUdpTransport(choice, { family: 6, port, host: '::', dualStack: true });
        } catch (err) {
          if (!noIpv6(err)) throw err;
          socket = await openUdpTransport(choice, { family: 4, port, host: '0.0.0.0' });
        }
      }
    } catch (err) {
      throw new ListenError(
        `cannot answer peers on udp ${formatListen(opts.listen)}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    return new PeerResponder(socket, opts);
  }

  /** Where it listens (the port the kernel chose, for port 0). */
  address(): { address: string; port: number } {
    return this.#socket.address();
  }

  #onPacket(packet: Buffer, address: string, port: number, receivedAtMs: number): void {
    // The hold in the transport's clock (performance.now), whatever nowMs is.
    const heldMs = performance.now() - receivedAtMs;
    const decision = this.#policy.decide(packet, address, this.#nowMs(), this.#wallNowMs(), heldMs);
    if (decision.drop !== undefined) return this.#count(decision.drop);
    // Nothing answers to port 0, and nothing of ours sends from it.
    if (port === 0) return this.#count('peer:foreign');
    this.answered++;
    try {
      this.#socket.send(decision.answer, address, port, this.#sendFailed(address));
    } catch (err) {
      this.#sendFailed(address)(
        err instanceof SendError ? err.code : 'EUNKNOWN',
        err instanceof Error ? err.message : String(err),
      );
    }
  }

  #sendFailed(address: string): (code: string, message: string) => void {
    return (_code, message) => {
      this.#count('peer:send-error');
      this.#problem(`peer responder: answer to ${address}: ${message}`);
    };
  }

  #count(reason: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  #problem(line: string): void {
    if (this.#problems.length < MAX_PROBLEMS_KEPT) this.#problems.push(line);
  }

  takeProblems(): string[] {
    return [...this.#problems.splice(0), ...this.#socket.takeProblems()];
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return this.#socket.close();
  }
}

function noIpv6(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL' || code === 'EPROTONOSUPPORT';
}
