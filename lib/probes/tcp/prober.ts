// TCP connect: a probe is one connection attempt. Its RTT is the
// handshake's as the kernel measured it (TCP_INFO's tcpi_rtt, read through
// our addon in 'connect'), so a busy event loop adds nothing to it; without
// the addon, or when the SYN was retransmitted (the kernel then takes no
// sample), it runs from the SYN (stamped right before connect()) to the
// handshake completing (stamped first thing in 'connect'). Then the
// connection is reset, not closed, so no TIME_WAIT is left behind at
// thousands of targets. A refusal (RST) is an answer too: the host is up.
// Everything else is a failure with its errno.
//
// Per-probe cost: one net.Socket (a subclass carrying the probe, so the
// listeners are shared functions, not closures per probe) and no timer: the
// engine's single timer calls expire() at the deadline.

import { Socket } from 'node:net';
import { SendError, type Probe, type Prober, type ProbeSink } from '../prober.js';

/** What the prober needs of the kernel's TCP_INFO (../icmp/native-sockets.ts). */
export interface TcpKernelInfo {
  /** TCP_INFO of the socket `fd`: its state, the smoothed RTT (µs), retransmissions. */
  readonly tcpInfo: (fd: number) => { state: number; rttUs: number; totalRetrans: number };
  readonly established: number;
}

export interface TcpProberOptions {
  /** Monotonic milliseconds: the engine's clock, so our stamps and its sentAtMs agree. */
  readonly nowMs: () => number;
  /** The most sockets open at once (connecting, or being reset); beyond it sends fail. */
  readonly maxInFlight: number;
  /** The kernel's handshake RTT; without it, the callback's time. */
  readonly kernel?: TcpKernelInfo;
}

/** The answer a refused connection counts as: received, by this name. */
export const REFUSED_ANSWER = 'tcp:refused';
/** How often, at most, the same kind of local trouble is logged (the first time at once). */
export const PROBLEM_LOG_INTERVAL_MS = 60_000;

// Errors of our own host, not of the path or the target: the probe never
// went out (no descriptor, no local port, no memory). Counted as send
// failures, like a refused sendto() for ICMP.
const LOCAL_ERRORS: ReadonlySet<string> = new Set([
  'EMFILE',
  'ENFILE',
  'EADDRNOTAVAIL',
  'EADDRINUSE',
  'ENOBUFS',
  'ENOMEM',
  'EAGAIN',
  'EPERM', // a local firewall rejecting the SYN
  'EACCES',
]);

/** One probe's connection; carries the probe so the shared listeners find it. */
class ProbeSocket extends Socket {
  /** Still waiting for its answer: not yet connected, refused, failed or expired. */
  pending = true;
  /** The engine's send stamp, and ours right before connect() (set by 'connectionAttempt'). */
  connectAtMs: number;

  constructor(
    readonly owner: TcpProber,
    readonly token: number,
    readonly seq: number,
    readonly sentAtMs: number,
  ) {
    super({ allowHalfOpen: false });
    this.connectAtMs = sentAtMs;
  }
}

export class TcpProber implements Prober {
  readonly #opts: TcpProberOptions;
  #sink: ProbeSink | undefined;
  /** Sockets open (until 'close'): what the cap counts, so descriptors are bounded too. */
  #open = 0;
  /** Probes waiting for their answer, by target token, then sequence: for expire(). */
  readonly #pending = new Map<number, Map<number, ProbeSocket>>();
  /** Local trouble (the cap, EMFILE...) since it was last logged, by code. */
  readonly #trouble = new Map<string, number>();
  #lastLoggedMs = -Infinity;
  #closed = false;

  /** The clock the listeners stamp with. */
  readonly nowMs: () => number;
  readonly #kernel: TcpKernelInfo | undefined;
  readonly info: Readonly<Record<string, string>>;

  constructor(opts: TcpProberOptions) {
    this.#opts = opts;
    this.nowMs = opts.nowMs;
    this.#kernel = opts.kernel;
    this.info = opts.kernel
      ? { transport: 'node', clock: 'kernel' }
      : { transport: 'node', clock: 'user-space' };
  }

  /** Sockets open now, connecting or being reset. */
  get openSockets(): number {
    return this.#open;
  }

  bind(sink: ProbeSink): void {
    this.#sink = sink;
  }

  send(probe: Probe): void {
    if (this.#closed) throw new SendError('closed', 'the tcp prober is closed');
    const port = probe.target.probe?.port;
    if (port === undefined) throw new SendError('no-port', 'a tcp target needs a port');
    if (this.#open >= this.#opts.maxInFlight) {
      this.#note('in-flight-cap');
      throw new SendError(
        'in-flight-cap',
        `${this.#open} tcp connections in flight, the most allowed`,
      );
    }
    const socket = new ProbeSocket(this, probe.token, probe.seq, probe.sentAtMs);
    socket.on('error', TcpProber.#onError);
    socket.on('close', TcpProber.#onClose);
    socket.on('connectionAttempt', TcpProber.#onConnectionAttempt);
    socket.on('connect', TcpProber.#onConnect); // on, not once: once wraps each in a closure
    this.#open++; // 'close' takes it back, whatever happens from here
    try {
      // With an address for host, node skips the lookup and calls connect(2)
      // on the next tick, after this send's batch; 'connectionAttempt'
      // stamps that moment. The zone of a link-local address goes in the
      // host string (fe80::1%eth0).
      socket.connect(port, probe.target.address);
    } catch (err) {
      socket.pending = false;
      socket.destroy();
      const message = err instanceof Error ? err.message : String(err);
      throw new SendError(errnoOf(err) ?? 'failed', message);
    }
    let byToken = this.#pending.get(probe.token);
    if (!byToken) this.#pending.set(probe.token, (byToken = new Map<number, ProbeSocket>()));
    byToken.set(probe.seq, socket);
  }

  /**
   * The deadline is due: a handshake the kernel completed in time but whose
   * 'connect' the loop has not yet run is an answer, with the kernel's RTT.
   */
  collect(token: number, seq: number): void {
    const socket = this.#pending.get(token)?.get(seq);
    if (!socket || !this.#kernel) return;
    const rttMs = this.#kernelRttMs(socket, true);
    if (rttMs === undefined) return;
    this.#settle(socket);
    socket.resetAndDestroy();
    this.#sink?.reply(socket.token, socket.seq, undefined, socket.sentAtMs + rttMs);
  }

  /**
   * The handshake's RTT as the kernel measured it, in ms; undefined without
   * the addon, before the handshake is done (with `mustBeEstablished`), or
   * when the SYN was retransmitted: the kernel then takes no sample (Karn),
   * and the probe's RTT, SYN to answer, includes the retransmission's wait.
   */
  #kernelRttMs(socket: ProbeSocket, mustBeEstablished: boolean): number | undefined {
    const kernel = this.#kernel;
    // node's TCP handle carries its descriptor on Unix; net.Socket does not
    // show it in its types, hence the cast.
    const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
    if (!kernel || fd === undefined || fd < 0) return undefined;
    try {
      const info = kernel.tcpInfo(fd);
      if (mustBeEstablished && info.state !== kernel.established) return undefined;
      if (info.rttUs <= 0 || info.totalRetrans > 0) return undefined;
      return info.rttUs / 1000;
    } catch {
      return undefined; // not a TCP socket after all: the callback's time
    }
  }

  /** The probe is lost: drop its half-open connection (a SYN_SENT close sends nothing). */
  expire(token: number, seq: number): void {
    const socket = this.#pending.get(token)?.get(seq);
    if (!socket) return;
    this.#settle(socket);
    socket.destroy();
  }

  /** Connections are events of the loop, not a queue we can read: nothing to drain. */
  drain(): void {}

  takeProblems(): string[] {
    if (this.#trouble.size === 0) return [];
    const now = this.#opts.nowMs();
    if (now - this.#lastLoggedMs < PROBLEM_LOG_INTERVAL_MS) return [];
    this.#lastLoggedMs = now;
    const lines = [...this.#trouble].map(([code, n]) =>
      code === 'in-flight-cap'
        ? `tcp: ${n} probe(s) lost as send:in-flight-cap: ${this.#opts.maxInFlight} connections in flight is the most allowed (--tcp-max-in-flight)`
        : `tcp: ${n} probe(s) lost as send:${code}`,
    );
    this.#trouble.clear();
    return lines;
  }

  close(): void {
    this.#closed = true;
    for (const byToken of this.#pending.values())
      for (const socket of byToken.values()) socket.destroy();
    this.#pending.clear();
  }

  #note(code: string): void {
    this.#trouble.set(code, (this.#trouble.get(code) ?? 0) + 1);
  }

  /** The probe has its outcome: forget it; its socket still counts until 'close'. */
  #settle(socket: ProbeSocket): void {
    socket.pending = false;
    const byToken = this.#pending.get(socket.token);
    if (!byToken) return;
    byToken.delete(socket.seq);
    if (byToken.size === 0) this.#pending.delete(socket.token);
  }

  // The listeners, shared by every socket (`this` is the socket). Defined
  // in the class body so they reach its private members.

  static readonly #onConnectionAttempt = function (this: ProbeSocket): void {
    this.connectAtMs = this.owner.nowMs();
  };

  static readonly #onConnect = function (this: ProbeSocket): void {
    const atMs = this.owner.nowMs();
    const self = this.owner;
    // Read before the reset, which takes the descriptor.
    const kernelRttMs = this.pending ? self.#kernelRttMs(this, false) : undefined;
    // RST, not FIN: no TIME_WAIT here, nothing for the peer to wait on.
    this.resetAndDestroy();
    if (!this.pending) return;
    self.#settle(this);
    const stamp = kernelRttMs === undefined ? answerStamp(this, atMs) : this.sentAtMs + kernelRttMs;
    self.#sink?.reply(this.token, this.seq, undefined, stamp);
  };

  static readonly #onError = function (this: ProbeSocket, err: Error): void {
    const atMs = this.owner.nowMs();
    if (!this.pending) return; // after the answer (a failed reset) or the expiry
    const self = this.owner;
    self.#settle(this);
    const code = errnoOf(err) ?? 'failed';
    if (code === 'ECONNREFUSED') {
      self.#sink?.reply(this.token, this.seq, undefined, answerStamp(this, atMs), REFUSED_ANSWER);
    } else if (LOCAL_ERRORS.has(code)) {
      self.#note(code);
      self.#sink?.fail(this.token, this.seq, `send:${code}`);
    } else {
      self.#sink?.fail(this.token, this.seq, `tcp:${code}`);
    }
  };

  static readonly #onClose = function (this: ProbeSocket): void {
    const self = this.owner;
    self.#open--;
    // Closed with no outcome (the prober's close()): forget it all the same.
    if (this.pending) self.#settle(this);
  };
}

/**
 * The engine takes RTT = atMs - sentAtMs with its own send stamp, which
 * precedes connect(2) by the rest of the send's batch (node connects on the
 * next tick). Shift the answer's stamp back by that hold, so the RTT is
 * SYN to answer.
 */
function answerStamp(socket: ProbeSocket, atMs: number): number {
  return atMs - (socket.connectAtMs - socket.sentAtMs);
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
