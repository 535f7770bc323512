// UdpTransport over our addon's UDP socket (../icmp/native-sockets.ts):
// every datagram comes with the kernel's receive stamp and every send with
// a stamp in the same clock, and the engine can read the socket on demand
// before a deadline, so a busy event loop adds nothing to a udp RTT.

import type { Family } from '../../address.js';
import { NativeBatch } from '../icmp/native-batch.js';
import {
  ENTRY_ICMP_ERROR,
  ENTRY_PACKET,
  type NativeProbeSocket,
  type NativeSockets,
  performanceOffsetMs,
} from '../icmp/native-sockets.js';
import { SendError } from '../prober.js';
import { errnoOf } from './transport.js';
import type { DatagramHandler, IcmpErrorHandler, UdpBind, UdpTransport } from './transport.js';

const SOCKET_RCVBUF_BYTES = 4 * 1024 * 1024; // the kernel caps it at net.core.rmem_max
const MAX_PROBLEMS_KEPT = 100;

export class NativeUdpTransport implements UdpTransport {
  readonly transport = 'native';
  readonly clock = 'kernel';
  readonly family: Family;
  readonly #socket: NativeProbeSocket;
  readonly #batch = new NativeBatch();
  readonly #host: string;
  /** performance.now() = CLOCK_MONOTONIC ms − this. */
  readonly #monotonicOffsetMs: number;
  #handler: DatagramHandler = () => {};
  #onIcmpError: IcmpErrorHandler = () => {};
  #closed = false;
  readonly #problems: string[] = [];

  /** Throws the native errno error (`code`), EADDRINUSE for a port taken. */
  constructor(native: NativeSockets, bind: UdpBind) {
    this.family = bind.family;
    this.#monotonicOffsetMs = performanceOffsetMs(native);
    this.#host = bind.host ?? (bind.family === 4 ? '0.0.0.0' : '::');
    this.#socket = new native.ProbeSocket(
      {
        family: bind.family,
        protocol: 'udp',
        host: this.#host,
        port: bind.port ?? 0,
        dualStack: bind.dualStack ?? false,
        receiveErrors: bind.receiveErrors ?? false,
        receiveBufferBytes: SOCKET_RCVBUF_BYTES,
      },
      () => this.drain(),
    );
  }

  send(packet: Buffer, address: string, port: number): number {
    if (this.#closed) throw new SendError('ECLOSED', 'socket closed');
    try {
      return this.#socket.send(packet, address, 0, port) - this.#monotonicOffsetMs;
    } catch (err) {
      throw new SendError(errnoOf(err), err instanceof Error ? err.message : String(err));
    }
  }

  onDatagram(handler: DatagramHandler): void {
    this.#handler = handler;
  }

  onIcmpError(handler: IcmpErrorHandler): void {
    this.#onIcmpError = handler;
  }

  address(): { address: string; port: number } {
    return { address: this.#host, port: this.#socket.port };
  }

  drain(): void {
    this.#batch.drain(
      this.#socket,
      () => this.#closed,
      (i) => this.#handle(i),
      (line) => this.#problem(`udp socket: ${line}`),
    );
  }

  #handle(i: number): void {
    const batch = this.#batch;
    const kind = batch.kind(i);
    try {
      if (kind === ENTRY_ICMP_ERROR) {
        return this.#onIcmpError(batch.bytes(i), batch.info[4 * i + 2]!, batch.info[4 * i + 3]!);
      }
      if (kind !== ENTRY_PACKET) {
        return this.#problem(`udp socket error: errno ${batch.info[4 * i + 2]}`);
      }
      this.#handler(
        batch.bytes(i),
        batch.sources[i]!,
        batch.info[4 * i + 2]!,
        batch.times[i]! - this.#monotonicOffsetMs,
      );
    } catch (err) {
      // One bad packet must not stop the handling of the rest.
      this.#problem(`udp handler failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  takeProblems(): string[] {
    return this.#problems.splice(0);
  }

  #problem(line: string): void {
    if (this.#problems.length < MAX_PROBLEMS_KEPT) this.#problems.push(line);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#socket.close();
    }
    return Promise.resolve();
  }
}
