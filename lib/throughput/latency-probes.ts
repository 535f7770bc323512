// Latency under load: udp probes (lib/probes/udp/packet.ts, the peer key's
// MAC) to the peer's udp responder, on the throughput port's number, sent
// every `everyMs` from a socket this test owns and closes. Why udp and not
// an echo over TCP: a probe lost in the full queue is a loss, counted; over
// TCP it would be retransmitted after a timeout and hold every later echo
// behind it (head-of-line blocking), so the RTT under load would measure
// TCP's recovery as much as the queue.
//
// A probe counts in the phase it was sent in (idle, or a direction after
// its warm-up); its answer is matched by this test's nonce, token and
// sequence after the MAC checks out. One not answered within `timeoutMs`
// is lost; an answer after that is late and not a sample. Stamps are the
// kernel's where our addon loaded (a UdpTransport, as for udp probes), so
// a loop busy with the stream adds nothing, and the RTT is less the hold
// the responder's answer reports. Stamps are the
// kernel's where our addon loaded (a UdpTransport, as for udp probes), so
// a loop busy with the stream adds nothing, and the RTT is less the hold
// the responder's answer reports.

import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  decodeUdpPacket,
  encodeUdpPacket,
  PacketType,
  UDP_PACKET_BYTES,
} from '../probes/udp/packet.js';
import { openUdpTransport } from '../probes/udp/open-transport.js';
import type { UdpTransportChoice } from '../probes/udp/transport-choice.js';
import type { UdpTransport } from '../probes/udp/transport.js';
import { canonicalAddress, withoutZone } from '../address.js';

export type RttPhase = 'idle' | 'download' | 'upload';

export interface LatencyProbesOptions {
  readonly host: string;
  readonly port: number;
  readonly key: Buffer;
  readonly everyMs: number;
  readonly timeoutMs: number;
  /** Each RTT sample, as it arrives (phase: when its probe was sent). */
  readonly onRtt?: ((phase: RttPhase, rttMs: number) => void) | undefined;
  /** The socket layer (`--udp-transport`); default auto. */
  readonly transport?: UdpTransportChoice;
}

// Whatever the duration: 10 a second for a test capped at minutes.
const MAX_PROBES = 100_000;

interface Sent {
  atMs: number;
  readonly phase: RttPhase | undefined;
  answered: boolean;
}

export class LatencyProbes {
  readonly #opts: LatencyProbesOptions;
  readonly #socket: UdpTransport;
  readonly #token = randomBytes(4).readUInt32BE(0);
  readonly #nonce = randomBytes(8);
  /** The host as answers name it (packet.ts): canonical, without a zone. */
  readonly #to: string;
  readonly #sent: Sent[] = [];
  readonly #timer: NodeJS.Timeout;
  #phase: RttPhase | undefined;
  #phaseFromMs = 0;
  #closed = false;
  readonly samples: Record<RttPhase, number[]> = { idle: [], download: [], upload: [] };
  /** Answers after their probe's timeout, and datagrams that are not answers to this test. */
  late = 0;
  ignored = 0;

  private constructor(socket: UdpTransport, opts: LatencyProbesOptions) {
    this.#opts = opts;
    this.#to = canonicalAddress(withoutZone(opts.host));
    this.#socket = socket;
    // Stamped by the transport (the kernel, or first thing on reading).
    socket.onDatagram((packet, _source, _port, atMs) => {
      try {
        this.#onAnswer(packet, atMs);
      } catch {
        this.ignored++;
      }
    });
    this.#timer = setInterval(() => this.#send(), opts.everyMs);
  }

  /** Opens the socket (the host's family) and starts sending; no phase yet. */
  static async open(opts: LatencyProbesOptions): Promise<LatencyProbes> {
    const socket = await openUdpTransport(opts.transport ?? 'auto', {
      family: isIPv6(opts.host) ? 6 : 4,
    });
    return new LatencyProbes(socket, opts);
  }

  /** Probes sent from `fromMs` (performance.now) on count in `phase`; before, in none. */
  begin(phase: RttPhase, fromMs = performance.now()): void {
    this.#phase = phase;
    this.#phaseFromMs = fromMs;
  }

  /** Probes sent from now on count in no phase. */
  end(): void {
    this.#phase = undefined;
  }

  #send(): void {
    if (this.#closed || this.#sent.length >= MAX_PROBES) return;
    const atMs = performance.now();
    const phase = atMs >= this.#phaseFromMs ? this.#phase : undefined;
    const seq = this.#sent.length;
    const sent = { atMs, phase, answered: false };
    this.#sent.push(sent);
    const packet = encodeUdpPacket(
      PacketType.probe,
      {
        token: this.#token,
        seq,
        sentAtWallMs: Date.now(),
        nonceHi: this.#nonce.readUInt32BE(0),
        nonceLo: this.#nonce.readUInt32BE(4),
        toAddress: this.#to,
        toPort: this.#opts.port,
      },
      this.#opts.key,
      // A buffer per probe: dgram may hold it until the kernel takes it.
      Buffer.allocUnsafe(UDP_PACKET_BYTES),
    );
    // A refused send is a probe never answered: lost, like one the network dropped.
    try {
      const stamped = this.#socket.send(packet, this.#opts.host, this.#opts.port, () => {});
      if (typeof stamped === 'number') sent.atMs = stamped;
    } catch {
      // refused at once (the addon's send): lost all the same
    }
  }

  #onAnswer(packet: Buffer, atMs: number): void {
    const d = decodeUdpPacket(packet, PacketType.answer, this.#opts.key);
    if (!d.ok) return void this.ignored++;
    const f = d.fields;
    const sent = this.#sent[f.seq];
    const ours =
      f.token === this.#token &&
      f.toAddress === this.#to &&
      f.toPort === this.#opts.port &&
      f.nonceHi === this.#nonce.readUInt32BE(0) &&
      f.nonceLo === this.#nonce.readUInt32BE(4);
    if (!ours || !sent || sent.answered) return void this.ignored++;
    // The responder's hold (its loop busy with the stream) is not the path's.
    const rttMs = Math.max(0, atMs - (f.heldMs ?? 0) - sent.atMs);
    if (rttMs > this.#opts.timeoutMs) return void this.late++;
    sent.answered = true;
    if (sent.phase === undefined) return;
    this.samples[sent.phase].push(rttMs);
    this.#opts.onRtt?.(sent.phase, rttMs);
  }

  /** Probes sent in a phase and not answered in their time (so far). */
  get lost(): number {
    const now = performance.now();
    let n = 0;
    for (const s of this.#sent)
      if (s.phase !== undefined && !s.answered && now - s.atMs >= this.#opts.timeoutMs) n++;
    return n;
  }

  /** Stops sending; resolves once every probe sent in a phase is answered or timed out. */
  async settle(): Promise<void> {
    clearInterval(this.#timer);
    const deadline = performance.now() + this.#opts.timeoutMs;
    // Bounded by the timeout and by count: polled every 20 ms.
    for (let i = 0; i < 10_000 && performance.now() < deadline; i++) {
      if (this.#sent.every((s) => s.answered || s.phase === undefined)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    void this.#socket.close();
  }
}
