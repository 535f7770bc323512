// The only file that loads our native addon (native/, built from source by
// node-gyp: `npm run build:native`), and its typed interface. Every kind
// (icmp, udp, tcp) talks to `NativeSockets`; when the addon did not build
// (or this is not Linux) `loadNativeSockets()` says why, and each kind falls
// back: icmp to raw-socket, udp to node's dgram, tcp to the callback's time.

import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** Entry kinds of a receive batch, as native/src/probe_socket.cc writes them. */
export const ENTRY_PACKET = 0;
export const ENTRY_ICMP_ERROR = 1;
export const ENTRY_LOCAL_ERROR = 2;

/** One ICMP or UDP socket (native/src/probe_socket.h). Errors thrown carry `code`, an errno name. */
export interface NativeProbeSocket {
  /** The echo identifier: a datagram socket's bound port, or the one a raw socket's filter keeps. */
  readonly identifier: number;
  /** A UDP socket's bound port (the same number as `identifier`). */
  readonly port: number;
  /** setsockopt with an int value, e.g. IP_MTU_DISCOVER on a trace socket; `level` and `name` from socket-options.ts. */
  setOption(level: number, name: number, value: number): void;
  /**
   * Sends now (sendmsg); `ttl` > 0 sets this packet's TTL / hop limit, `port`
   * is a UDP socket's destination port. Returns the send time, CLOCK_REALTIME
   * read right before the syscall and carried to CLOCK_MONOTONIC milliseconds.
   */
  send(packet: Buffer, address: string, ttl: number, port?: number): number;
  /**
   * Reads up to one batch (the error queue first): entry i's bytes at
   * `slab[i * slotBytes]`, `info[4i..4i+3]` = length, kind, ICMP type, code
   * (a local error's errno; a UDP packet's source port), `times[i]` = the kernel's receive stamp in
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
  close(): void;
}

/** The options form of the ProbeSocket constructor. */
export type NativeSocketOptions =
  | {
      readonly family: 4 | 6;
      readonly protocol: 'icmp';
      readonly datagram: boolean;
      readonly identifier: number;
      readonly receiveBufferBytes?: number;
    }
  | {
      readonly family: 4 | 6;
      readonly protocol: 'udp';
      /** The address to bind; default all of the family's. */
      readonly host?: string;
      /** 0: an ephemeral port. */
      readonly port: number;
      /** An IPv6 socket that takes IPv4 too (sources then read ::ffff:a.b.c.d). */
      readonly dualStack?: boolean;
      /** ICMP errors about our datagrams as error-queue entries (IP_RECVERR). */
      readonly receiveErrors?: boolean;
      readonly receiveBufferBytes?: number;
    };

/** getsockopt TCP_INFO of a connected socket, what the tcp prober reads. */
export interface NativeTcpInfo {
  /** The kernel's TCP state (NativeSockets.TCP_ESTABLISHED once the handshake is done). */
  readonly state: number;
  /** The smoothed RTT in µs; right after the handshake, its one sample (0: none taken). */
  readonly rttUs: number;
  /** Segments retransmitted, the SYN's retransmissions included. */
  readonly totalRetrans: number;
}

export interface NativeSockets {
  readonly ProbeSocket: {
    new (
      family: 4 | 6,
      datagram: boolean,
      identifier: number,
      receiveBufferBytes: number,
      onReadable: () => void,
    ): NativeProbeSocket;
    new (options: NativeSocketOptions, onReadable: () => void): NativeProbeSocket;
  };
  /** CLOCK_MONOTONIC in milliseconds (performance.now() plus a constant). */
  monotonicNowMs(): number;
  /** TCP_INFO of the socket with descriptor `fd`; throws (`code`) when it is none. */
  tcpInfo(fd: number): NativeTcpInfo;
  readonly TCP_ESTABLISHED: number;
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

/**
 * performance.now() runs on CLOCK_MONOTONIC from an origin of its own: the
 * constant between them, from the closest of a few back-to-back readings.
 */
export function performanceOffsetMs(native: NativeSockets): number {
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
