// A TargetStore that is a running netpingd's control API: what npcli uses
// when no Redis is configured (the daemon's embedded store), and where
// `npcli stats` reads the daemon's report.

import {
  InvalidInputError,
  ResolveError,
  StoreUnavailableError,
  UnauthorizedError,
} from '../errors.js';
import { cutToChars, printable, printableLine } from '../render/printable.js';
import type { DaemonReport } from '../report.js';
import { NoSuchTargetError } from '../target-changes.js';
import type { TargetStore } from './target-store.js';

const TIMEOUT_MS = 5000;
const PATH_TIMEOUT_MS = 60_000;
const DEFAULT_PORT = 9922;

/** Throws InvalidInputError unless `url` is an http(s) URL fetch can be given. */
export function checkDaemonUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
    throw new InvalidInputError(
      `cannot use --url ${printable(url.slice(0, 200))}: expected http://HOST:PORT (default http://127.0.0.1:${DEFAULT_PORT})`,
    );
  }
}

export class HttpTargetStore implements TargetStore {
  readonly up = true;

  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly tokenHint: string,
  ) {
    checkDaemonUrl(baseUrl);
  }

  /** The daemon's report, as GET /api/targets serves it (no token needed). */
  async report(): Promise<DaemonReport> {
    return (await this.#call('GET', '/api/targets')) as DaemonReport;
  }

  /** The daemon's outages, as GET /api/events serves them (no token needed). */
  async events(query: { open?: boolean; since?: string; target?: string } = {}): Promise<unknown> {
    const params = new URLSearchParams();
    if (query.open) params.set('open', '1');
    if (query.since !== undefined) params.set('since', query.since);
    if (query.target !== undefined) params.set('target', query.target);
    const q = params.toString();
    return this.#call('GET', `/api/events${q ? `?${q}` : ''}`);
  }

  /**
   * A target's path, traced now (GET /api/path?fresh=1, no token needed):
   * a trace takes seconds, a path MTU search through a black hole up to a
   * minute, so this call waits longer than the others.
   */
  async path(selector: string): Promise<unknown> {
    const q = new URLSearchParams({ target: selector, fresh: '1' }).toString();
    return this.#call('GET', `/api/path?${q}`, undefined, PATH_TIMEOUT_MS);
  }

  async members(): Promise<string[]> {
    const body = (await this.#call('GET', '/api/members')) as { members?: unknown };
    if (!Array.isArray(body.members))
      throw new StoreUnavailableError(`netpingd at ${this.baseUrl} sent no member list`);
    return body.members.filter((m): m is string => typeof m === 'string');
  }

  async add(members: readonly string[]): Promise<number> {
    if (members.length === 0) return 0;
    const body = (await this.#call('POST', '/api/targets', { targets: members })) as {
      results?: { changed?: boolean }[];
    };
    return (body.results ?? []).filter((r) => r.changed).length;
  }

  async remove(members: readonly string[]): Promise<number> {
    // Whole members, already chosen by removeTargets: ?all=1 lets the two
    // members of one target with other settings go together, as chosen.
    for (const member of members)
      await this.#call('DELETE', `/api/targets/${encodeURIComponent(member)}?all=1`);
    return members.length;
  }

  watch(): Promise<void> {
    return Promise.reject(new Error('HttpTargetStore cannot watch'));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async #call(
    method: string,
    path: string,
    json?: unknown,
    timeoutMs = TIMEOUT_MS,
  ): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (json !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause =
        err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      if (cause === 'bad port') {
        // Node's fetch (undici) will never connect to this port: bad input, not an outage.
        throw new InvalidInputError(
          `cannot use --url ${this.baseUrl}: Node's fetch refuses port ${new URL(this.baseUrl).port} ` +
            `(a "bad port" of the Fetch standard, blocked because other protocols use it); ` +
            `netpingd listens on ${DEFAULT_PORT} unless told otherwise`,
        );
      }
      throw new StoreUnavailableError(`cannot reach netpingd at ${this.baseUrl}: ${cause}`);
    }
    const body = (await response.json().catch(() => ({}))) as { error?: unknown };
    if (response.ok) return body;
    // What the server says goes to the user's terminal: one printable line, cut.
    const error = printableLine(
      cutToChars(
        typeof body.error === 'string' ? body.error : `${response.status} ${response.statusText}`,
        500,
      ),
    );
    switch (response.status) {
      case 400:
      case 413:
        throw new InvalidInputError(error);
      case 401:
        throw new UnauthorizedError(
          `netpingd at ${this.baseUrl} refused the change: ${error}; ${this.tokenHint}`,
        );
      case 404:
        throw new NoSuchTargetError(error);
      case 422:
        throw new ResolveError(error);
      default:
        throw new StoreUnavailableError(`netpingd at ${this.baseUrl}: ${error}`);
    }
  }
}
