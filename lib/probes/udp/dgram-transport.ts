// UdpTransport over node's dgram: the fallback when our addon did not load
// (or --udp-transport dgram). Datagrams are stamped first thing in the
// 'message' handler, so a hold of the event loop is in their RTTs.

import type dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Family } from '../../address.js';
import { SendError } from '../prober.js';
import { udpSocket } from './prober.js';
import {
  errnoOf,
  type DatagramHandler,
  type IcmpErrorHandler,
  type UdpBind,
  type UdpTransport,
} from './transport.js';

const MAX_PROBLEMS_KEPT = 100;

export class DgramUdpTransport implements UdpTransport {
  readonly transport = 'dgram';
  readonly clock = 'user-space';
  readonly #problems: string[] = [];
  #closed = false;

  constructor(
    readonly family: Family,
    readonly socket: dgram.Socket,
    readonly nowMs: () => number = () => performance.now(),
  ) {
    // A socket error must never become an uncaught exception: note it for the log.
    socket.on('error', (err) => this.#problem(`udp socket: ${err.message}`));
  }

  static async open(bind: UdpBind): Promise<DgramUdpTransport> {
    return new DgramUdpTransport(
      bind.family,
      await udpSocket(bind.family, bind.port ?? 0, bind.host, bind.dualStack ?? false),
    );
  }

  send(
    packet: Buffer,
    address: string,
    port: number,
    onError: (code: string, message: string) => void,
  ): void {
    if (this.#closed) throw new SendError('ECLOSED', 'socket closed');
    // With udpSocket's synchronous lookup and an empty send queue the
    // datagram goes to the kernel inside this call. dgram reports the
    // kernel's refusal (ENETUNREACH, EACCES, ...) only to a callback, later
    // in this loop turn.
    try {
      this.socket.send(packet, port, address, (err) => {
        if (err) onError(errnoOf(err), err.message);
      });
    } catch (err) {
      throw new SendError(errnoOf(err), err instanceof Error ? err.message : String(err));
    }
  }

  onDatagram(handler: DatagramHandler): void {
    this.socket.on('message', (packet, rinfo) => {
      // Stamped first: whatever the handler does must not count in the RTT.
      const atMs = this.nowMs();
      try {
        handler(packet, rinfo.address, rinfo.port, atMs);
      } catch (err) {
        // One bad packet must not reach the process's uncaught-exception handler.
        this.#problem(`udp handler failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  /** Linux reports ICMP errors to an unconnected dgram socket not at all. */
  onIcmpError(_handler: IcmpErrorHandler): void {}

  address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /**
   * Nothing to do: dgram reads its socket on the event loop's poll phase
   * and offers no read on demand. An answer that reaches the kernel just
   * before its probe's deadline, in the same loop turn as the timeout, is
   * then counted lost and late: a window of one loop turn (the native
   * transport has none).
   */
  drain(): void {}

  takeProblems(): string[] {
    return this.#problems.splice(0);
  }

  #problem(line: string): void {
    // Bounded: a flood of errors must not grow memory between log flushes.
    if (this.#problems.length < MAX_PROBLEMS_KEPT) this.#problems.push(line);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // closed already
      }
    });
  }
}
