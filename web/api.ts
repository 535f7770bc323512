// Talking to netpingd from the page: JSON reads, and changes with the API
// token the user entered once (kept in sessionStorage, so it goes away with
// the tab and is never written to disk by us).

const TOKEN_KEY = 'netping.token';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function token(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function setToken(value: string | undefined): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new ApiError(res.status, await errorOf(res));
  return (await res.json()) as T;
}

/** A change (POST/DELETE) with the bearer token; throws ApiError saying what went wrong. */
export async function change<T>(
  method: 'POST' | 'DELETE',
  url: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401)
    throw new ApiError(
      401,
      t
        ? 'the API token was refused: enter the one in the state directory (api-token)'
        : 'changes need the API token: enter it above (netpingd keeps it in <state dir>/api-token)',
    );
  if (!res.ok) throw new ApiError(res.status, await errorOf(res));
  return (await res.json()) as T;
}

async function errorOf(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the text itself
  }
  return `${res.status} ${text.slice(0, 200)}`;
}
