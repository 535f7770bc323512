import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Replaces a file atomically and durably: a crash (even kill -9, even a
 * power cut) leaves either the old content or the new, never half of one.
 * Content given in chunks is written chunk by chunk, so a large file does not
 * hold the event loop.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Iterable<string>,
  mode = 0o600,
): Promise<void> {
  const temp = `${file}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  try {
    const handle = await open(temp, 'w', mode);
    try {
      for (const chunk of typeof content === 'string' ? [content] : content)
        await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  // The rename is durable only once the directory's entry is on disk.
  await syncDirectory(path.dirname(file));
}

/** Strings per piece of jsonStringsPieces: a few tens of kB. */
const STRINGS_PER_PIECE = 500;

/**
 * The JSON text `head` + the strings as a JSON array + `tail`, in pieces
 * for writeFileAtomic (one JSON.stringify of 10,000 members, and its
 * copy, held the loop for milliseconds).
 */
export function* jsonStringsPieces(
  head: string,
  strings: Iterable<string>,
  tail: string,
): Generator<string> {
  yield `${head}[`;
  let piece: string[] = [];
  let first = true;
  for (const s of strings) {
    piece.push(JSON.stringify(s));
    if (piece.length < STRINGS_PER_PIECE) continue;
    yield (first ? '' : ',') + piece.join(',');
    first = false;
    piece = [];
  }
  if (piece.length > 0) yield (first ? '' : ',') + piece.join(',');
  yield `]${tail}`;
}

const TEMP_SUFFIX = '.tmp';
// A temporary file this old is no write in progress (ours take well under a
// second) but the leftover of a process killed while writing.
const STALE_TEMP_MS = 60_000;

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the file itself is synced.
  } finally {
    await handle.close();
  }
}

/**
 * Deletes temporary files that writeFileAtomic (or the token's creation)
 * left behind when killed mid-write. Only old ones: another daemon sharing
 * the directory may be writing right now. Returns their names.
 */
export async function removeStaleTempFiles(dir: string, nowMs = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return removed;
    throw err;
  }
  for (const name of names) {
    if (!name.endsWith(TEMP_SUFFIX)) continue;
    const file = path.join(dir, name);
    try {
      const info = await stat(file);
      if (!info.isFile() || nowMs - info.mtimeMs < STALE_TEMP_MS) continue;
      await unlink(file);
      removed.push(name);
    } catch {
      // gone already, or not ours to remove: leave it
    }
  }
  return removed;
}

/** The parsed file, or undefined when it does not exist. Throws on unreadable or bad JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as unknown;
}

/**
 * Moves a damaged state file aside, as `<file>.corrupt-<time>`, so that the
 * daemon starts without it (a statistics file must never keep monitoring
 * down) while nothing is deleted: the user can look at it, or mend it and
 * put it back. Returns the new path.
 */
export function setAside(file: string, now = new Date()): string {
  const aside = `${file}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, aside);
  return aside;
}

/**
 * Reads a state file: undefined when it does not exist, and when it is not
 * JSON or `valid` refuses it, in which case it is set aside with one log
 * line. Errors of the file system (permissions) still throw: they are no
 * corruption, and moving the file would not mend them.
 */
export async function readStateFile(
  file: string,
  log: (line: string) => void,
  valid: (raw: unknown) => string | undefined = () => undefined,
): Promise<unknown> {
  let raw: unknown;
  let problem: string | undefined;
  try {
    raw = await readJsonFile(file);
    if (raw === undefined) return undefined;
    problem = valid(raw);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    problem = 'not JSON';
  }
  if (problem === undefined) return raw;
  const aside = setAside(file);
  log(`${file} is damaged (${problem}): moved aside to ${aside}, starting without it`);
  return undefined;
}
