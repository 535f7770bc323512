// IcmpTransport over our addon's sockets (native-sockets.ts): ICMP datagram
// sockets where net.ipv4.ping_group_range admits us, else raw sockets with a
// kernel filter on our identifier. Either way every packet comes with the
// kernel's receive stamp and every send with a stamp in the same clock, so
// a read held back by a busy event loop adds nothing to an RTT.

import { performance } from 'node:perf_hooks';
import type { Family } from '../../address.js';
import { SendError } from '../prober.js';
import {
  ENTRY_ICMP_ERROR,
  ENTRY_LOCAL_ERROR,
  type NativeProbeSocket,
  type NativeSockets,
} from './native-sockets.js';
import { rebuildIcmpError } from './queued-error.js';
import type { IcmpTransport, PacketHandler } from './transport.js';

const SLOT_BYTES = 2048; // the largest echo (1,400 bytes of payload) with any IP header
const BATCH_ENTRIES = 128;
const SOCKET_RCVBUF_BYTES = 8 * 1024 * 1024; // the default holds only ~256 replies
const MAX_ENTRIES_PER_DRAIN = 4096; // bound the work of one wake-up
const MAX_PROBLEMS_KEPT = 100;

export type NativeMode = 'datagram' | 'raw';

export class NativeIcmpTransport implements IcmpTransport {
  readonly ipHeader: boolean;
  readonly identifier: number;
  readonly #socket: NativeProbeSocket;
  readonly #slab = Buffer.alloc(SLOT_BYTES * BATCH_ENTRIES);
  readonly #info = new Int32Array(4 * BATCH_ENTRIES);
  readonly #times = new Float64Array(BATCH_ENTRIES);
  readonly #sources: string[] = new Array<string>(BATCH_ENTRIES).fill('');
  readonly #destinations: string[] = new Array<string>(BATCH_ENTRIES).fill('');
  readonly #extras = new Int32Array(BATCH_ENTRIES);
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
    this.#monotonicOffsetMs = monotonicOffsetMs(native);
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

  /** Every entry is stamped by the kernel, so each batch is handled as it is read. */
  drain(): void {
    let total = 0;
    while (!this.#closed && total < MAX_ENTRIES_PER_DRAIN) {
      let count: number;
      try {
        count = this.#socket.receive(
          this.#slab,
          SLOT_BYTES,
          this.#info,
          this.#times,
          this.#sources,
          this.#destinations,
          this.#extras,
        );
      } catch (err) {
        this.#problem(err instanceof Error ? err.message : String(err));
        return;
      }
      total += count;
      for (let i = 0; i < count; i++) this.#handle(i);
      if (count < BATCH_ENTRIES) return;
    }
  }

  #handle(i: number): void {
    const length = Math.min(this.#info[4 * i]!, SLOT_BYTES);
    const kind = this.#info[4 * i + 1]!;
    const at = i * SLOT_BYTES;
    let packet: Buffer = this.#slab.subarray(at, at + length);
    if (kind === ENTRY_LOCAL_ERROR) {
      return this.#problem(`IPv${this.family} socket error: errno ${this.#info[4 * i + 2]}`);
    }
    if (kind === ENTRY_ICMP_ERROR) {
      packet = rebuildIcmpError(
        this.family,
        {
          type: this.#info[4 * i + 2]!,
          code: this.#info[4 * i + 3]!,
          destination: this.#destinations[i]!,
          quoted: packet,
          info: this.#extras[i]!,
        },
        this.#rebuilt,
      );
    }
    try {
      this.#handler(packet, this.#sources[i]!, this.#times[i]! - this.#monotonicOffsetMs);
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

/**
 * performance.now() runs on CLOCK_MONOTONIC from an origin of its own: the
 * constant between them, from the closest of a few back-to-back readings.
 */
function monotonicOffsetMs(native: NativeSockets): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const before = performance.now();
    const mono = native.monotonicNowMs();
    const after = performance.now();
    if (after - before < best) {
      best = after - before;
      offset = mono - (before + after) / 2;
    }
  }
  return offset;
}
