// udp probes: an authenticated echo to a netpingd peer's responder
// (responder.ts). One unconnected dgram socket per address family, on an
// ephemeral port, shared by every udp target; answers matched by token and
// wide sequence after their MAC, nonce and source address check out.
//
// Why an unconnected socket: one socket for all targets (a connected one per
// target costs a descriptor each). The price: Linux reports an ICMP port
// unreachable only on a connected UDP socket, so a probe to a host where
// nothing listens is lost by its timeout, with no reason, like a drop.

import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Family } from '../../address.js';
import { SendError, type Probe, type Prober, type ProbeSink } from '../prober.js';
import { decodeUdpPacket, encodeUdpPacket, PacketType, UDP_PACKET_BYTES } from './packet.js';

const SOCKET_RCVBUF_BYTES = 4 * 1024 * 1024; // the kernel caps it at net.core.rmem_max
const MAX_PROBLEMS_KEPT = 100;

export interface UdpProberOptions {
  /** undefined: every send fails with send:no-peer-key, and no socket is opened. */
  readonly key: Buffer | undefined;
  /** The sockets, by family; a family without one gets failed sends. */
  readonly sockets: Partial<Record<Family, dgram.Socket>>;
  /** This process's nonce (8 bytes): tells our answers from other probers'. */
  readonly nonce?: Buffer;
  /** The wall clock put in probes for the responder's age check. Default Date.now. */
  readonly wallNowMs?: () => number;
  /** When answers are stamped: must be the engine's clock. Default performance.now. */
  readonly nowMs?: () => number;
}

export class UdpProber implements Prober {
  readonly #key: Buffer | undefined;
  readonly #sockets: Partial<Record<Family, dgram.Socket>>;
  readonly #nonceHi: number;
  readonly #nonceLo: number;
  readonly #wallNowMs: () => number;
  readonly #nowMs: () => number;
  readonly #problems: string[] = [];
  #sink: ProbeSink | undefined;
  #closed = false;

  constructor(opts: UdpProberOptions) {
    this.#key = opts.key;
    this.#sockets = opts.sockets;
    const nonce = opts.nonce ?? randomBytes(8);
    this.#nonceHi = nonce.readUInt32BE(0);
    this.#nonceLo = nonce.readUInt32BE(4);
    this.#wallNowMs = opts.wallNowMs ?? Date.now;
    this.#nowMs = opts.nowMs ?? (() => performance.now());
    for (const socket of Object.values(this.#sockets)) {
      // A socket error must never become an uncaught exception: note it for the log.
      socket.on('error', (err) => this.#problem(`udp socket: ${err.message}`));
    }
  }

  bind(sink: ProbeSink): void {
    this.#sink = sink;
    for (const socket of Object.values(this.#sockets)) {
      socket.on('message', (packet) => {
        // Stamped first: whatever this handler does must not count in the RTT.
        const atMs = this.#nowMs();
        try {
          this.#onAnswer(sink, packet, atMs);
        } catch (err) {
          // One bad packet must not reach the process's uncaught-exception handler.
          this.#problem(
            `udp answer handler failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      });
    }
  }

  send(probe: Probe): void {
    const key = this.#key;
    if (!key) throw new SendError('no-peer-key', 'udp probes need a peer key (--peer-key)');
    const family = probe.target.family;
    const socket = this.#sockets[family];
    if (!socket || this.#closed)
      throw new SendError(`no-ipv${family}-socket`, `no IPv${family} UDP socket`);
    const port = probe.target.probe?.port;
    if (port === undefined) throw new SendError('no-port', 'udp target without a port');
    // A buffer per probe: dgram may hold it until the kernel takes it.
    const packet = encodeUdpPacket(
      PacketType.probe,
      {
        token: probe.token,
        seq: probe.seq,
        sentAtWallMs: this.#wallNowMs(),
        nonceHi: this.#nonceHi,
        nonceLo: this.#nonceLo,
        toAddress: probe.target.address,
        toPort: port,
      },
      key,
      Buffer.allocUnsafe(UDP_PACKET_BYTES),
    );
    const { token, seq } = probe;
    // With our synchronous lookup (udpSocket below) and an empty send queue
    // the datagram goes to the kernel inside this call. dgram reports the
    // kernel's refusal (ENETUNREACH, EACCES, ...) only to a callback, later
    // in this loop turn: the probe then fails with send:<errno>, as a
    // SendError thrown here would have made it.
    try {
      socket.send(packet, port, probe.target.address, (err) => {
        if (err) this.#sink?.fail(token, seq, `send:${errnoOf(err)}`);
      });
    } catch (err) {
      throw new SendError(errnoOf(err), err instanceof Error ? err.message : String(err));
    }
  }

  /**
   * Nothing to do: dgram reads its socket on the event loop's poll phase
   * and offers no read on demand. An answer that reaches the kernel just
   * before its probe's deadline, in the same loop turn as the timeout, is
   * then counted lost and late, where ICMP would have read it in time: a
   * window of one loop turn, against timeouts of hundreds of ms.
   */
  drain(): void {}

  takeProblems(): string[] {
    return this.#problems.splice(0);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of Object.values(this.#sockets)) {
      try {
        socket.close();
      } catch {
        // closed already
      }
    }
  }

  #onAnswer(sink: ProbeSink, packet: Buffer, atMs: number): void {
    const key = this.#key;
    if (!key) return sink.ignore('foreign');
    const decoded = decodeUdpPacket(packet, PacketType.answer, key);
    if (!decoded.ok) {
      const r = decoded.reason;
      return sink.ignore(r === 'oversized' ? 'foreign' : r === 'version' ? 'udp:version' : r);
    }
    const f = decoded.fields;
    // A valid answer to another prober's probe (another process, same key).
    if (f.nonceHi !== this.#nonceHi || f.nonceLo !== this.#nonceLo) return sink.ignore('foreign');
    // The datagram's source is not checked: a responder bound to a wildcard
    // address answers from whatever source the route to us picks, which on
    // a multi-homed peer need not be the address we probed. The destination
    // under the MAC is: the responder answered a probe sent to that address
    // (it refuses others), and the engine checks it is the target's.
    sink.reply(f.token, f.seq, f.toAddress, atMs);
  }

  #problem(line: string): void {
    // Bounded: a flood of errors must not grow memory between log flushes.
    if (this.#problems.length < MAX_PROBLEMS_KEPT) this.#problems.push(line);
  }
}

function errnoOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'EUNKNOWN';
}

/**
 * A dgram socket of one family, bound to `port` (0: an ephemeral one) on
 * `host` (all addresses by default); with `dualStack`, an IPv6 socket on
 * `::` takes IPv4 too (sources then read ::ffff:a.b.c.d). Its lookup
 * answers an address at once (targets are addresses): dgram's default lookup
 * defers every send to process.nextTick, after the engine's whole batch of
 * sends, which would add the batch's duration to each RTT.
 */
export async function udpSocket(
  family: Family,
  port = 0,
  host?: string,
  dualStack = false,
): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type: family === 4 ? 'udp4' : 'udp6',
    ipv6Only: family === 6 && !dualStack,
    lookup: (address, options, callback) => {
      if (isIP(address) !== 0) return callback(null, address, family);
      // A host name (only --peer-listen takes one): resolved as usual.
      dns.lookup(address, options, callback);
    },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host ?? (family === 4 ? '0.0.0.0' : '::'), () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    socket.setRecvBufferSize(SOCKET_RCVBUF_BYTES);
  } catch {
    // Not fatal: the default buffer holds a few hundred answers.
  }
  return socket;
}
