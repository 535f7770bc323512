// The only file that loads our native addon (native/, built from source by
// node-gyp: `npm run build:native`), and its typed interface. Everything
// above talks to `NativeSockets`; when the addon did not build (or this is
// not Linux) `loadNativeSockets()` says why, and the icmp kind falls back to
// raw-socket.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Entry kinds of a receive batch, as native/src/probe_socket.cc writes them. */
export const ENTRY_PACKET = 0;
export const ENTRY_ICMP_ERROR = 1;
export const ENTRY_LOCAL_ERROR = 2;

/** One ICMP socket (native/src/probe_socket.h). Errors thrown carry `code`, an errno name. */
export interface NativeProbeSocket {
  /** The echo identifier: a datagram socket's bound port, or the one a raw socket's filter keeps. */
  readonly identifier: number;
  /**
   * Sends now (sendmsg); `ttl` > 0 sets this packet's TTL / hop limit. Returns
   * the send time, CLOCK_REALTIME read right before the syscall and carried
   * to CLOCK_MONOTONIC milliseconds.
   */
  send(packet: Buffer, address: string, ttl: number): number;
  /**
   * Reads up to one batch (the error queue first): entry i's bytes at
   * `slab[i * slotBytes]`, `info[4i..4i+3]` = length, kind, ICMP type, code
   * (a local error's errno), `times[i]` = the kernel's receive stamp in
   * CLOCK_MONOTONIC ms, `sources[i]` the sender (an error's offender),
   * `destinations[i]` an error's original destination, the optional
   * `extras[i]` an error's ee_info (the MTU of Fragmentation Needed or
   * Packet Too Big). Fewer entries than room: the socket is empty.
   */
  receive(
    slab: Buffer,
    slotBytes: number,
    info: Int32Array,
    times: Float64Array,
    sources: string[],
    destinations: string[],
    extras?: Int32Array,
  ): number;
  /** setsockopt(level, name, int value), e.g. IP_MTU_DISCOVER on a trace socket. */
  setOption(level: number, name: number, value: number): void;
  close(): void;
}

export interface NativeSockets {
  readonly ProbeSocket: new (
    family: 4 | 6,
    datagram: boolean,
    identifier: number,
    receiveBufferBytes: number,
    onReadable: () => void,
  ) => NativeProbeSocket;
  /** CLOCK_MONOTONIC in milliseconds (performance.now() plus a constant). */
  monotonicNowMs(): number;
}

export type NativeLoad =
  | { readonly ok: true; readonly sockets: NativeSockets }
  | { readonly ok: false; readonly reason: string };

const ADDON_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  // dist/lib/probes/icmp → the repository's native/ folder
  '../../../../native/build/Release/netping_sockets.node',
);

let loaded: NativeLoad | undefined;

export function loadNativeSockets(): NativeLoad {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    loaded = { ok: false, reason: `not built on ${process.platform}` };
    return loaded;
  }
  try {
    // A .node file loads only through require().
    const sockets = createRequire(import.meta.url)(ADDON_PATH) as NativeSockets;
    loaded = { ok: true, sockets };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    loaded = {
      ok: false,
      reason:
        code === 'MODULE_NOT_FOUND'
          ? 'addon not built'
          : `addon did not load: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  return loaded;
}
