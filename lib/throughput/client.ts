// One throughput test against a peer's responder, over real sockets: a
// session connection that holds the responder for the whole test, a
// download, then an upload, with udp latency probes to the peer's udp
// responder throughout (latency-probes.ts): idle first, then under load.
// Each connection proves the key and checks the server's proof before it
// trusts a byte (protocol.ts). Reads go into one reused buffer (net's
// `onread`), so a download allocates nothing per chunk.

import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Meter, bitsPerSecond } from './meter.js';
import {
  CHALLENGE_BYTES,
  decodeChallenge,
  encodeRequest,
  FixedReader,
  REPLY_BYTES,
  RESULT_BYTES,
  streamMs,
  verifyReply,
  verifyResult,
  WARMUP_MS,
  type Measured,
  type Mode,
  type Request,
} from './protocol.js';
import { LatencyProbes, type RttPhase } from './latency-probes.js';
import type { UdpTransportChoice } from '../probes/udp/transport-choice.js';
import { streamUntil } from './stream.js';

export type TestOutcome = 'ok' | 'busy' | 'no-challenge' | 'refused' | 'timeout' | 'error';
export const TEST_OUTCOMES: readonly TestOutcome[] = [
  'ok',
  'busy',
  'no-challenge',
  'refused',
  'timeout',
  'error',
];
export type Direction = 'download' | 'upload';
export type { RttPhase };

export interface TestOptions {
  readonly host: string;
  readonly port: number;
  readonly key: Buffer;
  /** Measured duration of each direction (the warm-up comes first). */
  readonly durationMs: number;
  /** Each RTT sample of the latency probes, as it arrives (phase: when it was sent). */
  readonly onRtt?: (phase: RttPhase, rttMs: number) => void;
  /** How long the idle RTT is measured before the download. */
  readonly idleMs?: number;
  /** Time between latency probes. */
  readonly probeEveryMs?: number;
  /** A latency probe not answered in this long is lost. */
  readonly probeTimeoutMs?: number;
  /** The latency probes' socket layer (`--udp-transport`); default auto. */
  readonly udpTransport?: UdpTransportChoice;
}

export interface DirectionResult {
  readonly bitsPerSecond: number | undefined;
  readonly measured: Measured;
  /** RTTs of the latency probes sent while this direction streamed. */
  readonly rttsMs: number[];
}

export interface TestResult {
  readonly outcome: TestOutcome;
  /** Why, when not ok: one line. */
  readonly detail?: string;
  readonly grantedMs?: number;
  readonly idleRttsMs: number[];
  readonly download?: DirectionResult;
  readonly upload?: DirectionResult;
  /** Latency probes sent in a phase (idle or under load) that were not answered in their time. */
  readonly probesLost: number;
}

/** A test that ended early, by its outcome. */
export class TestFailure extends Error {
  constructor(
    readonly outcome: Exclude<TestOutcome, 'ok'>,
    message: string,
  ) {
    super(message);
    this.name = 'TestFailure';
  }
}

const CONNECT_MS = 5000;
const READ_BUFFER_BYTES = 64 * 1024;
// After a direction's stream should have ended, this long for its last bytes or result.
const END_GRACE_MS = 3000;
// The queue a download filled drains before the upload starts.
const GAP_MS = 200;
// Ten probes a second, as the engine's default interval; a probe waits up to
// 2 s: a bloated modem's queue holds seconds, and an RTT of 1.5 s under load
// is a figure to report, not a loss.
const PROBE_EVERY_MS = 100;
const PROBE_TIMEOUT_MS = 2000;

/** An authenticated connection, past the reply; `onBytes` then sees each read. */
interface Session {
  readonly socket: Socket;
  readonly grantedMs: number;
  readonly serverNonce: Buffer;
  readonly request: Request;
  /** Set by the caller: every read after the reply (the rest of the reply's read first). */
  onBytes: (buf: Buffer, n: number) => void;
  /** Resolves when the server ends its side or the socket closes. */
  readonly ended: Promise<void>;
}

function failureOf(err: NodeJS.ErrnoException): TestFailure {
  switch (err.code) {
    case 'ECONNREFUSED':
      return new TestFailure('refused', `connection refused`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new TestFailure('timeout', err.code);
    default:
      return new TestFailure('error', err.code ?? err.message);
  }
}

/** Connects, proves the key, checks the server's reply; busy and refusals throw TestFailure. */
function openSession(
  opts: TestOptions,
  testId: Buffer,
  mode: Mode,
  durationMs: number,
): Promise<Session> {
  return new Promise((resolve, reject) => {
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    let phase: 'challenge' | 'reply' | 'open' = 'challenge';
    let reader = new FixedReader(CHALLENGE_BYTES);
    let serverNonce: Buffer | undefined;
    let request: Request | undefined;
    let session: Session | undefined;
    let markEnded: () => void = () => {};
    const ended = new Promise<void>((r) => (markEnded = r));
    const fail = (f: TestFailure): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(f);
    };
    const timer = setTimeout(
      () => fail(new TestFailure('timeout', `no answer from the responder in ${CONNECT_MS} ms`)),
      CONNECT_MS,
    );
    const onRead = (n: number, buf: Buffer): boolean => {
      if (phase === 'open') {
        session!.onBytes(buf, n);
        return true;
      }
      const got = reader.push(buf.subarray(0, n));
      if (!got) return true;
      if (phase === 'challenge') {
        serverNonce = decodeChallenge(got.message);
        if (!serverNonce) {
          fail(new TestFailure('error', 'not a netping throughput responder'));
          return false;
        }
        request = { clientNonce: randomBytes(16), testId, mode, durationMs };
        socket.write(encodeRequest(opts.key, serverNonce, request));
        phase = 'reply';
        reader = new FixedReader(REPLY_BYTES);
        if (got.rest.length > 0) return onRead(got.rest.length, Buffer.from(got.rest));
        return true;
      }
      const reply = verifyReply(opts.key, serverNonce!, request!, got.message);
      if (!reply) {
        fail(new TestFailure('error', 'the responder did not prove the peer key'));
        return false;
      }
      if (reply.status === 'busy') {
        fail(new TestFailure('busy', 'the responder is running another test'));
        return false;
      }
      clearTimeout(timer);
      phase = 'open';
      const rest = Buffer.from(got.rest);
      session = {
        socket,
        grantedMs: reply.grantedMs,
        serverNonce: serverNonce!,
        request: request!,
        onBytes: () => {},
        ended,
      };
      resolve(session);
      // The caller sets onBytes synchronously after the await resumes; bytes
      // already here wait a microtask for it.
      if (rest.length > 0) queueMicrotask(() => session!.onBytes(rest, rest.length));
      return true;
    };
    const socket = connect({
      host: opts.host,
      port: opts.port,
      noDelay: true,
      allowHalfOpen: true,
      onread: { buffer: readBuffer, callback: onRead },
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (phase !== 'open') fail(failureOf(err));
    });
    const closedEarly = (): TestFailure =>
      phase === 'challenge'
        ? // Closed before it said a word: every waiting slot was taken (its log says by what).
          new TestFailure(
            'no-challenge',
            'the responder closed the connection before its challenge: too many connections waiting there',
          )
        : // Closed after our request, before its reply: it did not accept our key.
          new TestFailure('refused', 'the responder closed the connection (wrong peer key?)');
    socket.on('end', () => {
      markEnded();
      if (phase !== 'open') fail(closedEarly());
    });
    socket.on('close', () => {
      markEnded();
      if (phase !== 'open') fail(closedEarly());
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TestFailure('timeout', `${what} took over ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** `onStream`: the stream starts now (its warm-up first). */
async function download(
  opts: TestOptions,
  testId: Buffer,
  onStream: () => void,
): Promise<Measured> {
  const s = await openSession(opts, testId, 'download', opts.durationMs);
  onStream();
  const meter = new Meter(WARMUP_MS, s.grantedMs);
  s.onBytes = (_buf, n) => meter.add(performance.now(), n);
  try {
    await withTimeout(s.ended, streamMs(s.grantedMs) + END_GRACE_MS + CONNECT_MS, 'the download');
  } finally {
    s.socket.destroy();
  }
  return meter.measured();
}

async function upload(opts: TestOptions, testId: Buffer, onStream: () => void): Promise<Measured> {
  const s = await openSession(opts, testId, 'upload', opts.durationMs);
  onStream();
  const reader = new FixedReader(RESULT_BYTES);
  let result: Buffer | undefined;
  s.onBytes = (buf, n) => {
    const got = result ? undefined : reader.push(buf.subarray(0, n));
    if (got) result = Buffer.from(got.message);
  };
  try {
    const until = performance.now() + streamMs(s.grantedMs);
    // The responder caps bytes; the client only time.
    await streamUntil(s.socket, until, Number.MAX_SAFE_INTEGER, () => performance.now());
    await withTimeout(s.ended, END_GRACE_MS + CONNECT_MS, "the upload's result");
  } finally {
    s.socket.destroy();
  }
  if (!result) throw new TestFailure('error', 'the upload ended without a result');
  const measured = verifyResult(opts.key, s.serverNonce, s.request, result);
  if (!measured) throw new TestFailure('error', "the upload's result did not prove the peer key");
  return measured;
}

/** Runs one test; never throws: failures are outcomes. */
export async function runThroughputTest(opts: TestOptions): Promise<TestResult> {
  const testId = randomBytes(16);
  let hold: Session | undefined;
  let probes: LatencyProbes | undefined;
  const results: Partial<Record<Direction, Measured>> = {};
  try {
    // The test's slot at the responder, from the idle RTT to the upload's end:
    // without it another tester could take the responder between directions.
    // The echo it offers goes unused (TCP's head-of-line blocking: latency-probes.ts).
    hold = await openSession(opts, testId, 'echo', opts.durationMs);
    probes = await LatencyProbes.open({
      host: opts.host,
      port: opts.port,
      key: opts.key,
      everyMs: opts.probeEveryMs ?? PROBE_EVERY_MS,
      timeoutMs: opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS,
      onRtt: opts.onRtt,
      ...(opts.udpTransport ? { transport: opts.udpTransport } : {}),
    });
    probes.begin('idle');
    await sleep(opts.idleMs ?? 1000);
    probes.end();
    // Under load: from the end of each direction's warm-up, as its bytes are counted.
    const loaded = (d: Direction) => () => probes!.begin(d, performance.now() + WARMUP_MS);
    results.download = await download(opts, testId, loaded('download'));
    probes.end();
    await sleep(GAP_MS);
    results.upload = await upload(opts, testId, loaded('upload'));
    probes.end();
  } catch (err) {
    hold?.socket.destroy();
    probes?.close();
    const f = err instanceof TestFailure ? err : new TestFailure('error', String(err));
    return {
      outcome: f.outcome,
      detail: f.message,
      idleRttsMs: probes?.samples.idle ?? [],
      probesLost: 0,
    };
  }
  const grantedMs = hold.grantedMs;
  hold.socket.destroy();
  // Answers to the last probes may still be on their way.
  await probes.settle();
  probes.close();
  const samples = probes.samples;
  const direction = (d: Direction): DirectionResult => ({
    bitsPerSecond: bitsPerSecond(results[d]!),
    measured: results[d]!,
    rttsMs: samples[d],
  });
  const download_ = direction('download');
  const upload_ = direction('upload');
  const ok = download_.bitsPerSecond !== undefined && upload_.bitsPerSecond !== undefined;
  return {
    outcome: ok ? 'ok' : 'error',
    ...(ok ? {} : { detail: 'too few bytes were counted to give a rate' }),
    grantedMs,
    idleRttsMs: samples.idle,
    download: download_,
    upload: upload_,
    probesLost: probes.lost,
  };
}
