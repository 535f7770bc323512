// A bound on how long we wait for something outside our control (a Redis
// that stopped answering, a peer that went silent): the wait ends, the work
// it waited for may still finish later and is then ignored.

export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer in ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/** `work`, or a DeadlineError after `ms`; `onExpired` runs once if the deadline wins. */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onExpired?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onExpired?.();
      reject(new DeadlineError(what, ms));
    }, ms);
  });
  // The loser of the race must not become an unhandled rejection.
  work.catch(() => {});
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
