import { DaemonUnavailableError } from '../lib/errors.js';
import type { DaemonReport } from '../lib/report.js';

const TIMEOUT_MS = 5000;

/** Fetches the daemon's report from GET /api/targets. */
export async function fetchReport(baseUrl: string): Promise<DaemonReport> {
  const url = new URL('/api/targets', baseUrl);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const cause =
      err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new DaemonUnavailableError(`cannot reach netpingd at ${baseUrl}: ${cause}`);
  }
  if (!response.ok) {
    throw new DaemonUnavailableError(
      `netpingd at ${baseUrl} answered ${response.status} ${response.statusText}`,
    );
  }
  return (await response.json()) as DaemonReport;
}
