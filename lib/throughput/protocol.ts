// The throughput protocol's messages and their authentication, as pure
// functions over bytes (no sockets, no clock), so both ends and the tests
// share one definition.
//
// On a TCP connection to a peer's responder:
//   S→C  challenge  MAGIC(4) server-nonce(16)                                   20 bytes
//   C→S  request    MAGIC(4) client-nonce(16) test-id(16) mode(1) duration(4) mac(32)   73 bytes
//   S→C  reply      status(1) granted(4) mac(32)                                37 bytes
// then, for `download`, the server streams and ends; for `upload`, the
// client streams and ends, and the server answers with
//   S→C  result     bytes(8) micros(8) mac(32)                                  48 bytes
// and for `echo` each 8-byte message the client sends comes straight back.
// Our client opens the echo first and keeps it, silent, to the test's end:
// it holds the responder's slot between directions; latency goes by udp
// probes to the peer responder instead (latency-probes.ts says why).
// The challenge is all a connection gets before its request is proven: a
// wrong or missing MAC closes it without another byte. Every MAC binds both
// nonces, so nothing can be replayed into another connection; the server
// proves it knows the key too (reply and result), so a client never reports
// a figure from an impostor.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAGIC = Buffer.from('NPT1', 'latin1');
export const NONCE_BYTES = 16;
export const MAC_BYTES = 32;
export const CHALLENGE_BYTES = MAGIC.length + NONCE_BYTES;
export const REQUEST_BYTES = MAGIC.length + NONCE_BYTES + NONCE_BYTES + 1 + 4 + MAC_BYTES;
export const REPLY_BYTES = 1 + 4 + MAC_BYTES;
export const RESULT_BYTES = 8 + 8 + MAC_BYTES;
/** An echo message: a 32-bit sequence and 4 bytes of padding. */
export const ECHO_BYTES = 8;

/**
 * Each direction streams for this long before bytes are counted: TCP's
 * slow start and the queues filling are not the link's rate
 * (docs/MEASUREMENT.md). iperf3's `-O 1` leaves out the same first second.
 */
export const WARMUP_MS = 1000;

export type Mode = 'download' | 'upload' | 'echo';
const MODE_CODES: Record<Mode, number> = { download: 1, upload: 2, echo: 3 };
const MODES = Object.keys(MODE_CODES) as Mode[];

export type Status = 'ok' | 'busy';
const STATUS_CODES: Record<Status, number> = { ok: 0, busy: 1 };

export interface Request {
  readonly clientNonce: Buffer;
  /** Names the test a connection belongs to: a test's echo, download and upload share it. */
  readonly testId: Buffer;
  readonly mode: Mode;
  /** The measured duration asked for (warm-up not included); echo: how long the test may last. */
  readonly durationMs: number;
}

export interface Reply {
  readonly status: Status;
  /** The duration granted: the request's, capped by the responder. */
  readonly grantedMs: number;
}

/** What the receiving end of an upload measured: bytes over a time (meter.ts). */
export interface Measured {
  readonly bytes: number;
  readonly micros: number;
}

/** How long a direction streams for a measured duration: the warm-up, then the duration. */
export function streamMs(durationMs: number): number {
  return WARMUP_MS + durationMs;
}

function mac(key: Buffer, label: string, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  h.update(label);
  for (const p of parts) h.update(p);
  return h.digest();
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function encodeChallenge(serverNonce: Buffer): Buffer {
  return Buffer.concat([MAGIC, serverNonce]);
}

/** The server nonce of a challenge, or undefined when it is not ours. */
export function decodeChallenge(bytes: Buffer): Buffer | undefined {
  if (bytes.length !== CHALLENGE_BYTES || !bytes.subarray(0, 4).equals(MAGIC)) return undefined;
  return Buffer.from(bytes.subarray(4));
}

function requestBody(r: Request): Buffer {
  return Buffer.concat([
    MAGIC,
    r.clientNonce,
    r.testId,
    Buffer.of(MODE_CODES[r.mode]),
    u32(r.durationMs),
  ]);
}

function requestMac(key: Buffer, serverNonce: Buffer, body: Buffer): Buffer {
  return mac(key, 'netping throughput request\0', serverNonce, body);
}

export function encodeRequest(key: Buffer, serverNonce: Buffer, r: Request): Buffer {
  const body = requestBody(r);
  return Buffer.concat([body, requestMac(key, serverNonce, body)]);
}

/** The request, if its MAC proves the key for this challenge; undefined for anything else. */
export function verifyRequest(
  key: Buffer,
  serverNonce: Buffer,
  bytes: Buffer,
): Request | undefined {
  if (bytes.length !== REQUEST_BYTES || !bytes.subarray(0, 4).equals(MAGIC)) return undefined;
  const body = bytes.subarray(0, REQUEST_BYTES - MAC_BYTES);
  const expected = requestMac(key, serverNonce, body);
  if (!timingSafeEqual(expected, bytes.subarray(REQUEST_BYTES - MAC_BYTES))) return undefined;
  const mode = MODES.find((m) => MODE_CODES[m] === body[36]);
  if (mode === undefined) return undefined;
  return {
    clientNonce: Buffer.from(body.subarray(4, 20)),
    testId: Buffer.from(body.subarray(20, 36)),
    mode,
    durationMs: body.readUInt32BE(37),
  };
}

function replyBody(reply: Reply): Buffer {
  return Buffer.concat([Buffer.of(STATUS_CODES[reply.status]), u32(reply.grantedMs)]);
}

function replyMac(key: Buffer, serverNonce: Buffer, request: Request, body: Buffer): Buffer {
  return mac(key, 'netping throughput reply\0', serverNonce, requestBody(request), body);
}

export function encodeReply(
  key: Buffer,
  serverNonce: Buffer,
  request: Request,
  reply: Reply,
): Buffer {
  const body = replyBody(reply);
  return Buffer.concat([body, replyMac(key, serverNonce, request, body)]);
}

/** The reply, if the server proved the key for this request; undefined otherwise. */
export function verifyReply(
  key: Buffer,
  serverNonce: Buffer,
  request: Request,
  bytes: Buffer,
): Reply | undefined {
  if (bytes.length !== REPLY_BYTES) return undefined;
  const body = bytes.subarray(0, 5);
  if (!timingSafeEqual(replyMac(key, serverNonce, request, body), bytes.subarray(5)))
    return undefined;
  const status = (Object.keys(STATUS_CODES) as Status[]).find((s) => STATUS_CODES[s] === body[0]);
  if (status === undefined) return undefined;
  return { status, grantedMs: body.readUInt32BE(1) };
}

function resultBody(m: Measured): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(m.bytes))), 0);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.round(m.micros))), 8);
  return b;
}

export function encodeResult(
  key: Buffer,
  serverNonce: Buffer,
  request: Request,
  m: Measured,
): Buffer {
  const body = resultBody(m);
  return Buffer.concat([
    body,
    mac(key, 'netping throughput result\0', serverNonce, requestBody(request), body),
  ]);
}

export function verifyResult(
  key: Buffer,
  serverNonce: Buffer,
  request: Request,
  bytes: Buffer,
): Measured | undefined {
  if (bytes.length !== RESULT_BYTES) return undefined;
  const body = bytes.subarray(0, 16);
  const expected = mac(key, 'netping throughput result\0', serverNonce, requestBody(request), body);
  if (!timingSafeEqual(expected, bytes.subarray(16))) return undefined;
  return { bytes: Number(body.readBigUInt64BE(0)), micros: Number(body.readBigUInt64BE(8)) };
}

/**
 * Collects a fixed-size message from a stream's chunks. Returns the message
 * once complete and what followed it in the same chunk; holds at most `size`
 * bytes, whatever the peer sends.
 */
export class FixedReader {
  readonly #buf: Buffer;
  #have = 0;

  constructor(readonly size: number) {
    this.#buf = Buffer.alloc(size);
  }

  /** Undefined until `size` bytes are in; then the message and the rest of the chunk. */
  push(chunk: Buffer): { message: Buffer; rest: Buffer } | undefined {
    const take = Math.min(chunk.length, this.size - this.#have);
    chunk.copy(this.#buf, this.#have, 0, take);
    this.#have += take;
    if (this.#have < this.size) return undefined;
    return { message: this.#buf, rest: chunk.subarray(take) };
  }
}
