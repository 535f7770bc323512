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

// A request must come this soon after the connection opens: our client sends
// it one round trip after the challenge leaves, so a second holds any path
// we would test, and an idle connection holds a slot no longer than that.
const HANDSHAKE_MS = 1000;
// Connections still proving themselves, at most: the rest are closed at once.
const MAX_PENDING = 64;
// ... and from one source address: our client proves one connection before
// it opens the next, so a few cover testers behind one NAT, and one host
// cannot take every slot.
const MAX_PENDING_PER_SOURCE = 4;
// Closed connections are logged as one line per this period, so a scan is one line, not thousands.
const REFUSED_LOG_MS = 60_000;
// What an echo connection may send in all (10 messages a second of 8 bytes is ~2 kB in 25 s).
const MAX_ECHO_BYTES = 64 * 1024;
// A download's client sends nothing after its request; more than this is not a client of ours.
const MAX_STRAY_BYTES = 1024;

/** Why a connection was closed before its test. */
type RefusedWhy = 'bad-key' | 'slow' | 'full' | 'source-full';
const REFUSED_TEXT: Record<RefusedWhy, string> = {
  'bad-key': 'did not prove the peer key',
  slow: `sent no request in ${HANDSHAKE_MS} ms`,
  full: `found ${MAX_PENDING} connections waiting for their request (no challenge sent)`,
  'source-full': `found ${MAX_PENDING_PER_SOURCE} from the same address waiting (no challenge sent)`,
};

export class ThroughputResponder {
  readonly #opts: ResponderOptions;
  readonly #server: Server;
  readonly #policy: ResponderPolicy;
  readonly #sockets = new Set<Socket>();
  #pending = 0;
  /** Connections still proving themselves, by source address. */
  readonly #pendingBy = new Map<string, number>();
  /** Closed connections since the last log line, by why. */
  readonly #refused = new Map<RefusedWhy, number>();
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

  /** How many connections are still proving themselves (tests, the report). */
  get pending(): number {
    return this.#pending;
  }

  #refuse(socket: Socket, why: RefusedWhy): void {
    socket.destroy();
    this.#refused.set(why, (this.#refused.get(why) ?? 0) + 1);
    this.#refusedTimer ??= setTimeout(() => {
      this.#refusedTimer = undefined;
      const parts = [...this.#refused].map(([w, n]) => `${n} ${REFUSED_TEXT[w]}`);
      this.#refused.clear();
      this.#opts.log(`throughput responder: closed connections: ${parts.join('; ')}`);
    }, REFUSED_LOG_MS).unref();
  }

  #accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    // An address the kernel no longer knows (closed at once) has no slot to take.
    const source = socket.remoteAddress;
    if (source === undefined) return void socket.destroy();
    const fromSource = this.#pendingBy.get(source) ?? 0;
    if (this.#pending >= MAX_PENDING) return this.#refuse(socket, 'full');
    if (fromSource >= MAX_PENDING_PER_SOURCE) return this.#refuse(socket, 'source-full');
    this.#pending++;
    this.#pendingBy.set(source, fromSource + 1);
    this.#sockets.add(socket);
    const nonce = randomBytes(CHALLENGE_BYTES - 4);
    const reader = new FixedReader(REQUEST_BYTES);
    let proving = true;
    const proven = (): void => {
      if (!proving) return;
      proving = false;
      this.#pending--;
      const left = (this.#pendingBy.get(source) ?? 1) - 1;
      if (left > 0) this.#pendingBy.set(source, left);
      else this.#pendingBy.delete(source);
      clearTimeout(handshakeTimer);
      socket.off('end', onEnd);
    };
    const handshakeTimer = setTimeout(() => this.#refuse(socket, 'slow'), HANDSHAKE_MS);
    // A client that gives up (FIN) before its request frees its slot now, not at the timeout.
    const onEnd = (): void => {
      proven();
      socket.destroy();
    };
    socket.on('end', onEnd);
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
      if (!request) return this.#refuse(socket, 'bad-key');
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
