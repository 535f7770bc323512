import { performance } from 'node:perf_hooks';

/** Monotonic milliseconds, and the one timer the engine needs. Injected so tests control time. */
export interface Clock {
  nowMs(): number;
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type TimerHandle = { readonly id: unknown };

export const systemClock: Clock = {
  nowMs: () => performance.now(),
  setTimer: (fn, delayMs) => ({ id: setTimeout(fn, delayMs) }),
  clearTimer: (handle) => clearTimeout(handle.id as NodeJS.Timeout),
};
