import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import { quoteInput } from '../render/printable.js';

/**
 * Where netpingd keeps what must outlive it: the last known targets, the
 * embedded store, statistics without Redis, the control API token.
 * --state-dir, else NETPING_STATE_DIR, else systemd's STATE_DIRECTORY, else
 * /var/lib/netping for root and ~/.local/state/netping for anyone else.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const systemd = env.STATE_DIRECTORY?.split(':')[0];
  if (systemd) return systemd;
  if (process.getuid?.() === 0) return '/var/lib/netping';
  const base = env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state');
  return path.join(base, 'netping');
}

export function ensureStateDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new InvalidInputError(
      `cannot use state directory ${quoteInput(dir, 200)}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return dir;
}
