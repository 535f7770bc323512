// The throughput responder: a TCP server on the peer port (the udp peer
// responder's port number), started only with a peer key. Each connection
// gets a challenge; a request whose MAC does not prove the key closes the
// connection without another byte. The rules (one test at a time, caps)
// are policy.ts; the messages protocol.ts. One bad peer costs a socket, never
// the daemon: every socket error is swallowed here and the connection closed.

import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { formatListen, type ListenAddress } from '../listen.js';
import type { Log } from '../log.js';
import { ListenError } from '../errors.js';
import { Meter } from './meter.js';
import { ResponderPolicy } from './policy.js';
import {
  CHALLENGE_BYTES,
  encodeChallenge,
  encodeReply,
  encodeResult,
  FixedReader,
  REQUEST_BYTES,
  streamMs,
  verifyRequest,
  WARMUP_MS,
  type Request,
} from './protocol.js';
import { streamUntil } from './stream.js';

export interface ResponderOptions {
  readonly key: Buffer;
  readonly listen: ListenAddress;
  /** --throughput-max-duration */
  readonly maxDurationMs: number;
  /** --throughput-max-bytes: per direction of a test. */
  readonly maxBytes: number;
  readonly log: Log;
}

// A request must come this soon after the connection opens.
const HANDSHAKE_MS = 5000;
// Connections still proving themselves, at most: the rest are closed at once.
const MAX_PENDING = 64;
// What an echo connection may send in all (10 messages a second of 8 bytes is ~2 kB in 25 s).
const MAX_ECHO_BYTES = 64 * 1024;
// A download's client sends nothing after its request; more than this is not a client of ours.
const MAX_STRAY_BYTES = 1024;

export class ThroughputResponder {
  readonly #opts: ResponderOptions;
  readonly #server: Server;
  readonly #policy: ResponderPolicy;
  readonly #sockets = new Set<Socket>();
  #pending = 0;
  /** Refused connections since the last log line, so a scan is one line, not thousands. */
  #refused = 0;
  #refusedTimer: NodeJS.Timeout | undefined;

  private constructor(opts: ResponderOptions) {
    this.#opts = opts;
    this.#policy = new ResponderPolicy({ maxDurationMs: opts.maxDurationMs });
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.#accept(s));
    this.#server.on('error', (err) => opts.log(`throughput responder: ${err.message}`));
  }

  static start(opts: ResponderOptions): Promise<ThroughputResponder> {
    const r = new ThroughputResponder(opts);
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(
          new ListenError(
            `cannot listen for throughput tests on ${formatListen(opts.listen)}: ${err.message}`,
            { cause: err },
          ),
        );
      r.#server.once('error', onError);
      r.#server.listen(opts.listen.port, opts.listen.host, () => {
        r.#server.off('error', onError);
        resolve(r);
      });
    });
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : this.#opts.listen.port;
  }

  get busy(): boolean {
    return this.#policy.busy;
  }

  close(): Promise<void> {
    clearTimeout(this.#refusedTimer);
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #refuse(socket: Socket): void {
    socket.destroy();
    this.#refused++;
    this.#refusedTimer ??= setTimeout(() => {
      this.#refusedTimer = undefined;
      this.#opts.log(
        `throughput responder: closed ${this.#refused} connections that did not prove the peer key`,
      );
      this.#refused = 0;
    }, 60_000).unref();
  }

  #accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    if (this.#pending >= MAX_PENDING) return void socket.destroy();
    this.#pending++;
    this.#sockets.add(socket);
    const nonce = randomBytes(CHALLENGE_BYTES - 4);
    const reader = new FixedReader(REQUEST_BYTES);
    let proving = true;
    const proven = (): void => {
      if (!proving) return;
      proving = false;
      this.#pending--;
      clearTimeout(handshakeTimer);
    };
    const handshakeTimer = setTimeout(() => this.#refuse(socket), HANDSHAKE_MS);
    socket.once('close', () => {
      proven();
      this.#sockets.delete(socket);
    });
    const onData = (chunk: Buffer): void => {
      const got = reader.push(chunk);
      if (!got) return;
      socket.off('data', onData);
      proven();
      const request = verifyRequest(this.#opts.key, nonce, got.message);
      if (!request) return this.#refuse(socket);
      this.#serve(socket, nonce, request, Buffer.from(got.rest));
    };
    socket.on('data', onData);
    socket.write(encodeChallenge(nonce));
  }

  #serve(socket: Socket, nonce: Buffer, request: Request, rest: Buffer): void {
    const now = performance.now();
    const grant = this.#policy.admit(request.testId, request.mode, request.durationMs, now);
    if (grant.status === 'busy') {
      socket.end(encodeReply(this.#opts.key, nonce, request, grant));
      return;
    }
    socket.once('close', () => {
      clearTimeout(deadline);
      this.#policy.closed(request.testId);
    });
    const deadline = setTimeout(() => socket.destroy(), grant.deadlineMs - now);
    socket.write(encodeReply(this.#opts.key, nonce, request, grant));
    const { maxBytes } = this.#opts;
    switch (request.mode) {
      case 'download': {
        let stray = rest.length;
        socket.on('data', (chunk: Buffer) => {
          stray += chunk.length;
          if (stray > MAX_STRAY_BYTES) socket.destroy();
        });
        socket.on('end', () => socket.end());
        void streamUntil(socket, now + streamMs(grant.grantedMs), maxBytes, () =>
          performance.now(),
        );
        return;
      }
      case 'upload': {
        const meter = new Meter(WARMUP_MS, grant.grantedMs);
        let answered = false;
        const answer = (): void => {
          if (answered) return;
          answered = true;
          socket.end(encodeResult(this.#opts.key, nonce, request, meter.measured()));
        };
        const onData = (chunk: Buffer): void => {
          if (answered) return;
          meter.add(performance.now(), chunk.length);
          if (meter.totalBytes <= maxBytes) return;
          // The cap: what was measured so far is the result; the client has a moment to read it.
          answer();
          setTimeout(() => socket.destroy(), 1000).unref();
        };
        if (rest.length > 0) onData(rest);
        socket.on('data', onData);
        socket.once('end', answer);
        return;
      }
      case 'echo': {
        let echoed = 0;
        const onData = (chunk: Buffer): void => {
          echoed += chunk.length;
          if (echoed > MAX_ECHO_BYTES) return void socket.destroy();
          socket.write(chunk);
        };
        if (rest.length > 0) onData(rest);
        socket.on('data', onData);
        socket.on('end', () => socket.end());
        return;
      }
    }
  }
}
