// Typed errors. Each kind maps to one process exit code, so scripts that call
// npcli or netpingd can tell bad input from an unreachable store.

export const ExitCode = {
  ok: 0,
  failure: 1, // a runtime failure, e.g. a name that does not resolve
  usage: 2, // bad input on the command line: nothing was written
  store: 3, // Redis unreachable
  permission: 4, // not permitted: no raw-socket privilege, or no valid API token
  listen: 5, // HTTP address unusable
  twin: 6, // another netpingd runs under the same --instance
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class NetpingError extends Error {
  readonly exitCode: ExitCode = ExitCode.failure;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that is not valid: a target, a duration, a flag value. */
export class InvalidInputError extends NetpingError {
  override readonly exitCode = ExitCode.usage;
}

/** A host name that does not resolve to any address. */
export class ResolveError extends NetpingError {
  override readonly exitCode = ExitCode.failure;
}

/** The target store (Redis) cannot be reached or refused a command. */
export class StoreUnavailableError extends NetpingError {
  override readonly exitCode = ExitCode.store;
}

/** Raw sockets need root or CAP_NET_RAW. */
export class PermissionError extends NetpingError {
  override readonly exitCode = ExitCode.permission;
}

/** The daemon's control API refused our token. */
export class UnauthorizedError extends NetpingError {
  override readonly exitCode = ExitCode.permission;
}

/** The HTTP listener could not bind. */
export class ListenError extends NetpingError {
  override readonly exitCode = ExitCode.listen;
}

/** Another running netpingd holds this --instance id (cloned hosts share a host name). */
export class InstanceTakenError extends NetpingError {
  override readonly exitCode = ExitCode.twin;
}

export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof NetpingError ? err.exitCode : ExitCode.failure;
}

/** One line for the user: the message, and the cause's when it adds something. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
}
