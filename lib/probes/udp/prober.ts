// udp probes: an authenticated echo to a netpingd peer's responder
// (responder.ts). One unconnected UDP socket per address family (a
// UdpTransport: our addon's, with kernel stamps, or node's dgram), on an
// ephemeral port, shared by every udp target; answers matched by token and
// wide sequence after their MAC, nonce and source address check out. The
// RTT is less the hold the answer reports at the responder (packet.ts).
//
// Why an unconnected socket: one socket for all targets (a connected one per
// target costs a descriptor each). Linux then reports an ICMP error (port
// unreachable: nothing listens there) only with IP_RECVERR, on the error
// queue, which our addon's socket reads: the probe is lost at once with
// the error's reason. On node's dgram, which cannot, such a probe is lost
// by its timeout, with no reason, like a drop.

import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import type { Family } from '../../address.js';
import { SendError, type Probe, type Prober, type ProbeSink } from '../prober.js';
import { decodeUdpPacket, encodeUdpPacket, PacketType, UDP_PACKET_BYTES } from './packet.js';
import type { UdpTransport } from './transport.js';
import { icmpErrorReason } from '../icmp/packet.js';

const SOCKET_RCVBUF_BYTES = 4 * 1024 * 1024; // the kernel caps it at net.core.rmem_max

export interface UdpProberOptions {
  /** undefined: every send fails with send:no-peer-key, and no socket is opened. */
  readonly key: Buffer | undefined;
  /** The sockets, by family; a family without one gets failed sends. */
  readonly transports: Partial<Record<Family, UdpTransport>>;
  /** This process's nonce (8 bytes): tells our answers from other probers'. */
  readonly nonce?: Buffer;
  /** The wall clock put in probes for the responder's age check. Default Date.now. */
  readonly wallNowMs?: () => number;
}

export class UdpProber implements Prober {
  readonly #key: Buffer | undefined;
  readonly #transports: Partial<Record<Family, UdpTransport>>;
  readonly #nonceHi: number;
  readonly #nonceLo: number;
  readonly #wallNowMs: () => number;
  #sink: ProbeSink | undefined;
  #closed = false;
  readonly info: Readonly<Record<string, string>> | undefined;

  constructor(opts: UdpProberOptions) {
    this.#key = opts.key;
    this.#transports = opts.transports;
    const nonce = opts.nonce ?? randomBytes(8);
    this.#nonceHi = nonce.readUInt32BE(0);
    this.#nonceLo = nonce.readUInt32BE(4);
    this.#wallNowMs = opts.wallNowMs ?? Date.now;
    const first = Object.values(this.#transports)[0];
    this.info = first ? { transport: first.transport, clock: first.clock } : undefined;
  }

  bind(sink: ProbeSink): void {
    this.#sink = sink;
    for (const transport of Object.values(this.#transports)) {
      // The transport stamps (the kernel, or first thing on reading) and
      // keeps a throwing handler from the process's uncaught-exception handler.
      transport.onDatagram((packet, _source, _port, atMs) => this.#onAnswer(sink, packet, atMs));
      const family = transport.family;
      transport.onIcmpError((quoted, type, code) =>
        this.#onIcmpError(sink, family, quoted, type, code),
      );
    }
  }

  send(probe: Probe): number | void {
    const key = this.#key;
    if (!key) throw new SendError('no-peer-key', 'udp probes need a peer key (--peer-key)');
    const family = probe.target.family;
    const transport = this.#transports[family];
    if (!transport || this.#closed)
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
    // A refusal reported later (dgram) fails the probe with send:<errno>,
    // as a SendError thrown here does.
    return transport.send(packet, probe.target.address, port, (code) =>
      this.#sink?.fail(token, seq, `send:${code}`),
    );
  }

  drain(family: Family): void {
    this.#transports[family]?.drain();
  }

  takeProblems(): string[] {
    return Object.values(this.#transports).flatMap((t) => t.takeProblems());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of Object.values(this.#transports)) void transport.close();
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
    // The responder's hold (its loop busy, its queue) is not the network's.
    sink.reply(f.token, f.seq, f.toAddress, atMs - (f.heldMs ?? 0));
  }

  /**
   * An ICMP error quoting one of our probes (port unreachable: no
   * responder there): the probe is lost at once, with the error's reason.
   * The quote is our whole probe, so it is matched by its MAC and nonce.
   */
  #onIcmpError(sink: ProbeSink, family: Family, quoted: Buffer, type: number, code: number): void {
    const key = this.#key;
    const reason = icmpErrorReason(family, type, code);
    if (!key || reason === undefined) return sink.ignore('other-icmp');
    const decoded = decodeUdpPacket(quoted, PacketType.probe, key);
    if (!decoded.ok) return sink.ignore('unknown-probe');
    const f = decoded.fields;
    if (f.nonceHi !== this.#nonceHi || f.nonceLo !== this.#nonceLo) return sink.ignore('foreign');
    sink.fail(f.token, f.seq, `icmp:${reason}`);
  }
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
