// ICMP echo: one raw socket per address family shared by all ICMP targets;
// replies matched by our identifier, the target's token and the wide
// sequence in our payload, or through the echo an ICMP error quotes.

import { canonicalAddress, withoutZone, type Family } from '../../address.js';
import { SendError, type Probe, type Prober, type ProbeSink } from '../prober.js';
import { decodeReceived, encodeEchoRequest, ICMP_HEADER_BYTES } from './packet.js';
import { isTraceIdentifier } from './trace-identifiers.js';
import type { IcmpTransport } from './transport.js';

export interface IcmpProberOptions {
  /** A family without a transport still gets probes: each is a failed send. */
  readonly transports: Partial<Record<Family, IcmpTransport>>;
  /** ICMP identifier, the same for all our probes. */
  readonly identifier: number;
  readonly payloadBytes: number;
  /** The transport and clock, for the info metric. */
  readonly info?: Readonly<Record<string, string>>;
}

export class IcmpProber implements Prober {
  readonly #opts: IcmpProberOptions;
  readonly #packets: Record<Family, Buffer>;
  readonly info: Readonly<Record<string, string>> | undefined;

  constructor(opts: IcmpProberOptions) {
    this.#opts = opts;
    this.info = opts.info;
    const size = ICMP_HEADER_BYTES + opts.payloadBytes;
    this.#packets = { 4: Buffer.alloc(size), 6: Buffer.alloc(size) };
  }

  /** The echo identifier of our probes (the trace sockets take another). */
  get identifier(): number {
    return this.#opts.identifier;
  }

  bind(sink: ProbeSink): void {
    for (const transport of Object.values(this.#opts.transports)) {
      const family = transport.family;
      const ipHeader = transport.ipHeader ?? family === 4;
      transport.onPacket((packet, source, atMs) =>
        this.#onPacket(sink, family, ipHeader, packet, source, atMs),
      );
    }
  }

  send(probe: Probe): number | void {
    const family = probe.target.family;
    const transport = this.#opts.transports[family];
    if (!transport) throw new SendError(`no-ipv${family}-socket`, `no IPv${family} ICMP socket`);
    const packet = this.#packets[family];
    encodeEchoRequest(
      family,
      {
        identifier: this.#opts.identifier,
        token: probe.token,
        wideSeq: probe.seq,
        sentAtMs: probe.sentAtMs,
      },
      packet,
    );
    return transport.send(packet, probe.target.address);
  }

  drain(family: Family): void {
    this.#opts.transports[family]?.drain();
  }

  takeProblems(): string[] {
    return Object.values(this.#opts.transports).flatMap((t) => t.takeProblems());
  }

  close(): void {
    for (const transport of Object.values(this.#opts.transports)) transport.close();
  }

  /** Another identifier: foreign, unless it is one of our trace sockets' (raw-socket shows us those). */
  #foreign(sink: ProbeSink, identifier: number): void {
    if (!isTraceIdentifier(identifier)) sink.ignore('foreign');
  }

  #onPacket(
    sink: ProbeSink,
    family: Family,
    ipHeader: boolean,
    packet: Buffer,
    source: string,
    atMs: number,
  ): void {
    const decoded = decodeReceived(family, packet, ipHeader);
    switch (decoded.kind) {
      case 'malformed':
        return sink.ignore(decoded.reason);
      case 'ignored':
        return sink.ignore('other-icmp');
      case 'reply': {
        if (decoded.identifier !== this.#opts.identifier)
          return this.#foreign(sink, decoded.identifier);
        if (!decoded.echo) return sink.ignore(decoded.truncated ? 'truncated' : 'foreign');
        if (decoded.echo.wideSeq % 0x10000 !== decoded.seq16) return sink.ignore('unknown-probe');
        return sink.reply(decoded.echo.token, decoded.echo.wideSeq, source, atMs);
      }
      case 'error': {
        if (decoded.identifier !== this.#opts.identifier)
          return this.#foreign(sink, decoded.identifier);
        const reason = `icmp:${decoded.reason}`;
        const echo = decoded.echo;
        if (echo) {
          if (echo.wideSeq % 0x10000 !== decoded.seq16) return sink.ignore('unknown-probe');
          return sink.fail(echo.token, echo.wideSeq, reason);
        }
        // Old routers quote only 8 bytes of our echo: match by destination and sequence.
        const seq16 = decoded.seq16;
        const match = sink.findInFlight(
          withoutZone(canonicalAddress(decoded.quotedDestination ?? '')),
          (seq) => seq % 0x10000 === seq16,
        );
        if (!match) return sink.ignore('unknown-probe');
        return sink.fail(match.token, match.seq, reason);
      }
    }
  }
}
