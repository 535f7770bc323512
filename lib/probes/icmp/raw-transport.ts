// The only file that imports raw-socket.
//
// We use raw-socket's native socket (`socket.wrap`) directly, for two reasons
// measured on raw-socket 1.8.1:
// - its JS `send()` queues the packet and sends one per poll wake-up, so the
//   send time can only be stamped in a callback an event-loop turn later, and
//   the queue grows without bound when we send faster than it drains. The
//   native send is a synchronous sendto() on a non-blocking socket: we stamp
//   right before it, and a refused send throws at once with its errno.
// - its JS receive path reads one packet per wake-up; draining the socket
//   until EAGAIN reads a burst of replies in one wake-up.
// raw-socket is pinned to 1.8.1 in package.json because of this.

import { performance } from 'node:perf_hooks';
import { getSystemErrorMap } from 'node:util';
import raw, { type Socket } from 'raw-socket';
import type { Family } from '../../address.js';
import { PermissionError } from '../../errors.js';
import { SendError } from '../prober.js';
import { IP_TTL, IPV6_UNICAST_HOPS } from './socket-options.js';
import type { IcmpTransport, PacketHandler } from './transport.js';

const MAX_PACKET_BYTES = 65_536; // a whole IP datagram: never truncate a foreign packet
const BATCH_PACKETS = 512;
const SLAB_BYTES = 1024 * 1024;
const SOCKET_RCVBUF_BYTES = 8 * 1024 * 1024; // the default holds only ~256 replies
const MAX_PACKETS_PER_DRAIN = 4096; // bound the work of one wake-up
const MAX_PROBLEMS_KEPT = 100;

// Linux socket options that raw-socket does not name.
const SOL_RAW = 255;
const ICMP_FILTER = 1;
const IPPROTO_ICMPV6 = 58;
const ICMP6_FILTER = 1;
const SO_RCVBUFFORCE = 33;

// What we want to see: echo replies and the errors that can quote our echo.
const ICMP4_WANTED = [0, 3, 4, 11, 12]; // echo reply, unreachable, source quench, time exceeded, parameter problem
const ICMP6_WANTED = [129, 1, 2, 3, 4]; // echo reply, unreachable, too big, time exceeded, parameter problem

export function openRawTransport(family: Family): RawIcmpTransport {
  let socket: Socket;
  try {
    socket = raw.createSocket({
      protocol: family === 4 ? raw.Protocol.ICMP : raw.Protocol.ICMPv6,
      addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
      bufferSize: 16, // raw-socket's own receive buffer; unused, we receive into ours
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/not permitted|permission denied/i.test(message)) {
      throw new PermissionError(
        'raw ICMP sockets need root or CAP_NET_RAW: run as root, or ' +
          "'sudo setcap cap_net_raw+ep $(readlink -f $(which node))', or use the systemd unit in systemd/",
        { cause: err },
      );
    }
    throw new SendError(errnoName(message), `cannot open an IPv${family} ICMP socket: ${message}`);
  }
  return new RawIcmpTransport(family, socket);
}

export class RawIcmpTransport implements IcmpTransport {
  readonly #socket: Socket;
  // Received packets of one batch, back to back, with their stamps.
  readonly #slab = Buffer.alloc(SLAB_BYTES);
  readonly #receiveBuffer = Buffer.alloc(MAX_PACKET_BYTES);
  #slabUsed = 0;
  #batchCount = 0;
  readonly #batchOffsets = new Uint32Array(BATCH_PACKETS);
  readonly #batchLengths = new Uint32Array(BATCH_PACKETS);
  readonly #batchTimes = new Float64Array(BATCH_PACKETS);
  readonly #batchSources: string[] = new Array<string>(BATCH_PACKETS).fill('');
  #handler: PacketHandler = () => {};
  #closed = false;
  readonly #problems: string[] = [];
  /** The TTL / hop limit last set on the socket (raw-socket has no per-send one); 0: the default. */
  #ttl = 0;

  constructor(
    readonly family: Family,
    socket: Socket,
  ) {
    this.#socket = socket;
    this.#configure();
    // Replace raw-socket's one-packet-per-wake-up reader with ours.
    socket.wrap.removeAllListeners('recvReady');
    socket.wrap.on('recvReady', () => this.drain());
    socket.on('error', (err: unknown) => {
      this.#problem(err instanceof Error ? err.message : String(err));
    });
  }

  #configure(): void {
    const s = this.#socket;
    if (process.platform === 'linux') {
      if (this.family === 4) {
        // ICMP_FILTER's mask names the types to drop.
        const pass = ICMP4_WANTED.reduce((m, t) => m | (1 << t), 0);
        s.setOption(SOL_RAW, ICMP_FILTER, ~pass >>> 0);
      } else {
        // struct icmp6_filter: 256 bits, a set bit blocks that type.
        const filter = Buffer.alloc(32, 0xff);
        for (const t of ICMP6_WANTED) {
          const word = filter.readUInt32LE(4 * (t >> 5)) & ~(1 << (t & 31));
          filter.writeUInt32LE(word >>> 0, 4 * (t >> 5));
        }
        s.setOption(IPPROTO_ICMPV6, ICMP6_FILTER, filter, filter.length);
      }
      try {
        s.setOption(raw.SocketLevel.SOL_SOCKET, SO_RCVBUFFORCE, SOCKET_RCVBUF_BYTES);
        return;
      } catch {
        // Without CAP_NET_ADMIN the kernel caps SO_RCVBUF at net.core.rmem_max.
      }
    }
    s.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_RCVBUF, SOCKET_RCVBUF_BYTES);
  }

  send(packet: Buffer, address: string, ttl?: number): void {
    if (this.#closed) throw new SendError('ECLOSED', 'socket closed');
    try {
      // Only trace sockets pass a TTL; the regular probes' socket never pays for this.
      if (ttl !== undefined && ttl > 0 && ttl !== this.#ttl) {
        const [level, name] =
          this.family === 4
            ? [raw.SocketLevel.IPPROTO_IP, IP_TTL]
            : [raw.SocketLevel.IPPROTO_IPV6, IPV6_UNICAST_HOPS];
        this.#socket.setOption(level, name, ttl);
        this.#ttl = ttl;
      }
      this.#socket.wrap.send(packet, 0, packet.length, address, noop);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new SendError(errnoName(message), message);
    }
  }

  setOption(level: number, name: number, value: number): void {
    try {
      this.#socket.setOption(level, name, value);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new SendError(errnoName(message), message);
    }
  }

  #problem(line: string): void {
    // Bounded: a flood of bad packets must not grow memory between log flushes.
    if (this.#problems.length < MAX_PROBLEMS_KEPT) this.#problems.push(line);
  }

  takeProblems(): string[] {
    return this.#problems.splice(0);
  }

  onPacket(handler: PacketHandler): void {
    this.#handler = handler;
  }

  /**
   * Reads in two passes: first every queued packet, each stamped as it is
   * read, into one slab; then hands them on. Handling a reply takes longer
   * than reading one, so stamping all before handling any keeps the handling
   * of earlier replies out of the RTT of later ones.
   */
  drain(): void {
    if (this.#closed) return;
    let total = 0;
    while (total < MAX_PACKETS_PER_DRAIN) {
      const more = this.#readBatch();
      const count = this.#batchCount;
      total += count;
      for (let i = 0; i < count; i++) {
        const at = this.#batchOffsets[i]!;
        try {
          this.#handler(
            this.#slab.subarray(at, at + this.#batchLengths[i]!),
            this.#batchSources[i]!,
            this.#batchTimes[i]!,
          );
        } catch (err) {
          // One bad packet must not stop the handling of the rest.
          this.#problem(
            `packet handler failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      if (!more) return;
    }
  }

  /**
   * Reads packets until the socket is empty (false) or the batch is full
   * (true). Each is read into one datagram-sized buffer and copied to the
   * slab: cheaper than a fresh view of the slab for every read.
   */
  #readBatch(): boolean {
    this.#batchCount = 0;
    this.#slabUsed = 0;
    // raw-socket reports an empty socket (EAGAIN) by throwing, and we read
    // until empty after every send: without a stack trace to capture, that
    // Error costs a fraction of what it would (it was the second largest
    // source of garbage, after the timer queue's swaps).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      while (this.#batchCount < BATCH_PACKETS && SLAB_BYTES - this.#slabUsed >= MAX_PACKET_BYTES) {
        this.#socket.wrap.recv(this.#receiveBuffer, this.#onReceived);
      }
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!/temporarily unavailable|would block/i.test(message)) this.#problem(message);
      return false;
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }

  readonly #onReceived = (buffer: Buffer, bytes: number, source: string): void => {
    const n = this.#batchCount++;
    this.#batchTimes[n] = performance.now();
    buffer.copy(this.#slab, this.#slabUsed, 0, bytes);
    this.#batchOffsets[n] = this.#slabUsed;
    this.#batchLengths[n] = bytes;
    this.#batchSources[n] = source;
    this.#slabUsed += bytes;
  };

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}

function noop(): void {}

// raw-socket reports errors as strerror() text; map it back to the errno name.
const STRERROR_NAMES: Record<string, string> = {
  'network is unreachable': 'ENETUNREACH',
  'no route to host': 'EHOSTUNREACH',
  'network is down': 'ENETDOWN',
  'host is down': 'EHOSTDOWN',
  'no buffer space available': 'ENOBUFS',
  'resource temporarily unavailable': 'EAGAIN',
  'operation not permitted': 'EPERM',
  'permission denied': 'EACCES',
  'invalid argument': 'EINVAL',
  'message too long': 'EMSGSIZE',
  'cannot assign requested address': 'EADDRNOTAVAIL',
  'address family not supported by protocol': 'EAFNOSUPPORT',
};

function errnoName(message: string): string {
  const key = message.toLowerCase();
  const known = STRERROR_NAMES[key];
  if (known) return known;
  for (const [name, text] of getSystemErrorMap().values())
    if (text.toLowerCase() === key) return name;
  return 'EUNKNOWN';
}

/**
 * An IPv4 socket, which must open (without the privilege nothing else is
 * worth doing), and an IPv6 one where the host has IPv6.
 */
export function openRawTransports(
  log: (line: string) => void,
): Partial<Record<Family, IcmpTransport>> {
  const transports: Partial<Record<Family, IcmpTransport>> = { 4: openRawTransport(4) };
  try {
    transports[6] = openRawTransport(6);
  } catch (err) {
    if (err instanceof PermissionError) {
      transports[4]?.close();
      throw err;
    }
    // A host without IPv6: IPv6 targets are still accepted and show as failed sends.
    log(`no IPv6: ${err instanceof Error ? err.message : String(err)}`);
  }
  return transports;
}
