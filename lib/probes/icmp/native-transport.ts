// IcmpTransport over our addon's sockets (native-sockets.ts): ICMP datagram
// sockets where net.ipv4.ping_group_range admits us, else raw sockets with a
// kernel filter on our identifier. Either way every packet comes with the
// kernel's receive stamp and every send with a stamp in the same clock, so
// a read held back by a busy event loop adds nothing to an RTT.

import type { Family } from '../../address.js';
import { SendError } from '../prober.js';
import {
  ENTRY_ICMP_ERROR,
  ENTRY_LOCAL_ERROR,
  type NativeProbeSocket,
  type NativeSockets,
  performanceOffsetMs,
} from './native-sockets.js';
import { NativeBatch, SLOT_BYTES } from './native-batch.js';
import { rebuildIcmpError } from './queued-error.js';
import type { IcmpTransport, PacketHandler } from './transport.js';

const SOCKET_RCVBUF_BYTES = 8 * 1024 * 1024; // the default holds only ~256 replies
const MAX_PROBLEMS_KEPT = 100;

export type NativeMode = 'datagram' | 'raw';

export class NativeIcmpTransport implements IcmpTransport {
  readonly ipHeader: boolean;
  readonly identifier: number;
  readonly #socket: NativeProbeSocket;
  readonly #batch = new NativeBatch();
  readonly #rebuilt = Buffer.alloc(SLOT_BYTES);
  /** performance.now() = CLOCK_MONOTONIC ms − this. */
  readonly #monotonicOffsetMs: number;
  #handler: PacketHandler = () => {};
  #closed = false;
  readonly #problems: string[] = [];

  /** Throws the native errno error (`code`): EACCES for a datagram socket outside ping_group_range, EPERM for raw. */
  constructor(
    native: NativeSockets,
    readonly family: Family,
    readonly mode: NativeMode,
    identifier: number,
  ) {
    this.ipHeader = mode === 'raw' && family === 4;
    this.#monotonicOffsetMs = performanceOffsetMs(native);
    this.#socket = new native.ProbeSocket(
      family,
      mode === 'datagram',
      identifier,
      SOCKET_RCVBUF_BYTES,
      () => this.drain(),
    );
    this.identifier = this.#socket.identifier;
  }

  send(packet: Buffer, address: string, ttl = 0): number {
    if (this.#closed) throw new SendError('ECLOSED', 'socket closed');
    try {
      return this.#socket.send(packet, address, ttl) - this.#monotonicOffsetMs;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SendError(code ?? 'EUNKNOWN', err instanceof Error ? err.message : String(err));
    }
  }

  setOption(level: number, name: number, value: number): void {
    try {
      this.#socket.setOption(level, name, value);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SendError(code ?? 'EUNKNOWN', err instanceof Error ? err.message : String(err));
    }
  }

  onPacket(handler: PacketHandler): void {
    this.#handler = handler;
  }

  takeProblems(): string[] {
    return this.#problems.splice(0);
  }

  #problem(line: string): void {
    // Bounded: a flood of bad packets must not grow memory between log flushes.
    if (this.#problems.length < MAX_PROBLEMS_KEPT) this.#problems.push(line);
  }

  drain(): void {
    this.#batch.drain(
      this.#socket,
      () => this.#closed,
      (i) => this.#handle(i),
      (line) => this.#problem(line),
    );
  }

  #handle(i: number): void {
    const batch = this.#batch;
    const kind = batch.kind(i);
    let packet: Buffer = batch.bytes(i);
    if (kind === ENTRY_LOCAL_ERROR) {
      return this.#problem(`IPv${this.family} socket error: errno ${batch.info[4 * i + 2]}`);
    }
    if (kind === ENTRY_ICMP_ERROR) {
      packet = rebuildIcmpError(
        this.family,
        {
          type: batch.info[4 * i + 2]!,
          code: batch.info[4 * i + 3]!,
          destination: batch.destinations[i]!,
          quoted: packet,
          info: batch.extras[i]!,
        },
        this.#rebuilt,
      );
    }
    try {
      this.#handler(packet, batch.sources[i]!, batch.times[i]! - this.#monotonicOffsetMs);
    } catch (err) {
      // One bad packet must not stop the handling of the rest.
      this.#problem(`packet handler failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}
