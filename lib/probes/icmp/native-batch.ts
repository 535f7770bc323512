// The receive side of an addon socket (native-sockets.ts), shared by the
// icmp and udp transports: the reused batch buffers, and a drain that reads
// batch after batch until the socket is empty or a bound is reached.

import type { NativeProbeSocket } from './native-sockets.js';

export const SLOT_BYTES = 2048; // the largest echo (1,400 bytes of payload) with any IP header
const BATCH_ENTRIES = 128;
const MAX_ENTRIES_PER_DRAIN = 4096; // bound the work of one wake-up

/** Entry i of the last read; valid until the next one. */
export class NativeBatch {
  readonly slab = Buffer.alloc(SLOT_BYTES * BATCH_ENTRIES);
  readonly info = new Int32Array(4 * BATCH_ENTRIES);
  readonly times = new Float64Array(BATCH_ENTRIES);
  readonly sources: string[] = new Array<string>(BATCH_ENTRIES).fill('');
  readonly destinations: string[] = new Array<string>(BATCH_ENTRIES).fill('');
  /** An error's ee_info: the MTU of Fragmentation Needed / Packet Too Big, or of a local EMSGSIZE. */
  readonly extras = new Int32Array(BATCH_ENTRIES);

  /** Entry i's bytes: a view of the slab. */
  bytes(i: number): Buffer {
    const at = i * SLOT_BYTES;
    return this.slab.subarray(at, at + Math.min(this.info[4 * i]!, SLOT_BYTES));
  }

  kind(i: number): number {
    return this.info[4 * i + 1]!;
  }

  /**
   * Reads everything queued in `socket` (up to a bound per call) and hands
   * each entry to `handle` as it is read: every entry carries the kernel's
   * stamp, so nothing is gained by reading all first. A failed read goes to
   * `problem` and ends the drain.
   */
  drain(
    socket: NativeProbeSocket,
    isClosed: () => boolean,
    handle: (i: number) => void,
    problem: (line: string) => void,
  ): void {
    let total = 0;
    while (!isClosed() && total < MAX_ENTRIES_PER_DRAIN) {
      let count: number;
      try {
        count = socket.receive(
          this.slab,
          SLOT_BYTES,
          this.info,
          this.times,
          this.sources,
          this.destinations,
          this.extras,
        );
      } catch (err) {
        problem(err instanceof Error ? err.message : String(err));
        return;
      }
      total += count;
      for (let i = 0; i < count; i++) handle(i);
      if (count < BATCH_ENTRIES) return;
    }
  }
}
