// The peer responder: answers other netpingd's udp probes on --peer-listen,
// only when this daemon has a peer key. What to answer is peer-policy.ts's
// decision; this file is the socket, and the count of every drop by reason
// (exported as netping_packets_ignored_total{reason="peer:..."}).

import type dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { isIPv6 } from 'node:net';
import { ListenError } from '../../errors.js';
import { formatListen, type ListenAddress } from '../../listen.js';
import { ownAddresses } from './own-addresses.js';
import { PeerPolicy, type PeerPolicyOptions } from './peer-policy.js';
import { udpSocket } from './prober.js';

const MAX_PROBLEMS_KEPT = 100;

export interface PeerResponderOptions extends Omit<PeerPolicyOptions, 'isOurs'> {
  readonly listen: ListenAddress;
  /** Destinations answered for besides this host's own addresses (own-addresses.ts). */
  readonly alsoAnswerFor?: readonly string[];
  /** Default performance.now. */
  readonly nowMs?: () => number;
  /** Default Date.now. */
  readonly wallNowMs?: () => number;
}

export class PeerResponder {
  readonly #socket: dgram.Socket;
  readonly #policy: PeerPolicy;
  readonly #nowMs: () => number;
  readonly #wallNowMs: () => number;
  /** Drops by reason ('peer:bad-mac', ...), and 'peer:send-error' for answers the kernel refused. */
  readonly dropped = new Map<string, number>();
  answered = 0;
  readonly #problems: string[] = [];
  #closed = false;

  private constructor(socket: dgram.Socket, opts: PeerResponderOptions) {
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
    socket.on('error', (err) => this.#problem(`peer responder: ${err.message}`));
    socket.on('message', (packet, rinfo) => {
      try {
        this.#onPacket(packet, rinfo.address, rinfo.port);
      } catch (err) {
        // The daemon never dies from one bad packet.
        this.#problem(`peer responder: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  /**
   * Binds `opts.listen`: all addresses is `::` dual-stack where the host has
   * IPv6, else 0.0.0.0. A bind failure is a ListenError (one line, exit 5).
   */
  static async start(opts: PeerResponderOptions): Promise<PeerResponder> {
    const { host, port } = opts.listen;
    let socket: dgram.Socket;
    try {
      if (host !== undefined) {
        socket = await udpSocket(isIPv6(host) ? 6 : 4, port, host, true);
      } else {
        try {
          socket = await udpSocket(6, port, '::', true);
        } catch (err) {
          if (!noIpv6(err)) throw err;
          socket = await udpSocket(4, port, '0.0.0.0', true);
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
    const a = this.#socket.address();
    return { address: a.address, port: a.port };
  }

  #onPacket(packet: Buffer, address: string, port: number): void {
    const decision = this.#policy.decide(packet, address, this.#nowMs(), this.#wallNowMs());
    if (decision.drop !== undefined) return this.#count(decision.drop);
    // Nothing answers to port 0, and nothing of ours sends from it.
    if (port === 0) return this.#count('peer:foreign');
    this.answered++;
    this.#socket.send(decision.answer, port, address, (err) => {
      if (err) {
        this.#count('peer:send-error');
        this.#problem(`peer responder: answer to ${address}: ${err.message}`);
      }
    });
  }

  #count(reason: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  #problem(line: string): void {
    if (this.#problems.length < MAX_PROBLEMS_KEPT) this.#problems.push(line);
  }

  takeProblems(): string[] {
    return this.#problems.splice(0);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

function noIpv6(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL' || code === 'EPROTONOSUPPORT';
}
