// The responder's rules, apart from its sockets: one test at a time (a test
// being the echo, download and upload connections that share a test id),
// each mode at most once per test, durations capped, a test's slot freed
// when its last connection closes or, at the latest, when its time is up.
// Pure: the caller passes the time.

import { streamMs, type Mode, type Reply } from './protocol.js';

export interface PolicyOptions {
  /** The longest measured duration granted (--throughput-max-duration). */
  readonly maxDurationMs: number;
}

/** A granted connection: how long it may live and, streaming, for how long. */
export interface Grant extends Reply {
  readonly status: 'ok';
  /** The connection is closed at this time, whatever it is doing. */
  readonly deadlineMs: number;
}

// After its stream, a connection has this long to end cleanly (the last
// bytes in flight, an upload's result).
const GRACE_MS = 3000;
// An echo may start before the download (idle RTT) and lasts through both
// directions, with the gap between them.
const ECHO_EXTRA_MS = 5000;

interface Slot {
  readonly testId: string;
  readonly expiresMs: number;
  readonly modes: Set<Mode>;
  open: number;
}

export class ResponderPolicy {
  readonly #opts: PolicyOptions;
  #slot: Slot | undefined;

  constructor(opts: PolicyOptions) {
    this.#opts = opts;
  }

  /** The longest a whole test may hold the responder. */
  get testLimitMs(): number {
    return 2 * streamMs(this.#opts.maxDurationMs) + ECHO_EXTRA_MS + GRACE_MS;
  }

  /** A proven request: granted, or busy when another test holds the responder (or this mode ran already). */
  admit(
    testId: Buffer,
    mode: Mode,
    durationMs: number,
    nowMs: number,
  ): Grant | { status: 'busy'; grantedMs: 0 } {
    const id = testId.toString('hex');
    let slot = this.#slot;
    if (slot && slot.expiresMs <= nowMs) slot = this.#slot = undefined;
    if (slot && slot.testId !== id) return { status: 'busy', grantedMs: 0 };
    if (slot?.modes.has(mode)) return { status: 'busy', grantedMs: 0 };
    if (!slot) {
      slot = { testId: id, expiresMs: nowMs + this.testLimitMs, modes: new Set(), open: 0 };
      this.#slot = slot;
    }
    slot.modes.add(mode);
    slot.open++;
    const grantedMs = Math.max(0, Math.min(durationMs, this.#opts.maxDurationMs));
    const lifeMs = mode === 'echo' ? this.testLimitMs : streamMs(grantedMs) + GRACE_MS;
    return { status: 'ok', grantedMs, deadlineMs: Math.min(nowMs + lifeMs, slot.expiresMs) };
  }

  /** A granted connection closed; the slot is free once none of its test's is open. */
  closed(testId: Buffer): void {
    const slot = this.#slot;
    if (!slot || slot.testId !== testId.toString('hex')) return;
    slot.open--;
    if (slot.open <= 0) this.#slot = undefined;
  }

  get busy(): boolean {
    return this.#slot !== undefined;
  }
}
