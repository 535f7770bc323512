// Where the tests find the things test/run.sh set up.

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (this file runs from dist/test/support/). */
export const REPO_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
);
export const DAEMON_JS = path.join(REPO_ROOT, 'dist', 'daemon', 'main.js');
export const CLI_JS = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

/** The redis-server test/run.sh started, or undefined when run outside it. */
export const TEST_REDIS_URL: string | undefined = process.env.NETPING_TEST_REDIS_URL;

export const SKIP_NO_REDIS = TEST_REDIS_URL
  ? false
  : 'NETPING_TEST_REDIS_URL is not set: run the suite with `npm test` (test/run.sh starts redis)';

export const IS_ROOT = process.getuid?.() === 0;

/** A key prefix of its own for each test, so tests share one Redis safely. */
export function uniquePrefix(): string {
  return `test-${randomUUID()}`;
}
