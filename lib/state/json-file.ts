import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';

/**
 * Replaces a file atomically: a crash (even kill -9) leaves either the old
 * content or the new, never half of one. Content given in chunks is written
 * chunk by chunk, so a large file does not hold the event loop.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Iterable<string>,
  mode = 0o600,
): Promise<void> {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
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
