import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileSync, linkSync, unlinkSync } from 'node:fs';

export const TOKEN_FILE = 'api-token';

export function tokenPath(stateDir: string): string {
  return path.join(stateDir, TOKEN_FILE);
}

/** Reads the control API token, creating it (mode 0600) on first start. */
export function loadOrCreateToken(stateDir: string): string {
  const file = tokenPath(stateDir);
  const existing = readToken(file);
  if (existing) return existing;
  const token = randomBytes(24).toString('base64url');
  // Create under a temporary name and link into place: two daemons starting
  // at once agree on one token instead of overwriting each other's.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${token}\n`, { mode: 0o600 });
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(temp);
  }
  return readToken(file) ?? token;
}

export function readToken(file: string): string | undefined {
  try {
    const token = readFileSync(file, 'utf8').trim();
    return token.length > 0 ? token : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Constant-time comparison of a presented bearer token with ours. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
